//! The state behind [`super::Store`]'s lock, and the operations the public methods
//! share: the cache of decoded documents, reading, persisting and compacting.
//!
//! Public methods lock once and call these, so that one public call is one consistent
//! view (an export reads journey, medical, conflicts and history under one lock).

use std::collections::HashMap;

use automerge::{ActorId, AutoCommit, ChangeHash};

use super::StoreOptions;
use super::db::Db;
use super::loaded::{self, LoadedDoc};
use crate::access::{Action, Identity};
use crate::conflict::{self, Conflict};
use crate::error::{Error, Result};
use crate::history::{self, HistoryEntry};
use crate::ids::{CaseId, DocId, DocKind};

#[derive(Debug)]
pub(super) struct Inner {
    pub(super) db: Db,
    pub(super) identity: Identity,
    pub(super) options: StoreOptions,
    /// A fresh actor per opened store: two processes on one file, or a store restored
    /// from a backup, never reuse an actor's sequence numbers.
    pub(super) actor: ActorId,
    pub(super) docs: HashMap<DocId, LoadedDoc>,
    pub(super) uses: u64,
}

impl Inner {
    pub(super) fn conflicts(&mut self, case: &CaseId) -> Result<Vec<Conflict>> {
        self.identity.role.require(Action::ReadJourney)?;
        let mut found = Vec::new();
        for kind in self.readable_kinds() {
            if self.erasure(&case.doc(kind))?.is_some() {
                continue;
            }
            let loaded = self.loaded(&case.doc(kind))?;
            found.extend(conflict::list(&loaded.doc, kind));
        }
        Ok(found)
    }

    pub(super) fn history(&mut self, case: &CaseId) -> Result<Vec<HistoryEntry>> {
        self.identity.role.require(Action::ReadHistory)?;
        let mut entries = Vec::new();
        for kind in self.readable_kinds() {
            let id = case.doc(kind);
            if self.erasure(&id)?.is_some() {
                continue;
            }
            let vouchers = self.db.vouchers(&id)?;
            let loaded = self.loaded(&id)?;
            entries.extend(history::entries(&mut loaded.doc, kind, &vouchers));
        }
        Ok(history::merge(entries))
    }

    /// The documents of a case that people edit and this role may read: the journey,
    /// and the medical record unless the role may not see health data.
    fn readable_kinds(&self) -> Vec<DocKind> {
        [DocKind::Journey, DocKind::Medical]
            .into_iter()
            .filter(|kind| self.require_read(*kind).is_ok())
            .collect()
    }

    /// Starts a new Automerge actor for this store's next changes. Done after each
    /// sync that delivered this device's changes: an actor is then used for one batch
    /// only, so that no change of another device can ever take its next sequence
    /// number (the server refuses changes under another device's actor, and this makes
    /// sure the device itself never needs one it has lost).
    pub(super) fn rotate_actor(&mut self) {
        self.actor = ActorId::random();
        for loaded in self.docs.values_mut() {
            loaded.doc.set_actor(self.actor.clone());
        }
    }

    pub(super) fn now_secs(&self) -> i64 {
        self.options.clock.now().timestamp()
    }

    pub(super) fn require_read(&self, kind: DocKind) -> Result<()> {
        self.identity.role.require(match kind {
            DocKind::Journey => Action::ReadJourney,
            DocKind::Medical => Action::ReadMedical,
            DocKind::ArrivalPlan => Action::ReadArrivalPlan,
        })
    }

