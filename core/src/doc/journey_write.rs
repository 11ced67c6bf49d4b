//! Writes to the `journey` document: each typed edit becomes puts of single scalars
//! at the paths of the layout described in [`super::journey`], so that one edit is one
//! small change. Also the task index the store keeps per decoded document, and the
//! move to a newer template version.

use std::collections::HashMap;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ROOT, ReadDoc, ScalarValue};
use chrono::{DateTime, NaiveDate, Utc};

use super::codec::date_text;
use super::journey::{
    ArrivalMeeting, FamilyMember, FlightBooking, Housing, Journey, PDO_DAYS, PdoModule, Task, UpgradeReport,
};
use super::{WriteError, get_map, get_str, map_at, put_opt_str};
use crate::model::{ModuleStatus, Owner, PdoDayStatus, PermitDecision, TaskStatus};
use crate::template::Template;
use crate::time::ZonedDateTime;

/// Where a task lives in the document, as found by [`find_task`].
#[derive(Debug)]
pub(crate) struct TaskRef {
    pub(crate) obj: ObjId,
    pub(crate) owner: Option<Owner>,
}

/// Where each task's map is and who owns the task, found once per decoded document
/// instead of walking the stages at every edit (a third of a toggle's CPU time,
/// measured) and reading the owner again (a further twentieth). Object ids of tasks
/// never change: tasks are never deleted. Owners come from the template and no edit
/// of ours writes them. Only a template upgrade (ours) or a change from elsewhere adds
/// tasks or could touch an owner, after which the store clears the index.
#[derive(Debug, Default)]
pub(crate) struct TaskIndex(Option<HashMap<String, IndexedTask>>);

#[derive(Debug)]
struct IndexedTask {
    obj: ObjId,
    /// Read on the task's first edit.
    owner: Option<Option<Owner>>,
}

impl TaskIndex {
    pub(crate) fn find(&mut self, doc: &AutoCommit, task_id: &str) -> Option<TaskRef> {
        let index = self.0.get_or_insert_with(|| build_index(doc));
        let task = index.get_mut(task_id)?;
        let owner = *task
            .owner
            .get_or_insert_with(|| get_str(doc, &task.obj, "owner").and_then(|o| o.parse().ok()));
        Some(TaskRef {
            obj: task.obj.clone(),
            owner,
        })
    }

    pub(crate) fn clear(&mut self) {
        self.0 = None;
    }
}

fn build_index(doc: &AutoCommit) -> HashMap<String, IndexedTask> {
    let mut index = HashMap::new();
    let Some(stages) = get_map(doc, &ROOT, "stages") else {
        return index;
    };
    for stage in doc.keys(&stages) {
        let Some(tasks) = map_at_obj(doc, &stages, &[&stage, "tasks"]) else {
            continue;
        };
        for item in doc.map_range(&tasks, ..) {
            if matches!(item.value, automerge::ValueRef::Object(automerge::ObjType::Map)) {
                index.insert(
                    item.key.to_string(),
                    IndexedTask {
                        obj: item.id(),
                        owner: None,
                    },
                );
            }
        }
    }
    index
}

/// Finds a task by id across stages. Task ids are unique in a template.
pub(crate) fn find_task(doc: &AutoCommit, task_id: &str) -> Option<TaskRef> {
    let stages = get_map(doc, &ROOT, "stages")?;
    doc.keys(&stages).find_map(|stage| {
        let tasks = map_at_obj(doc, &stages, &[&stage, "tasks"])?;
        let obj = get_map(doc, &tasks, task_id)?;
        let owner = get_str(doc, &obj, "owner").and_then(|o| o.parse().ok());
        Some(TaskRef { obj, owner })
    })
}

fn map_at_obj(doc: &AutoCommit, from: &ObjId, path: &[&str]) -> Option<ObjId> {
    path.iter()
        .try_fold(from.clone(), |obj, key| get_map(doc, &obj, key))
}

type Write = Result<(), WriteError>;

