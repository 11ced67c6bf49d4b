//! The store key's canary: the host's key is checked here long before it encrypts
//! anything.
//!
//! The apps hold a 256-bit key for each store in the platform's keystore (Android
//! Keystore, the iOS Keychain) and hand it over through the bindings' key provider.
//! Encryption at rest is not switched on yet; until it is, the key is already asked
//! for at every open and checked against a canary kept in the store, so that a host
//! that lost or replaced its key learns it now, with a typed error, and not on the day
//! the first encrypted store cannot be opened. The shape follows Mozilla's logins store
//! (`create_canary`/`check_canary`, ../shared/reference/reliability-anchors.md §2): the
//! host owns the key, the core never writes it down.
//!
//! The canary is SHA-256 over a fixed label and the key: it says whether a key is the
//! right one, and, the key being 256 random bits, nothing about the key itself.

use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::Store;
use crate::error::{Error, Result};

/// The length of a store key, in bytes.
pub const STORE_KEY_BYTES: usize = 32;

const CANARY_KEY: &str = "key_canary";
const CANARY_LABEL: &[u8] = b"passage store key canary v1\0";

impl Store {
    /// Checks `key` against this store's canary, recording it on the first call: the
    /// first key a store is given is its key. A different key afterwards is
    /// [`Error::WrongKey`]; a key that is not [`STORE_KEY_BYTES`] long is invalid input.
    pub fn check_key(&self, key: &[u8]) -> Result<()> {
        if key.len() != STORE_KEY_BYTES {
            return Err(Error::InvalidInput(format!(
                "a store key is {STORE_KEY_BYTES} bytes, this one is {}",
                key.len()
            )));
        }
        let canary = Sha256::new()
            .chain_update(CANARY_LABEL)
            .chain_update(key)
            .finalize()
            .to_vec();
        let inner = self.lock();
        let db = &inner.db;
        let stored: Option<Vec<u8>> = db
            .conn
            .query_row("SELECT value FROM store_meta WHERE key = ?1", [CANARY_KEY], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| db.fail(e))?;
        match stored {
            Some(stored) if stored == canary => Ok(()),
            Some(_) => Err(Error::WrongKey),
            None => {
                // OR IGNORE: two processes giving their first key at once keep the
                // first; the loser then reads it back and is checked against it.
                db.conn
                    .execute(
                        "INSERT OR IGNORE INTO store_meta (key, value) VALUES (?1, ?2)",
                        params![CANARY_KEY, canary],
                    )
                    .map_err(|e| db.fail(e))?;
                drop(inner);
                self.check_key_recorded(&canary)
            }
        }
    }

    fn check_key_recorded(&self, canary: &[u8]) -> Result<()> {
        let inner = self.lock();
        let stored: Vec<u8> = inner
            .db
            .conn
            .query_row("SELECT value FROM store_meta WHERE key = ?1", [CANARY_KEY], |r| {
                r.get(0)
            })
            .map_err(|e| inner.db.fail(e))?;
        if stored == canary {
            Ok(())
        } else {
            Err(Error::WrongKey)
        }
    }
}
