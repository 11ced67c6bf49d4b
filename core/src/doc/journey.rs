//! The `journey` document: checklist, permit, travel, PDO and family.
//!
//! Layout (every key below exists from creation; `<id>` maps gain entries):
//! ```text
//! /schema /kind /case_id /template{id,version} /destination /talent_name /employer
//! /job_title /start_date
//! /stages/<stage>/{order, tasks/<task>/{title_key, order, owner, status, due, notes,
//!                                        completed_at, completed_by, retired}}
//! /permit/{decision, decided_on}
//! /travel/{self_booking, flights/<id>/{booking_reference, travellers[], segments[]},
//!          housing/{address, city, from, until}, meeting/{name, organisation, phone, place}}
//! /pdo/{days/<1|2|3>/{date, status}, modules/<module>/{order, status}}
//! /family/<id>/{name, relation, travel}
//! ```

use std::collections::BTreeMap;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ROOT, ReadDoc, ScalarValue};
use autosurgeon::Reconcile;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::codec::{self, date_text};
use super::{DOC_SCHEMA, WriteError, get_map, get_str, map_at, put_opt_str};
use crate::locale::Locale;
use crate::model::{
    FamilyTravel, ModuleStatus, Owner, PdoDayStatus, PermitDecision, Relation, StageId, TaskStatus,
};
use crate::template::{Catalogue, Template};
use crate::time::ZonedDateTime;

/// A journey as stored: the hydrated `journey` document.
#[derive(Clone, Debug, PartialEq, Reconcile, Serialize, Deserialize)]
pub struct Journey {
    pub schema: i64,
    pub kind: String,
    pub case_id: String,
    pub template: TemplateRef,
    /// ISO 3166-1 alpha-2 code of the destination country.
    pub destination: String,
    pub talent_name: String,
    pub employer: String,
    pub job_title: String,
    /// The job offer date; template due dates count from it.
    #[autosurgeon(with = "codec::date")]
    pub start_date: NaiveDate,
    pub stages: BTreeMap<String, Stage>,
    pub permit: Permit,
    pub travel: Travel,
    pub pdo: Pdo,
    pub family: BTreeMap<String, FamilyMember>,
}

#[derive(Clone, Debug, PartialEq, Eq, Reconcile, Serialize, Deserialize)]
pub struct TemplateRef {
    pub id: String,
    pub version: i64,
}

#[derive(Clone, Debug, PartialEq, Reconcile, Serialize, Deserialize)]
pub struct Stage {
    pub order: i64,
    pub tasks: BTreeMap<String, Task>,
}

#[derive(Clone, Debug, PartialEq, Reconcile, Serialize, Deserialize)]
pub struct Task {
    /// Key of the task's title in the template catalogue (the template's task id).
    pub title_key: String,
    pub order: i64,
    pub owner: Owner,
    pub status: TaskStatus,
    #[autosurgeon(with = "codec::opt_date")]
    pub due: Option<NaiveDate>,
    pub notes: String,
    #[autosurgeon(with = "codec::opt_instant")]
    pub completed_at: Option<DateTime<Utc>>,
    pub completed_by: Option<String>,
    /// The task is no longer in the journey's template version; kept for its progress.
    pub retired: bool,
}

#[derive(Clone, Debug, PartialEq, Reconcile, Serialize, Deserialize)]
pub struct Permit {
    pub decision: PermitDecision,
    #[autosurgeon(with = "codec::opt_date")]
    pub decided_on: Option<NaiveDate>,
}

#[derive(Clone, Debug, PartialEq, Reconcile, Serialize, Deserialize)]
pub struct Travel {
    /// Staff allowed the talent to enter their own bookings.
    pub self_booking: bool,
    pub flights: BTreeMap<String, FlightBooking>,
    pub housing: Housing,
    pub meeting: ArrivalMeeting,
}

/// One booking: a one-way trip of one or more flight segments.
#[derive(Clone, Debug, PartialEq, Reconcile, Serialize, Deserialize)]
pub struct FlightBooking {
    pub booking_reference: String,
    /// Names of the people on this booking: the talent and any family members.
    pub travellers: Vec<String>,
    pub segments: Vec<FlightSegment>,
}

#[derive(Clone, Debug, PartialEq, Reconcile, Serialize, Deserialize)]
pub struct FlightSegment {
    pub carrier: String,
    pub flight_number: String,
    /// IATA airport codes.
    pub from: String,
    pub to: String,
    /// Local times at the departure and arrival airports.
    pub departs: ZonedDateTime,
    pub arrives: ZonedDateTime,
}

