//! The store's key: its stable id, unlocking with the host's key, turning a plain
//! store into a sealed one, re-keying, and the data keys that seal each document.
//!
//! The host keeps the store key in the platform's keystore and hands it over at open
//! through a [`KeySource`], asked with the store's **id** (random, kept in the file):
//! an app's container moves on iOS, so a path would not find its key again. The key is
//! checked against a **canary** (a known value sealed under it) before anything else:
//! a wrong key is [`Error::WrongKey`] and touches no data. The store key only wraps
//! data keys (see [`crate::crypt`]); it never seals data itself, so re-keying re-wraps
//! a few dozen keys, whatever the size of the store.
//!
//! A store opened without a key stays plain (for tests and tools that want it so); one
//! that has a canary refuses to open without its key. A plain store opened with a key
//! is sealed in place, in one transaction: every chunk and secret, and the space the
//! plain values took is overwritten with zeros (`secure_delete`, then every free page
//! scrubbed), so that none of the file's pages keeps them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sha2::{Digest as _, Sha256};

use super::db::Db;
use crate::crypt::{self, SecretKey};
use crate::error::{Error, Result};
use crate::ids::DocId;

/// The length of a store key, in bytes.
pub const STORE_KEY_BYTES: usize = crypt::KEY_BYTES;

const STORE_ID: &str = "store_id";
const CANARY: &str = "canary";
const SECRETS_KEY: &str = "secrets_key";
/// The canary of schema 3 (before stores were sealed): SHA-256 of a label and the key.
const LEGACY_CANARY: &str = "key_canary";
const LEGACY_LABEL: &[u8] = b"passage store key canary v1\0";
const CANARY_TEXT: &[u8] = b"passage store canary v1";
const CANARY_AAD: &[u8] = b"passage store canary";
const SECRETS_AAD: &[u8] = b"passage secrets key v1";

/// A store's stable id: 32 hex characters, made when the file is created. The host
/// finds the store's key by it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StoreId(String);

impl StoreId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for StoreId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a store's key comes from: the host's keystore, asked once per open.
pub trait KeySource {
    fn store_key(&self, store: &StoreId) -> Result<SecretKey>;
}

impl<F: Fn(&StoreId) -> Result<SecretKey>> KeySource for F {
    fn store_key(&self, store: &StoreId) -> Result<SecretKey> {
        self(store)
    }
}

/// The keys of an unlocked store.
pub(crate) struct Keys {
    store: SecretKey,
    secrets: SecretKey,
    /// Data keys unwrapped so far, by document id, each with the wrapped bytes it
    /// came from. This only saves unwrapping: the row is read every time and the
    /// cache answers for those same bytes alone, so a key whose row a rolled-back
    /// transaction took away, an erasure deleted or another process re-wrapped is
    /// never used from memory.
    docs: RefCell<HashMap<DocId, (Vec<u8>, SecretKey)>>,
    /// The store's file, for errors.
    path: PathBuf,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(<secret>)")
    }
}

fn meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.query_row("SELECT value FROM store_meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
}

fn set_meta(conn: &Connection, key: &str, value: &[u8]) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO store_meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )
    .map(|_| ())
}

fn key_not_opening(doc: &DocId) -> Error {
    Error::CorruptDocument {
        doc: doc.clone(),
        chunk: "data key".into(),
        reason: "the document's key does not open with the store key".into(),
    }
}

impl Keys {
    fn fail(&self, e: rusqlite::Error) -> Error {
        Error::storage(&self.path, e)
    }

    /// A document's data key, to read its chunks: `None` if it has none.
    pub(crate) fn doc_key(&self, conn: &Connection, doc: &DocId) -> Result<Option<SecretKey>> {
        let id = doc.to_string();
        let wrapped: Option<Vec<u8>> = conn
            .prepare_cached("SELECT wrapped FROM doc_keys WHERE doc_id = ?1")
            .and_then(|mut stmt| stmt.query_row([&id], |r| r.get(0)).optional())
            .map_err(|e| self.fail(e))?;
        let Some(wrapped) = wrapped else { return Ok(None) };
        if let Some((bytes, key)) = self.docs.borrow().get(doc)
            && *bytes == wrapped
        {
            return Ok(Some(key.clone()));
        }
        let Some(key) = SecretKey::unwrap(&wrapped, &self.store, &crypt::doc_key_aad(&id)) else {
            // Another process re-keyed the store since this one opened it: the typed
            // error, so that the host opens it again with the key it now keeps.
            return Err(if self.is_current(conn)? {
                key_not_opening(doc)
            } else {
                Error::WrongKey
            });
        };
        self.docs.borrow_mut().insert(doc.clone(), (wrapped, key.clone()));
        Ok(Some(key))
    }

