import Foundation
import XCTest

import Passage
#if canImport(UserNotifications)
import UserNotifications
#endif

/// The Swift API against the real library and real files: the same tests, in the same
/// order and under the same names, as the Kotlin ones
/// (android/src/test/kotlin/org/passage/PassageStoreTest.kt).
final class PassageStoreTests: PassageTestCase {
    private let taskId = "complete_talent_profile"

    func testOpenEditCloseAndReopen() throws {
        let caseId = try belgianCase("phone.db")
        let store = try openStore("phone.db")
        let applied = try store.apply(.setTaskStatus(task: taskId, status: .done), to: caseId)
        XCTAssertNotNil(applied.change, "a real change was committed")
        try store.apply(.setTaskNotes(task: taskId, notes: "CV uploaded"), to: caseId)
        store.close()

        let reopened = try openStore("phone.db")
        defer { reopened.close() }
        let journey = try reopened.journey(caseId: caseId, locale: .fr)
        XCTAssertEqual(journey.destination.uppercased(), "BE")
        let done = try XCTUnwrap(task(taskId, in: journey))
        XCTAssertEqual(done.status, .done)
        XCTAssertEqual(done.notes, "CV uploaded")
        XCTAssertEqual(done.completedBy, "Amira Khoury")
        XCTAssertNotNil(done.completedAt)
        XCTAssertEqual(done.statusLabel, "Terminé")
        XCTAssertGreaterThanOrEqual(journey.tasksClosed, 1)
        XCTAssertEqual(journey.pdo.days.map(\.day), [1, 2, 3])
        XCTAssertEqual(journey.pdo.modules.count, 5, "the destination's five PDO modules")
        let arabic = try reopened.journey(caseId: caseId, locale: .ar)
        XCTAssertTrue(arabic.rightToLeft, "Arabic is right to left")
        let arabicTitle = try XCTUnwrap(arabic.stages.first?.title)
        XCTAssertTrue(
            arabicTitle.unicodeScalars.contains { (0x0600...0x06FF).contains($0.value) },
            "Arabic titles: \(arabicTitle)"
        )
        XCTAssertEqual(try reopened.cases().map(\.caseId), [caseId])
        let history = try reopened.history(caseId: caseId)
        XCTAssertTrue(history.contains { $0.edit == "task.status" && $0.target == "\(taskId)=done" }, "\(history)")
        XCTAssertTrue(try reopened.exportJSON(caseId: caseId).contains(caseId), "the export names its case")
    }

