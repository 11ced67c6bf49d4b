//! A journey brought up to date by reading only what some changes touched.
//!
//! Reading a whole journey costs far more than applying one change to it (a 70-task
//! journey takes about half a millisecond to hydrate, a task's status a few
//! microseconds to apply), and the sync server needs the journey after every change it
//! accepts: to check that it still reads, and to project the arrival plan. Given the
//! journey as it was and the paths the changes wrote (the paths of `diff`'s patches),
//! [`journey_after`] re-reads one task, one stage or one section instead of the whole
//! document. It gives exactly what a whole read would give, or the same error class:
//! any path it has no narrower answer for (a header field, an unknown key) falls back
//! to the whole read, which also re-checks the header.

use std::collections::BTreeSet;

use automerge::{AutoCommit, ObjId, ObjType, Patch, PatchAction, Prop, ROOT, ReadDoc, Value};

use super::journey::{Journey, Task};
use super::read;
use crate::error::Result;
use crate::ids::DocId;

/// The narrowest part of a journey that one written path lies in.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    /// One task of one stage: `/stages/<stage>/tasks/<task>/...`.
    Task(String, String),
    /// One stage: `/stages/<stage>/...` other than its tasks' fields.
    Stage(String),
    Stages,
    Permit,
    Travel,
    Pdo,
    Family,
    /// The header and the single-value fields: the whole document is read again.
    Whole,
}

fn part(path: &[String]) -> Part {
    let keys: Vec<&str> = path.iter().map(String::as_str).collect();
    match keys.as_slice() {
        ["stages", stage, "tasks", task, _, ..] => Part::Task((*stage).to_owned(), (*task).to_owned()),
        ["stages", stage, _, ..] => Part::Stage((*stage).to_owned()),
        ["stages", ..] => Part::Stages,
        ["permit", ..] => Part::Permit,
        ["travel", ..] => Part::Travel,
        ["pdo", ..] => Part::Pdo,
        ["family", ..] => Part::Family,
        _ => Part::Whole,
    }
}

/// The journey of `doc` now, given `before` (the journey it read as before the
/// changes) and `written` (every path the changes wrote, a patch's object path followed
/// by its key or index). Fails as reading the whole document would: the changes left
/// it unreadable.
pub fn journey_after(
    doc: &AutoCommit,
    id: &DocId,
    before: &Journey,
    written: &[Vec<String>],
) -> Result<Journey> {
    let parts: BTreeSet<Part> = written.iter().map(|p| part(p)).collect();
    let after = if parts.contains(&Part::Whole) {
        read::document(doc, id)?
    } else {
        let mut journey = before.clone();
        for part in parts {
            if !reread(doc, id, &mut journey, &part)? {
                // The part is not where a readable journey has it: the whole read
                // says why.
                return read::document(doc, id);
            }
        }
        journey
    };
    // In test builds every narrow read is checked against the whole one.
    #[cfg(debug_assertions)]
    {
        let whole: Result<Journey> = read::document(doc, id);
        debug_assert_eq!(
            whole.as_ref().ok(),
            Some(&after),
            "journey_after differs from a whole read of {id}"
        );
    }
    Ok(after)
}

/// Re-reads one part into `journey`; `false` when an object on its way is missing or is
/// not an object.
fn reread(doc: &AutoCommit, id: &DocId, journey: &mut Journey, part: &Part) -> Result<bool> {
    let Some(stages) = child(doc, &ROOT, "stages") else {
        return Ok(false);
    };
    match part {
        Part::Task(stage, task) => {
            let Some(stage_obj) = child(doc, &stages, stage) else {
                return Ok(false);
            };
            let Some(known) = journey.stages.get_mut(stage.as_str()) else {
                // A stage the journey did not have: read it whole.
                journey
                    .stages
                    .insert(stage.clone(), read::object(doc, id, &stage_obj)?);
                return Ok(true);
            };
            let Some(tasks) = child(doc, &stage_obj, "tasks") else {
                return Ok(false);
            };
            match child(doc, &tasks, task) {
                Some(task_obj) => {
                    let mut read: Task = read::object(doc, id, &task_obj)?;
                    read.keep_completion_while_done();
                    known.tasks.insert(task.clone(), read);
                }
                None if doc.get(&tasks, task.as_str()).ok().flatten().is_none() => {
                    known.tasks.remove(task.as_str());
                }
                None => return Ok(false),
            }
        }
        Part::Stage(stage) => match child(doc, &stages, stage) {
            Some(obj) => {
                journey.stages.insert(stage.clone(), read::object(doc, id, &obj)?);
            }
            None if doc.get(&stages, stage.as_str()).ok().flatten().is_none() => {
                journey.stages.remove(stage.as_str());
            }
            None => return Ok(false),
        },
        Part::Stages => journey.stages = read::object(doc, id, &stages)?,
        Part::Permit => return section(doc, id, "permit", &mut journey.permit),
        Part::Travel => return section(doc, id, "travel", &mut journey.travel),
        Part::Pdo => return section(doc, id, "pdo", &mut journey.pdo),
        Part::Family => return section(doc, id, "family", &mut journey.family),
        Part::Whole => return Ok(false),
    }
    Ok(true)
}

/// Re-reads the top-level object `key` into `into`; `false` if it is not an object.
fn section<T: serde::de::DeserializeOwned>(
    doc: &AutoCommit,
    id: &DocId,
    key: &str,
    into: &mut T,
) -> Result<bool> {
    let Some(obj) = child(doc, &ROOT, key) else {
        return Ok(false);
    };
    *into = read::object(doc, id, &obj)?;
    Ok(true)
}

/// The object at `key` of `parent`, if there is one there (a map or a list).
fn child(doc: &AutoCommit, parent: &ObjId, key: &str) -> Option<ObjId> {
    match doc.get(parent, key) {
        Ok(Some((Value::Object(ObjType::Map | ObjType::List), obj))) => Some(obj),
        _ => None,
    }
}

/// The full path each patch writes: the path of its object, then the key or index it
/// changes. What the write policy checks, and what [`journey_after`] re-reads.
pub fn written_paths(patches: &[Patch]) -> Vec<Vec<String>> {
    patches.iter().map(written_path).collect()
}

fn written_path(patch: &Patch) -> Vec<String> {
    let mut path: Vec<String> = patch.path.iter().map(|(_, prop)| prop_text(prop)).collect();
    match &patch.action {
        PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => path.push(key.clone()),
        PatchAction::PutSeq { index, .. }
        | PatchAction::Insert { index, .. }
        | PatchAction::SpliceText { index, .. }
        | PatchAction::DeleteSeq { index, .. } => path.push(index.to_string()),
        PatchAction::Increment { prop, .. } | PatchAction::Conflict { prop } => path.push(prop_text(prop)),
        // Marks change the text object itself, whose path is already complete.
        PatchAction::Mark { .. } => {}
    }
    path
}

fn prop_text(prop: &Prop) -> String {
    match prop {
        Prop::Map(key) => key.clone(),
        Prop::Seq(index) => index.to_string(),
    }
}
