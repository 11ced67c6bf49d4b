//! [`Store`]: the entry point. One SQLite file holding the documents of the cases on
//! this device, opened as one [`Identity`].
//!
//! Every method checks the role first, then works on the document in memory, then
//! commits to SQLite before returning: an edit that returned `Ok` is on disk. A failed
//! write rolls the in-memory document back (or drops it, to be reloaded from disk), so
//! memory never runs ahead of the file.

mod db;
mod loaded;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use automerge::transaction::CommitOptions;
use automerge::{ActorId, AutoCommit, ChangeHash};
use serde::Serialize;

use self::db::Db;
pub use self::db::Durability;
use self::loaded::LoadedDoc;
pub use self::loaded::{MAX_CHUNK_BYTES, MAX_DOC_BYTES};
use crate::access::{Action, Identity};
use crate::arrival_plan::{self, ArrivalPlan};
use crate::conflict::{self, Conflict};
use crate::doc::journey::{Journey, NewJourney};
use crate::doc::medical::Medical;
use crate::edit::{self, Applied, Edit, EditContext};
use crate::error::{Error, Result};
use crate::export::{CaseExport, EXPORT_FORMAT, EXPORT_VERSION};
use crate::history::{self, ChangeNote, HistoryEntry};
use crate::ids::{CaseId, DocId, DocKind};
use crate::template::Catalogue;
use crate::time::{SharedClock, SystemClock};

/// When a document's change rows are folded into one snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompactionPolicy {
    /// Compact once a document has this many change rows...
    pub max_change_rows: usize,
    /// ...and they weigh at least this share (in percent) of its snapshot.
    pub min_change_percent: usize,
}

impl Default for CompactionPolicy {
    /// After 64 changes, if they weigh at least a tenth of the snapshot. Opening a
    /// document then applies at most a few dozen changes on top of its snapshot
    /// (measured: rows past the snapshot are what makes a store slower to open than a
    /// bare `load`), and a compaction (`save()` plus a verifying reload, tens of
    /// milliseconds for a 5,000-change journey) comes at most once every 64 edits.
    /// automerge-repo waits until the changes weigh as much as the snapshot
    /// (../shared/reference/tech-anchors.md §1); we favour opening.
    fn default() -> Self {
        Self {
            max_change_rows: 64,
            min_change_percent: 10,
        }
    }
}

/// How a store is opened.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    pub durability: Durability,
    pub compaction: CompactionPolicy,
    pub clock: SharedClock,
    /// Documents kept decoded in memory; the least recently used are dropped beyond it.
    pub cached_documents: usize,
    /// A quota for the SQLite file, in bytes (rounded down to whole pages). A write past
    /// it fails with [`Error::DiskFull`] like a full disk does. `None`: no quota.
    pub max_size_bytes: Option<u64>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            durability: Durability::Full,
            compaction: CompactionPolicy::default(),
            clock: Arc::new(SystemClock),
            cached_documents: 32,
            max_size_bytes: None,
        }
    }
}

/// A case on this device, for lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CaseSummary {
    pub case: CaseId,
    pub talent_name: String,
    /// ISO 3166-1 alpha-2 code of the destination country.
    pub destination: String,
    pub template_id: String,
    pub template_version: u64,
    /// Tasks done or not applicable, and all live tasks (journey readers only).
    pub tasks_closed: usize,
    pub tasks_total: usize,
    /// Why the case cannot be read (a corrupt document, say). The other fields are
    /// empty then; the rest of the list is unaffected.
    pub problem: Option<String>,
}

/// What is on disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StoreStats {
    pub change_rows: u64,
    pub change_bytes: u64,
    pub snapshot_rows: u64,
    pub snapshot_bytes: u64,
}

/// A device's store of cases. Cheap to share between threads (`&self` methods, one
/// internal lock: SQLite has one writer anyway).
#[derive(Debug)]
pub struct Store {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: Db,
    identity: Identity,
    options: StoreOptions,
    /// A fresh actor per opened store: two processes on one file, or a store restored
    /// from a backup, never reuse an actor's sequence numbers.
    actor: ActorId,
    docs: HashMap<DocId, LoadedDoc>,
    uses: u64,
}

impl Store {
    /// Opens (creating if needed) the store at `path` with default options.
    pub fn open(path: impl AsRef<Path>, identity: Identity) -> Result<Store> {
        Store::open_with(path, identity, StoreOptions::default())
    }

