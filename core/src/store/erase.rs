//! Erasing a document on this device: crypto-shredding, for GDPR Art. 17 or when a
//! case closes.
//!
//! Automerge keeps every change of a document for ever, and its history cannot be
//! rewritten; what can be destroyed is the key its chunks are sealed under. Erasing
//! destroys the document's data key and deletes its chunks and vouchers in one
//! transaction, then overwrites the file's free pages and truncates its WAL, so that
//! no page keeps the wrapped key: any copy of the sealed chunks (a backup, a page the
//! file system kept) is then unreadable with the store key. The document's row and
//! what the server last sent of it stay until the server confirmed the erasure, so
//! that the next sync tells it (`SyncRequest::erase`) with its records still in step;
//! a document erased here never comes back, whatever a server or peer sends.

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::Store;
use super::inner::Inner;
use crate::access::Action;
use crate::error::{Error, Result};
use crate::ids::{CaseId, DocId, DocKind};

/// Where an erasure stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Erasure {
    /// Erased here; the server is still to be told.
    Pending = 0,
    /// Erased here and on the server.
    Done = 1,
    /// Erased here; the server refused to erase its copy (the case moved to another
    /// caseworker, say).
    Refused = 2,
}

impl Store {
    /// Erases a case's medical record (caseworkers): its data key is destroyed and its
    /// chunks deleted on this device at once, and the next sync erases it on the
    /// server and on every device that holds it. It cannot be undone.
    pub fn erase_medical(&self, case: &CaseId) -> Result<()> {
        let mut inner = self.lock();
        inner.identity.role.require(Action::EraseMedical)?;
        let doc = case.doc(DocKind::Medical);
        if !inner.db.document_exists(&doc)? {
            return Err(Error::NotFound(format!("document {doc}")));
        }
        inner.erase_local(&doc, Erasure::Pending)?;
        inner.scrub_after_erasure();
        Ok(())
    }
}

impl Inner {
    /// Whether (and how) a document was erased here.
    pub(super) fn erasure(&self, doc: &DocId) -> Result<Option<Erasure>> {
        let state: Option<i64> = self
            .db
            .conn
            .query_row(
                "SELECT state FROM erased WHERE doc_id = ?1",
                [doc.to_string()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.db.fail(e))?;
        Ok(state.map(|s| match s {
            0 => Erasure::Pending,
            2 => Erasure::Refused,
            _ => Erasure::Done,
        }))
    }

    /// Documents erased here that the server is still to be told of.
    pub(super) fn pending_erasures(&self) -> Result<Vec<DocId>> {
        let mut stmt = self
            .db
            .conn
            .prepare_cached("SELECT doc_id FROM erased WHERE state = 0 ORDER BY doc_id")
            .map_err(|e| self.db.fail(e))?;
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .map_err(|e| self.db.fail(e))?
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| self.db.fail(e))?;
        Ok(rows.into_iter().filter_map(|d| d.parse().ok()).collect())
    }

    /// Destroys the document here (see the module's documentation). With
    /// `Erasure::Done` (the server told this device), its row and records go too. The
    /// caller scrubs the file afterwards ([`Inner::scrub_after_erasure`]), once for
    /// however many it erased.
    pub(super) fn erase_local(&mut self, doc: &DocId, state: Erasure) -> Result<()> {
        self.docs.remove(doc);
        let id = doc.to_string();
        let now = self.now_secs();
        let path = self.db.path.clone();
        let fail = |e| Error::storage(&path, e);
        let tx = self
            .db
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        for sql in [
            "DELETE FROM chunks WHERE doc_id = ?1",
            "DELETE FROM doc_keys WHERE doc_id = ?1",
            "DELETE FROM vouchers WHERE doc_id = ?1",
            "DELETE FROM sync_meta WHERE key = 'held/' || ?1",
        ] {
            tx.execute(sql, [&id]).map_err(fail)?;
        }
        if state == Erasure::Done {
            tx.execute("DELETE FROM sync_state WHERE doc_id = ?1", [&id])
                .map_err(fail)?;
            tx.execute("DELETE FROM documents WHERE doc_id = ?1", [&id])
                .map_err(fail)?;
        }
        tx.execute(
            "INSERT INTO erased (doc_id, erased_at, state) VALUES (?1, ?2, ?3)
             ON CONFLICT (doc_id) DO UPDATE SET state = excluded.state",
            params![id, now, state as i64],
        )
        .map_err(fail)?;
        tx.commit().map_err(fail)?;
        if let Some(keys) = &self.db.keys {
            keys.forget(doc);
        }
        Ok(())
    }

    /// Overwrites the free pages and truncates the WAL after erasures, so that no page
    /// keeps a destroyed key. The erasures stand once committed; a scrub that cannot
    /// finish now (another process reading the WAL) is done again at the next erasure.
    pub(super) fn scrub_after_erasure(&mut self) {
        if let Err(error) = self.db.scrub() {
            tracing::warn!(%error, "the store's free pages could not be scrubbed after an erasure");
        }
    }

    /// The server erased the document (or confirmed this device's erasure). Returns
    /// whether anything was destroyed here: a document this device never held, or
    /// erased before, costs nothing (and leaves no tombstone).
    pub(super) fn erased_by_server(&mut self, doc: &DocId) -> Result<bool> {
        match self.erasure(doc)? {
            Some(Erasure::Done) => return Ok(false),
            None if !self.db.document_exists(doc)? => return Ok(false),
            _ => {}
        }
        self.erase_local(doc, Erasure::Done)?;
        Ok(true)
    }

    /// The server refused to erase a document this device erased: it stays erased
    /// here, and is no longer asked for.
    pub(super) fn erasure_refused(&mut self, doc: &DocId) -> Result<()> {
        self.db
            .conn
            .execute(
                "UPDATE erased SET state = ?2 WHERE doc_id = ?1",
                params![doc.to_string(), Erasure::Refused as i64],
            )
            .map(|_| ())
            .map_err(|e| self.db.fail(e))
    }
}