    func testEachPublicErrorArrivesAsItsSwiftError() async throws {
        let caseId = try belgianCase("errors.db")
        do {
            let store = try openStore("errors.db")
            defer { store.close() }
            let input = assertThrows(.invalidInput, try store.apply(.setTaskDue(task: taskId, due: "2027-02-30"), to: caseId))
            XCTAssertTrue(input?.reason.contains("due") ?? false, input?.reason ?? "")
            assertThrows(.invalidInput, try store.journey(caseId: "not a case id"))
            assertThrows(.notFound, try store.journey(caseId: String(repeating: "0", count: 32)))
            assertThrows(.notFound, try store.apply(.setTaskStatus(task: "no_such_task", status: .done), to: caseId))
            // Not enrolled: sync says to enrol.
            await assertThrowsAsync(.enrolAgain) { try await store.sync() }
            // Nothing listens on port 9: the server cannot be reached, try later. (The
            // client retries three times with backoff first: about 7 s at most.)
            let nowhere = try XCTUnwrap(URL(string: "http://127.0.0.1:9"))
            let later = await assertThrowsAsync(.retryLater) {
                try await store.enrol(server: nowhere, code: "ABCD-EFGH", deviceName: "test phone")
            }
            XCTAssertFalse(later?.reason.isEmpty ?? true)
        }
        do {
            let store = try openStore("errors.db", role: .talent, person: "Rana Haddad")
            defer { store.close() }
            let refused = assertThrows(
                .notAllowed,
                try store.apply(.setPermitDecision(decision: .granted, decidedOn: "2027-02-01"), to: caseId)
            )
            XCTAssertTrue(refused?.reason.contains("talent") ?? false, refused?.reason ?? "")
            XCTAssertEqual(try store.journey(caseId: caseId).permit.decision, .pending, "nothing changed")
        }
        do {
            let store = try openStore("errors.db", role: .family, person: "Mother")
            defer { store.close() }
            assertThrows(.notAllowed, try store.medical(caseId: caseId))
            assertThrows(.notAllowed, try store.journey(caseId: caseId))
        }
        assertThrows(.wrongKey, try openStore("errors.db", keys: TestKeys(0x11)))
        assertThrows(.invalidInput, try openStore("errors.db", keys: FixedKeyProvider(key: Data(count: 16))))
        // A directory where the file should be: the database cannot be opened.
        let directory = storePath("a-directory.db")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        assertThrows(.storage, try PassageStore(path: directory, role: .talent, name: "talent", keys: TestKeys()))
        // A store written by a newer Passage (its schema version bumped in the file's
        // header, offset 60): refused, not misread.
        let file = try FileHandle(forUpdating: storePath("errors.db"))
        try file.seek(toOffset: 60)
        try file.write(contentsOf: Data([0, 0, 0, 99]))
        try file.close()
        let newer = assertThrows(.corruptData, try openStore("errors.db"))
        XCTAssertTrue(newer?.reason.contains("newer") ?? false, newer?.reason ?? "")
    }

    func testAFailingAppCallbackIsAnErrorNotACrash() throws {
        struct KeystoreLocked: Error, CustomStringConvertible {
            var description: String { "the keystore is locked" }
        }
        struct LockedKeystore: StoreKeyProvider {
            func storeKey(forStore storeId: String) throws -> Data {
                throw KeystoreLocked()
            }
        }
        _ = try belgianCase("callback.db")
        let error = assertThrows(.internal, try openStore("callback.db", keys: LockedKeystore()))
        XCTAssertTrue(error?.reason.contains("the keystore is locked") ?? false, error?.reason ?? "")
        // The process is fine and the store opens with a working provider.
        let store = try openStore("callback.db")
        defer { store.close() }
        XCTAssertEqual(try store.cases().count, 1)
    }

    func testAClosedStoreSaysSo() throws {
        let caseId = try belgianCase("closed.db")
        let store = try openStore("closed.db")
        store.close()
        store.close()
        XCTAssertTrue(store.isClosed)
        assertThrows(.closed, try store.journey(caseId: caseId))
        assertThrows(.closed, try store.apply(.allowSelfBooking(allowed: true), to: caseId))
    }

    func testEnrolAndSyncAgainstTheRealServer() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let address = environment["PASSAGE_TEST_SERVER_URL"], !address.isEmpty,
              let talentCode = environment["PASSAGE_TEST_TALENT_CODE"] ?? environment["PASSAGE_TEST_ENROL_CODE"]
        else {
            throw XCTSkip(
                "no passage-server to sync with: PASSAGE_TEST_SERVER_URL and PASSAGE_TEST_TALENT_CODE are not set; "
                    + "scripts/test-with-server.sh starts one on loopback and sets them"
            )
        }
        let server = try XCTUnwrap(URL(string: address), "PASSAGE_TEST_SERVER_URL is not a URL: \(address)")

        let phone = try openStore("rana.db", role: .talent, person: "Rana Haddad")
        let statuses = phone.syncStatusUpdates
        let enrolment = try await phone.enrol(server: server, code: talentCode, deviceName: "Rana's phone")
        XCTAssertEqual(enrolment.role, .talent)
        XCTAssertEqual(enrolment.caseIds.count, 1)
        let caseId = try XCTUnwrap(enrolment.caseIds.first)
        if let expected = environment["PASSAGE_TEST_CASE_ID"] {
            XCTAssertEqual(enrolment.caseIds, [expected])
        }
        let enrolled = try await firstElement(of: statuses)
        XCTAssertEqual(enrolled?.server, enrolment.server, "observers hear of the enrolment")

