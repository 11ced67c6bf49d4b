//! Loading Automerge documents from stored chunks, for other stores than the device's.
//!
//! The sync server keeps documents in its own tables (SQLite or PostgreSQL) but must
//! treat their bytes exactly as the device does: size limits, `catch_unwind`, checksum
//! and hash checks, no half-loaded document. These functions are that treatment; the
//! device's [`crate::Store`] uses the same code.

use automerge::{ActorId, AutoCommit, Change, ChangeHash};

use crate::error::Result;
use crate::ids::DocId;
use crate::store::{ChunkRow, loaded};

pub use crate::store::{MAX_CHUNK_BYTES, MAX_DOC_BYTES};

/// A stored piece of a document: one change, or a snapshot of many.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// For a change, its hash; for a snapshot, any key the store chose.
    pub key: Vec<u8>,
    pub snapshot: bool,
    pub bytes: Vec<u8>,
}

/// Builds a document from its chunks (snapshots are applied first). A chunk that does
/// not decode, a change whose hash is not its key, or a missing dependency is an
/// [`crate::Error::CorruptDocument`] naming `id`.
pub fn load_document(id: &DocId, chunks: Vec<Chunk>, actor: ActorId) -> Result<AutoCommit> {
    let mut rows: Vec<ChunkRow> = chunks
        .into_iter()
        .map(|c| ChunkRow {
            hash: c.key,
            kind: i64::from(c.snapshot),
            bytes: c.bytes,
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.kind));
    Ok(loaded::load(id, rows, actor)?.doc)
}

/// Decodes one change from untrusted bytes (size, checksum, panics caught); `label`
/// names it in the error.
pub fn decode_change(id: &DocId, label: &str, bytes: &[u8]) -> Result<Change> {
    loaded::decode_change(id, label, bytes, None)
}

/// Whether the document has the change, by a look-up in its change graph.
pub fn has_change(doc: &AutoCommit, hash: ChangeHash) -> bool {
    loaded::has_change(doc, hash)
}

/// Runs an Automerge call on untrusted input; a panic inside becomes `Err(message)`.
pub fn guarded<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    loaded::guarded(f)
}
