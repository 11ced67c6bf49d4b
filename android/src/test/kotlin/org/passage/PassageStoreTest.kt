package org.passage

import java.io.RandomAccessFile
import java.nio.file.Files
import java.time.Instant
import java.time.ZoneId
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNotNull
import kotlin.test.assertTrue
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.yield
import org.passage.ffi.Appointment
import org.passage.ffi.CriticalField
import org.passage.ffi.Edit
import org.passage.ffi.FlightBooking
import org.passage.ffi.FlightSegment
import org.passage.ffi.Housing
import org.passage.ffi.Locale
import org.passage.ffi.PermitDecision
import org.passage.ffi.ReminderKind
import org.passage.ffi.Role
import org.passage.ffi.TaskStatus

/** The Kotlin API on the JVM, against the real library and real files. */
class PassageStoreTest {
    private val task = "complete_talent_profile"

    @Test
    fun openEditCloseAndReopen() {
        val dir = tempDir()
        val path = dir.resolve("phone.db")
        val case = belgianCase(path)
        openStore(path, Role.CASEWORKER, "Amira Khoury").use { store ->
            val applied = store.apply(case, Edit.SetTaskStatus(task, TaskStatus.DONE))
            assertNotNull(applied.change, "a real change was committed")
            store.apply(case, Edit.SetTaskNotes(task, "CV uploaded"))
        }
        openStore(path, Role.CASEWORKER, "Amira Khoury").use { store ->
            val journey = store.journey(case, Locale.FR)
            assertEquals("BE", journey.destination.uppercase())
            val done = journey.stages.flatMap { it.tasks }.single { it.id == task }
            assertEquals(TaskStatus.DONE, done.status)
            assertEquals("CV uploaded", done.notes)
            assertEquals("Amira Khoury", done.completedBy)
            assertEquals("Terminé", done.statusLabel)
            assertTrue(journey.tasksClosed >= 1u, "closed: ${journey.tasksClosed}")
            assertEquals(listOf(1.toUByte(), 2.toUByte(), 3.toUByte()), journey.pdo.days.map { it.day })
            assertEquals(5, journey.pdo.modules.size, "the destination's five PDO modules")
            val arabic = store.journey(case, Locale.AR)
            assertTrue(arabic.rightToLeft, "Arabic is right to left")
            assertTrue(arabic.stages.first().title.any { it in '\u0600'..'\u06FF' }, "Arabic titles")
            assertEquals(listOf(case), store.cases().map { it.caseId })
            val history = store.history(case)
            assertTrue(history.any { it.edit == "task.status" && it.target == "$task=done" }, history.toString())
            assertTrue(store.exportJson(case).contains(case), "the export names its case")
        }
    }

