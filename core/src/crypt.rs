//! Sealing bytes at rest: XChaCha20-Poly1305 with a random 24-byte nonce, and the
//! keys it uses. The device's store and the sync server seal the same way, with these
//! functions: one format, one place.
//!
//! Three kinds of key, each 32 bytes:
//! - the **store key**, which the host keeps in the platform's keystore (Android
//!   Keystore, iOS Keychain) and hands over at open; the store never writes it down;
//! - a **data key** per document, which seals that document's chunks, and one for the
//!   store's secrets (the device token); each is kept in the store *wrapped*: sealed
//!   under the store key. Re-keying the store re-wraps them and touches no chunk.
//!   Destroying a document's data key makes every copy of its chunks unreadable, on
//!   this device and in any backup of the file's pages (crypto-shredding).
//!
//! A sealed value is `0x01 ‖ nonce (24) ‖ ciphertext ‖ tag (16)`: 41 bytes more than
//! the plain value. Each is sealed with *associated data* naming where it belongs (the
//! document and chunk, the secret's name), so that a sealed value copied to another
//! row does not open there. Random nonces need no counter that a crash or a restored
//! backup could roll back; with 192 bits, they never repeat in practice.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Bytes of every key here.
pub const KEY_BYTES: usize = 32;
const VERSION: u8 = 0x01;
const NONCE_BYTES: usize = 24;
const TAG_BYTES: usize = 16;
/// What sealing adds to a value: a version byte, the nonce and the tag.
pub const SEAL_OVERHEAD: usize = 1 + NONCE_BYTES + TAG_BYTES;
const OVERHEAD: usize = SEAL_OVERHEAD;

/// A 256-bit key, zeroed when dropped.
#[derive(Clone)]
pub struct SecretKey(Zeroizing<[u8; KEY_BYTES]>);

impl std::fmt::Debug for SecretKey {
    // A key never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<secret>)")
    }
}

impl SecretKey {
    /// A key from its bytes; anything but [`KEY_BYTES`] bytes is invalid input.
    pub fn from_bytes(bytes: &[u8]) -> Result<SecretKey> {
        let array: [u8; KEY_BYTES] = bytes.try_into().map_err(|_| {
            Error::InvalidInput(format!(
                "a store key is {KEY_BYTES} bytes, this one is {}",
                bytes.len()
            ))
        })?;
        Ok(SecretKey(Zeroizing::new(array)))
    }

    /// A new random key, from the operating system's generator.
    pub fn generate() -> Result<SecretKey> {
        let mut bytes = Zeroizing::new([0u8; KEY_BYTES]);
        random(bytes.as_mut_slice())?;
        Ok(SecretKey(bytes))
    }

    /// The key's bytes, for a host that keeps the key itself (the terminal device's
    /// key files). Never log them.
    pub fn expose(&self) -> &[u8; KEY_BYTES] {
        &self.0
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(Key::from_slice(self.0.as_slice()))
    }

    /// Seals `plain`, bound to `aad`.
    pub fn seal(&self, plain: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_BYTES];
        random(&mut nonce)?;
        let sealed = self
            .cipher()
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad })
            .map_err(|_| Error::Io(std::io::Error::other("sealing failed")))?;
        let mut out = Vec::with_capacity(OVERHEAD + plain.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend(sealed);
        Ok(out)
    }

    /// Opens a sealed value bound to `aad`; `None` if it was not sealed with this key
    /// for this place, or was changed since.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < OVERHEAD || sealed[0] != VERSION {
            return None;
        }
        let (nonce, body) = sealed[1..].split_at(NONCE_BYTES);
        self.cipher()
            .decrypt(XNonce::from_slice(nonce), Payload { msg: body, aad })
            .ok()
    }

    /// This key, sealed under `wrapping` for `aad`: how data keys are kept.
    pub fn wrap(&self, wrapping: &SecretKey, aad: &[u8]) -> Result<Vec<u8>> {
        wrapping.seal(self.0.as_slice(), aad)
    }

    /// A key wrapped under `wrapping` for `aad`; `None` if `wrapping` is not the key it
    /// was wrapped with.
    pub fn unwrap(wrapped: &[u8], wrapping: &SecretKey, aad: &[u8]) -> Option<SecretKey> {
        let plain = Zeroizing::new(wrapping.open(wrapped, aad)?);
        SecretKey::from_bytes(&plain).ok()
    }
}

