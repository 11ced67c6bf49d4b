package org.passage

import java.nio.file.Files
import java.nio.file.Path
import java.security.SecureRandom
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotEquals
import kotlin.test.assertTrue
import org.passage.ffi.Appointment
import org.passage.ffi.Edit
import org.passage.ffi.Role

/**
 * A keystore that keeps one random key per store id, as a Keystore-backed provider
 * would, and remembers which ids it was asked for.
 */
class RecordingKeystore : StoreKeyProvider {
    private val random = SecureRandom()
    val keys = mutableMapOf<String, ByteArray>()
    val asked = mutableListOf<String>()

    override fun storeKey(storeId: String): ByteArray {
        asked += storeId
        return keys.getOrPut(storeId) { ByteArray(32).also(random::nextBytes) }
    }
}

private const val CLINIC = "IOM Migration Health Assessment Centre, Amman"

private fun Path.holds(text: String): Boolean {
    val needle = text.toByteArray()
    return listOf("", "-wal", "-shm").map { Path.of("$this$it") }.filter(Files::exists).any { file ->
        val bytes = Files.readAllBytes(file)
        (0..bytes.size - needle.size).any { i -> needle.indices.all { bytes[i + it] == needle[it] } }
    }
}

/** The store key through the Kotlin API: a stable id, a wrong key, re-keying. */
class KeysTest {
    @Test
    fun theKeyIsAskedForByAStableIdThatFollowsTheFileWhenItMoves() {
        val dir = tempDir()
        val keystore = RecordingKeystore()
        val first = dir.resolve("container-a/passage.db").also { Files.createDirectories(it.parent) }
        val case = PassageStore.open(first.toString(), Role.CASEWORKER, "Amira Khoury", keystore).use { store ->
            val case = store.createJourney(belgianJourney())
            store.apply(case, Edit.AddAppointment(Appointment(CLINIC, "2027-01-12T10:30[Asia/Amman]", "TB screening")))
            case
        }
        assertEquals(1, keystore.asked.size)
        val id = keystore.asked.single()
        assertEquals(32, id.length, id)
        assertTrue(!first.holds(CLINIC), "the medical record is sealed on disk")

        // An app update moves the container: the same id, so the same key.
        val moved = dir.resolve("container-b/passage.db").also { Files.createDirectories(it.parent) }
        Files.move(first, moved)
        PassageStore.open(moved.toString(), Role.CASEWORKER, "Amira Khoury", keystore).use { store ->
            assertEquals(id, store.storeId)
            assertEquals(CLINIC, store.medical(case).appointments.single().appointment.clinic)
        }
        assertEquals(listOf(id, id), keystore.asked)
        // Another store, another id and key.
        PassageStore.open(dir.resolve("other.db").toString(), Role.TALENT, "Rana Haddad", keystore).use { store ->
            assertNotEquals(id, store.storeId)
        }
    }

    @Test
    fun aWrongKeyIsRefusedAndTheDataStaysReadableWithTheRightOne() {
        val path = tempDir().resolve("wrong-key.db")
        val case = belgianCase(path)
        val before = Files.readAllBytes(path)
        val wrong = assertFailsWith<PassageStoreException.WrongKey> {
            openStore(path, Role.CASEWORKER, keys = FixedKey(0x11))
        }
        assertTrue(wrong.reason.contains("key"), wrong.reason)
        assertTrue(before.contentEquals(Files.readAllBytes(path)), "a wrong key wrote nothing")
        openStore(path, Role.CASEWORKER).use { store -> assertEquals(case, store.journey(case).caseId) }
    }

    @Test
    fun reKeyingRetiresTheOldKey() {
        val path = tempDir().resolve("rekey.db")
        val case = belgianCase(path)
        val newKey = ByteArray(32) { 0x33 }
        openStore(path, Role.CASEWORKER).use { store -> store.rekey(newKey) }
        assertFailsWith<PassageStoreException.WrongKey> { openStore(path, Role.CASEWORKER) }
        openStore(path, Role.CASEWORKER, keys = { newKey }).use { store ->
            assertEquals(case, store.journey(case).caseId)
            assertFailsWith<PassageStoreException.InvalidInput> { store.rekey(ByteArray(8)) }
        }
    }
}
