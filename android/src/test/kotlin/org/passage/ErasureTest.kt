package org.passage

import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.passage.ffi.Appointment
import org.passage.ffi.DocKind
import org.passage.ffi.Edit
import org.passage.ffi.Role
import org.passage.ffi.Trust

private const val CLINIC = "IOM Migration Health Assessment Centre, Amman"

/** Erasure and vouched history, through the Kotlin API and the real server. */
class ErasureTest {
    @Test
    fun anErasedMedicalRecordLeavesEveryDeviceAndHistoryIsVouched(): Unit = runBlocking {
        val server = env("PASSAGE_TEST_SERVER_URL")
        val case = env("PASSAGE_TEST_ERASE_CASE_ID")
        val dir = tempDir()
        val phone = PassageStore.open(dir.resolve("omar.db").toString(), Role.TALENT, "Omar", RecordingKeystore())
        val laptop = PassageStore.open(dir.resolve("amira.db").toString(), Role.CASEWORKER, "Amira", RecordingKeystore())
        try {
            phone.enrol(server, env("PASSAGE_TEST_ERASE_TALENT_CODE"), "Omar's phone")
            laptop.enrol(server, env("PASSAGE_TEST_ERASE_CASEWORKER_CODE"), "Amira's laptop")
            phone.sync()
            phone.apply(case, Edit.AddAppointment(Appointment(CLINIC, "2027-01-12T10:30[Asia/Amman]", "TB screening")))
            phone.sync()
            laptop.sync()
            assertEquals(1, laptop.medical(case).appointments.size)

            // The server vouches that the appointment came from Omar's phone, in the name
            // the server knows him by (not the "Omar" the app opened the store with).
            val entry = laptop.history(case).single { it.edit == "appointment.add" }
            assertEquals(Trust.VOUCHED, entry.trust)
            assertEquals("Omar Khalil", entry.vouched?.name)
            assertEquals(Role.TALENT, entry.vouched?.role)

            assertFailsWith<PassageStoreException.NotAllowed> { phone.eraseMedical(case) }
            laptop.eraseMedical(case)
            assertFailsWith<PassageStoreException.NotFound> { laptop.medical(case) }
            laptop.sync()
            phone.sync()
            assertFailsWith<PassageStoreException.NotFound> { phone.medical(case) }
            assertTrue(phone.history(case).none { it.doc == DocKind.MEDICAL }, "no medical history left")
            assertEquals(case, phone.journey(case).caseId, "the journey stays")
        } finally {
            phone.close()
            laptop.close()
        }
    }
}
