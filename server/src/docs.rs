//! The server's own work on documents: loading them per request (from the
//! [`DocCache`] when it holds them at the stored heads), storing new changes (and
//! folding them into a snapshot when they pile up), creating cases, and writing the
//! arrival plan.
//!
//! Stored bytes are treated exactly as a device treats them
//! (`passage_core::chunk::load_document`: size limits, checksums, no panic). Each load
//! gets a fresh random actor, cached or not: a server restored from a backup must never
//! reuse an actor's sequence numbers for different changes.
//!
//! [`Docs`] is one exchange's view: what it stored is handed to the cache only once the
//! exchange's transaction committed ([`Docs::committed`]).

use std::sync::Arc;

use automerge::{ActorId, AutoCommit, ChangeHash};
use chrono::{DateTime, Utc};
use passage_core::arrival_plan::{self, ArrivalPlan};
use passage_core::chunk::{self, Chunk};
use passage_core::doc::journey::{Journey, NewJourney};
use passage_core::{CaseId, DocId, DocKind, Identity, Role};
use sha2::{Digest as _, Sha256};

use crate::cache::{DocCache, Loaded};
use crate::error::{Result, ServerError};
use crate::storage::{NewCase, Timestamp, Tx};

/// The name the server writes into the history of the changes it makes.
pub const SERVER_NAME: &str = "passage-server";

/// A document's change rows are folded into one snapshot once there are this many, so
/// that a document the cache does not hold loads from a snapshot and a short tail
/// (a 30-change tail adds about 0.4 ms to a journey's 0.3 ms load).
pub const COMPACT_AT_ROWS: u64 = 32;

/// Who the server is in a document's history: staff, like the caseworker it works for.
pub fn server_identity() -> Identity {
    Identity::new(Role::Caseworker, SERVER_NAME)
}

pub fn instant(at: Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(at, 0).unwrap_or_default()
}

/// One exchange's (or one admin command's) access to documents: loads through the
/// cache, and the documents it stored, handed to the cache once committed.
#[derive(Debug)]
pub struct Docs {
    cache: Arc<DocCache>,
    stored: Vec<(DocId, Vec<ChangeHash>, Loaded)>,
}

impl Docs {
    pub fn new(cache: Arc<DocCache>) -> Docs {
        Docs {
            cache,
            stored: Vec::new(),
        }
    }

    /// The document as stored, or `None` if the server does not have it.
    pub fn load(&self, tx: &mut dyn Tx, id: &DocId) -> Result<Option<Loaded>> {
        let Some(state) = tx.document(id)? else {
            return Ok(None);
        };
        self.load_at(tx, id, &state.heads).map(Some)
    }

    /// The document, stored with `heads` (as `tx.document` just read them).
    fn load_at(&self, tx: &mut dyn Tx, id: &DocId, heads: &[ChangeHash]) -> Result<Loaded> {
        if let Some(loaded) = self.cache.get(id, heads) {
            return Ok(loaded);
        }
        let chunks: Vec<Chunk> = tx.chunks(id)?;
        Ok(Loaded::new(chunk::load_document(id, chunks, ActorId::random())?))
    }

    /// The journey `loaded` holds, read once and kept with it.
    pub fn journey(loaded: &mut Loaded, id: &DocId) -> Result<Arc<Journey>> {
        if let Some(journey) = &loaded.journey {
            return Ok(journey.clone());
        }
        let journey: Arc<Journey> = Arc::new(passage_core::doc::read_document(&loaded.doc, id)?);
        loaded.journey = Some(journey.clone());
        loaded.as_cached = false;
        Ok(journey)
    }

    /// Hands what this exchange stored to the cache: call once its transaction
    /// committed. Dropping `Docs` without this keeps nothing.
    pub fn committed(self) {
        for (id, heads, loaded) in self.stored {
            self.cache.put(id, heads, loaded);
        }
    }

    /// Stores changes that `loaded.doc` already holds (applied or committed in memory),
    /// with the document's new heads (and a new position), and who they came from
    /// (`author`: the device, or `None` for the server's own); compacts when due.
    pub fn store(
        &mut self,
        tx: &mut dyn Tx,
        id: &DocId,
        mut loaded: Loaded,
        rows: &[(ChangeHash, Vec<u8>)],
        author: Option<i64>,
        now: Timestamp,
    ) -> Result<()> {
        let heads = sorted_heads(&mut loaded.doc);
        tx.store_changes(id, rows, &heads, now)?;
        let hashes: Vec<ChangeHash> = rows.iter().map(|(h, _)| *h).collect();
        tx.record_authors(id, &hashes, author, now)?;
        if tx.change_rows(id)? >= COMPACT_AT_ROWS {
            compact(tx, id, &mut loaded.doc, &heads)?;
        }
        self.stored.retain(|(stored, _, _)| stored != id);
        self.stored.push((id.clone(), heads, loaded));
        Ok(())
    }

    /// Drops a document from the cache at once (erased: its content must not outlive
    /// its key, whether or not this exchange commits).
    pub fn forget(&self, id: &DocId) {
        self.cache.forget(id);
    }

