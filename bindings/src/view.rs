//! What the apps read, as uniffi records: the journey with every title already in the
//! person's language, the medical record, the arrival plan, conflicts and history.
//!
//! Records are plain data, built from the core's documents in one pass and handed
//! over by value: an app holds no reference into a document, so a sync running on
//! another thread can never change what the screen is drawing. Dates are ISO 8601
//! text (`2027-03-28`), local times RFC 9557 text with their zone
//! (`2027-03-28T06:00:00+03:00[Asia/Amman]`), both read by `java.time` and by
//! Foundation's ISO 8601 parsers; instants are timestamps (`java.time.Instant`, `Date`).

use std::time::SystemTime;

use passage_core::Locale as CoreLocale;
use passage_core::arrival_plan::ArrivalPlan;
use passage_core::doc::journey::{self, Journey};
use passage_core::doc::medical::{self, Medical};
use passage_core::template::Catalogue;

use crate::types::{
    CriticalField, DocKind, FamilyTravel, FitnessDecision, ModuleStatus, Owner, PdoDayStatus, PermitDecision,
    Relation, ReminderKind, Role, StageId, StageProgress, TaskStatus, Trust,
};

/// One case on this device, for a list of cases.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct CaseSummary {
    pub case_id: String,
    pub talent_name: String,
    /// ISO 3166-1 alpha-2 code of the destination country.
    pub destination: String,
    pub template_id: String,
    pub template_version: u64,
    /// Tasks done or not applicable, and all live tasks.
    pub tasks_closed: u32,
    pub tasks_total: u32,
    /// Why this case cannot be read (a damaged document); the other cases still can.
    pub problem: Option<String>,
}

