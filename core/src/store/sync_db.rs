//! The SQL of the device's sync bookkeeping (schema version 2): the server heads last
//! received per document, and a few named values (server, token, last results).
//!
//! Whether a document may have changes the server lacks is answered from the chunk
//! rows alone (a row written after the document was last in step with the server), so
//! an edit writes nothing extra for sync, and a sync of a device holding a thousand
//! unchanged cases reads no document.

use automerge::ChangeHash;
use rusqlite::{OptionalExtension, params};

use super::db::Db;
use crate::error::{Error, Result};
use crate::ids::DocId;

/// Heads as stored: 32-byte hashes, concatenated.
pub(crate) fn heads_blob(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.as_ref().to_vec()).collect()
}

pub(crate) fn heads_from_blob(blob: &[u8]) -> Vec<ChangeHash> {
    blob.chunks(32)
        .filter_map(|h| ChangeHash::try_from(h).ok())
        .collect()
}

impl Db {
    /// Documents that may have changes the server lacks, with the server heads held
    /// for them (`None`: never acknowledged by the server).
    pub(crate) fn sync_candidates(&self) -> Result<Vec<(DocId, Option<Vec<ChangeHash>>)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT d.doc_id, s.server_heads FROM documents d LEFT JOIN sync_state s USING (doc_id)
                 WHERE d.doc_id NOT IN (SELECT doc_id FROM erased)
                   AND (s.doc_id IS NULL
                        OR EXISTS (SELECT 1 FROM chunks c WHERE c.doc_id = d.doc_id AND c.rowid > s.synced_rowid))
                 ORDER BY d.created_at, d.doc_id",
            )
            .map_err(|e| self.fail(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<Vec<u8>>>(1)?))
            })
            .map_err(|e| self.fail(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (doc, heads) = row.map_err(|e| self.fail(e))?;
            if let Ok(doc) = doc.parse() {
                out.push((doc, heads.as_deref().map(heads_from_blob)));
            }
        }
        Ok(out)
    }

    /// Every document's server heads, for the known digest and for `full`.
    pub(crate) fn server_heads(&self) -> Result<Vec<(DocId, Vec<ChangeHash>)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT doc_id, server_heads FROM sync_state ORDER BY doc_id")
            .map_err(|e| self.fail(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)))
            .map_err(|e| self.fail(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (doc, heads) = row.map_err(|e| self.fail(e))?;
            if let Ok(doc) = doc.parse() {
                out.push((doc, heads_from_blob(&heads)));
            }
        }
        Ok(out)
    }

    /// Records the server's heads for a document. With `in_step`, the document holds
    /// nothing the server lacks: every chunk row so far is covered.
    pub(crate) fn record_server_heads(
        &mut self,
        doc: &DocId,
        heads: &[ChangeHash],
        in_step: bool,
    ) -> Result<()> {
        let synced = if in_step {
            "(SELECT coalesce(max(rowid), 0) FROM chunks WHERE doc_id = ?1)"
        } else {
            "coalesce((SELECT synced_rowid FROM sync_state WHERE doc_id = ?1), 0)"
        };
        let sql = format!(
            "INSERT INTO sync_state (doc_id, server_heads, synced_rowid) VALUES (?1, ?2, {synced})
             ON CONFLICT (doc_id) DO UPDATE SET server_heads = excluded.server_heads,
                                                synced_rowid = excluded.synced_rowid"
        );
        self.conn
            .execute(&sql, params![doc.to_string(), heads_blob(heads)])
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }

    /// Marks a document as holding changes the server lacks, whatever was recorded:
    /// the server said it lost some (it was restored from a backup), so the document
    /// is offered again from the next request on.
    pub(crate) fn resend(&mut self, doc: &DocId) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE sync_state SET synced_rowid = 0 WHERE doc_id = ?1")
            .and_then(|mut stmt| stmt.execute([doc.to_string()]))
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }

    /// Forgets every server head: the device then pushes each document whole on its
    /// next sync, as it did on its first.
    pub(crate) fn forget_server_heads(&mut self) -> Result<()> {
        self.conn
            .execute("DELETE FROM sync_state", [])
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }

    /// Named values whose names start with `prefix`, in name order.
    pub(crate) fn meta_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT key, value FROM sync_meta WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key",
            )
            .map_err(|e| self.fail(e))?;
        let rows = stmt
            .query_map([prefix], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| self.fail(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.fail(e))
    }

    /// A named value; a secret ([`super::sync::is_secret`]) is opened with the store's
    /// keys.
    pub(crate) fn meta(&self, key: &str) -> Result<Option<String>> {
        let stored: Option<String> = self
            .conn
            .query_row("SELECT value FROM sync_meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.fail(e))?;
        match (stored, &self.keys) {
            (Some(value), Some(keys)) if value.starts_with(super::key::SEALED_MARK) => {
                keys.open_secret(key, &value).map(Some)
            }
            (Some(value), None) if value.starts_with(super::key::SEALED_MARK) => Err(Error::KeyRequired),
            // In a sealed store every secret is sealed (sealing in place seals those
            // already there): a plain one was written by someone without the key,
            // a swapped pin say, and is not to be believed.
            (Some(_), Some(_)) if super::sync::is_secret(key) => {
                Err(self.fail(rusqlite::Error::InvalidParameterName(format!(
                    "the secret {key:?} is stored unsealed in a sealed store: it was not written by Passage"
                ))))
            }
            (other, _) => Ok(other),
        }
    }

    /// Sets (or with `None` removes) named values, in one transaction.
    pub(crate) fn set_meta(&mut self, values: &[(&str, Option<&str>)]) -> Result<()> {
        let path = self.path.clone();
        let fail = |e| crate::error::Error::storage(&path, e);
        let keys = self.keys.as_ref();
        let tx = self.conn.transaction().map_err(fail)?;
        for (key, value) in values {
            // Secrets are sealed in a sealed store, never written plain.
            let sealed = match (value, keys) {
                (Some(v), Some(keys)) if super::sync::is_secret(key) => Some(keys.seal_secret(key, v)?),
                _ => None,
            };
            match sealed.as_deref().or(*value) {
                Some(v) => tx.execute(
                    "INSERT INTO sync_meta (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    params![key, v],
                ),
                None => tx.execute("DELETE FROM sync_meta WHERE key = ?1", [key]),
            }
            .map_err(fail)?;
        }
        tx.commit().map_err(fail)
    }
}