/// Temporary housing provided by the employer (up to three months).
#[derive(Clone, Debug, Default, PartialEq, Reconcile, Serialize, Deserialize)]
pub struct Housing {
    pub address: String,
    pub city: String,
    #[autosurgeon(with = "codec::opt_date")]
    pub from: Option<NaiveDate>,
    #[autosurgeon(with = "codec::opt_date")]
    pub until: Option<NaiveDate>,
}

/// Who meets the talent at arrival, and where.
#[derive(Clone, Debug, Default, PartialEq, Reconcile, Serialize, Deserialize)]
pub struct ArrivalMeeting {
    pub name: String,
    pub organisation: String,
    pub phone: String,
    pub place: String,
}

#[derive(Clone, Debug, PartialEq, Reconcile, Serialize, Deserialize)]
pub struct Pdo {
    /// Days "1", "2" and "3" of the course.
    pub days: BTreeMap<String, PdoDay>,
    pub modules: BTreeMap<String, PdoModule>,
}

#[derive(Clone, Debug, PartialEq, Reconcile, Serialize, Deserialize)]
pub struct PdoDay {
    #[autosurgeon(with = "codec::opt_date")]
    pub date: Option<NaiveDate>,
    pub status: PdoDayStatus,
}

#[derive(Clone, Debug, PartialEq, Reconcile, Serialize, Deserialize)]
pub struct PdoModule {
    pub order: i64,
    pub status: ModuleStatus,
}

#[derive(Clone, Debug, PartialEq, Reconcile, Serialize, Deserialize)]
pub struct FamilyMember {
    pub name: String,
    pub relation: Relation,
    pub travel: FamilyTravel,
}

/// What a new journey is made of, besides its template.
#[derive(Clone, Debug)]
pub struct NewJourney {
    /// Template id, e.g. `be`.
    pub template: String,
    /// Template version; `None` for the newest.
    pub version: Option<u64>,
    pub talent_name: String,
    pub employer: String,
    pub job_title: String,
    pub start_date: NaiveDate,
}

/// The number of PDO days.
pub const PDO_DAYS: u8 = 3;

impl Journey {
    /// A journey made from `template`, every task to do, nothing booked.
    pub fn instantiate(case_id: &str, template: &Template, new: &NewJourney) -> Journey {
        let stages = template
            .stages
            .iter()
            .map(|stage| {
                let tasks = stage
                    .tasks
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        (
                            t.id.clone(),
                            Task::new(&t.id, i, t.owner, t.due_date(new.start_date)),
                        )
                    })
                    .collect();
                (
                    stage.id.as_str().to_owned(),
                    Stage {
                        order: stage.id.order() as i64,
                        tasks,
                    },
                )
            })
            .collect();
        Journey {
            schema: DOC_SCHEMA as i64,
            kind: "journey".into(),
            case_id: case_id.to_owned(),
            template: TemplateRef {
                id: template.id.clone(),
                version: template.version as i64,
            },
            destination: template.destination.clone(),
            talent_name: new.talent_name.clone(),
            employer: new.employer.clone(),
            job_title: new.job_title.clone(),
            start_date: new.start_date,
            stages,
            permit: Permit {
                decision: PermitDecision::Pending,
                decided_on: None,
            },
            travel: Travel {
                self_booking: false,
                flights: BTreeMap::new(),
                housing: Housing::default(),
                meeting: ArrivalMeeting::default(),
            },
            pdo: Pdo {
                days: (1..=PDO_DAYS)
                    .map(|d| {
                        (
                            d.to_string(),
                            PdoDay {
                                date: None,
                                status: PdoDayStatus::Scheduled,
                            },
                        )
                    })
                    .collect(),
                modules: template
                    .pdo_modules
                    .iter()
                    .enumerate()
                    .map(|(i, m)| {
                        (
                            m.id.clone(),
                            PdoModule {
                                order: i as i64,
                                status: ModuleStatus::NotStarted,
                            },
                        )
                    })
                    .collect(),
            },
            family: BTreeMap::new(),
        }
    }

    /// Stages in pathway order, with their tasks in template order.
    pub fn stages_in_order(&self) -> Vec<(StageId, Vec<(&str, &Task)>)> {
        let mut stages: Vec<(StageId, &Stage)> = self
            .stages
            .iter()
            .filter_map(|(k, s)| Some((k.parse().ok()?, s)))
            .collect();
        stages.sort_by_key(|(id, s)| (s.order, *id));
        stages
            .into_iter()
            .map(|(id, stage)| {
                let mut tasks: Vec<(&str, &Task)> =
                    stage.tasks.iter().map(|(k, t)| (k.as_str(), t)).collect();
                tasks.sort_by_key(|(k, t)| (t.order, *k));
                (id, tasks)
            })
            .collect()
    }

    /// The task with this id and its stage.
    pub fn task(&self, task_id: &str) -> Option<(StageId, &Task)> {
        self.stages
            .iter()
            .find_map(|(stage, s)| Some((stage.parse().ok()?, s.tasks.get(task_id)?)))
    }

    /// A task's title in `locale`, from the journey's template version.
    pub fn task_title<'a>(&self, catalogue: &'a Catalogue, task_id: &'a str, locale: Locale) -> &'a str {
        catalogue
            .task_title(&self.template.id, self.template.version as u64, task_id, locale)
            .unwrap_or(task_id)
    }

    /// Flights in departure order, each with its id.
    pub fn flights_in_order(&self) -> Vec<(&str, &FlightBooking)> {
        let mut flights: Vec<(&str, &FlightBooking)> =
            self.travel.flights.iter().map(|(k, f)| (k.as_str(), f)).collect();
        flights.sort_by_key(|(k, f)| (f.segments.first().map(|s| s.departs.instant()), *k));
        flights
    }

    /// Tasks done or not applicable, and all tasks not retired.
    pub fn progress(&self) -> (usize, usize) {
        let live = self
            .stages
            .values()
            .flat_map(|s| s.tasks.values())
            .filter(|t| !t.retired);
        live.fold((0, 0), |(closed, all), t| {
            (closed + usize::from(t.status.is_closed()), all + 1)
        })
    }
}