    /// Whether the store's canary still opens with this process's store key.
    fn is_current(&self, conn: &Connection) -> Result<bool> {
        let canary = meta(conn, CANARY).map_err(|e| self.fail(e))?;
        Ok(canary.and_then(|c| self.store.open(&c, CANARY_AAD)).as_deref() == Some(CANARY_TEXT))
    }

    /// A document's data key, to write its chunks, made if it has none yet. Called
    /// inside the write transaction that stores the chunks, so that two processes
    /// never seal one document under two keys. A new key is wrapped only after the
    /// canary shows that the store key is still this one: a process that kept the
    /// store open while another re-keyed it would otherwise wrap keys nobody holds.
    pub(crate) fn doc_key_or_new(&self, conn: &Connection, doc: &DocId) -> Result<SecretKey> {
        if let Some(key) = self.doc_key(conn, doc)? {
            return Ok(key);
        }
        if !self.is_current(conn)? {
            return Err(Error::WrongKey);
        }
        let id = doc.to_string();
        let key = SecretKey::generate()?;
        let wrapped = key.wrap(&self.store, &crypt::doc_key_aad(&id))?;
        conn.execute(
            "INSERT INTO doc_keys (doc_id, wrapped) VALUES (?1, ?2)",
            params![id, wrapped],
        )
        .map_err(|e| self.fail(e))?;
        self.docs.borrow_mut().insert(doc.clone(), (wrapped, key.clone()));
        Ok(key)
    }

    /// A document's data key for reading its rows: `None` if it has none (it was
    /// erased, or never written). Fetched once per document and operation, not per row.
    pub(crate) fn sealer(&self, conn: &Connection, doc: &DocId) -> Result<Option<DocSeal>> {
        Ok(self.doc_key(conn, doc)?.map(|key| DocSeal {
            id: doc.to_string(),
            key,
        }))
    }

    /// A document's data key for writing its rows, made if it has none yet (see
    /// [`Keys::doc_key_or_new`]).
    pub(crate) fn sealer_or_new(&self, conn: &Connection, doc: &DocId) -> Result<DocSeal> {
        Ok(DocSeal {
            id: doc.to_string(),
            key: self.doc_key_or_new(conn, doc)?,
        })
    }

    /// Forgets a document's data key (its row is being deleted).
    pub(crate) fn forget(&self, doc: &DocId) {
        self.docs.borrow_mut().remove(doc);
    }

    /// A secret as stored: sealed, in hex, after a marker.
    pub(crate) fn seal_secret(&self, name: &str, value: &str) -> Result<String> {
        let sealed = self.secrets.seal(value.as_bytes(), &crypt::secret_aad(name))?;
        Ok(format!("{SEALED_MARK}{}", hex::encode(sealed)))
    }

    pub(crate) fn open_secret(&self, name: &str, stored: &str) -> Result<String> {
        let bytes = stored
            .strip_prefix(SEALED_MARK)
            .and_then(|h| hex::decode(h).ok())
            .and_then(|sealed| self.secrets.open(&sealed, &crypt::secret_aad(name)))
            .ok_or_else(|| {
                self.fail(rusqlite::Error::InvalidParameterName(format!(
                    "the stored secret {name:?} does not open with the store key"
                )))
            })?;
        String::from_utf8(bytes).map_err(|_| Error::InvalidInput(format!("the secret {name:?} is not text")))
    }
}

/// One document's data key, with what binds its sealed rows to the document.
pub(crate) struct DocSeal {
    id: String,
    key: SecretKey,
}

impl DocSeal {
    pub(crate) fn seal_chunk(&self, hash: &[u8], plain: &[u8]) -> Result<Vec<u8>> {
        self.key.seal(plain, &crypt::chunk_aad(&self.id, hash))
    }

    /// Opens a chunk, or says which and why it does not open.
    pub(crate) fn open_chunk(&self, doc: &DocId, hash: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
        self.key
            .open(sealed, &crypt::chunk_aad(&self.id, hash))
            .ok_or_else(|| Error::CorruptDocument {
                doc: doc.clone(),
                chunk: hex::encode(hash),
                reason: "the chunk does not open with its document's key".into(),
            })
    }

