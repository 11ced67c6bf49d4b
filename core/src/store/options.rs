//! The knobs of a store and the plain data it hands out about itself.
//!
//! Kept apart from [`super::Store`] so that the entry point's file is about behaviour:
//! these are the types a caller builds (options, policies) or reads (summaries, stats).

use std::sync::Arc;

use serde::Serialize;

use super::Durability;
use crate::ids::CaseId;
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
    /// automerge-repo waits until the changes weigh as much as the snapshot; we
    /// favour opening.
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
