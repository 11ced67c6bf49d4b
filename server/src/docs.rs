//! The server's own work on documents: loading them per request, storing new changes
//! (and folding them into a snapshot when they pile up), creating cases, and writing
//! the arrival plan.
//!
//! Stored bytes are treated exactly as a device treats them
//! (`passage_core::chunk::load_document`: size limits, checksums, no panic). Each load
//! gets a fresh random actor: the server never keeps a document between requests, and
//! a server restored from a backup must never reuse an actor's sequence numbers for
//! different changes.

use automerge::{ActorId, AutoCommit, ChangeHash};
use chrono::{DateTime, Utc};
use passage_core::arrival_plan;
use passage_core::chunk::{self, Chunk};
use passage_core::doc::journey::{Journey, NewJourney};
use passage_core::{CaseId, DocId, DocKind, Identity, Role};
use sha2::{Digest as _, Sha256};

use crate::error::{Result, ServerError};
use crate::storage::{NewCase, Timestamp, Tx};

/// The name the server writes into the history of the changes it makes.
pub const SERVER_NAME: &str = "passage-server";

/// A document's change rows are folded into one snapshot once there are this many, so
/// that loading it per request stays cheap.
pub const COMPACT_AT_ROWS: u64 = 256;

/// Who the server is in a document's history: staff, like the caseworker it works for.
pub fn server_identity() -> Identity {
    Identity::new(Role::Caseworker, SERVER_NAME)
}

pub fn instant(at: Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(at, 0).unwrap_or_default()
}

/// The document as stored, or `None` if the server does not have it.
pub fn load(tx: &mut dyn Tx, id: &DocId) -> Result<Option<AutoCommit>> {
    if tx.document(id)?.is_none() {
        return Ok(None);
    }
    let chunks: Vec<Chunk> = tx.chunks(id)?;
    Ok(Some(chunk::load_document(id, chunks, ActorId::random())?))
}

/// Heads, sorted: the order stored and compared everywhere.
pub fn sorted_heads(doc: &mut AutoCommit) -> Vec<ChangeHash> {
    let mut heads = doc.get_heads();
    heads.sort();
    heads
}

/// Stores changes that `doc` already holds (applied or committed in memory), with the
/// document's new heads and a new sequence number, and who they came from (`author`:
/// the device, or `None` for the server's own); compacts when due.
pub fn store(
    tx: &mut dyn Tx,
    id: &DocId,
    doc: &mut AutoCommit,
    rows: &[(ChangeHash, Vec<u8>)],
    author: Option<i64>,
    now: Timestamp,
) -> Result<()> {
    let heads = sorted_heads(doc);
    let seq = tx.next_seq()?;
    tx.store_changes(id, rows, &heads, seq, now)?;
    let hashes: Vec<ChangeHash> = rows.iter().map(|(h, _)| *h).collect();
    tx.record_authors(id, &hashes, author, now)?;
    if tx.change_rows(id)? >= COMPACT_AT_ROWS {
        compact(tx, id, doc, &heads)?;
    }
    Ok(())
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
/// plan changed.
pub fn write_arrival_plan(tx: &mut dyn Tx, case: &CaseId, journey: &Journey, now: Timestamp) -> Result<()> {
    let id = case.doc(DocKind::ArrivalPlan);
    let mut doc = match load(tx, &id)? {
        Some(doc) => doc,
        None => AutoCommit::new().with_actor(ActorId::random()),
    };
    let plan = arrival_plan::project(journey);
    let written =
        passage_core::doc::write_arrival_plan(&mut doc, &id, &plan, &server_identity(), instant(now))?;
    if let Some(hash) = written {
        let row = last_row(&mut doc, &id, hash)?;
        store(tx, &id, &mut doc, &[row], None, now)?;
    }
    Ok(())
}

/// Creates a case (admin command): its journey and medical record from the template,
/// committed by the server, and its arrival plan.
pub fn create_case(
    tx: &mut dyn Tx,
    new: &NewJourney,
    caseworker: Option<i64>,
    now: Timestamp,
) -> Result<CaseId> {
    let case = CaseId::random();
    let docs = passage_core::doc::new_case(&case, new, &server_identity(), instant(now), &ActorId::random())?;
    let mut journey: Option<Journey> = None;
    for (id, mut doc) in docs {
        if id.kind == DocKind::Journey {
            let read: Journey = passage_core::doc::read_document(&doc, &id)?;
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
        store(tx, &id, &mut doc, &rows, None, now)?;
    }
    let journey =
        journey.ok_or_else(|| ServerError::Input("a new case was made without a journey".into()))?;
    write_arrival_plan(tx, &case, &journey, now)?;
    Ok(case)
}