    pub fn open_with(path: impl AsRef<Path>, identity: Identity, options: StoreOptions) -> Result<Store> {
        if identity.name.trim().is_empty() {
            return Err(Error::InvalidInput(
                "the identity needs a name, for the history".into(),
            ));
        }
        let db = Db::open(path.as_ref(), options.durability, options.max_size_bytes)?;
        Ok(Store {
            inner: Mutex::new(Inner {
                db,
                identity,
                options,
                actor: ActorId::random(),
                docs: HashMap::new(),
                uses: 0,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while the lock was held cannot have left a half-applied edit: edits
        // roll back or are reloaded from disk. So a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn identity(&self) -> Identity {
        self.lock().identity.clone()
    }

    pub fn path(&self) -> PathBuf {
        self.lock().db.path.clone()
    }

    /// The built-in template catalogue. Parsed on first use, not when the store opens,
    /// so that opening a store on a phone stays cheap.
    pub fn catalogue(&self) -> Result<&'static Catalogue> {
        Catalogue::builtin()
    }

    /// Creates a journey (and its empty medical record) from the newest version of a
    /// template. Caseworkers only.
    pub fn create_journey(&self, new: &NewJourney) -> Result<CaseId> {
        let mut inner = self.lock();
        inner.identity.role.require(Action::CreateJourney)?;
        for (what, text) in [
            ("talent name", &new.talent_name),
            ("employer", &new.employer),
            ("job title", &new.job_title),
        ] {
            if text.trim().is_empty() {
                return Err(Error::InvalidInput(format!("the {what} is empty")));
            }
        }
        let template = match new.version {
            Some(v) => Catalogue::builtin()?.template(&new.template, v)?,
            None => Catalogue::builtin()?.latest(&new.template)?,
        };
        let case = CaseId::random();
        let journey = Journey::instantiate(case.as_str(), template, new);
        let medical = Medical::empty(case.as_str());
        let note = ChangeNote::new(
            &inner.identity,
            "journey.create",
            Some(format!("{} v{}", template.id, template.version)),
        );
        let mut created = Vec::new();
        let mut docs = Vec::new();
        for (kind, result) in [
            (DocKind::Journey, new_doc(&inner, &journey, &note)),
            (DocKind::Medical, new_doc(&inner, &medical, &note)),
        ] {
            let id = case.doc(kind);
            let mut doc = result.map_err(|e| crate::doc::shape(&id, e.to_string()))?;
            let change = doc
                .get_last_local_change()
                .ok_or_else(|| crate::doc::shape(&id, "creating the document made no change"))?;
            created.push((
                id.clone(),
                change.hash().as_ref().to_vec(),
                change.raw_bytes().to_vec(),
            ));
            docs.push((id, doc));
        }
        let now = inner.now_secs();
        inner.db.create_documents(&created, now)?;
        for (id, doc) in docs {
            let bytes = created.iter().find(|c| c.0 == id).map_or(0, |c| c.2.len());
            inner.cache(
                id,
                LoadedDoc {
                    doc,
                    change_rows: 1,
                    change_bytes: bytes,
                    snapshot_bytes: 0,
                    last_used: 0,
                    tasks: Default::default(),
                },
            );
        }
        Ok(case)
    }

    /// Every case on this device that the role may see. A case whose document cannot
    /// be read is listed with its problem, so one damaged case never hides the others.
    pub fn cases(&self) -> Result<Vec<CaseSummary>> {
        let mut inner = self.lock();
        let role = inner.identity.role;
        let mut out = Vec::new();
        for (case, kinds) in inner.db.cases()? {
            let has = |kind: DocKind| kinds.iter().any(|k| k == kind.as_str());
            let summary = if role.may(Action::ReadJourney) && has(DocKind::Journey) {
                inner.read::<Journey>(&case.doc(DocKind::Journey)).map(|j| {
                    let (closed, total) = j.progress();
                    CaseSummary {
                        case: case.clone(),
                        talent_name: j.talent_name,
                        destination: j.destination,
                        template_id: j.template.id,
                        template_version: j.template.version as u64,
                        tasks_closed: closed,
                        tasks_total: total,
                        problem: None,
                    }
                })
            } else if has(DocKind::ArrivalPlan) {
                inner
                    .read::<ArrivalPlan>(&case.doc(DocKind::ArrivalPlan))
                    .map(|p| CaseSummary {
                        case: case.clone(),
                        talent_name: p.talent_name,
                        destination: p.destination,
                        template_id: p.template.id,
                        template_version: p.template.version as u64,
                        tasks_closed: 0,
                        tasks_total: 0,
                        problem: None,
                    })
            } else {
                continue;
            };
            out.push(summary.unwrap_or_else(|e| CaseSummary {
                case,
                talent_name: String::new(),
                destination: String::new(),
                template_id: String::new(),
                template_version: 0,
                tasks_closed: 0,
                tasks_total: 0,
                problem: Some(e.to_string()),
            }));
        }
        Ok(out)
    }

    /// Whether this device holds any document of the case, without reading it.
    pub fn contains_case(&self, case: &CaseId) -> Result<bool> {
        let inner = self.lock();
        DocKind::ALL.iter().try_fold(false, |found, kind| {
            Ok(found || inner.db.document_exists(&case.doc(*kind))?)
        })
    }

    pub fn journey(&self, case: &CaseId) -> Result<Journey> {
        let mut inner = self.lock();
        inner.identity.role.require(Action::ReadJourney)?;
        inner.read(&case.doc(DocKind::Journey))
    }

    pub fn medical(&self, case: &CaseId) -> Result<Medical> {
        let mut inner = self.lock();
        inner.identity.role.require(Action::ReadMedical)?;
        inner.read(&case.doc(DocKind::Medical))
    }

    /// The arrival plan: projected from the journey for those who may read it, read
    /// from the synced `arrival-plan` document for family.
    pub fn arrival_plan(&self, case: &CaseId) -> Result<ArrivalPlan> {
        let mut inner = self.lock();
        let role = inner.identity.role;
        role.require(Action::ReadArrivalPlan)?;
        if role.may(Action::ReadJourney) {
            let journey: Journey = inner.read(&case.doc(DocKind::Journey))?;
            Ok(arrival_plan::project(&journey))
        } else {
            inner.read(&case.doc(DocKind::ArrivalPlan))
        }
    }

    /// Applies one edit; returns once its change is committed to disk.
    pub fn apply(&self, case: &CaseId, edit: &Edit) -> Result<Applied> {
        let mut inner = self.lock();
        let kind = match edit {
            Edit::ResolveConflict { conflict, .. } => conflict::doc_kind_of(conflict)?,
            other => other.doc_kind(),
        };
        let role = inner.identity.role;
        role.require(if kind == DocKind::Medical {
            Action::ReadMedical
        } else {
            Action::ReadJourney
        })?;
        let id = case.doc(kind);
        let now = inner.options.clock.now();
        let note = edit::note(edit, &inner.identity).encode();
        let identity = inner.identity.clone();
        let loaded = inner.loaded(&id)?;
        crate::doc::check_header(&loaded.doc, &id)?;
        let ctx = EditContext {
            identity: &identity,
            now,
        };
        let result = edit::apply(&mut loaded.doc, &id, edit, &ctx, &mut loaded.tasks);
        if matches!(edit, Edit::UpgradeTemplate) {
            loaded.tasks.clear();
        }
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(e) => {
                loaded.doc.rollback();
                return Err(e);
            }
        };
        let committed = loaded.doc.commit_with(
            CommitOptions::default()
                .with_message(note)
                .with_time(now.timestamp()),
        );
        let Some(hash) = committed else {
            return Ok(Applied {
                doc: id.to_string(),
                change: None,
                created: outcome.created,
                upgrade: outcome.upgrade,
            });
        };
        let change = loaded.doc.get_last_local_change().filter(|c| c.hash() == hash);
        let Some(change) = change else {
            inner.docs.remove(&id);
            return Err(crate::doc::shape(
                &id,
                "the committed change could not be read back",
            ));
        };
        let row = (hash.as_ref().to_vec(), change.raw_bytes().to_vec());
        inner.persist(&id, &[row])?;
        inner.maybe_compact(&id);
        Ok(Applied {
            doc: id.to_string(),
            change: Some(hash.to_string()),
            created: outcome.created,
            upgrade: outcome.upgrade,
        })
    }

    /// Open conflicts on critical fields, journey and (for those who may read it)
    /// medical.
    pub fn conflicts(&self, case: &CaseId) -> Result<Vec<Conflict>> {
        self.lock().conflicts(case)
    }

    /// The timeline of a case: every change, who made it and when, oldest first.
    pub fn history(&self, case: &CaseId) -> Result<Vec<HistoryEntry>> {
        self.lock().history(case)
    }

    /// The case as a [`CaseExport`] (format `passage.case-export` v1).
    ///
    /// Everything in it is read under one lock, so it is one consistent state.
    pub fn export(&self, case: &CaseId) -> Result<CaseExport> {
        let mut inner = self.lock();
        let role = inner.identity.role;
        role.require(Action::ExportCase)?;
        let journey: Journey = inner.read(&case.doc(DocKind::Journey))?;
        let medical = if role.may(Action::ReadMedical) {
            Some(inner.read(&case.doc(DocKind::Medical))?)
        } else {
            None
        };
        Ok(CaseExport {
            format: EXPORT_FORMAT,
            version: EXPORT_VERSION,
            case_id: case.to_string(),
            exported_at: inner.options.clock.now(),
            exported_by: inner.identity.clone(),
            arrival_plan: arrival_plan::project(&journey),
            journey,
            medical,
            conflicts: inner.conflicts(case)?,
            history: inner.history(case)?,
        })
    }

    /// The current heads of a document.
    pub fn heads(&self, doc: &DocId) -> Result<Vec<ChangeHash>> {
        let mut inner = self.lock();
        inner.require_read(doc.kind)?;
        let loaded = inner.loaded(doc)?;
        let mut heads = loaded.doc.get_heads();
        heads.sort();
        Ok(heads)
    }

    /// The changes of a document that a peer who has `since` lacks, in Automerge's
    /// standard change encoding (what the sync protocol sends).
    pub fn changes_since(&self, doc: &DocId, since: &[ChangeHash]) -> Result<Vec<Vec<u8>>> {
        let mut inner = self.lock();
        inner.require_read(doc.kind)?;
        let loaded = inner.loaded(doc)?;
        Ok(loaded
            .doc
            .get_changes(since)
            .into_iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect())
    }

    /// Takes in changes from another replica (the sync server, or in tests another
    /// store). All are decoded and applied before any is written; a change that does
    /// not decode, or whose dependencies are missing, rejects the whole batch.
    /// Returns how many changes were new.
    pub fn receive_changes(&self, doc: &DocId, changes: &[Vec<u8>]) -> Result<usize> {
        let mut inner = self.lock();
        inner.require_read(doc.kind)?;
        let decoded = changes
            .iter()
            .enumerate()
            .map(|(i, bytes)| loaded::decode_change(doc, &format!("incoming change {i}"), bytes, None))
            .collect::<Result<Vec<_>>>()?;
        let exists = inner.db.document_exists(doc)?;
        if !exists {
            let actor = inner.actor.clone();
            let fresh = LoadedDoc {
                doc: AutoCommit::new().with_actor(actor),
                change_rows: 0,
                change_bytes: 0,
                snapshot_bytes: 0,
                last_used: 0,
                tasks: Default::default(),
            };
            inner.cache(doc.clone(), fresh);
        }
        let loaded = inner.loaded(doc)?;
        // Changes the document already has (also those folded into a snapshot) are
        // not stored again: replaying a sync is a no-op.
        let decoded: Vec<_> = decoded
            .into_iter()
            .filter(|c| automerge::ReadDoc::get_change_by_hash(&loaded.doc, &c.hash()).is_none())
            .collect();
        let rows: Vec<(Vec<u8>, Vec<u8>)> = decoded
            .iter()
            .map(|c| (c.hash().as_ref().to_vec(), c.raw_bytes().to_vec()))
            .collect();
        if rows.is_empty() {
            return Ok(0);
        }
        let applied = loaded::guarded(|| loaded.doc.apply_changes(decoded));
        loaded.tasks.clear();
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
        if !exists {
            let now = inner.now_secs();
            inner.db.ensure_document(doc, now)?;
        }
        let added = inner.persist(doc, &rows)?;
        inner.maybe_compact(doc);
        Ok(added)
    }

    /// Folds a document's change rows into one verified snapshot now.
    pub fn compact(&self, doc: &DocId) -> Result<()> {
        let mut inner = self.lock();
        inner.require_read(doc.kind)?;
        inner.compact(doc)
    }

    /// The document as one `save()` of Automerge: for measuring, and for handing a
    /// whole document to a tool that reads Automerge files.
    pub fn save_document(&self, doc: &DocId) -> Result<Vec<u8>> {
        let mut inner = self.lock();
        inner.require_read(doc.kind)?;
        Ok(inner.loaded(doc)?.doc.save())
    }

    /// Rows and bytes on disk, for one document or all.
    pub fn stats(&self, doc: Option<&DocId>) -> Result<StoreStats> {
        let inner = self.lock();
        let (change_rows, change_bytes, snapshot_rows, snapshot_bytes) = inner.db.chunk_stats(doc)?;
        Ok(StoreStats {
            change_rows,
            change_bytes,
            snapshot_rows,
            snapshot_bytes,
        })
    }

    /// Drops every decoded document from memory; the next read loads from disk.
    pub fn evict_all(&self) {
        self.lock().docs.clear();
    }
}

/// A new Automerge document holding `value`, committed as one change.
fn new_doc<T: autosurgeon::Reconcile>(
    inner: &Inner,
    value: &T,
    note: &ChangeNote,
) -> std::result::Result<AutoCommit, autosurgeon::ReconcileError> {
    let mut doc = AutoCommit::new().with_actor(inner.actor.clone());
    autosurgeon::reconcile(&mut doc, value)?;
    doc.commit_with(
        CommitOptions::default()
            .with_message(note.encode())
            .with_time(inner.options.clock.now().timestamp()),
    );
    Ok(doc)
}

impl Inner {
    fn conflicts(&mut self, case: &CaseId) -> Result<Vec<Conflict>> {
        let role = self.identity.role;
        role.require(Action::ReadJourney)?;
        let mut found = Vec::new();
        for (kind, action) in [
            (DocKind::Journey, Action::ReadJourney),
            (DocKind::Medical, Action::ReadMedical),
        ] {
            if role.may(action) {
                let loaded = self.loaded(&case.doc(kind))?;
                found.extend(conflict::list(&loaded.doc, kind));
            }
        }
        Ok(found)
    }

    fn history(&mut self, case: &CaseId) -> Result<Vec<HistoryEntry>> {
        let role = self.identity.role;
        role.require(Action::ReadHistory)?;
        let mut entries = Vec::new();
        for (kind, action) in [
            (DocKind::Journey, Action::ReadJourney),
            (DocKind::Medical, Action::ReadMedical),
        ] {
            if role.may(action) {
                let loaded = self.loaded(&case.doc(kind))?;
                entries.extend(history::entries(&mut loaded.doc, kind));
            }
        }
        Ok(history::merge(entries))
    }

    fn now_secs(&self) -> i64 {
        self.options.clock.now().timestamp()
    }

    fn require_read(&self, kind: DocKind) -> Result<()> {
        self.identity.role.require(match kind {
            DocKind::Journey => Action::ReadJourney,
            DocKind::Medical => Action::ReadMedical,
            DocKind::ArrivalPlan => Action::ReadArrivalPlan,
        })
    }

    fn cache(&mut self, id: DocId, mut doc: LoadedDoc) {
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
    fn loaded(&mut self, id: &DocId) -> Result<&mut LoadedDoc> {
        if !self.docs.contains_key(id) {
            let rows = self.db.chunks(id)?;
            if rows.is_empty() {
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

    fn read<T: serde::de::DeserializeOwned>(&mut self, id: &DocId) -> Result<T> {
        let loaded = self.loaded(id)?;
        crate::doc::hydrate(&loaded.doc, id)
    }

    /// Writes change rows; on failure drops the decoded document so that memory does
    /// not keep changes the disk does not have.
    fn persist(&mut self, id: &DocId, rows: &[(Vec<u8>, Vec<u8>)]) -> Result<usize> {
        match self.db.append_changes(id, rows) {
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
    fn maybe_compact(&mut self, id: &DocId) {
        let policy = self.options.compaction;
        let Some(loaded) = self.docs.get(id) else { return };
        let due = loaded.change_rows >= policy.max_change_rows
            && loaded.change_bytes * 100 >= loaded.snapshot_bytes * policy.min_change_percent;
        if due && let Err(error) = self.compact(id) {
            tracing::warn!(doc = %id, %error, "compaction failed; the changes stay as they are");
        }
    }

    fn compact(&mut self, id: &DocId) -> Result<()> {
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
}
