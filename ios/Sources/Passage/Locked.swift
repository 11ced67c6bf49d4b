import Foundation

/// A value behind a lock, for the little state a `Sendable` class changes.
/// (`OSAllocatedUnfairLock` needs iOS 16 and `Mutex` iOS 18; this package supports 15.)
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    /// Runs `body` with the lock held. Keep it short, and never call out of Passage or
    /// into something that may take the same lock from inside it.
    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
