import Foundation
import PassageFFI

/// Where a store's key comes from: the host's keystore. ``KeychainKeyProvider`` is the
/// one to use on iOS and macOS; tests and previews can use ``FixedKeyProvider``.
///
/// Passage asks for the key every time a store opens, on the opening thread. The
/// first key a store is given becomes its key; a different one later fails the open
/// with ``PassageStoreError/wrongKey(reason:)``.
public protocol StoreKeyProvider: Sendable {
    /// The 32-byte key of the store at `store`, the same every time for the same store.
    ///
    /// Throw a ``PassageStoreError`` to fail the open with that case (e.g. `.storage`
    /// while the Keychain cannot be read); anything else thrown fails it with
    /// `.internal`, and the app keeps running.
    func storeKey(for store: URL) throws -> Data
}

/// One key for every store: for tests, previews and tools, never for people's data.
public struct FixedKeyProvider: StoreKeyProvider {
    public let key: Data

    public init(key: Data) {
        self.key = key
    }

    public func storeKey(for store: URL) throws -> Data {
        key
    }
}

/// The host's provider as the generated layer's callback interface.
final class KeyProviderBridge<Provider: StoreKeyProvider>: PassageFFI.KeyProvider {
    private let provider: Provider

    init(_ provider: Provider) {
        self.provider = provider
    }

    func storeKey(path: String) throws -> Data {
        do {
            return try provider.storeKey(for: URL(fileURLWithPath: path))
        } catch let error as PassageStoreError {
            // Declared: crosses into Rust as this kind and comes back as it.
            throw error.generated
        }
        // Anything else is undeclared: uniffi hands Rust its description, and the open
        // fails with .internal.
    }
}
