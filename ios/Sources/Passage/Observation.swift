import Foundation
import PassageFFI

/// The generated observer interface, forwarding to two closures. Rust calls it on the
/// thread that made the change (the caller's for an edit, the library's sync thread for
/// a sync); the closures only yield into an `AsyncStream`, which is safe from any thread.
final class ObserverBridge: PassageFFI.StoreObserver {
    private let onCasesChanged: @Sendable ([String]) -> Void
    private let onSyncStatusChanged: @Sendable (PassageFFI.SyncStatus) -> Void

    init(
        casesChanged: @escaping @Sendable ([String]) -> Void = { _ in },
        syncStatusChanged: @escaping @Sendable (PassageFFI.SyncStatus) -> Void = { _ in }
    ) {
        onCasesChanged = casesChanged
        onSyncStatusChanged = syncStatusChanged
    }

    func casesChanged(caseIds: [String]) throws {
        onCasesChanged(caseIds)
    }

    func syncStatusChanged(status: PassageFFI.SyncStatus) throws {
        onSyncStatusChanged(status)
    }
}