pub(crate) fn set_task_status(
    doc: &mut AutoCommit,
    task: &TaskRef,
    status: TaskStatus,
    by: &str,
    now: DateTime<Utc>,
) -> Write {
    doc.put(&task.obj, "status", status.as_str())?;
    // Any other status leaves the last completion in place: the typed read hides it
    // (`journey::tasks_as_read`), and a toggle costs one op instead of three, in memory,
    // on disk and on the wire.
    if status == TaskStatus::Done {
        doc.put(&task.obj, "completed_at", crate::time::instant_text(now))?;
        doc.put(&task.obj, "completed_by", by)?;
    }
    Ok(())
}

pub(crate) fn set_task_notes(doc: &mut AutoCommit, task: &TaskRef, notes: &str) -> Write {
    Ok(doc.put(&task.obj, "notes", notes)?)
}

pub(crate) fn set_task_due(doc: &mut AutoCommit, task: &TaskRef, due: Option<NaiveDate>) -> Write {
    Ok(put_opt_str(doc, &task.obj, "due", due.map(date_text))?)
}

pub(crate) fn set_permit(
    doc: &mut AutoCommit,
    decision: PermitDecision,
    decided_on: Option<NaiveDate>,
) -> Write {
    let permit = required_map(doc, &["permit"])?;
    doc.put(&permit, "decision", decision.as_str())?;
    Ok(put_opt_str(
        doc,
        &permit,
        "decided_on",
        decided_on.map(date_text),
    )?)
}

pub(crate) fn set_self_booking(doc: &mut AutoCommit, allowed: bool) -> Write {
    let travel = required_map(doc, &["travel"])?;
    Ok(doc.put(&travel, "self_booking", allowed)?)
}

pub(crate) fn self_booking_allowed(doc: &AutoCommit) -> bool {
    let Some(travel) = map_at(doc, &["travel"]) else {
        return false;
    };
    matches!(
        doc.get(&travel, "self_booking"),
        Ok(Some((automerge::Value::Scalar(s), _))) if matches!(s.as_ref(), ScalarValue::Boolean(true))
    )
}

pub(crate) fn add_flight(doc: &mut AutoCommit, id: &str, booking: &FlightBooking) -> Write {
    let flights = required_map(doc, &["travel", "flights"])?;
    Ok(autosurgeon::reconcile_prop(doc, flights, id, booking)?)
}

/// The map of one flight segment, if the booking and segment exist.
pub(crate) fn segment(doc: &AutoCommit, booking: &str, index: usize) -> Option<ObjId> {
    let flight = map_at(doc, &["travel", "flights", booking])?;
    let segments = super::get_list(doc, &flight, "segments")?;
    match doc.get(&segments, index) {
        Ok(Some((automerge::Value::Object(automerge::ObjType::Map), id))) => Some(id),
        _ => None,
    }
}

pub(crate) fn set_segment_times(
    doc: &mut AutoCommit,
    segment: &ObjId,
    departs: Option<ZonedDateTime>,
    arrives: Option<ZonedDateTime>,
) -> Write {
    if let Some(t) = departs {
        doc.put(segment, "departs", t.to_string())?;
    }
    if let Some(t) = arrives {
        doc.put(segment, "arrives", t.to_string())?;
    }
    Ok(())
}

pub(crate) fn set_housing(doc: &mut AutoCommit, housing: &Housing) -> Write {
    let obj = required_map(doc, &["travel", "housing"])?;
    doc.put(&obj, "address", housing.address.as_str())?;
    doc.put(&obj, "city", housing.city.as_str())?;
    put_opt_str(doc, &obj, "from", housing.from.map(date_text))?;
    Ok(put_opt_str(doc, &obj, "until", housing.until.map(date_text))?)
}

pub(crate) fn set_meeting(doc: &mut AutoCommit, meeting: &ArrivalMeeting) -> Write {
    let obj = required_map(doc, &["travel", "meeting"])?;
    doc.put(&obj, "name", meeting.name.as_str())?;
    doc.put(&obj, "organisation", meeting.organisation.as_str())?;
    doc.put(&obj, "phone", meeting.phone.as_str())?;
    Ok(doc.put(&obj, "place", meeting.place.as_str())?)
}

