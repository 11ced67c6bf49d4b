import Foundation
import XCTest

import Passage

/// Many tasks at once, beyond PassageStoreTests.testSeveralTasksCallAtOnce.
final class ConcurrencyTests: PassageTestCase {
    func testConcurrentOpensOfOneFileAllSeeTheSameCase() async throws {
        let creator = try openStore()
        let caseId = try creator.createJourney(belgianJourney())
        creator.close()
        let path = storePath()

        let names = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    let store = try PassageStore(path: path, role: .caseworker, name: "Amira Khoury", keys: TestKeys())
                    defer { store.close() }
                    return try store.journey(caseId: caseId, locale: .en).talentName
                }
            }
            var collected: [String] = []
            for try await name in group {
                collected.append(name)
            }
            return collected
        }
        XCTAssertEqual(names, Array(repeating: "Rana Haddad", count: 8))
    }
}
