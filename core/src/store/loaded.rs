//! Turning stored or received bytes into Automerge documents, defensively.
//!
//! Bytes from disk are untrusted like bytes from the network (Automerge has panicked
//! and mis-loaded on damaged input before): every chunk is size-checked
//! before decoding, every Automerge call on foreign bytes runs under `catch_unwind`,
//! change hashes are checked against their row keys, and a document whose changes
//! reference missing dependencies is reported, not half-loaded.

use std::panic::{AssertUnwindSafe, catch_unwind};

use automerge::{ActorId, AutoCommit, Change, ChangeHash, ReadDoc};
use sha2::{Digest, Sha256};

use super::db::{CHANGE, ChunkRow};
use crate::doc::journey_write::TaskIndex;
use crate::error::{Error, Result};
use crate::ids::DocId;

/// Largest chunk (change or snapshot) the store decodes.
pub const MAX_CHUNK_BYTES: usize = 32 << 20;
/// Largest total of chunks loaded for one document.
pub const MAX_DOC_BYTES: usize = 128 << 20;

/// A document in memory, with what its rows on disk amount to (for the compaction
/// policy).
#[derive(Debug)]
pub(crate) struct LoadedDoc {
    pub(crate) doc: AutoCommit,
    pub(crate) change_rows: usize,
    pub(crate) change_bytes: usize,
    pub(crate) snapshot_bytes: usize,
    pub(crate) last_used: u64,
    /// What edits look up in the document, kept between edits; see [`Derived`].
    pub(crate) derived: Derived,
}

/// Facts about a decoded document that local edits do not change, so that an edit
/// need not find them again (together a tenth of a toggle's CPU time, measured): that
/// its header (kind and schema version) was checked, and where its tasks are. Changes
/// from elsewhere, and a template upgrade, may change them: the store then calls
/// [`Derived::forget`].
#[derive(Debug, Default)]
pub(crate) struct Derived {
    pub(crate) header_checked: bool,
    pub(crate) tasks: TaskIndex,
}

impl Derived {
    pub(crate) fn forget(&mut self) {
        self.header_checked = false;
        self.tasks.clear();
    }
}

fn corrupt(doc: &DocId, chunk: String, reason: impl Into<String>) -> Error {
    Error::CorruptDocument {
        doc: doc.clone(),
        chunk,
        reason: reason.into(),
    }
}

/// Runs an Automerge call on untrusted bytes; a panic inside becomes `Err`.
pub(crate) fn guarded<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|panic| {
        let text = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        format!("automerge panicked while decoding: {text}")
    })
}

/// Parses a change from bytes that may come from anywhere: measured first (no
/// compressed chunk, no more than [`super::shape::MAX_CHANGE_OPERATIONS`] declared),
/// then read by Automerge with its panics caught.
pub(crate) fn parse_change(bytes: &[u8]) -> std::result::Result<Change, String> {
    parse_change_within(bytes, super::shape::MAX_CHANGE_OPERATIONS)
}

/// A stored change was measured when it arrived (or made here), and is sealed: it is
/// read within a wider bound, so that tightening the limit for what arrives never
/// makes a stored document unreadable.
const MAX_STORED_CHANGE_OPERATIONS: u64 = 1_000_000;

fn parse_change_within(bytes: &[u8], max_operations: u64) -> std::result::Result<Change, String> {
    super::shape::measure(bytes, max_operations).map_err(|e| e.to_string())?;
    guarded(|| Change::try_from(bytes))?.map_err(|e| e.to_string())
}

/// Decodes one change, checking its size and (if known) its hash.
pub(crate) fn decode_change(
    doc: &DocId,
    label: &str,
    bytes: &[u8],
    expected: Option<&[u8]>,
) -> Result<Change> {
    if bytes.len() > MAX_CHUNK_BYTES {
        return Err(corrupt(
            doc,
            label.to_owned(),
            format!("{} bytes is over the {MAX_CHUNK_BYTES}-byte limit", bytes.len()),
        ));
    }
    let bound = match expected {
        Some(_) => MAX_STORED_CHANGE_OPERATIONS,
        None => super::shape::MAX_CHANGE_OPERATIONS,
    };
    let change = parse_change_within(bytes, bound).map_err(|e| corrupt(doc, label.to_owned(), e))?;
    // Automerge parses a change without checking its header checksum (the first four
    // bytes of its hash, after the magic bytes); a flipped bit there must not pass.
    if change.raw_bytes().get(4..8) != change.hash().as_ref().get(..4) {
        return Err(corrupt(
            doc,
            label.to_owned(),
            "the change's checksum does not match its contents",
        ));
    }
    if let Some(expected) = expected
        && change.hash().as_ref() != expected
    {
        return Err(corrupt(
            doc,
            label.to_owned(),
            "the change does not match its stored hash",
        ));
    }
    Ok(change)
}