    @Test
    fun eachPublicErrorArrivesAsItsKotlinException() {
        val dir = tempDir()
        val path = dir.resolve("errors.db")
        val case = belgianCase(path)
        openStore(path, Role.CASEWORKER).use { store ->
            val input = assertFailsWith<PassageStoreException.InvalidInput> {
                store.apply(case, Edit.SetTaskDue(task, "2027-02-30"))
            }
            assertTrue(input.reason.contains("due"), input.reason)
            assertFailsWith<PassageStoreException.InvalidInput> { store.journey("not a case id") }
            assertFailsWith<PassageStoreException.NotFound> { store.journey("0".repeat(32)) }
            assertFailsWith<PassageStoreException.NotFound> {
                store.apply(case, Edit.SetTaskStatus("no_such_task", TaskStatus.DONE))
            }
            // Not enrolled: sync says to enrol.
            assertFailsWith<PassageStoreException.EnrolAgain> { runBlocking { store.sync() } }
            // Nothing listens on port 9: the server cannot be reached, try later.
            val later = assertFailsWith<PassageStoreException.RetryLater> {
                runBlocking { store.enrol("http://127.0.0.1:9", "ABCD-EFGH", "test phone") }
            }
            assertTrue(later.reason.isNotBlank())
        }
        openStore(path, Role.TALENT, "Rana Haddad").use { store ->
            val refused = assertFailsWith<PassageStoreException.NotAllowed> {
                store.apply(case, Edit.SetPermitDecision(PermitDecision.GRANTED, "2027-02-01"))
            }
            assertTrue(refused.reason.contains("talent"), refused.reason)
            assertEquals(PermitDecision.PENDING, store.journey(case).permit.decision, "nothing changed")
        }
        openStore(path, Role.FAMILY, "Mother").use { store ->
            assertFailsWith<PassageStoreException.NotAllowed> { store.medical(case) }
            assertFailsWith<PassageStoreException.NotAllowed> { store.journey(case) }
        }
        assertFailsWith<PassageStoreException.WrongKey> { openStore(path, Role.CASEWORKER, keys = FixedKey(0x11)) }
        assertFailsWith<PassageStoreException.InvalidInput> {
            openStore(path, Role.CASEWORKER, keys = StoreKeyProvider { ByteArray(16) })
        }
        // A directory where the file should be: the database cannot be opened.
        val directory = Files.createDirectories(dir.resolve("a-directory.db"))
        assertFailsWith<PassageStoreException.Storage> { openStore(directory, Role.TALENT) }
        // A store written by a newer Passage (its schema version bumped in the file's
        // header, offset 60): refused, not misread.
        RandomAccessFile(path.toFile(), "rw").use { file ->
            file.seek(60)
            file.writeInt(99)
        }
        val newer = assertFailsWith<PassageStoreException.CorruptData> { openStore(path, Role.CASEWORKER) }
        assertTrue(newer.reason.contains("newer"), newer.reason)
    }

    @Test
    fun aFailingAppCallbackIsAnExceptionNotACrash() {
        val dir = tempDir()
        val path = dir.resolve("callback.db")
        belgianCase(path)
        val broken = StoreKeyProvider { throw IllegalStateException("the keystore is locked") }
        val e = assertFailsWith<PassageStoreException.Internal> { openStore(path, Role.CASEWORKER, keys = broken) }
        assertTrue(e.reason.contains("the keystore is locked"), e.reason)
        // The process is fine and the store opens with a working provider.
        openStore(path, Role.CASEWORKER).use { store -> assertEquals(1, store.cases().size) }
    }

    @Test
    fun aClosedStoreSaysSo() {
        val path = tempDir().resolve("closed.db")
        val case = belgianCase(path)
        val store = openStore(path, Role.CASEWORKER)
        store.close()
        store.close()
        assertFailsWith<IllegalStateException> { store.journey(case) }
    }

    @Test
    fun enrolAndSyncAgainstTheRealServer(): Unit = runBlocking {
        val server = env("PASSAGE_TEST_SERVER_URL")
        val case = env("PASSAGE_TEST_CASE_ID")
        val dir = tempDir()
        openStore(dir.resolve("rana.db"), Role.TALENT, "Rana Haddad").use { phone ->
            val enrolment = phone.enrol(server, env("PASSAGE_TEST_TALENT_CODE"), "Rana's phone")
            assertEquals(Role.TALENT, enrolment.role)
            assertEquals(listOf(case), enrolment.caseIds)
            val first = phone.sync()
            assertTrue(first.complete)
            assertEquals(listOf(case), first.casesChanged)
            assertEquals("Rana Haddad", phone.journey(case).talentName)

            phone.apply(case, Edit.SetTaskStatus(task, TaskStatus.DONE))
            assertEquals(1u, phone.syncStatus().pendingDocuments)
            val second = phone.sync()
            assertEquals(1u, second.roundTrips, "one edit ahead: one round trip")
            val status = phone.syncStatus()
            assertEquals(0u, status.pendingDocuments)
            assertNotNull(status.lastSuccess)
            assertEquals(null, status.lastError)
        }
        openStore(dir.resolve("mother.db"), Role.FAMILY, "Mother").use { mother ->
            val enrolment = mother.enrol(server, env("PASSAGE_TEST_FAMILY_CODE"), "Mother's phone")
            assertEquals(Role.FAMILY, enrolment.role)
            mother.sync()
            val plan = mother.arrivalPlan(case, Locale.AR)
            assertEquals("Rana Haddad", plan.talentName)
            assertFailsWith<PassageStoreException.NotAllowed> { mother.medical(case) }
            val raw = Files.readAllBytes(dir.resolve("mother.db")).toString(Charsets.ISO_8859_1)
            for (word in listOf("appointments", "vaccinations", "fitness", "clinic")) {
                assertFalse(raw.contains(word), "the family store holds no medical field ($word)")
            }
        }
        // The store enrolled as talent refuses to open as another role.
        assertFailsWith<PassageStoreException.InvalidInput> { openStore(dir.resolve("rana.db"), Role.CASEWORKER) }
    }

