//! Who changed what, and when: the timeline of a case.
//!
//! Every change the store commits carries a [`ChangeNote`] as its Automerge commit
//! message (JSON) and the edit time as its timestamp, so the timeline travels with the
//! document through sync and needs no table of its own. Notes name ids and statuses,
//! never medical values.

use std::collections::HashMap;

use automerge::{AutoCommit, ChangeHash, ReadDoc};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::access::{Identity, Role};
use crate::ids::DocKind;
pub use crate::store::Voucher;

/// Version of the note format.
const NOTE_VERSION: u32 = 1;

/// The commit message of a change made through Passage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeNote {
    pub v: u32,
    /// The person's name as given when the store was opened.
    pub by: String,
    pub role: Role,
    /// The edit's stable name, e.g. `task.status` (see [`crate::Edit::name`]).
    pub edit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

impl ChangeNote {
    pub(crate) fn new(identity: &Identity, edit: &str, target: Option<String>) -> Self {
        ChangeNote {
            v: NOTE_VERSION,
            by: identity.name.clone(),
            role: identity.role,
            edit: edit.to_owned(),
            target,
        }
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a commit message; `None` for changes not written by Passage.
    pub fn decode(message: &str) -> Option<Self> {
        serde_json::from_str(message).ok()
    }
}

/// One entry of a case's timeline.
///
/// `at`, `by` and `role` are what the change itself claims (its note and timestamp,
/// written by whichever device made it); `vouched` is what the sync server vouched
/// for (who it received the change from, and when), and `trust` says how the two
/// compare. Show the vouched author where there is one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    pub by: String,
    pub role: Option<Role>,
    pub doc: DocKind,
    pub edit: String,
    pub target: Option<String>,
    /// Hash of the Automerge change (hex).
    pub change: String,
    pub vouched: Option<Voucher>,
    pub trust: Trust,
}

/// How far a history entry's author can be believed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trust {
    /// The server received the change from the person and role it names.
    Vouched,
    /// The server received the change from someone else than it names (or it names
    /// no one): the vouched author is the one to show, the claim is not to be believed.
    Disputed,
    /// The server has not vouched for it: a change of this device not synced yet, or
    /// one the server received before it kept such records.
    Unvouched,
}

/// How a change's claim compares with the server's word.
fn trust(note: Option<&ChangeNote>, vouched: Option<&Voucher>) -> Trust {
    match (note, vouched) {
        (_, None) => Trust::Unvouched,
        (Some(note), Some(v)) if v.role == Some(note.role) && v.name == note.by => Trust::Vouched,
        // The server's own changes name it as a caseworker-like identity.
        (Some(note), Some(v)) if v.role.is_none() && v.name == note.by => Trust::Vouched,
        _ => Trust::Disputed,
    }
}

/// The entries of one document, in change order, with what the server vouched for.
pub(crate) fn entries(
    doc: &mut AutoCommit,
    kind: DocKind,
    vouchers: &HashMap<ChangeHash, Voucher>,
) -> Vec<HistoryEntry> {
    doc.get_changes_meta(&[])
        .into_iter()
        .map(|meta| {
            let note = meta.message.as_deref().and_then(ChangeNote::decode);
            let vouched = vouchers.get(&meta.hash).cloned();
            let trust = trust(note.as_ref(), vouched.as_ref());
            HistoryEntry {
                at: DateTime::from_timestamp(meta.timestamp, 0).unwrap_or_default(),
                by: note
                    .as_ref()
                    .map_or_else(|| "unknown".to_owned(), |n| n.by.clone()),
                role: note.as_ref().map(|n| n.role),
                doc: kind,
                edit: note
                    .as_ref()
                    .map_or_else(|| "change".to_owned(), |n| n.edit.clone()),
                target: note.and_then(|n| n.target),
                change: meta.hash.to_string(),
                vouched,
                trust,
            }
        })
        .collect()
}

/// Merges timelines in time order. Timestamps are in seconds (Automerge's unit), so
/// the sort is stable: within one second, each document's causal order is kept.
pub(crate) fn merge(mut entries: Vec<HistoryEntry>) -> Vec<HistoryEntry> {
    entries.sort_by_key(|e| e.at);
    entries
}

/// The author of the change that made `hash`, from its note.
///
/// Takes `&AutoCommit` and reads through [`ReadDoc`]: `AutoCommit`'s own `&mut` lookups
/// would commit an edit's open transaction half-way.
pub(crate) fn author(doc: &AutoCommit, hash: &ChangeHash) -> (Option<String>, Option<DateTime<Utc>>) {
    match ReadDoc::get_change_by_hash(doc, hash) {
        Some(change) => (
            change.message().and_then(ChangeNote::decode).map(|n| n.by),
            DateTime::from_timestamp(change.timestamp(), 0),
        ),
        None => (None, None),
    }
}
