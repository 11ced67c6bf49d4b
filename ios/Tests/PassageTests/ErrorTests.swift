import Foundation
import XCTest

import Passage
#if canImport(SQLite3)
import SQLite3
#endif

/// More errors, provoked for real, beyond PassageStoreTests.testEachPublicErrorArrivesAsItsSwiftError.
final class ErrorTests: PassageTestCase {
    func testABadZonedTimeAndAMalformedCaseIdAreInvalidInput() throws {
        let store = try openStore()
        defer { store.close() }
        let caseId = try store.createJourney(belgianJourney())
        assertThrows(
            .invalidInput,
            try store.apply(
                .addAppointment(appointment: Appointment(clinic: "Amman", at: "10 February, morning", purpose: "")),
                to: caseId
            )
        )
        assertThrows(.invalidInput, try store.journey(caseId: "not a case id", locale: .en))
    }

    func testAKeyProviderThrowingAPassageErrorKeepsItsKind() throws {
        struct LockedKeychain: StoreKeyProvider {
            func storeKey(forStore storeId: String) throws -> Data {
                throw PassageStoreError.storage(reason: "the Keychain is locked")
            }
        }
        let error = assertThrows(.storage, try openStore(keys: LockedKeychain()))
        XCTAssertEqual(error?.reason, "the Keychain is locked")
    }

    func testAStoreWhoseDirectoryCannotBeMadeIsStorage() throws {
        // The store's parent "directory" is a file: it cannot be created.
        let blocker = storePath("not-a-directory")
        try Data("a file".utf8).write(to: blocker)
        assertThrows(.storage, try PassageStore(
            path: blocker.appendingPathComponent("store.db"),
            role: .caseworker,
            name: "Amira Khoury",
            keys: TestKeys()
        ))
    }

    func testAnEnrolmentServerThatIsNotAURLIsInvalidInput() async throws {
        let store = try openStore()
        defer { store.close() }
        let server = try XCTUnwrap(URL(string: "ftp://127.0.0.1/passage"))
        await assertThrowsAsync(.invalidInput) {
            try await store.enrol(server: server, code: "K7QF-M2XD-9TRA", deviceName: "XCTest")
        }
    }

    #if canImport(SQLite3)
    func testDamagedStoredDataIsCorruptDataAndOtherCasesStayReadable() throws {
        let store = try openStore("damaged.db")
        let victim = try store.createJourney(belgianJourney(talent: "Rana Haddad"))
        let healthy = try store.createJourney(belgianJourney(talent: "Omar Khalil"))
        try store.apply(.setTaskStatus(task: "complete_talent_profile", status: .done), to: victim)
        // Closed first: SQLite's locks are per process, and this test writes the file
        // with its own SQLite.
        store.close()

        try damageChunks(ofCase: victim, in: storePath("damaged.db"))

        let reopened = try openStore("damaged.db")
        defer { reopened.close() }
        assertThrows(.corruptData, try reopened.journey(caseId: victim, locale: .en))
        assertThrows(.corruptData, try reopened.apply(.allowSelfBooking(allowed: true), to: victim))
        XCTAssertEqual(try reopened.journey(caseId: healthy, locale: .en).talentName, "Omar Khalil")
        let listed = try reopened.cases()
        XCTAssertNotNil(listed.first { $0.caseId == victim }?.problem, "the damaged case is listed with its problem")
    }

    /// Overwrites every stored change of one case with bytes that are not Automerge.
    private func damageChunks(ofCase caseId: String, in path: URL) throws {
        var db: OpaquePointer?
        guard sqlite3_open_v2(path.path, &db, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK else {
            defer { sqlite3_close(db) }
            throw XCTSkip("cannot open the store with SQLite: \(String(cString: sqlite3_errmsg(db)))")
        }
        defer { sqlite3_close(db) }
        let garbage = Array("this is not automerge".utf8)
            .map { byte -> String in
                let hex = String(byte, radix: 16)
                return hex.count == 1 ? "0" + hex : hex
            }
            .joined()
        // The case id is 32 hex characters (the store refuses anything else), so it can
        // be written into the statement as it is.
        XCTAssertTrue(caseId.allSatisfy { $0.isHexDigit })
        let sql = """
            UPDATE chunks SET bytes = X'\(garbage)'
            WHERE doc_id IN (SELECT doc_id FROM documents WHERE case_id = '\(caseId)')
            """
        var message: UnsafeMutablePointer<CChar>?
        let result = sqlite3_exec(db, sql, nil, nil, &message)
        defer { sqlite3_free(message) }
        XCTAssertEqual(result, SQLITE_OK, message.map { String(cString: $0) } ?? "")
        XCTAssertGreaterThan(sqlite3_changes(db), 0, "some chunks were damaged")
    }
    #endif
}