    @Test
    fun aConflictIsListedOnBothDevicesAndResolvedOnce(): Unit = runBlocking {
        val server = env("PASSAGE_TEST_SERVER_URL")
        val case = env("PASSAGE_TEST_CASE_ID")
        val (codeA, codeB) = env("PASSAGE_TEST_CASEWORKER_CODES").split(Regex("\\s+"))
        val dir = tempDir()
        val laptop = openStore(dir.resolve("laptop.db"), Role.CASEWORKER, "Amira Khoury")
        val tablet = openStore(dir.resolve("tablet.db"), Role.CASEWORKER, "Amira Khoury")
        try {
            laptop.enrol(server, codeA, "laptop")
            tablet.enrol(server, codeB, "tablet")
            laptop.sync()
            tablet.sync()
            // Offline on both: two addresses for the same temporary housing.
            fun housing(address: String) = Edit.SetHousing(Housing(address, "Brugge", "2027-03-28", null))
            laptop.apply(case, housing("Langestraat 12"))
            tablet.apply(case, housing("Ezelstraat 7"))
            laptop.sync()
            tablet.sync()
            laptop.sync()
            val onLaptop = laptop.conflicts(case, Locale.EN)
            val onTablet = tablet.conflicts(case, Locale.FR)
            assertEquals(1, onLaptop.size, onLaptop.toString())
            assertEquals(onLaptop.map { it.id }, onTablet.map { it.id })
            val conflict = onLaptop.single()
            assertEquals(CriticalField.HOUSING_ADDRESS, conflict.field)
            assertEquals(
                setOf("Langestraat 12", "Ezelstraat 7"),
                conflict.values.map { it.value }.toSet(),
            )
            assertEquals(conflict.values, onTablet.single().values, "the same values in the same order")
            val pick = conflict.values.indexOfFirst { it.value == "Ezelstraat 7" }
            laptop.apply(case, Edit.ResolveConflict(conflict.id, pick.toUInt()))
            assertTrue(laptop.conflicts(case).isEmpty())
            laptop.sync()
            tablet.sync()
            assertTrue(tablet.conflicts(case).isEmpty(), "resolved once, for every device")
            assertEquals("Ezelstraat 7", tablet.journey(case).travel.housing.address)
            assertEquals("Ezelstraat 7", laptop.journey(case).travel.housing.address)
        } finally {
            laptop.close()
            tablet.close()
        }
    }

