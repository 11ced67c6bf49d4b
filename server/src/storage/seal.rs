//! Documents sealed at rest on the server, the way devices seal theirs
//! (`passage_core::crypt`): each document's chunks under a data key of its own, the data
//! keys wrapped by the server's master key, a canary to recognise the master key.
//!
//! Backends keep the rows (a `doc_keys` table, a canary value); this module does the
//! cryptography and keeps unwrapped data keys in a small cache, so that a sync does not
//! unwrap its document's key again. The cache is bounded (cleared when full): memory
//! stays flat in the number of cases. It only saves the unwrapping: a backend reads
//! the wrapped key's row every time and the cache answers only for those same bytes,
//! so a key whose row a rolled-back transaction took away, or an erasure deleted, is
//! never used again.

use std::collections::HashMap;
use std::sync::Mutex;

use passage_core::crypt::{self, SecretKey};
use passage_core::{DocId, Error as CoreError};

use super::{Result, StorageError};

/// Unwrapped data keys kept at most.
const CACHED_KEYS: usize = 4096;
const CANARY_TEXT: &[u8] = b"passage server canary v1";
const CANARY_AAD: &[u8] = b"passage server canary";

/// The master key and the data keys unwrapped with it.
pub struct Sealer {
    master: SecretKey,
    /// Data keys by document, each with the wrapped bytes it was unwrapped from.
    keys: Mutex<HashMap<DocId, (Vec<u8>, SecretKey)>>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<secret>)")
    }
}

fn core(e: CoreError) -> StorageError {
    StorageError::Backend(e.to_string())
}

fn cannot_open(what: &str, doc: &DocId) -> StorageError {
    StorageError::Corrupt(format!("{what} of {doc} does not open with the server key"))
}

impl Sealer {
    pub fn new(master: SecretKey) -> Sealer {
        Sealer {
            master,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// A new canary for this master key.
    pub fn canary(&self) -> Result<Vec<u8>> {
        self.master.seal(CANARY_TEXT, CANARY_AAD).map_err(core)
    }

    /// Whether a stored canary was made with this master key.
    pub fn recognises(&self, canary: &[u8]) -> bool {
        self.master.open(canary, CANARY_AAD).as_deref() == Some(CANARY_TEXT)
    }

    fn remember(&self, doc: &DocId, wrapped: &[u8], key: &SecretKey) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if keys.len() >= CACHED_KEYS {
            keys.clear();
        }
        keys.insert(doc.clone(), (wrapped.to_vec(), key.clone()));
    }

    /// Forgets a document's data key (the document is being erased).
    pub fn forget(&self, doc: &DocId) {
        self.keys.lock().unwrap_or_else(|p| p.into_inner()).remove(doc);
    }

    /// The data key of a document from its wrapped form, as stored now.
    pub fn doc_key(&self, doc: &DocId, wrapped: &[u8]) -> Result<SecretKey> {
        let cached = self
            .keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(doc)
            .filter(|(bytes, _)| bytes == wrapped)
            .map(|(_, key)| key.clone());
        if let Some(key) = cached {
            return Ok(key);
        }
        let key = SecretKey::unwrap(wrapped, &self.master, &crypt::doc_key_aad(&doc.to_string()))
            .ok_or_else(|| cannot_open("the data key", doc))?;
        self.remember(doc, wrapped, &key);
        Ok(key)
    }

    /// A new data key for a document, and its wrapped form to store.
    pub fn new_doc_key(&self, doc: &DocId) -> Result<(SecretKey, Vec<u8>)> {
        let key = SecretKey::generate().map_err(core)?;
        let wrapped = key
            .wrap(&self.master, &crypt::doc_key_aad(&doc.to_string()))
            .map_err(core)?;
        self.remember(doc, &wrapped, &key);
        Ok((key, wrapped))
    }

    /// A wrapped data key, wrapped under `new` instead (re-keying).
    pub fn rewrap(&self, doc: &DocId, wrapped: &[u8], new: &SecretKey) -> Result<Vec<u8>> {
        let aad = crypt::doc_key_aad(&doc.to_string());
        let key =
            SecretKey::unwrap(wrapped, &self.master, &aad).ok_or_else(|| cannot_open("the data key", doc))?;
        key.wrap(new, &aad).map_err(core)
    }

    pub fn seal(&self, key: &SecretKey, doc: &DocId, hash: &[u8], plain: &[u8]) -> Result<Vec<u8>> {
        key.seal(plain, &crypt::chunk_aad(&doc.to_string(), hash))
            .map_err(core)
    }

    pub fn open(&self, key: &SecretKey, doc: &DocId, hash: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
        key.open(sealed, &crypt::chunk_aad(&doc.to_string(), hash))
            .ok_or_else(|| cannot_open("a chunk", doc))
    }
}