    /// Seals something else of the document (a voucher), bound to `aad`.
    pub(crate) fn seal(&self, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>> {
        self.key.seal(plain, aad)
    }

    /// Opens what [`DocSeal::seal`] sealed; `None` if it does not open.
    pub(crate) fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        self.key.open(sealed, aad)
    }
}

/// The prefix of a sealed secret in `sync_meta`.
pub(crate) const SEALED_MARK: &str = "sealed:";

/// The store's id, made (once, whoever comes first) if the file has none.
pub(crate) fn store_id(db: &Db) -> Result<StoreId> {
    let fail = |e| db.fail(e);
    if let Some(id) = meta(&db.conn, STORE_ID).map_err(fail)? {
        return Ok(StoreId(String::from_utf8_lossy(&id).into_owned()));
    }
    let mut bytes = [0u8; 16];
    crypt::random(&mut bytes)?;
    db.conn
        .execute(
            "INSERT OR IGNORE INTO store_meta (key, value) VALUES (?1, ?2)",
            params![STORE_ID, hex::encode(bytes).into_bytes()],
        )
        .map_err(fail)?;
    let id = meta(&db.conn, STORE_ID).map_err(fail)?.unwrap_or_default();
    Ok(StoreId(String::from_utf8_lossy(&id).into_owned()))
}

/// Whether the store is sealed (has a canary): then it opens only with its key.
pub(crate) fn is_sealed(db: &Db) -> Result<bool> {
    Ok(meta(&db.conn, CANARY).map_err(|e| db.fail(e))?.is_some())
}

/// Checks `key` against the store and unlocks it; a plain store is sealed first.
pub(crate) fn unlock(db: &mut Db, key: SecretKey) -> Result<()> {
    let fail = |e| db.fail(e);
    if let Some(canary) = meta(&db.conn, CANARY).map_err(fail)? {
        return open_sealed(db, key, &canary);
    }
    if let Some(legacy) = meta(&db.conn, LEGACY_CANARY).map_err(fail)? {
        let hash = Sha256::new()
            .chain_update(LEGACY_LABEL)
            .chain_update(key.expose())
            .finalize();
        if legacy != hash.as_slice() {
            return Err(Error::WrongKey);
        }
    }
    seal_in_place(db, &key)?;
    let canary = meta(&db.conn, CANARY)
        .map_err(|e| db.fail(e))?
        .ok_or(Error::WrongKey)?;
    open_sealed(db, key, &canary)
}

fn open_sealed(db: &mut Db, key: SecretKey, canary: &[u8]) -> Result<()> {
    if key.open(canary, CANARY_AAD).as_deref() != Some(CANARY_TEXT) {
        return Err(Error::WrongKey);
    }
    let wrapped = meta(&db.conn, SECRETS_KEY)
        .map_err(|e| db.fail(e))?
        .ok_or(Error::WrongKey)?;
    let secrets = SecretKey::unwrap(&wrapped, &key, SECRETS_AAD).ok_or(Error::WrongKey)?;
    db.keys = Some(Keys {
        store: key,
        secrets,
        docs: RefCell::new(HashMap::new()),
        path: db.path.clone(),
    });
    Ok(())
}

