import Foundation
import XCTest

import Passage

#if canImport(Security)
import Security

/// The Keychain provider, on the login keychain (an unsigned `swift test` process has no
/// keychain-access-groups entitlement for the data protection keychain). Skipped where
/// the Keychain cannot be used at all (a locked CI keychain).
final class KeychainTests: PassageTestCase {
    private var provider: KeychainKeyProvider!
    /// The store ids this test asked keys for, whose keys are deleted afterwards.
    private var storeIds: [String] = []

    override func setUpWithError() throws {
        try super.setUpWithError()
        #if os(macOS)
        provider = KeychainKeyProvider(service: "org.passage.tests.\(UUID().uuidString)", useDataProtectionKeychain: false)
        #else
        provider = KeychainKeyProvider(service: "org.passage.tests.\(UUID().uuidString)")
        #endif
    }

    override func tearDownWithError() throws {
        for storeId in storeIds {
            try? provider?.deleteKey(forStore: storeId)
        }
        try super.tearDownWithError()
    }

    /// A new store id, as Passage makes them: 32 hex characters.
    private func newStoreId() -> String {
        let storeId = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        storeIds.append(storeId)
        return storeId
    }

    private func key(forStore storeId: String) throws -> Data {
        do {
            return try provider.storeKey(forStore: storeId)
        } catch let error as KeychainError {
            throw XCTSkip("the Keychain cannot be used here: \(error)")
        } catch let error as PassageStoreError where error.kind == .storage {
            throw XCTSkip("the Keychain is locked here: \(error.reason)")
        }
    }

    func testAStoreGetsOneRandomKeyAndKeepsIt() throws {
        let storeId = newStoreId()
        let first = try key(forStore: storeId)
        XCTAssertEqual(first.count, 32)
        XCTAssertNotEqual(first, Data(count: 32))
        XCTAssertEqual(try key(forStore: storeId), first, "the same key every time")
        XCTAssertNotEqual(try key(forStore: newStoreId()), first, "another store, another key")
    }

    func testAStoreOpensAgainWithItsKeychainKeyAfterItsFileMoved() throws {
        // Skips here, rather than failing the open below, where the Keychain is unusable.
        _ = try key(forStore: newStoreId())
        let path = storePath("container-a/keychain.db")
        let store = try PassageStore(path: path, role: .caseworker, name: "Amira Khoury", keys: provider!)
        let storeId = try store.storeId()
        storeIds.append(storeId)
        let caseId = try store.createJourney(belgianJourney())
        store.close()
        XCTAssertEqual(try key(forStore: storeId).count, 32, "the key is kept under the store's id")

        // The app's container moved: the key is found by the id the file carries.
        let moved = storePath("container-b/keychain.db")
        try FileManager.default.createDirectory(at: moved.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.moveItem(at: path, to: moved)
        let again = try PassageStore(path: moved, role: .caseworker, name: "Amira Khoury", keys: provider!)
        defer { again.close() }
        XCTAssertEqual(try again.storeId(), storeId)
        XCTAssertEqual(try again.journey(caseId: caseId, locale: .en).caseId, caseId)
    }

    func testAStoreWhoseKeyWasDeletedCannotBeOpened() throws {
        _ = try key(forStore: newStoreId())
        let path = storePath("deleted-key.db")
        let store = try PassageStore(path: path, role: .caseworker, name: "Amira Khoury", keys: provider!)
        let storeId = try store.storeId()
        storeIds.append(storeId)
        _ = try store.createJourney(belgianJourney())
        store.close()
        try provider.deleteKey(forStore: storeId)
        // The provider makes a new key for the id; the store refuses it.
        assertThrows(.wrongKey, try PassageStore(path: path, role: .caseworker, name: "Amira Khoury", keys: provider!))
    }
}
#endif
