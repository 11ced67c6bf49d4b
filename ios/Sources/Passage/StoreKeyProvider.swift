import Foundation
import PassageFFI

/// Where a store's key comes from: the host's keystore. ``KeychainKeyProvider`` is the
/// one to use on iOS and macOS; tests and previews can use ``FixedKeyProvider``.
///
/// Passage asks for the key every time a store opens, on the opening thread, with the
/// store's stable id rather than its path: an app's container, and so the path of every
/// file in it, moves across updates, reinstalls and restores, while the id is kept
/// inside the store file and moves with it.
///
/// The first key a store is given becomes its key: everything in the store is sealed at
/// rest (XChaCha20-Poly1305) under keys this key wraps, so a lost key is a lost store
/// (start a new one and sync it again). A different key later fails the open with
/// ``PassageStoreError/wrongKey(reason:)``.
public protocol StoreKeyProvider: Sendable {
    /// The 32-byte key of the store whose id is `storeId` (32 hex characters), the same
    /// every time for the same id.
    ///
    /// Throw a ``PassageStoreError`` to fail the open with that case (e.g. `.storage`
    /// while the Keychain cannot be read); anything else thrown fails it with
    /// `.internal`, and the app keeps running.
    func storeKey(forStore storeId: String) throws -> Data
}

/// One key for every store: for tests, previews and tools, never for people's data.
public struct FixedKeyProvider: StoreKeyProvider {
    public let key: Data

    public init(key: Data) {
        self.key = key
    }

    public func storeKey(forStore storeId: String) throws -> Data {
        key
    }
}

/// The host's provider as the generated layer's callback interface.
final class KeyProviderBridge<Provider: StoreKeyProvider>: PassageFFI.KeyProvider {
    private let provider: Provider

    init(_ provider: Provider) {
        self.provider = provider
    }

    func storeKey(storeId: String) throws -> Data {
        do {
            return try provider.storeKey(forStore: storeId)
        } catch let error as PassageStoreError {
            // Declared: crosses into Rust as this kind and comes back as it.
            throw error.generated
        }
        // Anything else is undeclared: uniffi hands Rust its description, and the open
        // fails with .internal.
    }
}