/// Fills `out` from the operating system's random generator.
pub fn random(out: &mut [u8]) -> Result<()> {
    getrandom::fill(out)
        .map_err(|e| Error::Io(std::io::Error::other(format!("no randomness from the OS: {e}"))))
}

/// The associated data of a document's chunk row.
pub fn chunk_aad(doc: &str, hash: &[u8]) -> Vec<u8> {
    let mut aad = b"passage chunk v1\0".to_vec();
    aad.extend_from_slice(doc.as_bytes());
    aad.push(0);
    aad.extend_from_slice(hash);
    aad
}

/// The associated data of a document's wrapped data key.
pub fn doc_key_aad(doc: &str) -> Vec<u8> {
    let mut aad = b"passage document key v1\0".to_vec();
    aad.extend_from_slice(doc.as_bytes());
    aad
}

/// Overwrites a SQLite file's free pages with zeros and truncates its WAL, so that
/// bytes deleted or replaced (plain chunks just sealed, an erased document's key) are
/// in none of its files. A table filled with zero blobs takes the free pages, then is
/// dropped (with `secure_delete` on, freeing writes zeros), in a transaction that
/// rolls back if a step fails (a full disk) rather than one left open. The blobs are
/// 64 MiB at most, well under SQLite's limit of 1 GB per value. Both the device's
/// store and the server's database run it.
pub fn scrub(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    const BLOB: i64 = 64 << 20;
    let (free, page): (i64, i64) = conn.query_row(
        "SELECT (SELECT freelist_count FROM pragma_freelist_count),
                (SELECT page_size FROM pragma_page_size)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if free > 0 {
        let mut left = free.saturating_mul(page);
        let mut sql = String::from("CREATE TABLE scrub (zeros BLOB);");
        while left > 0 {
            let n = left.min(BLOB);
            sql.push_str(&format!("INSERT INTO scrub VALUES (zeroblob({n}));"));
            left -= n;
        }
        sql.push_str("DROP TABLE scrub;");
        let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(&sql)?;
        tx.commit()?;
    }
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
}

/// The associated data of a named secret.
pub(crate) fn secret_aad(name: &str) -> Vec<u8> {
    let mut aad = b"passage secret v1\0".to_vec();
    aad.extend_from_slice(name.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_in_their_place() {
        let key = SecretKey::generate().unwrap();
        let other = SecretKey::generate().unwrap();
        let sealed = key.seal(b"IOM MHAC Amman", b"here").unwrap();
        assert_eq!(sealed.len(), OVERHEAD + 14);
        assert!(!sealed.windows(4).any(|w| w == b"MHAC"));
        assert_eq!(
            key.open(&sealed, b"here").as_deref(),
            Some(&b"IOM MHAC Amman"[..])
        );
        assert_eq!(other.open(&sealed, b"here"), None);
        assert_eq!(key.open(&sealed, b"there"), None);
        let mut flipped = sealed.clone();
        flipped[30] ^= 1;
        assert_eq!(key.open(&flipped, b"here"), None);
        assert_eq!(key.open(&sealed[..OVERHEAD - 1], b"here"), None);
        // Two seals of one value differ (fresh nonces).
        assert_ne!(key.seal(b"x", b"here").unwrap(), key.seal(b"x", b"here").unwrap());

        let data = SecretKey::generate().unwrap();
        let wrapped = data.wrap(&key, b"doc").unwrap();
        let back = SecretKey::unwrap(&wrapped, &key, b"doc").unwrap();
        assert_eq!(back.expose(), data.expose());
        assert!(SecretKey::unwrap(&wrapped, &other, b"doc").is_none());
        assert!(SecretKey::from_bytes(&[0; 31]).is_err());
        assert_eq!(format!("{key:?}"), "SecretKey(<secret>)");
    }
}
