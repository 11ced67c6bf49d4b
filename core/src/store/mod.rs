//! [`Store`]: the entry point. One SQLite file holding the documents of the cases on
//! this device, opened as one [`Identity`].
//!
//! Every method checks the role first, then works on the document in memory, then
//! commits to SQLite before returning: an edit that returned `Ok` is on disk. A failed
//! write rolls the in-memory document back (or drops it, to be reloaded from disk), so
//! memory never runs ahead of the file.

mod db;
mod erase;
mod inner;
mod key;
pub(crate) mod loaded;
mod options;
mod reminders;
pub(crate) mod shape;
mod sync;
mod sync_db;
mod vouch;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use automerge::transaction::CommitOptions;
use automerge::{ActorId, ChangeHash};

pub(crate) use self::db::ChunkRow;
use self::db::Db;
pub use self::db::Durability;
use self::inner::Inner;
pub use self::key::{KeySource, STORE_KEY_BYTES, StoreId};
use self::loaded::LoadedDoc;
pub use self::loaded::{MAX_CHUNK_BYTES, MAX_DOC_BYTES};
pub use self::options::{CaseSummary, CompactionPolicy, StoreOptions, StoreStats};
pub use self::sync::{HeldDocument, PUSH_BUDGET_BYTES, SyncApplied, SyncServer, SyncState};
pub use self::vouch::Voucher;
use crate::access::{Action, Identity};
use crate::arrival_plan::{self, ArrivalPlan};
use crate::conflict::{self, Conflict};
pub use crate::crypt::{SEAL_OVERHEAD, SecretKey};
use crate::doc::journey::{Journey, NewJourney};
use crate::doc::medical::Medical;
use crate::edit::{self, Applied, Edit, EditContext};
use crate::error::{Error, Result};
use crate::export::{CaseExport, EXPORT_FORMAT, EXPORT_VERSION};
use crate::history::HistoryEntry;
use crate::ids::{CaseId, DocId, DocKind};
use crate::template::Catalogue;

/// A device's store of cases. Cheap to share between threads (`&self` methods, one
/// internal lock: SQLite has one writer anyway).
#[derive(Debug)]
pub struct Store {
    inner: Mutex<Inner>,
}

impl Store {
    /// Opens (creating if needed) a plain store at `path` with default options. Apps
    /// open stores with their key ([`Store::open_with_key`]); a plain store is for
    /// tests and tools. A sealed store refuses to open this way
    /// ([`Error::KeyRequired`]).
    pub fn open(path: impl AsRef<Path>, identity: Identity) -> Result<Store> {
        Store::open_with(path, identity, StoreOptions::default())
    }

    /// Opens a plain store with these options; see [`Store::open`].
    pub fn open_with(path: impl AsRef<Path>, identity: Identity, options: StoreOptions) -> Result<Store> {
        let (db, _) = Self::open_db(path.as_ref(), &identity, &options)?;
        if key::is_sealed(&db)? {
            return Err(Error::KeyRequired);
        }
        Self::from_db(db, identity, options)
    }

    /// Opens (creating if needed) the store at `path`, sealed at rest under the key
    /// `keys` gives for its id: every chunk and secret is sealed with a per-document
    /// key wrapped by it. The key is checked against the store's canary before
    /// anything is read ([`Error::WrongKey`]); the first key a store is given becomes
    /// its key; a plain store is sealed in place on its first open with a key.
    pub fn open_with_key(
        path: impl AsRef<Path>,
        identity: Identity,
        options: StoreOptions,
        keys: &dyn KeySource,
    ) -> Result<Store> {
        let (mut db, id) = Self::open_db(path.as_ref(), &identity, &options)?;
        let store_key = keys.store_key(&id)?;
        key::unlock(&mut db, store_key)?;
        Self::from_db(db, identity, options)
    }

    fn open_db(path: &Path, identity: &Identity, options: &StoreOptions) -> Result<(Db, StoreId)> {
        if identity.name.trim().is_empty() {
            return Err(Error::InvalidInput(
                "the identity needs a name, for the history".into(),
            ));
        }
        let db = Db::open(path, options.durability, options.max_size_bytes)?;
        // Made at the first open, whether the store is sealed or not, so that a store
        // keeps its id when it is sealed later.
        let id = key::store_id(&db)?;
        Ok((db, id))
    }

    /// The store over an opened (and unlocked) file. An enrolled device writes the
    /// name the server knows it by into its history, whatever name it was opened
    /// with: the server vouches for that name.
    fn from_db(db: Db, mut identity: Identity, options: StoreOptions) -> Result<Store> {
        if let Some(person) = sync::enrolled_person(&db)? {
            identity.name = person;
        }
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

    /// The store's stable id, by which the host keeps its key.
    pub fn store_id(&self) -> Result<StoreId> {
        key::store_id(&self.lock().db)
    }

    /// Whether the store is sealed at rest (opened with a key).
    pub fn is_sealed(&self) -> bool {
        self.lock().db.keys.is_some()
    }

    /// Re-keys a sealed store: its data keys are wrapped under `new` instead, in one
    /// transaction; no document is rewritten. The old key opens nothing afterwards.
    pub fn rekey(&self, new: &SecretKey) -> Result<()> {
        key::rekey(&mut self.lock().db, new.clone())
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
        let case = CaseId::random();
        let now = inner.options.clock.now();
        let docs = crate::doc::new_case(&case, new, &inner.identity, now, &inner.actor)?;
        let mut created = Vec::new();
        let mut docs_out = Vec::new();
        for (id, mut doc) in docs {
            let change = doc
                .get_last_local_change()
                .ok_or_else(|| crate::doc::shape(&id, "creating the document made no change"))?;
            created.push((
                id.clone(),
                change.hash().as_ref().to_vec(),
                change.raw_bytes().to_vec(),
            ));
            docs_out.push((id, doc));
        }
        let docs = docs_out;
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
                    derived: Default::default(),
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
        if !loaded.derived.header_checked {
            crate::doc::check_header(&loaded.doc, &id)?;
            loaded.derived.header_checked = true;
        }
        let ctx = EditContext {
            identity: &identity,
            now,
        };
        let result = edit::apply(&mut loaded.doc, &id, edit, &ctx, &mut loaded.derived.tasks);
        if matches!(edit, Edit::UpgradeTemplate) {
            loaded.derived.forget();
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
        inner.persist(&id, &[row], None)?;
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
        Ok(inner.receive(doc, changes)?.0)
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