/// Builds the document from its rows (snapshots first, then changes).
pub(crate) fn load(id: &DocId, rows: Vec<ChunkRow>, actor: ActorId) -> Result<LoadedDoc> {
    let total: usize = rows.iter().map(|r| r.bytes.len()).sum();
    if total > MAX_DOC_BYTES {
        return Err(corrupt(
            id,
            "all chunks".into(),
            format!("{total} bytes is over the {MAX_DOC_BYTES}-byte limit"),
        ));
    }
    let mut doc: Option<AutoCommit> = None;
    let mut changes = Vec::new();
    let (mut change_rows, mut change_bytes, mut snapshot_bytes) = (0, 0, 0);
    for row in rows {
        let label = format!(
            "{} {}",
            if row.kind == CHANGE { "change" } else { "snapshot" },
            hex::encode(&row.hash)
        );
        if row.bytes.len() > MAX_CHUNK_BYTES {
            return Err(corrupt(
                id,
                label,
                format!(
                    "{} bytes is over the {MAX_CHUNK_BYTES}-byte limit",
                    row.bytes.len()
                ),
            ));
        }
        if row.kind == CHANGE {
            change_rows += 1;
            change_bytes += row.bytes.len();
            changes.push(decode_change(id, &label, &row.bytes, Some(&row.hash))?);
            continue;
        }
        snapshot_bytes += row.bytes.len();
        match doc.as_mut() {
            None => {
                let loaded = guarded(|| AutoCommit::load(&row.bytes))
                    .map_err(|e| corrupt(id, label.clone(), e))?
                    .map_err(|e| corrupt(id, label, e.to_string()))?;
                doc = Some(loaded);
            }
            Some(d) => {
                guarded(|| d.load_incremental(&row.bytes))
                    .map_err(|e| corrupt(id, label.clone(), e))?
                    .map_err(|e| corrupt(id, label, e.to_string()))?;
            }
        }
    }
    let mut doc = doc.unwrap_or_default();
    if !changes.is_empty() {
        guarded(|| doc.apply_changes(changes))
            .map_err(|e| corrupt(id, "changes".into(), e))?
            .map_err(|e| corrupt(id, "changes".into(), e.to_string()))?;
    }
    let missing = doc.get_missing_deps(&[]);
    if !missing.is_empty() {
        return Err(corrupt(
            id,
            "changes".into(),
            format!("{} changes depend on changes that are not stored", missing.len()),
        ));
    }
    doc.set_actor(actor);
    Ok(LoadedDoc {
        doc,
        change_rows,
        change_bytes,
        snapshot_bytes,
        last_used: 0,
        derived: Derived::default(),
    })
}

/// A verified snapshot of a document, ready to replace its rows.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) key: Vec<u8>,
    pub(crate) heads: Vec<u8>,
    pub(crate) bytes: Vec<u8>,
}

/// Saves the document and reloads the result to check it has the same heads; only
/// then may the rows it covers be deleted.
pub(crate) fn snapshot(id: &DocId, doc: &mut AutoCommit) -> Result<Snapshot> {
    let mut heads = doc.get_heads();
    heads.sort();
    let bytes = doc.save();
    let mut reloaded = guarded(|| AutoCommit::load(&bytes))
        .map_err(|e| corrupt(id, "new snapshot".into(), e))?
        .map_err(|e| corrupt(id, "new snapshot".into(), e.to_string()))?;
    let mut again = reloaded.get_heads();
    again.sort();
    if again != heads {
        return Err(corrupt(
            id,
            "new snapshot".into(),
            "the snapshot does not reload to the same heads",
        ));
    }
    let heads_bytes: Vec<u8> = heads.iter().flat_map(|h| h.as_ref().to_vec()).collect();
    let key = Sha256::digest(&heads_bytes).to_vec();
    Ok(Snapshot {
        key,
        heads: heads_bytes,
        bytes,
    })
}

/// Whether the document has the change: a look-up in its change graph (building the
/// change, as `get_change_by_hash` does, would cost far more).
pub(crate) fn has_change(doc: &AutoCommit, hash: ChangeHash) -> bool {
    ReadDoc::get_missing_deps(doc, &[hash]).is_empty()
}

/// Whether a snapshot of `doc` covers an existing row: a change the document has, or
/// an older snapshot all of whose heads it has. Looks each hash up in the document's
/// change graph instead of listing all its changes.
pub(crate) fn covers(doc: &AutoCommit, kind: i64, hash: &[u8], heads: Option<&[u8]>) -> bool {
    let known =
        |h: &[u8]| ChangeHash::try_from(h).is_ok_and(|h| ReadDoc::get_missing_deps(doc, &[h]).is_empty());
    if kind == CHANGE {
        known(hash)
    } else {
        heads.is_some_and(|heads| heads.chunks(32).all(known))
    }
}
