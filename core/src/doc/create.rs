//! Making the documents of a new case, and writing the arrival plan: the two places
//! where a whole document is written at once rather than edited field by field.
//!
//! Shared by the device's store and the sync server, so that a case made by an admin
//! on the server and one made by a caseworker on a laptop are the same documents.

use automerge::transaction::CommitOptions;
use automerge::{ActorId, AutoCommit, ChangeHash};
use chrono::{DateTime, Utc};

use super::journey::{Journey, NewJourney};
use super::medical::Medical;
use super::shape;
use crate::access::Identity;
use crate::arrival_plan::ArrivalPlan;
use crate::error::{Error, Result};
use crate::history::ChangeNote;
use crate::ids::{CaseId, DocId, DocKind};
use crate::template::Catalogue;

/// The journey (from the template, every task to do) and the empty medical record of a
/// new case, each committed as one change by `author`.
pub fn new_case(
    case: &CaseId,
    new: &NewJourney,
    author: &Identity,
    now: DateTime<Utc>,
    actor: &ActorId,
) -> Result<Vec<(DocId, AutoCommit)>> {
    for (what, text) in [
        ("talent name", &new.talent_name),
        ("employer", &new.employer),
        ("job title", &new.job_title),
    ] {
        if text.trim().is_empty() {
            return Err(Error::InvalidInput(format!("the {what} is empty")));
        }
    }
    let catalogue = Catalogue::builtin()?;
    let template = match new.version {
        Some(v) => catalogue.template(&new.template, v)?,
        None => catalogue.latest(&new.template)?,
    };
    let journey = Journey::instantiate(case.as_str(), template, new);
    let medical = Medical::empty(case.as_str());
    let note = ChangeNote::new(
        author,
        "journey.create",
        Some(format!("{} v{}", template.id, template.version)),
    );
    let journey = whole(&case.doc(DocKind::Journey), &journey, &note, now, actor)?;
    let medical = whole(&case.doc(DocKind::Medical), &medical, &note, now, actor)?;
    Ok(vec![
        (case.doc(DocKind::Journey), journey),
        (case.doc(DocKind::Medical), medical),
    ])
}

/// Writes `plan` into the case's arrival-plan document (`doc` is empty for a new one)
/// as one change; `None` if the plan did not change.
pub fn write_arrival_plan(
    doc: &mut AutoCommit,
    id: &DocId,
    plan: &ArrivalPlan,
    author: &Identity,
    now: DateTime<Utc>,
) -> Result<Option<ChangeHash>> {
    autosurgeon::reconcile(doc, plan).map_err(|e| shape(id, e.to_string()))?;
    let note = ChangeNote::new(author, "arrival_plan.write", None);
    Ok(doc.commit_with(
        CommitOptions::default()
            .with_message(note.encode())
            .with_time(now.timestamp()),
    ))
}

fn whole<T: autosurgeon::Reconcile>(
    id: &DocId,
    value: &T,
    note: &ChangeNote,
    now: DateTime<Utc>,
    actor: &ActorId,
) -> Result<AutoCommit> {
    let mut doc = AutoCommit::new().with_actor(actor.clone());
    autosurgeon::reconcile(&mut doc, value).map_err(|e| shape(id, e.to_string()))?;
    doc.commit_with(
        CommitOptions::default()
            .with_message(note.encode())
            .with_time(now.timestamp()),
    );
    Ok(doc)
}