/// Seals a plain store: data keys for every document, every chunk and secret sealed,
/// the canary written; all in one transaction, then the plain bytes scrubbed.
fn seal_in_place(db: &mut Db, key: &SecretKey) -> Result<()> {
    let path = db.path.clone();
    let fail = |e| Error::storage(&path, e);
    let tx = db
        .conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(fail)?;
    // Another process may have sealed it while this one waited for the lock.
    if meta(&tx, CANARY).map_err(fail)?.is_some() {
        return Ok(());
    }
    // The canary first: new data keys are wrapped only under a store key the canary
    // names (`Keys::doc_key_or_new`). All of it commits together or not at all.
    set_meta(&tx, CANARY, &key.seal(CANARY_TEXT, CANARY_AAD)?).map_err(fail)?;
    let secrets = SecretKey::generate()?;
    let keys = Keys {
        store: key.clone(),
        secrets: secrets.clone(),
        docs: RefCell::new(HashMap::new()),
        path: path.clone(),
    };
    let rows: Vec<(i64, String, Vec<u8>, Vec<u8>)> = {
        let mut stmt = tx
            .prepare("SELECT rowid, doc_id, hash, bytes FROM chunks ORDER BY doc_id")
            .map_err(fail)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .map_err(fail)?;
        rows.collect::<rusqlite::Result<_>>().map_err(fail)?
    };
    let sealed_rows = rows.len();
    // Rows come by document: its key is fetched (or made) once.
    let mut current: Option<(String, DocSeal)> = None;
    for (rowid, doc, hash, plain) in rows {
        if current.as_ref().is_none_or(|(id, _)| *id != doc) {
            let id: DocId = doc.parse().map_err(|_| {
                Error::storage(
                    &path,
                    rusqlite::Error::InvalidParameterName(format!(
                        "a chunk of an unreadable document id {doc:?}"
                    )),
                )
            })?;
            current = Some((doc, keys.sealer_or_new(&tx, &id)?));
        }
        let Some((_, seal)) = &current else { continue };
        let sealed = seal.seal_chunk(&hash, &plain)?;
        tx.execute(
            "UPDATE chunks SET bytes = ?2 WHERE rowid = ?1",
            params![rowid, sealed],
        )
        .map_err(fail)?;
    }
    let secrets_stored: Vec<(String, String)> = {
        let mut stmt = tx.prepare("SELECT key, value FROM sync_meta").map_err(fail)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(fail)?;
        rows.collect::<rusqlite::Result<Vec<(String, String)>>>()
            .map_err(fail)?
            .into_iter()
            .filter(|(k, _)| super::sync::is_secret(k))
            .collect()
    };
    for (name, value) in secrets_stored {
        tx.execute(
            "UPDATE sync_meta SET value = ?2 WHERE key = ?1",
            params![name, keys.seal_secret(&name, &value)?],
        )
        .map_err(fail)?;
    }
    set_meta(&tx, SECRETS_KEY, &secrets.wrap(key, SECRETS_AAD)?).map_err(fail)?;
    tx.execute("DELETE FROM store_meta WHERE key = ?1", [LEGACY_CANARY])
        .map_err(fail)?;
    tx.commit().map_err(fail)?;
    if sealed_rows > 0 {
        db.scrub()?;
    }
    Ok(())
}

impl Db {
    /// Overwrites every free page of the file with zeros and truncates the WAL, so
    /// that bytes deleted or replaced (the plain chunks of a store just sealed, an
    /// erased document) are in none of the store's files. `secure_delete` zeroes what
    /// is deleted from now on; pages already free are filled with a zero blob and
    /// freed again.
    pub(crate) fn scrub(&mut self) -> Result<()> {
        crypt::scrub(&self.conn).map_err(|e| self.fail(e))
    }
}

/// Re-wraps every data key under `new`, and the canary, in one transaction.
pub(crate) fn rekey(db: &mut Db, new: SecretKey) -> Result<()> {
    let path = db.path.clone();
    let fail = |e| Error::storage(&path, e);
    let (old, secrets) = {
        let keys = db.keys.as_ref().ok_or(Error::KeyRequired)?;
        (keys.store.clone(), keys.secrets.clone())
    };
    let tx = db
        .conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(fail)?;
    let wrapped: Vec<(String, Vec<u8>)> = {
        let mut stmt = tx.prepare("SELECT doc_id, wrapped FROM doc_keys").map_err(fail)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(fail)?;
        rows.collect::<rusqlite::Result<_>>().map_err(fail)?
    };
    for (doc, old_wrapped) in wrapped {
        let aad = crypt::doc_key_aad(&doc);
        let key = SecretKey::unwrap(&old_wrapped, &old, &aad).ok_or_else(|| match doc.parse() {
            Ok(id) => key_not_opening(&id),
            Err(_) => Error::storage(
                &path,
                rusqlite::Error::InvalidParameterName(format!("a key of an unreadable document id {doc:?}")),
            ),
        })?;
        tx.execute(
            "UPDATE doc_keys SET wrapped = ?2 WHERE doc_id = ?1",
            params![doc, key.wrap(&new, &aad)?],
        )
        .map_err(fail)?;
    }
    set_meta(&tx, SECRETS_KEY, &secrets.wrap(&new, SECRETS_AAD)?).map_err(fail)?;
    set_meta(&tx, CANARY, &new.seal(CANARY_TEXT, CANARY_AAD)?).map_err(fail)?;
    tx.commit().map_err(fail)?;
    if let Some(keys) = db.keys.as_mut() {
        keys.store = new;
    }
    // The old wrappings were overwritten in place; scrub them from free pages and
    // the WAL too.
    db.scrub()
}