pub(crate) fn schedule_pdo(doc: &mut AutoCommit, days: &[NaiveDate; PDO_DAYS as usize]) -> Write {
    for (i, date) in days.iter().enumerate() {
        let day = required_map(doc, &["pdo", "days", &(i + 1).to_string()])?;
        doc.put(&day, "date", date_text(*date))?;
    }
    Ok(())
}

pub(crate) fn set_pdo_day_status(doc: &mut AutoCommit, day: u8, status: PdoDayStatus) -> Write {
    let obj = required_map(doc, &["pdo", "days", &day.to_string()])?;
    Ok(doc.put(&obj, "status", status.as_str())?)
}

pub(crate) fn module_exists(doc: &AutoCommit, module: &str) -> bool {
    map_at(doc, &["pdo", "modules", module]).is_some()
}

pub(crate) fn set_module_status(doc: &mut AutoCommit, module: &str, status: ModuleStatus) -> Write {
    let obj = required_map(doc, &["pdo", "modules", module])?;
    Ok(doc.put(&obj, "status", status.as_str())?)
}

pub(crate) fn add_family_member(doc: &mut AutoCommit, id: &str, member: &FamilyMember) -> Write {
    let family = required_map(doc, &["family"])?;
    Ok(autosurgeon::reconcile_prop(doc, family, id, member)?)
}

pub(crate) fn family_member_exists(doc: &AutoCommit, id: &str) -> bool {
    map_at(doc, &["family", id]).is_some()
}

pub(crate) fn remove_family_member(doc: &mut AutoCommit, id: &str) -> Write {
    let family = required_map(doc, &["family"])?;
    Ok(doc.delete(&family, id)?)
}

/// Moves a journey to `target` (a newer version of its template). Existing tasks keep
/// their status, notes, due dates and completion; new tasks are added to do; tasks the
/// new version dropped are kept and marked retired, never deleted.
pub(crate) fn upgrade(
    doc: &mut AutoCommit,
    journey: &Journey,
    target: &Template,
) -> Result<UpgradeReport, WriteError> {
    let mut report = UpgradeReport {
        from_version: journey.template.version as u64,
        to_version: target.version,
        added_tasks: vec![],
        retired_tasks: vec![],
        added_modules: vec![],
    };
    let mut wanted = std::collections::BTreeSet::new();
    for stage in &target.stages {
        let tasks = required_map(doc, &["stages", stage.id.as_str(), "tasks"])?;
        for (i, t) in stage.tasks.iter().enumerate() {
            wanted.insert(t.id.as_str());
            match journey.task(&t.id) {
                Some(_) => {
                    // Keep the task where it is, with its progress; only its place in the
                    // list follows the new version.
                    if let Some(found) = find_task(doc, &t.id) {
                        doc.put(&found.obj, "order", i as i64)?;
                        doc.put(&found.obj, "retired", false)?;
                    }
                }
                None => {
                    let task = Task::new(&t.id, i, t.owner, t.due_date(journey.start_date));
                    autosurgeon::reconcile_prop(doc, &tasks, t.id.as_str(), &task)?;
                    report.added_tasks.push(t.id.clone());
                }
            }
        }
    }
    for (_, stage) in journey.stages_in_order() {
        for (id, task) in stage {
            if !wanted.contains(id)
                && !task.retired
                && let Some(found) = find_task(doc, id)
            {
                doc.put(&found.obj, "retired", true)?;
                report.retired_tasks.push(id.to_owned());
            }
        }
    }
    let modules = required_map(doc, &["pdo", "modules"])?;
    for (i, m) in target.pdo_modules.iter().enumerate() {
        if !journey.pdo.modules.contains_key(&m.id) {
            let module = PdoModule {
                order: i as i64,
                status: ModuleStatus::NotStarted,
            };
            autosurgeon::reconcile_prop(doc, &modules, m.id.as_str(), &module)?;
            report.added_modules.push(m.id.clone());
        }
    }
    let template = required_map(doc, &["template"])?;
    doc.put(&template, "version", target.version as i64)?;
    Ok(report)
}

/// A map that the journey's shape guarantees; its absence means a malformed document.
fn required_map(doc: &AutoCommit, path: &[&str]) -> Result<ObjId, WriteError> {
    map_at(doc, path).ok_or_else(|| WriteError::Missing(format!("/{}", path.join("/"))))
}