impl Task {
    fn new(id: &str, order: usize, owner: Owner, due: Option<NaiveDate>) -> Task {
        Task {
            title_key: id.to_owned(),
            order: order as i64,
            owner,
            status: TaskStatus::Todo,
            due,
            notes: String::new(),
            completed_at: None,
            completed_by: None,
            retired: false,
        }
    }
}

/// Where a task lives in the document, as found by [`find_task`].
#[derive(Debug)]
pub(crate) struct TaskRef {
    pub(crate) obj: ObjId,
    pub(crate) owner: Option<Owner>,
}

/// Where each task's map is, found once per decoded document instead of walking the
/// stages at every edit (a third of a toggle's CPU time, measured). Object ids of tasks
/// never change: tasks are never deleted, and only a template upgrade (ours) or a
/// change from elsewhere adds them, after which the store clears the index.
#[derive(Debug, Default)]
pub(crate) struct TaskIndex(Option<std::collections::HashMap<String, ObjId>>);

impl TaskIndex {
    pub(crate) fn find(&mut self, doc: &AutoCommit, task_id: &str) -> Option<TaskRef> {
        let index = self.0.get_or_insert_with(|| build_index(doc));
        let obj = index.get(task_id)?.clone();
        let owner = get_str(doc, &obj, "owner").and_then(|o| o.parse().ok());
        Some(TaskRef { obj, owner })
    }

    pub(crate) fn clear(&mut self) {
        self.0 = None;
    }
}

fn build_index(doc: &AutoCommit) -> std::collections::HashMap<String, ObjId> {
    let mut index = std::collections::HashMap::new();
    let Some(stages) = get_map(doc, &ROOT, "stages") else {
        return index;
    };
    for stage in doc.keys(&stages) {
        let Some(tasks) = map_at_obj(doc, &stages, &[&stage, "tasks"]) else {
            continue;
        };
        for item in doc.map_range(&tasks, ..) {
            if matches!(item.value, automerge::ValueRef::Object(automerge::ObjType::Map)) {
                index.insert(item.key.to_string(), item.id());
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
    if status == TaskStatus::Done {
        doc.put(&task.obj, "completed_at", crate::time::instant_text(now))?;
        doc.put(&task.obj, "completed_by", by)?;
    } else {
        doc.put(&task.obj, "completed_at", ScalarValue::Null)?;
        doc.put(&task.obj, "completed_by", ScalarValue::Null)?;
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

/// What moving a journey to a newer template version did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UpgradeReport {
    pub from_version: u64,
    pub to_version: u64,
    /// Tasks new in the target version, added as to do.
    pub added_tasks: Vec<String>,
    /// Tasks the target version no longer has: kept, with their progress, as retired.
    pub retired_tasks: Vec<String>,
    pub added_modules: Vec<String>,
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
