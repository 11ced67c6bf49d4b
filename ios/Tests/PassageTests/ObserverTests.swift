import Foundation
import XCTest

import Passage

/// `caseChanges` and `syncStatusUpdates`, the store's observers as `AsyncStream`s,
/// beyond PassageStoreTests.testStreamsReportEditsAndSyncs.
final class ObserverTests: PassageTestCase {
    func testEveryEditIsOneElementInOrder() async throws {
        let store = try openStore()
        defer { store.close() }
        let first = try store.createJourney(belgianJourney(talent: "Rana Haddad"))
        let second = try store.createJourney(belgianJourney(talent: "Omar Khalil"))

        let changes = store.caseChanges
        try store.apply(.allowSelfBooking(allowed: true), to: first)
        try store.apply(.allowSelfBooking(allowed: true), to: first) // changes nothing: no element
        try store.apply(.allowSelfBooking(allowed: true), to: second)
        var iterator = changes.makeAsyncIterator()
        let one = await iterator.next()
        let two = await iterator.next()
        XCTAssertEqual(one, [first])
        XCTAssertEqual(two, [second])
    }

    func testAStreamEndsWhenTheStoreCloses() async throws {
        let store = try openStore()
        let changes = store.caseChanges
        let statuses = store.syncStatusUpdates
        store.close()
        var caseIterator = changes.makeAsyncIterator()
        let afterClose = await caseIterator.next()
        XCTAssertNil(afterClose)
        // The status stream had its current value before the close; then it ends.
        var statusIterator = statuses.makeAsyncIterator()
        _ = await statusIterator.next()
        let end = await statusIterator.next()
        XCTAssertNil(end)
        // A stream asked of a closed store is empty.
        var late = store.caseChanges.makeAsyncIterator()
        let none = await late.next()
        XCTAssertNil(none)
    }

    func testCancellingTheReaderStopsListeningAndEditsGoOn() async throws {
        let store = try openStore()
        defer { store.close() }
        let caseId = try store.createJourney(belgianJourney())

        let reader = Task {
            var count = 0
            for await _ in store.caseChanges {
                count += 1
            }
            return count
        }
        try store.apply(.allowSelfBooking(allowed: true), to: caseId)
        reader.cancel()
        _ = await reader.value
        // The observer is gone; edits do not notice.
        try store.apply(.allowSelfBooking(allowed: false), to: caseId)
        try store.apply(.setTaskNotes(task: "complete_talent_profile", notes: "after the reader"), to: caseId)
    }

    func testSyncStatusUpdatesStartWithTheCurrentStatusAndFollowAFailedSync() async throws {
        let store = try openStore()
        defer { store.close() }
        let statuses = store.syncStatusUpdates
        let current = try await firstElement(of: statuses)
        XCTAssertEqual(current, try store.syncStatus())

        await assertThrowsAsync(.enrolAgain) { try await store.sync() }
        // Observers are told after every sync, well or not.
        let afterSync = try await firstElement(of: statuses)
        XCTAssertNotNil(afterSync)
        XCTAssertNil(afterSync?.server)
    }

    func testAStreamDroppedUnreadLeavesNothingBehind() throws {
        let store = try openStore()
        defer { store.close() }
        let caseId = try store.createJourney(belgianJourney())
        for _ in 0..<100 {
            _ = store.caseChanges
        }
        try store.apply(.allowSelfBooking(allowed: true), to: caseId)
    }
}
