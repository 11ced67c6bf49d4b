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

    override func setUpWithError() throws {
        try super.setUpWithError()
        #if os(macOS)
        provider = KeychainKeyProvider(service: "org.passage.tests.\(UUID().uuidString)", useDataProtectionKeychain: false)
        #else
        provider = KeychainKeyProvider(service: "org.passage.tests.\(UUID().uuidString)")
        #endif
    }

    override func tearDownWithError() throws {
        try? provider?.deleteKey(for: storePath("keychain.db"))
        try super.tearDownWithError()
    }

    private func key(for path: URL) throws -> Data {
        do {
            return try provider.storeKey(for: path)
        } catch let error as KeychainError {
            throw XCTSkip("the Keychain cannot be used here: \(error)")
        } catch let error as PassageStoreError where error.kind == .storage {
            throw XCTSkip("the Keychain is locked here: \(error.reason)")
        }
    }

    func testAStoreGetsOneRandomKeyAndKeepsIt() throws {
        let path = storePath("keychain.db")
        let first = try key(for: path)
        XCTAssertEqual(first.count, 32)
        XCTAssertNotEqual(first, Data(count: 32))
        XCTAssertEqual(try key(for: path), first, "the same key every time")
        XCTAssertNotEqual(try key(for: storePath("other.db")), first, "another store, another key")
        try? provider.deleteKey(for: storePath("other.db"))
    }

    func testAStoreOpensAgainWithItsKeychainKey() throws {
        let path = storePath("keychain.db")
        _ = try key(for: path)
        let store = try PassageStore(path: path, role: .caseworker, name: "Amira Khoury", keys: provider!)
        let caseId = try store.createJourney(belgianJourney())
        store.close()
        let again = try PassageStore(path: path, role: .caseworker, name: "Amira Khoury", keys: provider!)
        defer { again.close() }
        XCTAssertEqual(try again.journey(caseId: caseId, locale: .en).caseId, caseId)
    }
}
#endif
