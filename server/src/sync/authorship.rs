//! Authorship the server vouches for: an Automerge actor belongs to the device that
//! first used it, and a task's `completed_by` names the person of the device that
//! wrote it.
//!
//! Automerge identifies a change by its actor and sequence number; whoever sends the
//! next number of another device's actor first would make that device's real change a
//! duplicate, refused from then on. So the first device to push a change of an actor
//! owns it, and a change under an actor another device owns is refused, whatever its
//! paths. Devices also start a new actor after each sync that delivered their changes,
//! so that an actor is used for one batch only. Who made a change, as history shows
//! it, is what the server recorded on receiving it (`Storage::record_authors`), not the
//! name and role the change's note claims.

use std::collections::HashMap;

use automerge::legacy::{self, OpType};
use automerge::{AutoCommit, Change, ExpandedChange, ReadDoc};
use passage_core::sync::wire::{RejectCode, Rejection};
use passage_core::{DocId, DocKind};

use super::{Failure, entry};
use crate::storage::{Device, Timestamp, Tx};

fn refused(device: &Device, doc: &DocId, path: Option<String>, why: String, now: Timestamp) -> Failure {
    let mut audit = entry(Some(device), "push", now);
    audit.case = Some(doc.case.clone());
    audit.doc = Some(doc.clone());
    audit.allowed = false;
    audit.reason = Some(why.clone());
    Failure::refused(
        Rejection {
            code: RejectCode::ForbiddenWrite,
            message: format!("{why}; nothing of this sync was stored"),
            doc: Some(doc.clone()),
            path,
        },
        Some(audit),
    )
}

/// Checks that every new change's actor is this device's (or no one's yet, and then
/// claims it). `owners` caches answers within one request.
pub(super) fn check_actors(
    tx: &mut dyn Tx,
    device: &Device,
    doc: &DocId,
    changes: &[Change],
    owners: &mut HashMap<Vec<u8>, Option<i64>>,
    now: Timestamp,
) -> Result<(), Failure> {
    for change in changes {
        let actor = change.actor_id().to_bytes().to_vec();
        let owner = match owners.get(&actor) {
            Some(owner) => *owner,
            None => {
                let owner = tx.actor_owner(&actor)?;
                owners.insert(actor.clone(), owner);
                owner
            }
        };
        match owner {
            Some(id) if id == device.id => {}
            Some(_) => {
                return Err(refused(
                    device,
                    doc,
                    None,
                    "a change is signed with the Automerge actor of another device".into(),
                    now,
                ));
            }
            None => {
                tx.claim_actor(&actor, device.id, now)?;
                owners.insert(actor, Some(device.id));
            }
        }
    }
    Ok(())
}

/// Checks that every `completed_by` a batch's operations write in a journey names the
/// person of the device that sends it: the talent for a talent's phone, the
/// caseworker for theirs. A device may record that it completed a task, not that
/// someone else did. The operations are read, not the document: a value that loses to
/// a concurrent one, or sits in a task map that does not win, is checked all the same
/// (it lives on as a conflict, or shows once what hides it is gone).
pub(super) fn check_completed_by(
    doc: &AutoCommit,
    id: &DocId,
    device: &Device,
    batch: &[ExpandedChange],
    now: Timestamp,
) -> Result<(), Failure> {
    if id.kind != DocKind::Journey {
        return Ok(());
    }
    for op in batch.iter().flat_map(|change| &change.operations) {
        if !matches!(&op.key, legacy::Key::Map(key) if key.as_str() == "completed_by") {
            continue;
        }
        let names_other = match &op.action {
            // A null (a journey made with the task not done) names nobody.
            OpType::Put(value) if value.is_null() => false,
            OpType::Put(value) => value.as_str() != device.person(),
            OpType::Delete => false,
            _ => true,
        };
        if names_other {
            let shown = format!("{}/completed_by", object_path(doc, &op.obj));
            return Err(refused(
                device,
                id,
                Some(shown.clone()),
                format!("{shown} must name the person of the device that completes the task"),
                now,
            ));
        }
    }
    Ok(())
}

/// The path of an object the batch wrote in, as `/stages/…/tasks/…`, for the
/// rejection; empty when it cannot be told.
fn object_path(doc: &AutoCommit, obj: &legacy::ObjectId) -> String {
    let id = match obj {
        legacy::ObjectId::Root => return String::new(),
        legacy::ObjectId::Id(op) => match doc.import_obj(&op.to_string()) {
            Ok(id) => id,
            Err(_) => return String::new(),
        },
    };
    doc.parents(&id)
        .map(|parents| {
            parents
                .path()
                .iter()
                .map(|(_, prop)| format!("/{prop}"))
                .collect::<String>()
        })
        .unwrap_or_default()
}