        let changes = phone.caseChanges
        let first = try await phone.sync()
        XCTAssertTrue(first.complete)
        XCTAssertEqual(first.casesChanged, [caseId])
        let changed = try await firstElement(of: changes)
        XCTAssertEqual(changed, [caseId], "observers hear of the cases a sync brought")
        XCTAssertEqual(try phone.journey(caseId: caseId).talentName, "Rana Haddad")

        try phone.apply(.setTaskStatus(task: taskId, status: .done), to: caseId)
        XCTAssertEqual(try phone.syncStatus().pendingDocuments, 1)
        let second = try await phone.sync()
        XCTAssertEqual(second.roundTrips, 1, "one edit ahead: one round trip")
        let status = try phone.syncStatus()
        XCTAssertEqual(status.pendingDocuments, 0)
        XCTAssertNotNil(status.lastSuccess)
        XCTAssertNil(status.lastError)
        phone.close()

        if let familyCode = environment["PASSAGE_TEST_FAMILY_CODE"] {
            let mother = try openStore("mother.db", role: .family, person: "Mother")
            let familyEnrolment = try await mother.enrol(server: server, code: familyCode, deviceName: "Mother's phone")
            XCTAssertEqual(familyEnrolment.role, .family)
            try await mother.sync()
            XCTAssertEqual(try mother.arrivalPlan(caseId: caseId, locale: .ar).talentName, "Rana Haddad")
            assertThrows(.notAllowed, try mother.medical(caseId: caseId))
            mother.close()
            var raw = try Data(contentsOf: storePath("mother.db"))
            if let wal = try? Data(contentsOf: storePath("mother.db-wal")) {
                raw.append(wal)
            }
            for word in ["appointments", "vaccinations", "fitness", "clinic"] {
                XCTAssertNil(raw.range(of: Data(word.utf8)), "the family store holds no medical field (\(word))")
            }
        }
        // The store enrolled as talent refuses to open as another role.
        assertThrows(.invalidInput, try openStore("rana.db", role: .caseworker))
    }

    func testAConflictIsListedOnBothDevicesAndResolvedOnce() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let address = environment["PASSAGE_TEST_SERVER_URL"], !address.isEmpty,
              let caseId = environment["PASSAGE_TEST_CASE_ID"],
              let codes = environment["PASSAGE_TEST_CASEWORKER_CODES"]?.split(separator: " ").map(String.init),
              codes.count == 2
        else {
            throw XCTSkip(
                "no passage-server to sync with: PASSAGE_TEST_SERVER_URL, PASSAGE_TEST_CASE_ID and "
                    + "PASSAGE_TEST_CASEWORKER_CODES are not set; scripts/test-with-server.sh sets them"
            )
        }
        let server = try XCTUnwrap(URL(string: address), "PASSAGE_TEST_SERVER_URL is not a URL: \(address)")
        let laptop = try openStore("laptop.db", role: .caseworker)
        let tablet = try openStore("tablet.db", role: .caseworker)
        defer {
            laptop.close()
            tablet.close()
        }
        _ = try await laptop.enrol(server: server, code: codes[0], deviceName: "laptop")
        _ = try await tablet.enrol(server: server, code: codes[1], deviceName: "tablet")
        _ = try await laptop.sync()
        _ = try await tablet.sync()
        // Offline on both: two addresses for the same temporary housing.
        func housing(_ address: String) -> Edit {
            .setHousing(housing: Housing(address: address, city: "Brugge", from: "2027-03-28", until: nil))
        }
        try laptop.apply(housing("Langestraat 12"), to: caseId)
        try tablet.apply(housing("Ezelstraat 7"), to: caseId)
        _ = try await laptop.sync()
        _ = try await tablet.sync()
        _ = try await laptop.sync()
        let onLaptop = try laptop.conflicts(caseId: caseId, locale: .en)
        let onTablet = try tablet.conflicts(caseId: caseId, locale: .fr)
        XCTAssertEqual(onLaptop.count, 1, "\(onLaptop)")
        XCTAssertEqual(onLaptop.map(\.id), onTablet.map(\.id))
        let conflict = try XCTUnwrap(onLaptop.first)
        XCTAssertEqual(conflict.field, .housingAddress)
        XCTAssertEqual(Set(conflict.values.map(\.value)), ["Langestraat 12", "Ezelstraat 7"])
        XCTAssertEqual(conflict.values, onTablet.first?.values, "the same values in the same order")
        let pick = try XCTUnwrap(conflict.values.firstIndex { $0.value == "Ezelstraat 7" })
        try laptop.apply(.resolveConflict(conflict: conflict.id, pick: UInt32(pick)), to: caseId)
        XCTAssertTrue(try laptop.conflicts(caseId: caseId, locale: .en).isEmpty)
        _ = try await laptop.sync()
        _ = try await tablet.sync()
        XCTAssertTrue(try tablet.conflicts(caseId: caseId, locale: .en).isEmpty, "resolved once, for every device")
        XCTAssertEqual(try tablet.journey(caseId: caseId).travel.housing.address, "Ezelstraat 7")
        XCTAssertEqual(try laptop.journey(caseId: caseId).travel.housing.address, "Ezelstraat 7")
    }

    func testSeveralTasksCallAtOnce() async throws {
        let caseId = try belgianCase("threads.db")
        let store = try openStore("threads.db")
        defer { store.close() }
        let journeyBefore = try store.journey(caseId: caseId)
        let tasks = Array(journeyBefore.stages.flatMap(\.tasks).map(\.id).prefix(8))
        XCTAssertEqual(tasks.count, 8)
        let languages: [Language] = [.en, .ar, .fr]
        let changes = store.caseChanges

        try await withThrowingTaskGroup(of: Void.self) { group in
            for (i, id) in tasks.enumerated() {
                group.addTask {
                    for n in 1...25 {
                        try store.apply(.setTaskNotes(task: id, notes: "task \(i) note \(n)"), to: caseId)
                        _ = try store.journey(caseId: caseId, locale: languages[n % 3])
                        _ = try store.syncStatus()
                    }
                }
            }
            try await group.waitForAll()
        }

        let journey = try store.journey(caseId: caseId)
        let notes = Dictionary(journey.stages.flatMap(\.tasks).map { ($0.id, $0.notes) }, uniquingKeysWith: { first, _ in first })
        for (i, id) in tasks.enumerated() {
            XCTAssertEqual(notes[id], "task \(i) note 25")
        }
        let edits = try store.history(caseId: caseId).filter { $0.edit == "task.notes" }
        XCTAssertEqual(edits.count, 8 * 25, "every edit committed once")
        // The observer heard every one, from every thread.
        var heard = 0
        var iterator = changes.makeAsyncIterator()
        while heard < 8 * 25, let element = await iterator.next() {
            XCTAssertEqual(element, [caseId])
            heard += 1
        }
        XCTAssertEqual(heard, 8 * 25)
    }

    func testOpeningAndClosingTenThousandStoresKeepsMemoryBounded() throws {
        #if canImport(Darwin)
        _ = try belgianCase("many.db")
        let path = storePath("many.db")
        func cycle(_ times: Int) throws {
            for _ in 0..<times {
                try autoreleasepool {
                    let store = try PassageStore(path: path, role: .caseworker, name: "caseworker", keys: TestKeys())
                    _ = store.role
                    store.close()
                }
            }
        }
        // Warm-up: caches, the template catalogue and the allocator settle first.
        try cycle(1_000)
        let before = try XCTUnwrap(residentBytes(), "task_info failed")
        try cycle(10_000)
        let after = try XCTUnwrap(residentBytes(), "task_info failed")
        let grown = after > before ? after - before : 0
        print("10,000 opens and closes: resident memory grew by \(grown / 1024) KiB (bound 64 MiB)")
        XCTAssertLessThan(grown, 64 << 20, "grew by \(grown) bytes")
        #else
        throw XCTSkip("resident memory is read with task_info, on Darwin only")
        #endif
    }

    func testStreamsReportEditsAndSyncs() async throws {
        let caseId = try belgianCase("flows.db")
        let store = try openStore("flows.db")
        defer { store.close() }
        // A stream listens from the moment it is asked for: no wait needed.
        let changes = store.caseChanges
        try store.apply(.setTaskStatus(task: taskId, status: .inProgress), to: caseId)
        let changed = try await firstElement(of: changes, within: 10)
        XCTAssertEqual(changed, [caseId])
        let status = try await firstElement(of: store.syncStatusUpdates, within: 10)
        XCTAssertNotNil(status)
        XCTAssertNil(status?.server, "not enrolled")
    }

    func testRemindersForTheFlightFromAmmanOnTheLastSundayOfMarch() throws {
        let caseId = try belgianCase("reminders.db")
        let store = try openStore("reminders.db")
        defer { store.close() }
        try store.apply(
            .addFlight(booking: FlightBooking(
                bookingReference: "RJ7QX2",
                travellers: ["Rana Haddad"],
                segments: [
                    FlightSegment(
                        carrier: "RJ",
                        flightNumber: "131",
                        from: "AMM",
                        to: "BRU",
                        departs: "2027-03-28T06:00:00+03:00[Asia/Amman]",
                        arrives: "2027-03-28T09:40:00+02:00[Europe/Brussels]"
                    ),
                ]
            )),
            to: caseId
        )
        try store.apply(
            .addAppointment(appointment: Appointment(
                clinic: "Clinic Amman", at: "2027-03-29T10:30:00+03:00[Asia/Amman]", purpose: "x-ray"
            )),
            to: caseId
        )
        let iso = ISO8601DateFormatter()
        let now = try XCTUnwrap(iso.date(from: "2027-03-20T00:00:00Z"))
        let amman = try XCTUnwrap(TimeZone(identifier: "Asia/Amman"))
        let reminders = try store.reminders(caseId: caseId, now: now, timeZone: amman, locale: .en)

        let flights = reminders.filter { $0.kind == .flight }
        XCTAssertEqual(flights.count, 1)
        let flight = try XCTUnwrap(flights.first)
        XCTAssertEqual(flight.notifyAt, iso.date(from: "2027-03-26T03:00:00Z"))
        XCTAssertEqual(flight.eventAt, iso.date(from: "2027-03-28T03:00:00Z"))
        XCTAssertTrue(flight.body.contains("06:00"), flight.body)
        let appointments = reminders.filter { $0.kind == .medicalAppointment }
        XCTAssertEqual(appointments.count, 1)
        XCTAssertFalse(appointments.first?.body.contains("x-ray") ?? true, "the purpose never shows on a lock screen")

        // The segment's times, read back on the Swift side.
        let segment = try XCTUnwrap(store.journey(caseId: caseId).travel.flights.first?.booking.segments.first)
        XCTAssertEqual(segment.departure?.date, flight.eventAt)
        XCTAssertEqual(segment.departure?.timeZone.identifier, "Asia/Amman")
        XCTAssertEqual(segment.arrival?.local.hour, 9)
        #if canImport(UserNotifications)
        let request = flight.notificationRequest(now: now)
        XCTAssertEqual(request.identifier, flight.id)
        XCTAssertEqual(request.content.body, flight.body)
        #endif
    }
}
