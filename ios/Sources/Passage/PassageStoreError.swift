import Foundation
import PassageFFI

/// What went wrong in a Passage call, sorted by what the app does next.
///
/// Every `PassageStore` call throws only this type. It is converted from the generated
/// layer's error in one place, ``PassageStoreError/init(converting:)``; apps never see
/// the generated error type. `reason` is an English sentence for logs and support; it
/// never quotes a medical value. Show people a message of your own, chosen by case
/// (or by ``kind``).
public enum PassageStoreError: Error, LocalizedError, Hashable, Sendable {
    /// The server could not be reached or cannot serve now. Nothing was lost: sync again
    /// later, not before `retryAfter` seconds when it is given.
    case retryLater(reason: String, retryAfter: TimeInterval?)
    /// The device is not enrolled, or its token was revoked or expired: ask for a new
    /// enrolment code.
    case enrolAgain(reason: String)
    /// The input cannot be used as given (a malformed date, a refused enrolment code, an
    /// unknown task): ask the person to correct it.
    case invalidInput(reason: String)
    /// The case, task or booking does not exist (any more): refresh what the person
    /// picked from.
    case notFound(reason: String)
    /// This role may not do this (here or on the server): tell the person, do not retry.
    case notAllowed(reason: String)
    /// The disk is full or the database failed: free space, then retry.
    case storage(reason: String)
    /// Stored or received data is damaged or from a newer version: report it, update the
    /// app; other cases stay usable.
    case corruptData(reason: String)
    /// The key the app gave is not this store's key: find the right one in the Keychain,
    /// or start a new store and sync it again.
    case wrongKey(reason: String)
    /// A bug in Passage, or an app callback (a key provider) that threw: report it. The
    /// operation did not happen; the store is still usable.
    case `internal`(reason: String)
    /// This `PassageStore` was closed (``PassageStore/close()``); open the store again.
    case closed

    /// The case without its details, for comparisons and `switch`es that need no reason.
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        case retryLater
        case enrolAgain
        case invalidInput
        case notFound
        case notAllowed
        case storage
        case corruptData
        case wrongKey
        case `internal`
        case closed
    }

    public var kind: Kind {
        switch self {
        case .retryLater: .retryLater
        case .enrolAgain: .enrolAgain
        case .invalidInput: .invalidInput
        case .notFound: .notFound
        case .notAllowed: .notAllowed
        case .storage: .storage
        case .corruptData: .corruptData
        case .wrongKey: .wrongKey
        case .internal: .internal
        case .closed: .closed
        }
    }

    /// The sentence Passage gave, for logs and support.
    public var reason: String {
        switch self {
        case let .retryLater(reason, _),
             let .enrolAgain(reason),
             let .invalidInput(reason),
             let .notFound(reason),
             let .notAllowed(reason),
             let .storage(reason),
             let .corruptData(reason),
             let .wrongKey(reason),
             let .internal(reason):
            reason
        case .closed:
            "the store was closed"
        }
    }

    /// How long the server asked to wait, for `.retryLater`.
    public var retryAfter: TimeInterval? {
        if case let .retryLater(_, retryAfter) = self { retryAfter } else { nil }
    }

    /// Whether the same call may succeed later without the person doing anything.
    public var isTransient: Bool {
        switch kind {
        case .retryLater, .storage: true
        default: false
        }
    }

    public var errorDescription: String? { reason }

    public var failureReason: String? {
        switch kind {
        case .retryLater: "The server could not be reached."
        case .enrolAgain: "This device is not enrolled, or its enrolment ended."
        case .invalidInput: "The input cannot be used as given."
        case .notFound: "It does not exist, or no longer."
        case .notAllowed: "This role may not do this."
        case .storage: "The device's storage failed."
        case .corruptData: "Stored or received data is damaged."
        case .wrongKey: "The store key is not this store's key."
        case .internal: "Something failed inside Passage."
        case .closed: "The store was closed."
        }
    }

    public var recoverySuggestion: String? {
        switch kind {
        case .retryLater: "Sync again later; nothing was lost."
        case .enrolAgain: "Ask for a new enrolment code."
        case .invalidInput: "Correct the input and try again."
        case .notFound: "Refresh the list and choose again."
        case .notAllowed: nil
        case .storage: "Free some space, then try again."
        case .corruptData: "Update the app and report the problem; other cases stay usable."
        case .wrongKey: "Use the key this store was created with, or start a new store and sync it."
        case .internal: "Report the problem; the store is still usable."
        case .closed: "Open the store again."
        }
    }
}

// MARK: - The one conversion from the generated layer

extension PassageStoreError {
    /// Any error from a generated call, as the wrapper's error. The only place the
    /// generated `PassageError` is read: every `PassageStore` method goes through it.
    /// Anything that is not a `PassageError` (a uniffi-internal failure, a panic the
    /// library did not catch) is `.internal`; the app never crashes on it.
    init(converting error: any Error) {
        switch error {
        case let error as PassageStoreError:
            self = error
        case let error as PassageFFI.PassageError:
            switch error {
            case let .RetryLater(reason, retryAfterMs):
                self = .retryLater(reason: reason, retryAfter: retryAfterMs.map { TimeInterval($0) / 1000 })
            case let .EnrolAgain(reason):
                self = .enrolAgain(reason: reason)
            case let .InvalidInput(reason):
                self = .invalidInput(reason: reason)
            case let .NotFound(reason):
                self = .notFound(reason: reason)
            case let .NotAllowed(reason):
                self = .notAllowed(reason: reason)
            case let .Storage(reason):
                self = .storage(reason: reason)
            case let .CorruptData(reason):
                self = .corruptData(reason: reason)
            case let .WrongKey(reason):
                self = .wrongKey(reason: reason)
            case let .Internal(reason):
                self = .internal(reason: reason)
            }
        default:
            self = .internal(reason: "unexpected failure at the Passage boundary: \(String(describing: error))")
        }
    }

    /// The other direction, only for a host's key provider that throws a
    /// `PassageStoreError` on purpose (e.g. `.storage` while the Keychain is locked), so
    /// that it reaches the app with its kind instead of as `.internal`.
    var generated: PassageFFI.PassageError {
        switch self {
        case let .retryLater(reason, retryAfter):
            .RetryLater(
                reason: reason,
                retryAfterMs: retryAfter.flatMap { $0.isFinite ? UInt64(min(max(0, $0), 1e9) * 1000) : nil }
            )
        case let .enrolAgain(reason): .EnrolAgain(reason: reason)
        case let .invalidInput(reason): .InvalidInput(reason: reason)
        case let .notFound(reason): .NotFound(reason: reason)
        case let .notAllowed(reason): .NotAllowed(reason: reason)
        case let .storage(reason): .Storage(reason: reason)
        case let .corruptData(reason): .CorruptData(reason: reason)
        case let .wrongKey(reason): .WrongKey(reason: reason)
        case let .internal(reason): .Internal(reason: reason)
        case .closed: .Internal(reason: "the store was closed")
        }
    }
}
