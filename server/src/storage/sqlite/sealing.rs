//! The SQL of sealing at rest: data keys in `doc_keys`, the canary in `server_meta`,
//! sealing a database from before sealing in place, and re-keying.

use passage_core::{DocId, SecretKey};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{doc_id, fail};
use crate::storage::seal::Sealer;
use crate::storage::{Result, StorageError};

const CANARY: &str = "canary";

fn canary(conn: &Connection) -> Result<Option<Vec<u8>>> {
    // A database opened read-only before its migration to sealing has no such table.
    let exists: bool = conn
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'server_meta'",
            [],
            |r| r.get(0),
        )
        .map_err(fail)?;
    if !exists {
        return Ok(None);
    }
    conn.query_row("SELECT value FROM server_meta WHERE key = ?1", [CANARY], |r| {
        r.get(0)
    })
    .optional()
    .map_err(fail)
}

pub(super) fn is_sealed(conn: &Connection) -> Result<bool> {
    Ok(canary(conn)?.is_some())
}

fn set_canary(conn: &Connection, value: &[u8]) -> Result<()> {
    conn.execute(
        "INSERT INTO server_meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![CANARY, value],
    )
    .map(|_| ())
    .map_err(fail)
}

/// The data key of a document: unwrapped from its row (or taken from the cache for
/// that row's bytes), else (with `create`) a new one, stored in the caller's
/// transaction. The row is read every time, never only the cache: a key cached in a
/// transaction that then rolled back has no row, and must not seal anything. A new key is made
/// only after checking that the database's canary is still this process's master key:
/// a process left running on the old key after a re-key would otherwise wrap new keys
/// under a key nobody keeps.
pub(super) fn doc_key(
    conn: &Connection,
    sealer: &Sealer,
    doc: &DocId,
    create: bool,
) -> Result<Option<SecretKey>> {
    let wrapped: Option<Vec<u8>> = conn
        .prepare_cached("SELECT wrapped FROM doc_keys WHERE doc_id = ?1")
        .map_err(fail)?
        .query_row([doc.to_string()], |r| r.get(0))
        .optional()
        .map_err(fail)?;
    match wrapped {
        Some(wrapped) => sealer.doc_key(doc, &wrapped).map(Some),
        None if create => {
            if !canary(conn)?.is_some_and(|c| sealer.recognises(&c)) {
                return Err(StorageError::Backend(
                    "the server key was changed while this process ran; restart it with the new key".into(),
                ));
            }
            let (key, wrapped) = sealer.new_doc_key(doc)?;
            conn.execute(
                "INSERT INTO doc_keys (doc_id, wrapped) VALUES (?1, ?2)",
                params![doc.to_string(), wrapped],
            )
            .map_err(fail)?;
            Ok(Some(key))
        }
        None => Ok(None),
    }
}

/// Checks the master key against the canary; a database without one is sealed in
/// place under it.
pub(super) fn unlock(conn: &mut Connection, sealer: &Sealer) -> Result<()> {
    match canary(conn)? {
        Some(canary) if sealer.recognises(&canary) => Ok(()),
        Some(_) => Err(StorageError::WrongKey),
        None => seal_in_place(conn, sealer),
    }
}

/// Seals every chunk of a database from before sealing, in one transaction, then
/// overwrites the free pages with zeros and truncates the WAL, so that none of the
/// files keeps a plain chunk.
fn seal_in_place(conn: &mut Connection, sealer: &Sealer) -> Result<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(fail)?;
    // Another process may have sealed it while this one waited for the lock.
    if let Some(canary) = canary(&tx)? {
        return if sealer.recognises(&canary) {
            Ok(())
        } else {
            Err(StorageError::WrongKey)
        };
    }
    set_canary(&tx, &sealer.canary()?)?;
    let rows: Vec<(i64, String, Vec<u8>, Vec<u8>)> = {
        let mut stmt = tx
            .prepare("SELECT rowid, doc_id, hash, bytes FROM chunks")
            .map_err(fail)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .map_err(fail)?;
        rows.collect::<rusqlite::Result<_>>().map_err(fail)?
    };
    let sealed_any = !rows.is_empty();
    for (rowid, doc, hash, plain) in rows {
        let doc = doc_id(&doc)?;
        let key = doc_key(&tx, sealer, &doc, true)?
            .ok_or_else(|| StorageError::Corrupt(format!("{doc} has no data key")))?;
        let sealed = sealer.seal(&key, &doc, &hash, &plain)?;
        tx.execute(
            "UPDATE chunks SET bytes = ?2 WHERE rowid = ?1",
            params![rowid, sealed],
        )
        .map_err(fail)?;
    }
    tx.execute(
        "UPDATE documents SET bytes =
             (SELECT coalesce(sum(length(c.bytes)), 0) FROM chunks c WHERE c.doc_id = documents.doc_id)",
        [],
    )
    .map_err(fail)?;
    tx.commit().map_err(fail)?;
    if sealed_any {
        scrub(conn)?;
    }
    Ok(())
}

/// Overwrites the free pages with zeros (filling them with a zero blob, dropped at
/// once) and truncates the WAL.
pub(super) fn scrub(conn: &Connection) -> Result<()> {
    passage_core::crypt::scrub(conn).map_err(fail)
}

/// Re-wraps every data key under `new`, and the canary, in one transaction.
pub(super) fn rekey(conn: &mut Connection, sealer: &Sealer, new: &SecretKey) -> Result<usize> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(fail)?;
    let keys: Vec<(String, Vec<u8>)> = {
        let mut stmt = tx.prepare("SELECT doc_id, wrapped FROM doc_keys").map_err(fail)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(fail)?;
        rows.collect::<rusqlite::Result<_>>().map_err(fail)?
    };
    let count = keys.len();
    for (doc, wrapped) in keys {
        let rewrapped = sealer.rewrap(&doc_id(&doc)?, &wrapped, new)?;
        tx.execute(
            "UPDATE doc_keys SET wrapped = ?2 WHERE doc_id = ?1",
            params![doc, rewrapped],
        )
        .map_err(fail)?;
    }
    set_canary(&tx, &Sealer::new(new.clone()).canary()?)?;
    tx.commit().map_err(fail)?;
    scrub(conn)?;
    Ok(count)
}