    @Test
    fun severalThreadsCallAtOnce() {
        val path = tempDir().resolve("threads.db")
        val case = belgianCase(path)
        openStore(path, Role.CASEWORKER).use { store ->
            val tasks = store.journey(case).stages.flatMap { it.tasks }.map { it.id }.take(8)
            val pool = Executors.newFixedThreadPool(8)
            val start = CountDownLatch(1)
            val failures = java.util.concurrent.ConcurrentLinkedQueue<Throwable>()
            for ((i, id) in tasks.withIndex()) {
                pool.execute {
                    start.await()
                    try {
                        for (n in 1..25) {
                            store.apply(case, Edit.SetTaskNotes(id, "thread $i note $n"))
                            store.journey(case, Locale.entries[n % 3])
                            store.syncStatus()
                        }
                    } catch (t: Throwable) {
                        failures.add(t)
                    }
                }
            }
            start.countDown()
            pool.shutdown()
            assertTrue(pool.awaitTermination(120, TimeUnit.SECONDS))
            assertTrue(failures.isEmpty(), failures.joinToString())
            val notes = store.journey(case).stages.flatMap { it.tasks }.associate { it.id to it.notes }
            for ((i, id) in tasks.withIndex()) assertEquals("thread $i note 25", notes[id])
        }
    }

    @Test
    fun openingAndClosingTenThousandStoresKeepsMemoryBounded() {
        val path = tempDir().resolve("many.db")
        belgianCase(path)
        fun cycle(times: Int) {
            repeat(times) { openStore(path, Role.CASEWORKER).use { it.role } }
        }
        // Warm-up: the JIT and JNA's caches settle in the first thousands of calls.
        cycle(2_000)
        System.gc()
        val before = residentBytes()
        cycle(10_000)
        System.gc()
        val grown = residentBytes() - before
        println("10,000 opens and closes: resident memory grew by ${grown / 1024} KiB (bound 32 MiB)")
        assertTrue(grown < 32L * 1024 * 1024, "grew by $grown bytes")
    }

    @Test
    fun flowsReportEditsAndSyncs(): Unit = runBlocking {
        val path = tempDir().resolve("flows.db")
        val case = belgianCase(path)
        openStore(path, Role.CASEWORKER).use { store ->
            val changed = async { withTimeout(10_000) { store.caseChanges.first() } }
            // Let the flow subscribe before the edit.
            repeat(20) { yield(); Thread.sleep(5) }
            store.apply(case, Edit.SetTaskStatus(task, TaskStatus.IN_PROGRESS))
            assertEquals(listOf(case), changed.await())
            val status = withTimeout(10_000) { store.syncStatusUpdates.first() }
            assertEquals(null, status.server, "not enrolled")
        }
    }

    @Test
    fun remindersForTheFlightFromAmmanOnTheLastSundayOfMarch() {
        val path = tempDir().resolve("reminders.db")
        val case = belgianCase(path)
        openStore(path, Role.CASEWORKER).use { store ->
            store.apply(
                case,
                Edit.AddFlight(
                    FlightBooking(
                        bookingReference = "RJ7QX2",
                        travellers = listOf("Rana Haddad"),
                        segments = listOf(
                            FlightSegment(
                                carrier = "RJ",
                                flightNumber = "131",
                                from = "AMM",
                                to = "BRU",
                                departs = "2027-03-28T06:00:00+03:00[Asia/Amman]",
                                arrives = "2027-03-28T09:40:00+02:00[Europe/Brussels]",
                            ),
                        ),
                    ),
                ),
            )
            store.apply(
                case,
                Edit.AddAppointment(Appointment("Clinic Amman", "2027-03-29T10:30:00+03:00[Asia/Amman]", "x-ray")),
            )
            val now = Instant.parse("2027-03-20T00:00:00Z")
            val reminders = store.reminders(case, now, ZoneId.of("Asia/Amman"), Locale.EN)
            val flight = reminders.single { it.kind == ReminderKind.FLIGHT }
            assertEquals(Instant.parse("2027-03-26T03:00:00Z"), flight.notifyAt)
            assertEquals(Instant.parse("2027-03-28T03:00:00Z"), flight.eventAt)
            assertTrue(flight.body.contains("06:00"), flight.body)
            val appointment = reminders.single { it.kind == ReminderKind.MEDICAL_APPOINTMENT }
            assertFalse(appointment.body.contains("x-ray"), "the purpose never shows on a lock screen")
        }
    }
}
