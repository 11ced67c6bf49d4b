//! The `journey` document: checklist, permit, travel, PDO and family.
//!
//! Layout (every key below exists from creation; `<id>` maps gain entries):
//! ```text
//! /schema /kind /case_id /template{id,version} /destination /talent_name /employer
//! /job_title /start_date
//! /stages/<stage>/{order, tasks/<task>/{title_key, order, owner, status, due, notes,
//!                                        completed_at, completed_by, retired}}
//!   (completed_at and completed_by describe the last "done"; they count only while
//!   status is done, see `tasks_as_read`)
//! /permit/{decision, decided_on}
//! /travel/{self_booking, flights/<id>/{booking_reference, travellers[], segments[]},
//!          housing/{address, city, from, until}, meeting/{name, organisation, phone, place}}
//! /pdo/{days/<1|2|3>/{date, status}, modules/<module>/{order, status}}
//! /family/<id>/{name, relation, travel}
//! ```
//!
//! The writes at these paths are in [`super::journey_write`].

use std::collections::BTreeMap;

use autosurgeon::Reconcile;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::DOC_SCHEMA;
use super::codec;
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
    #[serde(deserialize_with = "tasks_as_read")]
    pub tasks: BTreeMap<String, Task>,
}

/// A stage's tasks as people see them. Reopening a task writes only its status (one
/// Automerge op instead of three, see `journey_write::set_task_status`), so the document
/// keeps the completion of the last "done"; it describes the task only while the task
/// is done, and every typed read (device, server, export) drops it otherwise.
fn tasks_as_read<'de, D>(deserializer: D) -> Result<BTreeMap<String, Task>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let mut tasks = BTreeMap::<String, Task>::deserialize(deserializer)?;
    tasks.values_mut().for_each(Task::keep_completion_while_done);
    Ok(tasks)
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
    /// When and by whom the task was done; `None` unless `status` is done.
    #[autosurgeon(with = "codec::opt_instant")]
    pub completed_at: Option<DateTime<Utc>>,
    pub completed_by: Option<String>,
    /// The task is no longer in the journey's template version; kept for its progress.
    pub retired: bool,
}

impl Task {
    /// The task as people see it: its completion counts only while it is done (see
    /// `tasks_as_read`).
    pub(crate) fn keep_completion_while_done(&mut self) {
        if self.status != TaskStatus::Done {
            self.completed_at = None;
            self.completed_by = None;
        }
    }
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
    pub(crate) fn new(id: &str, order: usize, owner: Owner, due: Option<NaiveDate>) -> Task {
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
