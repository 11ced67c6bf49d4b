#if canImport(Security)
import Foundation
import Security

/// Store keys in the Keychain: a random 32-byte key per store, made on first use with
/// `SecRandomCopyBytes` and kept as a generic password readable after the first unlock
/// and never leaving this device (`kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly`),
/// so a background sync can open the store while the phone is locked.
///
/// A key is found by the store's id (its Keychain account), which is kept inside the
/// store file and so moves with it: an app's container path changes across updates,
/// reinstalls and restores, and a key found by path would be lost with it.
///
/// Everything in the store is sealed at rest (XChaCha20-Poly1305) under keys this key
/// wraps, so there is no reading a store without it. Losing the key (a device restored
/// without its Keychain) makes the store fail to open with `.wrongKey`: start a new
/// store and sync it again.
public struct KeychainKeyProvider: StoreKeyProvider {
    public static let defaultService = "org.passage.store-key"

    /// The Keychain service the keys are kept under.
    public let service: String
    /// A Keychain access group, to share keys with an app extension.
    public let accessGroup: String?
    /// On macOS, use the data protection keychain (as iOS always does). It needs a signed
    /// app with a keychain-access-groups entitlement; turn it off for unsigned tools.
    public let useDataProtectionKeychain: Bool

    public init(
        service: String = KeychainKeyProvider.defaultService,
        accessGroup: String? = nil,
        useDataProtectionKeychain: Bool = true
    ) {
        self.service = service
        self.accessGroup = accessGroup
        self.useDataProtectionKeychain = useDataProtectionKeychain
    }

    public func storeKey(forStore storeId: String) throws -> Data {
        if let key = try existingKey(account: storeId) {
            return key
        }
        let key = try Self.randomKey()
        var attributes = baseQuery(account: storeId)
        attributes[kSecValueData as String] = key
        attributes[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        attributes[kSecAttrLabel as String] = "Passage store key"
        let status = SecItemAdd(attributes as CFDictionary, nil)
        switch status {
        case errSecSuccess:
            return key
        case errSecDuplicateItem:
            // Another thread or process stored one first: that one is the store's key.
            if let key = try existingKey(account: storeId) {
                return key
            }
            throw KeychainError(status: status, operation: "read after a concurrent add")
        default:
            throw Self.failure(status, operation: "add")
        }
    }

    /// Forgets the key of a store, after its file was deleted: read the id with
    /// ``PassageStore/storeId()`` while the store is still open. Whatever is left of that
    /// store can never be read again; a new store gets a new id, and so a new key.
    public func deleteKey(forStore storeId: String) throws {
        let status = SecItemDelete(baseQuery(account: storeId) as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else {
            throw Self.failure(status, operation: "delete")
        }
    }

    private func baseQuery(account: String) -> [String: Any] {
        var query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
        ]
        if let accessGroup {
            query[kSecAttrAccessGroup as String] = accessGroup
        }
        if useDataProtectionKeychain {
            query[kSecUseDataProtectionKeychain as String] = true
        }
        return query
    }

    private func existingKey(account: String) throws -> Data? {
        var query = baseQuery(account: account)
        query[kSecReturnData as String] = true
        query[kSecMatchLimit as String] = kSecMatchLimitOne
        var result: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &result)
        switch status {
        case errSecSuccess:
            guard let key = result as? Data else {
                throw KeychainError(status: status, operation: "read (not data)")
            }
            return key
        case errSecItemNotFound:
            return nil
        default:
            throw Self.failure(status, operation: "read")
        }
    }

    private static func randomKey() throws -> Data {
        var key = Data(count: 32)
        let status = key.withUnsafeMutableBytes { buffer -> OSStatus in
            guard let base = buffer.baseAddress else { return errSecAllocate }
            return SecRandomCopyBytes(kSecRandomDefault, buffer.count, base)
        }
        guard status == errSecSuccess else {
            throw KeychainError(status: status, operation: "generate a key")
        }
        return key
    }

    private static func failure(_ status: OSStatus, operation: String) -> any Error {
        if status == errSecInteractionNotAllowed {
            // Before the first unlock after a restart: try again once the phone was
            // unlocked. Thrown as a Passage error so the open fails as .storage (a
            // retryable kind), not as .internal.
            return PassageStoreError.storage(
                reason: "the Keychain cannot be read before the device is first unlocked after a restart"
            )
        }
        return KeychainError(status: status, operation: operation)
    }
}

/// A Keychain call that failed; an open it made fail reports it as `.internal`.
public struct KeychainError: Error, CustomStringConvertible, Sendable {
    public let status: OSStatus
    public let operation: String

    public var description: String {
        let message = SecCopyErrorMessageString(status, nil) as String? ?? "OSStatus \(status)"
        return "Keychain \(operation) failed: \(message) (\(status))"
    }
}
#endif