    pub(super) fn cache(&mut self, id: DocId, mut doc: LoadedDoc) {
        self.uses += 1;
        doc.last_used = self.uses;
        self.docs.insert(id, doc);
        while self.docs.len() > self.options.cached_documents.max(1) {
            let oldest = self
                .docs
                .iter()
                .min_by_key(|(_, d)| d.last_used)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => self.docs.remove(&k),
                None => break,
            };
        }
    }

    /// The decoded document, from memory or disk.
    pub(super) fn loaded(&mut self, id: &DocId) -> Result<&mut LoadedDoc> {
        if !self.docs.contains_key(id) {
            let rows = self.db.chunks(id)?;
            if rows.is_empty() {
                if self.erasure(id)?.is_some() {
                    return Err(Error::NotFound(format!("document {id} was erased")));
                }
                return Err(Error::NotFound(format!("document {id}")));
            }
            let doc = loaded::load(id, rows, self.actor.clone())?;
            self.cache(id.clone(), doc);
        }
        self.uses += 1;
        let uses = self.uses;
        let doc = self
            .docs
            .get_mut(id)
            .ok_or_else(|| Error::NotFound(format!("document {id}")))?;
        doc.last_used = uses;
        Ok(doc)
    }

    pub(super) fn read<T: serde::de::DeserializeOwned>(&mut self, id: &DocId) -> Result<T> {
        let loaded = self.loaded(id)?;
        crate::doc::hydrate(&loaded.doc, id)
    }

    /// Writes change rows; on failure drops the decoded document so that memory does
    /// not keep changes the disk does not have.
    pub(super) fn persist(
        &mut self,
        id: &DocId,
        rows: &[(Vec<u8>, Vec<u8>)],
        new_document: Option<i64>,
    ) -> Result<usize> {
        match self.db.append_changes(id, rows, new_document) {
            Ok(added) => {
                if let Some(loaded) = self.docs.get_mut(id) {
                    loaded.change_rows += added;
                    loaded.change_bytes += rows.iter().map(|r| r.1.len()).sum::<usize>();
                }
                Ok(added)
            }
            Err(e) => {
                self.docs.remove(id);
                Err(e)
            }
        }
    }

    /// Compacts the document if the policy says so. The edit that triggered it is
    /// already committed, so a failure here (a full disk, say) must not turn it into an
    /// error: compaction runs in one transaction, leaves the rows as they were, and is
    /// tried again after the next edit.
    pub(super) fn maybe_compact(&mut self, id: &DocId) {
        let policy = self.options.compaction;
        let Some(loaded) = self.docs.get(id) else { return };
        let due = loaded.change_rows >= policy.max_change_rows
            && loaded.change_bytes * 100 >= loaded.snapshot_bytes * policy.min_change_percent;
        if due && let Err(error) = self.compact(id) {
            tracing::warn!(doc = %id, %error, "compaction failed; the changes stay as they are");
        }
    }

    pub(super) fn compact(&mut self, id: &DocId) -> Result<()> {
        self.loaded(id)?;
        let Inner { db, docs, .. } = self;
        let loaded = docs
            .get_mut(id)
            .ok_or_else(|| Error::NotFound(format!("document {id}")))?;
        let snapshot = loaded::snapshot(id, &mut loaded.doc)?;
        let doc = &loaded.doc;
        db.replace_with_snapshot(
            id,
            &snapshot.key,
            &snapshot.heads,
            &snapshot.bytes,
            |kind, hash, heads| loaded::covers(doc, kind, hash, heads),
        )?;
        loaded.change_rows = 0;
        loaded.change_bytes = 0;
        loaded.snapshot_bytes = snapshot.bytes.len();
        Ok(())
    }

    /// Decodes, applies and stores changes from another replica; see
    /// [`super::Store::receive_changes`]. The caller checked the role. Returns how many
    /// were new, and the hash of each change given, in order (none for an erased
    /// document, which takes nothing).
    pub(super) fn receive(&mut self, doc: &DocId, changes: &[Vec<u8>]) -> Result<(usize, Vec<ChangeHash>)> {
        // An erased document never comes back, whatever a peer still sends of it.
        if self.erasure(doc)?.is_some() {
            return Ok((0, Vec::new()));
        }
        let inner = self;
        let decoded = changes
            .iter()
            .enumerate()
            .map(|(i, bytes)| loaded::decode_change(doc, &format!("incoming change {i}"), bytes, None))
            .collect::<Result<Vec<_>>>()?;
        let hashes: Vec<ChangeHash> = decoded.iter().map(automerge::Change::hash).collect();
        let exists = inner.db.document_exists(doc)?;
        if !exists {
            let actor = inner.actor.clone();
            let fresh = LoadedDoc {
                doc: AutoCommit::new().with_actor(actor),
                change_rows: 0,
                change_bytes: 0,
                snapshot_bytes: 0,
                last_used: 0,
                derived: Default::default(),
            };
            inner.cache(doc.clone(), fresh);
        }
        let loaded = inner.loaded(doc)?;
        // Changes the document already has (also those folded into a snapshot) are
        // not stored again: replaying a sync is a no-op.
        let decoded: Vec<_> = decoded
            .into_iter()
            .filter(|c| !loaded::has_change(&loaded.doc, c.hash()))
            .collect();
        let rows: Vec<(Vec<u8>, Vec<u8>)> = decoded
            .iter()
            .map(|c| (c.hash().as_ref().to_vec(), c.raw_bytes().to_vec()))
            .collect();
        if rows.is_empty() {
            if !exists {
                inner.docs.remove(doc);
            }
            return Ok((0, hashes));
        }
        let applied = loaded::guarded(|| loaded.doc.apply_changes(decoded));
        loaded.derived.forget();
        let missing = loaded.doc.get_missing_deps(&[]);
        match applied {
            Ok(Ok(())) if missing.is_empty() => {}
            Ok(Ok(())) => {
                inner.docs.remove(doc);
                return Err(Error::InvalidInput(format!(
                    "{} incoming changes to {doc} depend on changes this device does not have",
                    missing.len()
                )));
            }
            Ok(Err(e)) => {
                inner.docs.remove(doc);
                return Err(Error::CorruptDocument {
                    doc: doc.clone(),
                    chunk: "incoming changes".into(),
                    reason: e.to_string(),
                });
            }
            Err(reason) => {
                inner.docs.remove(doc);
                return Err(Error::CorruptDocument {
                    doc: doc.clone(),
                    chunk: "incoming changes".into(),
                    reason,
                });
            }
        }
        let new_document = (!exists).then(|| inner.now_secs());
        let added = inner.persist(doc, &rows, new_document)?;
        inner.maybe_compact(doc);
        Ok((added, hashes))
    }
}
