import Foundation
import XCTest

import Passage

/// A keystore that keeps one random key per store id, as a Keychain-backed provider
/// would, and remembers which ids it was asked for.
final class RecordingKeystore: StoreKeyProvider, @unchecked Sendable {
    // Passage asks on the opening thread, which may be any task's: the state is locked.
    private let lock = NSLock()
    private var storedKeys: [String: Data] = [:]
    private var askedIds: [String] = []

    /// The keys handed out, by store id.
    var keys: [String: Data] {
        lock.lock()
        defer { lock.unlock() }
        return storedKeys
    }

    /// The store ids asked for, in order.
    var asked: [String] {
        lock.lock()
        defer { lock.unlock() }
        return askedIds
    }

    func storeKey(forStore storeId: String) throws -> Data {
        lock.lock()
        defer { lock.unlock() }
        askedIds.append(storeId)
        if let key = storedKeys[storeId] {
            return key
        }
        let key = Data((0..<32).map { _ in UInt8.random(in: 0...255) })
        storedKeys[storeId] = key
        return key
    }
}

private let clinic = "IOM Migration Health Assessment Centre, Amman"

/// Whether the store file, or its write-ahead log or shared memory next to it, holds
/// `text` as it is.
private func holds(_ path: URL, _ text: String) -> Bool {
    let needle = Data(text.utf8)
    return ["", "-wal", "-shm"].contains { suffix in
        guard let bytes = try? Data(contentsOf: URL(fileURLWithPath: path.path + suffix)) else {
            return false
        }
        return bytes.range(of: needle) != nil
    }
}

/// The store key through the Swift API: a stable id, a wrong key, re-keying. The same
/// tests, under the same names, as the Kotlin ones (KeysTest).
final class KeysTests: PassageTestCase {
    func testTheKeyIsAskedForByAStableIdThatFollowsTheFileWhenItMoves() throws {
        let keystore = RecordingKeystore()
        let first = storePath("container-a/passage.db")
        try FileManager.default.createDirectory(at: first.deletingLastPathComponent(), withIntermediateDirectories: true)
        let caseId: String
        do {
            let store = try openStore("container-a/passage.db", role: .caseworker, person: "Amira Khoury", keys: keystore)
            defer { store.close() }
            caseId = try store.createJourney(belgianJourney())
            try store.apply(
                .addAppointment(appointment: Appointment(
                    clinic: clinic, at: "2027-01-12T10:30[Asia/Amman]", purpose: "TB screening"
                )),
                to: caseId
            )
        }
        XCTAssertEqual(keystore.asked.count, 1)
        let id = try XCTUnwrap(keystore.asked.first)
        XCTAssertEqual(id.count, 32, id)
        XCTAssertFalse(holds(first, clinic), "the medical record is sealed on disk")

        // An app update moves the container: the same id, so the same key.
        let moved = storePath("container-b/passage.db")
        try FileManager.default.createDirectory(at: moved.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.moveItem(at: first, to: moved)
        do {
            let store = try openStore("container-b/passage.db", role: .caseworker, person: "Amira Khoury", keys: keystore)
            defer { store.close() }
            XCTAssertEqual(try store.storeId(), id)
            XCTAssertEqual(try store.medical(caseId: caseId).appointments.map(\.appointment.clinic), [clinic])
        }
        XCTAssertEqual(keystore.asked, [id, id])
        // Another store, another id and key.
        do {
            let store = try openStore("other.db", role: .talent, person: "Rana Haddad", keys: keystore)
            defer { store.close() }
            XCTAssertNotEqual(try store.storeId(), id)
        }
    }

    func testAWrongKeyIsRefusedAndTheDataStaysReadableWithTheRightOne() throws {
        let path = storePath("wrong-key.db")
        let caseId = try belgianCase("wrong-key.db")
        let before = try Data(contentsOf: path)
        let wrong = assertThrows(.wrongKey, try openStore("wrong-key.db", role: .caseworker, keys: TestKeys(0x11)))
        XCTAssertTrue(wrong?.reason.contains("key") ?? false, wrong?.reason ?? "")
        XCTAssertEqual(try Data(contentsOf: path), before, "a wrong key wrote nothing")
        let store = try openStore("wrong-key.db", role: .caseworker)
        defer { store.close() }
        XCTAssertEqual(try store.journey(caseId: caseId).caseId, caseId)
    }

    func testReKeyingRetiresTheOldKey() throws {
        let caseId = try belgianCase("rekey.db")
        let newKey = Data(repeating: 0x33, count: 32)
        do {
            let store = try openStore("rekey.db", role: .caseworker)
            defer { store.close() }
            try store.rekey(newKey: newKey)
        }
        assertThrows(.wrongKey, try openStore("rekey.db", role: .caseworker))
        let store = try openStore("rekey.db", role: .caseworker, keys: FixedKeyProvider(key: newKey))
        defer { store.close() }
        XCTAssertEqual(try store.journey(caseId: caseId).caseId, caseId)
        assertThrows(.invalidInput, try store.rekey(newKey: Data(count: 8)))
    }
}