    /// Notes that `loaded` is the document as stored (read, not written), so that the
    /// cache keeps it and what was read from it.
    pub fn keep(&mut self, id: &DocId, heads: Vec<ChangeHash>, loaded: Loaded) {
        if loaded.as_cached {
            return;
        }
        self.stored.retain(|(stored, _, _)| stored != id);
        self.stored.push((id.clone(), heads, loaded));
    }
}

/// Heads, sorted: the order stored and compared everywhere.
pub fn sorted_heads(doc: &mut AutoCommit) -> Vec<ChangeHash> {
    let mut heads = doc.get_heads();
    heads.sort();
    heads
}

/// Replaces the document's rows by one snapshot, after checking that the snapshot
/// loads back to the same heads. Inside the caller's transaction, so no other writer
/// can add a row the snapshot would not cover.
fn compact(tx: &mut dyn Tx, id: &DocId, doc: &mut AutoCommit, heads: &[ChangeHash]) -> Result<()> {
    let bytes = doc.save();
    let key: Vec<u8> = Sha256::digest(crate::storage::heads_blob(heads)).to_vec();
    let snapshot = Chunk {
        key: key.clone(),
        snapshot: true,
        bytes,
    };
    let mut reloaded = chunk::load_document(id, vec![snapshot.clone()], ActorId::random())?;
    if sorted_heads(&mut reloaded) != heads {
        tracing::warn!(doc = %id, "a snapshot did not reload to the same heads; rows kept");
        return Ok(());
    }
    tx.replace_with_snapshot(id, &key, &snapshot.bytes)?;
    Ok(())
}

/// The last change committed locally on `doc`, as a row.
fn last_row(doc: &mut AutoCommit, id: &DocId, hash: ChangeHash) -> Result<(ChangeHash, Vec<u8>)> {
    let change = doc
        .get_last_local_change()
        .filter(|c| c.hash() == hash)
        .ok_or_else(|| ServerError::Input(format!("the change just made to {id} cannot be read back")))?;
    Ok((hash, change.raw_bytes().to_vec()))
}

/// Projects the journey into the case's arrival plan and stores the change, if the
/// plan changed. The plan as last written is kept with the cached document, so an
/// unchanged plan costs a comparison, not a read of the stored one.
pub fn write_arrival_plan(
    tx: &mut dyn Tx,
    docs: &mut Docs,
    case: &CaseId,
    journey: &Journey,
    now: Timestamp,
) -> Result<()> {
    let id = case.doc(DocKind::ArrivalPlan);
    let plan = arrival_plan::project(journey);
    let mut loaded = match tx.document(&id)? {
        Some(state) if docs.cache.plan(&id, &state.heads).as_deref() == Some(&plan) => return Ok(()),
        Some(state) => docs.load_at(tx, &id, &state.heads)?,
        None => Loaded::new(AutoCommit::new().with_actor(ActorId::random())),
    };
    if loaded.plan.is_none() && !loaded.doc.get_heads().is_empty() {
        let stored: ArrivalPlan = passage_core::doc::read_document(&loaded.doc, &id)?;
        loaded.plan = Some(Arc::new(stored));
        loaded.as_cached = false;
    }
    if loaded.plan.as_deref() == Some(&plan) {
        let heads = sorted_heads(&mut loaded.doc);
        docs.keep(&id, heads, loaded);
        return Ok(());
    }
    let written =
        passage_core::doc::write_arrival_plan(&mut loaded.doc, &id, &plan, &server_identity(), instant(now))?;
    loaded.plan = Some(Arc::new(plan));
    if let Some(hash) = written {
        let row = last_row(&mut loaded.doc, &id, hash)?;
        docs.store(tx, &id, loaded, &[row], None, now)?;
    }
    Ok(())
}

/// Creates a case (admin command): its journey and medical record from the template,
/// committed by the server, and its arrival plan.
pub fn create_case(
    tx: &mut dyn Tx,
    docs: &mut Docs,
    new: &NewJourney,
    caseworker: Option<i64>,
    now: Timestamp,
) -> Result<CaseId> {
    let case = CaseId::random();
    let created =
        passage_core::doc::new_case(&case, new, &server_identity(), instant(now), &ActorId::random())?;
    let mut journey: Option<Journey> = None;
    for (id, mut doc) in created {
        let mut loaded_journey = None;
        if id.kind == DocKind::Journey {
            let read: Journey = passage_core::doc::read_document(&doc, &id)?;
            loaded_journey = Some(Arc::new(read.clone()));
            tx.create_case(&NewCase {
                case: &case,
                caseworker,
                talent_name: &read.talent_name,
                destination: &read.destination,
                created_at: now,
            })?;
            journey = Some(read);
        }
        let hashes = doc.get_heads();
        let rows = hashes
            .into_iter()
            .map(|h| last_row(&mut doc, &id, h))
            .collect::<Result<Vec<_>>>()?;
        let mut loaded = Loaded::new(doc);
        loaded.journey = loaded_journey;
        docs.store(tx, &id, loaded, &rows, None, now)?;
    }
    let journey =
        journey.ok_or_else(|| ServerError::Input("a new case was made without a journey".into()))?;
    write_arrival_plan(tx, docs, &case, &journey, now)?;
    Ok(case)
}
