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

use std::collections::{HashMap, HashSet};

use automerge::{ActorId, AutoCommit, Change, ObjId, ObjType, ROOT, ReadDoc, Value};
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

/// The maps under `key` of the map `obj`, by their keys.
fn maps_in(doc: &AutoCommit, obj: &ObjId, key: &str) -> Vec<(String, ObjId)> {
    let Ok(Some((Value::Object(ObjType::Map), map))) = doc.get(obj, key) else {
        return Vec::new();
    };
    doc.keys(&map)
        .filter_map(|k| match doc.get(&map, k.as_str()) {
            Ok(Some((Value::Object(ObjType::Map), id))) => Some((k, id)),
            _ => None,
        })
        .collect()
}

/// Checks that every `completed_by` a batch wrote in a journey names the person of
/// the device that sent it: the talent for a talent's phone, the caseworker for
/// theirs. A device may record that it completed a task, not that someone else did.
/// Every value the batch's actors wrote is checked, not only the one that wins: a
/// losing value lives on as a conflict that devices show.
pub(super) fn check_completed_by(
    doc: &AutoCommit,
    id: &DocId,
    device: &Device,
    actors: &HashSet<ActorId>,
    now: Timestamp,
) -> Result<(), Failure> {
    if id.kind != DocKind::Journey {
        return Ok(());
    }
    for (stage, stage_obj) in maps_in(doc, &ROOT, "stages") {
        for (task, task_obj) in maps_in(doc, &stage_obj, "tasks") {
            let values = doc.get_all(&task_obj, "completed_by").unwrap_or_default();
            for (value, op) in values {
                let written_here = matches!(&op, automerge::ObjId::Id(_, actor, _) if actors.contains(actor));
                if !written_here {
                    continue;
                }
                // A null (a journey made with the task not done) names nobody.
                let names_other = match &value {
                    Value::Scalar(s) if s.is_null() => false,
                    Value::Scalar(s) => s.as_str() != device.person(),
                    Value::Object(_) => true,
                };
                if names_other {
                    let shown = format!("/stages/{stage}/tasks/{task}/completed_by");
                    return Err(refused(
                        device,
                        id,
                        Some(shown.clone()),
                        format!("{shown} must name the person of the device that completes the task"),
                        now,
                    ));
                }
            }
        }
    }
    Ok(())
}
