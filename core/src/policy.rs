//! Who may write which path of a document: the role table of [`crate::access`],
//! applied to what a change touches rather than to a typed edit.
//!
//! A device refuses a forbidden [`crate::Edit`] before writing it. The sync server
//! cannot see edits, only Automerge changes from devices it does not trust, so it
//! applies the changes to its copy, lists the paths they touch (`/permit/decision`,
//! `/stages/visa/tasks/collect_visa/status`) and asks [`check_write`] about each one.
//! [`action_for`] maps a path to the [`Action`] the matching edit in `edit.rs` needs,
//! so the server's answer is the store's answer: one table, read two ways.
//!
//! Paths that no edit writes map to `None` and nobody may write them through sync: the
//! arrival plan (the server writes it), unknown keys, paths deeper than the layout,
//! the header of a document and the containers every document is created with,
//! except while the case is being created (ARCHITECTURE.md, "containers are created
//! once").

use crate::access::{Action, Role};
use crate::doc::journey::Journey;
use crate::ids::DocKind;
use crate::model::Owner;

/// Scalar fields at the root of a journey, written once when it is created.
const JOURNEY_HEADER: &[&str] = &[
    "schema",
    "kind",
    "case_id",
    "destination",
    "talent_name",
    "employer",
    "job_title",
    "start_date",
];
/// Maps at the root of a journey, created with it and never replaced.
const JOURNEY_CONTAINERS: &[&str] = &["template", "stages", "permit", "travel", "pdo", "family"];
/// The deepest path of each layout: `/travel/flights/<id>/segments/<n>/departs` and
/// `/appointments/<id>/clinic`. Anything deeper is no field of ours, and refusing it
/// keeps a crafted, deeply nested document from ever being stored (reading one would
/// recurse as deep as it is nested).
const JOURNEY_DEPTH: usize = 6;
const MEDICAL_DEPTH: usize = 3;

/// Header fields and containers of the medical record.
const MEDICAL_ROOT: &[&str] = &[
    "schema",
    "kind",
    "case_id",
    "appointments",
    "tests",
    "vaccinations",
    "fitness",
];

/// A write the role may not make: which path, and what it would have needed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denied {
    pub role: Role,
    /// The path written, `/a/b/c`.
    pub path: String,
    /// The action that writing it needs; `None` when nobody may write it through sync.
    pub action: Option<Action>,
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.action {
            Some(action) => write!(
                f,
                "a {} may not write {} (that would {action})",
                self.role, self.path
            ),
            None => write!(f, "{} cannot be written through sync", self.path),
        }
    }
}

impl std::error::Error for Denied {}

/// The path as text, `/a/b/c`.
pub fn path_text(path: &[&str]) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    path.iter().fold(String::new(), |mut out, key| {
        out.push('/');
        out.push_str(key);
        out
    })
}

/// The longest path anyone may write in a document of `kind` (0: nothing at all).
/// The sync server refuses a batch that creates objects deeper than this before it
/// lists the batch's paths, which costs time in the square of the depth.
pub fn max_depth(kind: DocKind) -> usize {
    match kind {
        DocKind::Journey => JOURNEY_DEPTH,
        DocKind::Medical => MEDICAL_DEPTH,
        DocKind::ArrivalPlan => 0,
    }
}

/// The action needed to write `path` in a document of `kind`.
///
/// `before` is the case's journey as the server had it before the changes being
/// checked (also for medical changes: it tells who owns a task and whether the talent
/// may book their own travel); `None` means the case is being created, which is the
/// only time the header and the containers of its documents may be written. `None`
/// as the answer means nobody may write the path through sync.
pub fn action_for(kind: DocKind, path: &[&str], before: Option<&Journey>) -> Option<Action> {
    match kind {
        DocKind::Journey if path.len() <= JOURNEY_DEPTH => journey_action(path, before),
        DocKind::Medical if path.len() <= MEDICAL_DEPTH => medical_action(path, before.is_none()),
        DocKind::Journey | DocKind::Medical => None,
        // The server derives the arrival plan from the journey; no device writes it.
        DocKind::ArrivalPlan => None,
    }
}

/// `Ok` if `role` may write `path` in a document of `kind`, else the refusal naming
/// the path.
pub fn check_write(role: Role, kind: DocKind, path: &[&str], before: Option<&Journey>) -> Result<(), Denied> {
    match action_for(kind, path, before) {
        Some(action) if role.may(action) => Ok(()),
        action => Err(Denied {
            role,
            path: path_text(path),
            action,
        }),
    }
}

fn journey_action(path: &[&str], before: Option<&Journey>) -> Option<Action> {
    use Action::*;
    let creating = before.is_none();
    match path {
        [key] if JOURNEY_HEADER.contains(key) || JOURNEY_CONTAINERS.contains(key) => {
            creating.then_some(CreateJourney)
        }
        [
            "stages",
            stage,
            "tasks",
            task,
            "status" | "completed_at" | "completed_by",
        ] => Some(match task_owner(before, stage, task) {
            Some(Owner::Talent) => UpdateTalentTask,
            _ => UpdateStaffTask,
        }),
        ["stages", _, "tasks", _, "notes"] => Some(EditTaskNotes),
        ["stages", _, "tasks", _, "due"] => Some(SetDueDates),
        // Task maps, their order and retirement, the template version: what a move to
        // a newer template writes.
        ["stages" | "template", _, ..] => Some(UpgradeTemplate),
        ["permit", _, ..] => Some(SetPermitDecision),
        ["travel", "self_booking"] => Some(AllowSelfBooking),
        ["travel", "flights", _, ..] => {
            if before.is_some_and(|j| j.travel.self_booking) {
                Some(BookOwnTravel)
            } else {
                Some(EditBookings)
            }
        }
        ["travel", "housing", _, ..] => Some(SetHousing),
        ["travel", "meeting", _, ..] => Some(SetArrivalMeeting),
        ["travel", "flights" | "housing" | "meeting"] | ["pdo", "days" | "modules"] => {
            creating.then_some(CreateJourney)
        }
        ["pdo", "days" | "modules", _, ..] => Some(ManagePdo),
        ["family", _, ..] => Some(EditFamily),
        _ => None,
    }
}

fn medical_action(path: &[&str], creating: bool) -> Option<Action> {
    use Action::*;
    match path {
        [key] if MEDICAL_ROOT.contains(key) => creating.then_some(CreateJourney),
        ["appointments", _, ..] => Some(RecordAppointment),
        ["tests" | "vaccinations", _, ..] => Some(RecordMedicalResults),
        ["fitness", _, ..] => Some(SetFitToTravel),
        _ => None,
    }
}

/// The owner of a task as the journey had it. Owners are set by the template and only
/// change with it, so the journey before the changes is the one to ask.
fn task_owner(before: Option<&Journey>, stage: &str, task: &str) -> Option<Owner> {
    before?.stages.get(stage)?.tasks.get(task).map(|t| t.owner)
}