/// The journey of one case, with texts in the requested language.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct JourneyView {
    pub case_id: String,
    /// ISO 3166-1 alpha-2 code of the destination country.
    pub destination: String,
    pub talent_name: String,
    pub employer: String,
    pub job_title: String,
    /// The job offer date.
    pub start_date: String,
    pub template_id: String,
    pub template_version: u64,
    /// Whether the language is written right to left.
    pub right_to_left: bool,
    pub tasks_closed: u32,
    pub tasks_total: u32,
    pub stages: Vec<StageView>,
    pub permit: PermitView,
    pub travel: TravelView,
    pub pdo: PdoView,
    pub family: Vec<FamilyMemberEntry>,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct StageView {
    pub id: StageId,
    pub title: String,
    pub tasks: Vec<TaskView>,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct TaskView {
    pub id: String,
    pub title: String,
    pub status: TaskStatus,
    /// The status in the requested language.
    pub status_label: String,
    pub owner: Owner,
    pub due: Option<String>,
    pub notes: String,
    pub completed_at: Option<SystemTime>,
    pub completed_by: Option<String>,
    /// No longer in the journey's template version; kept for its progress.
    pub retired: bool,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct PermitView {
    pub decision: PermitDecision,
    pub decided_on: Option<String>,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct TravelView {
    /// Staff allowed the talent to enter their own bookings.
    pub self_booking: bool,
    /// Bookings in departure order.
    pub flights: Vec<FlightEntry>,
    pub housing: Housing,
    pub meeting: ArrivalMeeting,
}

/// A booking as stored, with the id edits refer to.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct FlightEntry {
    pub id: String,
    pub booking: FlightBooking,
}

/// One one-way trip of one or more flight segments.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct FlightBooking {
    pub booking_reference: String,
    /// The people on this booking: the talent and any family members.
    pub travellers: Vec<String>,
    pub segments: Vec<FlightSegment>,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct FlightSegment {
    pub carrier: String,
    pub flight_number: String,
    /// IATA airport codes.
    pub from: String,
    pub to: String,
    /// Local times at the departure and arrival airports, RFC 9557 with the zone.
    pub departs: String,
    pub arrives: String,
}

/// Temporary housing provided by the employer.
#[derive(Clone, Debug, Default, PartialEq, uniffi::Record)]
pub struct Housing {
    pub address: String,
    pub city: String,
    pub from: Option<String>,
    pub until: Option<String>,
}

/// Who meets the talent at arrival, and where.
#[derive(Clone, Debug, Default, PartialEq, uniffi::Record)]
pub struct ArrivalMeeting {
    pub name: String,
    pub organisation: String,
    pub phone: String,
    pub place: String,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct PdoView {
    /// Days 1 to 3.
    pub days: Vec<PdoDayView>,
    /// The destination's modules, in course order.
    pub modules: Vec<PdoModuleView>,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct PdoDayView {
    pub day: u8,
    pub date: Option<String>,
    pub status: PdoDayStatus,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct PdoModuleView {
    pub id: String,
    pub title: String,
    pub status: ModuleStatus,
}

/// A family member as stored, with the id edits refer to.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct FamilyMemberEntry {
    pub id: String,
    pub member: FamilyMember,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct FamilyMember {
    pub name: String,
    pub relation: Relation,
    pub travel: FamilyTravel,
}

/// The medical record: only for the roles that may read it.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct MedicalView {
    /// Appointments in time order.
    pub appointments: Vec<AppointmentEntry>,
    pub tests: Vec<MedicalTestEntry>,
    pub vaccinations: Vec<VaccinationEntry>,
    pub fitness: Fitness,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct AppointmentEntry {
    pub id: String,
    pub appointment: Appointment,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Appointment {
    pub clinic: String,
    /// Local time at the clinic, RFC 9557 with the zone.
    pub at: String,
    pub purpose: String,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct MedicalTestEntry {
    pub id: String,
    pub test: MedicalTest,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct MedicalTest {
    pub name: String,
    pub date: String,
    pub result: String,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct VaccinationEntry {
    pub id: String,
    pub vaccination: Vaccination,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Vaccination {
    pub name: String,
    pub date: String,
}

/// The fit-to-travel decision.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Fitness {
    pub decision: FitnessDecision,
    pub decided_on: Option<String>,
    pub valid_until: Option<String>,
}

/// What a family member sees: when and where their person arrives. Nothing medical.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ArrivalPlanView {
    pub case_id: String,
    pub talent_name: String,
    pub destination: String,
    pub arrival_city: String,
    pub right_to_left: bool,
    /// Trips in departure order, without booking references.
    pub trips: Vec<Trip>,
    pub housing: Housing,
    pub met_by: ArrivalMeeting,
    /// Family members travelling with the talent.
    pub travelling_with: Vec<String>,
    pub stages: Vec<PlanStage>,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Trip {
    pub travellers: Vec<String>,
    pub segments: Vec<FlightSegment>,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct PlanStage {
    pub stage: StageId,
    pub title: String,
    pub progress: StageProgress,
}

/// A critical field with concurrent values, for a person to pick one
/// (`Edit::ResolveConflict`).
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Conflict {
    pub id: String,
    pub doc: DocKind,
    pub field: CriticalField,
    /// The field's name in the requested language.
    pub field_label: String,
    pub path: String,
    /// The values, in the same order on every device; the first is shown until then.
    pub values: Vec<ConflictValue>,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ConflictValue {
    pub value: String,
    pub by: Option<String>,
    pub at: Option<SystemTime>,
}

/// One change in a case's timeline.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct HistoryEntry {
    pub at: SystemTime,
    pub by: String,
    pub role: Option<Role>,
    pub doc: DocKind,
    /// What kind of edit, e.g. `task.status`.
    pub edit: String,
    /// What it changed, e.g. the task id.
    pub target: Option<String>,
    /// The Automerge change hash (hex).
    pub change: String,
    /// What the sync server vouched for: who it received the change from, and when.
    /// Show this author where there is one; `by`, `role` and `at` are the change's
    /// own claim.
    pub vouched: Option<Voucher>,
    /// How the claim compares with what the server vouched for.
    pub trust: Trust,
}

/// What the server vouched for about a change.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Voucher {
    /// The person of the device the server received the change from.
    pub name: String,
    /// That device's role; none when the server made the change itself.
    pub role: Option<Role>,
    pub received_at: SystemTime,
    /// Whether this device delivered the change.
    pub own: bool,
}

fn date(d: chrono::NaiveDate) -> String {
    d.to_string()
}

fn opt_date(d: Option<chrono::NaiveDate>) -> Option<String> {
    d.map(date)
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl From<passage_core::CaseSummary> for CaseSummary {
    fn from(s: passage_core::CaseSummary) -> Self {
        CaseSummary {
            case_id: s.case.to_string(),
            talent_name: s.talent_name,
            destination: s.destination,
            template_id: s.template_id,
            template_version: s.template_version,
            tasks_closed: count(s.tasks_closed),
            tasks_total: count(s.tasks_total),
            problem: s.problem,
        }
    }
}

impl JourneyView {
    pub(crate) fn new(journey: &Journey, catalogue: &Catalogue, locale: CoreLocale) -> JourneyView {
        let (closed, total) = journey.progress();
        let version = u64::try_from(journey.template.version).unwrap_or_default();
        let stages = journey
            .stages_in_order()
            .into_iter()
            .map(|(stage, tasks)| StageView {
                id: stage.into(),
                title: catalogue.stage_title(stage, locale).to_owned(),
                tasks: tasks
                    .into_iter()
                    .map(|(id, task)| TaskView {
                        id: id.to_owned(),
                        title: journey.task_title(catalogue, id, locale).to_owned(),
                        status: task.status.into(),
                        status_label: catalogue.label(&task.status.label_key(), locale).to_owned(),
                        owner: task.owner.into(),
                        due: opt_date(task.due),
                        notes: task.notes.clone(),
                        completed_at: task.completed_at.map(SystemTime::from),
                        completed_by: task.completed_by.clone(),
                        retired: task.retired,
                    })
                    .collect(),
            })
            .collect();
        let mut days: Vec<PdoDayView> = journey
            .pdo
            .days
            .iter()
            .filter_map(|(day, d)| {
                Some(PdoDayView {
                    day: day.parse().ok()?,
                    date: opt_date(d.date),
                    status: d.status.into(),
                })
            })
            .collect();
        days.sort_by_key(|d| d.day);
        let mut modules: Vec<(i64, PdoModuleView)> = journey
            .pdo
            .modules
            .iter()
            .map(|(id, m)| {
                let title = catalogue
                    .module_title(&journey.template.id, version, id, locale)
                    .unwrap_or(id)
                    .to_owned();
                (
                    m.order,
                    PdoModuleView {
                        id: id.clone(),
                        title,
                        status: m.status.into(),
                    },
                )
            })
            .collect();
        modules.sort_by(|a, b| (a.0, &a.1.id).cmp(&(b.0, &b.1.id)));
        JourneyView {
            case_id: journey.case_id.clone(),
            destination: journey.destination.clone(),
            talent_name: journey.talent_name.clone(),
            employer: journey.employer.clone(),
            job_title: journey.job_title.clone(),
            start_date: date(journey.start_date),
            template_id: journey.template.id.clone(),
            template_version: version,
            right_to_left: locale.is_rtl(),
            tasks_closed: count(closed),
            tasks_total: count(total),
            stages,
            permit: PermitView {
                decision: journey.permit.decision.into(),
                decided_on: opt_date(journey.permit.decided_on),
            },
            travel: TravelView {
                self_booking: journey.travel.self_booking,
                flights: journey
                    .flights_in_order()
                    .into_iter()
                    .map(|(id, booking)| FlightEntry {
                        id: id.to_owned(),
                        booking: booking.into(),
                    })
                    .collect(),
                housing: (&journey.travel.housing).into(),
                meeting: (&journey.travel.meeting).into(),
            },
            pdo: PdoView {
                days,
                modules: modules.into_iter().map(|(_, m)| m).collect(),
            },
            family: journey
                .family
                .iter()
                .map(|(id, m)| FamilyMemberEntry {
                    id: id.clone(),
                    member: FamilyMember {
                        name: m.name.clone(),
                        relation: m.relation.into(),
                        travel: m.travel.into(),
                    },
                })
                .collect(),
        }
    }
}

impl From<&journey::FlightBooking> for FlightBooking {
    fn from(b: &journey::FlightBooking) -> Self {
        FlightBooking {
            booking_reference: b.booking_reference.clone(),
            travellers: b.travellers.clone(),
            segments: b.segments.iter().map(FlightSegment::from).collect(),
        }
    }
}

impl From<&journey::FlightSegment> for FlightSegment {
    fn from(s: &journey::FlightSegment) -> Self {
        FlightSegment {
            carrier: s.carrier.clone(),
            flight_number: s.flight_number.clone(),
            from: s.from.clone(),
            to: s.to.clone(),
            departs: s.departs.to_string(),
            arrives: s.arrives.to_string(),
        }
    }
}

impl From<&journey::Housing> for Housing {
    fn from(h: &journey::Housing) -> Self {
        Housing {
            address: h.address.clone(),
            city: h.city.clone(),
            from: opt_date(h.from),
            until: opt_date(h.until),
        }
    }
}

impl From<&journey::ArrivalMeeting> for ArrivalMeeting {
    fn from(m: &journey::ArrivalMeeting) -> Self {
        ArrivalMeeting {
            name: m.name.clone(),
            organisation: m.organisation.clone(),
            phone: m.phone.clone(),
            place: m.place.clone(),
        }
    }
}

impl From<&Medical> for MedicalView {
    fn from(m: &Medical) -> Self {
        MedicalView {
            appointments: m
                .appointments_in_order()
                .into_iter()
                .map(|(id, a)| AppointmentEntry {
                    id: id.to_owned(),
                    appointment: a.into(),
                })
                .collect(),
            tests: m
                .tests
                .iter()
                .map(|(id, t)| MedicalTestEntry {
                    id: id.clone(),
                    test: MedicalTest {
                        name: t.name.clone(),
                        date: date(t.date),
                        result: t.result.clone(),
                    },
                })
                .collect(),
            vaccinations: m
                .vaccinations
                .iter()
                .map(|(id, v)| VaccinationEntry {
                    id: id.clone(),
                    vaccination: Vaccination {
                        name: v.name.clone(),
                        date: date(v.date),
                    },
                })
                .collect(),
            fitness: Fitness {
                decision: m.fitness.decision.into(),
                decided_on: opt_date(m.fitness.decided_on),
                valid_until: opt_date(m.fitness.valid_until),
            },
        }
    }
}

impl From<&medical::Appointment> for Appointment {
    fn from(a: &medical::Appointment) -> Self {
        Appointment {
            clinic: a.clinic.clone(),
            at: a.at.to_string(),
            purpose: a.purpose.clone(),
        }
    }
}

impl ArrivalPlanView {
    pub(crate) fn new(plan: &ArrivalPlan, catalogue: &Catalogue, locale: CoreLocale) -> ArrivalPlanView {
        ArrivalPlanView {
            case_id: plan.case_id.clone(),
            talent_name: plan.talent_name.clone(),
            destination: plan.destination.clone(),
            arrival_city: plan.arrival_city.clone(),
            right_to_left: locale.is_rtl(),
            trips: plan
                .trips
                .iter()
                .map(|t| Trip {
                    travellers: t.travellers.clone(),
                    segments: t.segments.iter().map(FlightSegment::from).collect(),
                })
                .collect(),
            housing: (&plan.housing).into(),
            met_by: (&plan.met_by).into(),
            travelling_with: plan.travelling_with.clone(),
            stages: plan
                .stages
                .iter()
                .map(|s| PlanStage {
                    stage: s.stage.into(),
                    title: catalogue.stage_title(s.stage, locale).to_owned(),
                    progress: s.progress.into(),
                })
                .collect(),
        }
    }
}

impl Conflict {
    pub(crate) fn new(
        c: passage_core::conflict::Conflict,
        catalogue: &Catalogue,
        locale: CoreLocale,
    ) -> Conflict {
        Conflict {
            field_label: catalogue.label(&c.field.label_key(), locale).to_owned(),
            id: c.id,
            doc: c.doc.into(),
            field: c.field.into(),
            path: c.path,
            values: c
                .values
                .into_iter()
                .map(|v| ConflictValue {
                    value: v.value,
                    by: v.by,
                    at: v.at.map(SystemTime::from),
                })
                .collect(),
        }
    }
}

impl From<passage_core::history::HistoryEntry> for HistoryEntry {
    fn from(h: passage_core::history::HistoryEntry) -> Self {
        HistoryEntry {
            at: SystemTime::from(h.at),
            by: h.by,
            role: h.role.map(Role::from),
            doc: h.doc.into(),
            edit: h.edit,
            target: h.target,
            change: h.change,
            vouched: h.vouched.map(|v| Voucher {
                name: v.name,
                role: v.role.map(Role::from),
                received_at: SystemTime::from(v.received_at),
                own: v.own,
            }),
            trust: h.trust.into(),
        }
    }
}

/// A local notification to schedule: what to say, and when.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Reminder {
    /// Stable for the same event across calls: replace the scheduled notification
    /// with this id instead of adding another.
    pub id: String,
    pub kind: ReminderKind,
    pub title: String,
    pub body: String,
    /// When to notify; already now or past for an event that is near.
    pub notify_at: SystemTime,
    /// When the event itself is.
    pub event_at: SystemTime,
}

impl From<passage_core::Reminder> for Reminder {
    fn from(r: passage_core::Reminder) -> Self {
        Reminder {
            id: r.id,
            kind: r.kind.into(),
            title: r.title,
            body: r.body,
            notify_at: SystemTime::from(r.notify_at),
            event_at: SystemTime::from(r.event_at),
        }
    }
}
