//! Typed edits: every change a person can make to a case, as data.
//!
//! An [`Edit`] names the document it changes, the [`Action`] the role needs, and how it
//! is written. The store runs [`apply`] inside an Automerge transaction: the role is
//! checked and the input validated before the first write, and any failure rolls the
//! transaction back, so a refused edit leaves no trace. Edits are serde-serialisable,
//! which lets the terminal device, the bindings and the property tests share one
//! vocabulary.

use automerge::AutoCommit;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::access::{Action, Identity};
use crate::conflict::CriticalField;
use crate::doc::journey::{
    self, ArrivalMeeting, FamilyMember, FlightBooking, Housing, Journey, PDO_DAYS, UpgradeReport,
};
use crate::doc::medical::{self, Appointment, Fitness, MedicalTest, Vaccination};
use crate::doc::{self, WriteError, journey_write};
use crate::error::{Error, Result};
use crate::ids::{DocId, DocKind, entity_id};
use crate::model::{ModuleStatus, Owner, PdoDayStatus, PermitDecision, TaskStatus};
use crate::template::Catalogue;
use crate::time::ZonedDateTime;

/// Longest free text accepted in any field, in characters. Notes longer than a few
/// pages are a mistake (or an attack on the talent's data plan), not a note.
pub const MAX_TEXT: usize = 4_000;

/// One change to a case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "edit", rename_all = "snake_case")]
pub enum Edit {
    SetTaskStatus {
        task: String,
        status: TaskStatus,
    },
    SetTaskNotes {
        task: String,
        notes: String,
    },
    SetTaskDue {
        task: String,
        due: Option<NaiveDate>,
    },
    SetPermitDecision {
        decision: PermitDecision,
        decided_on: Option<NaiveDate>,
    },
    AllowSelfBooking {
        allowed: bool,
    },
    AddFlight {
        booking: FlightBooking,
    },
    ChangeFlightTimes {
        booking: String,
        segment: usize,
        departs: Option<ZonedDateTime>,
        arrives: Option<ZonedDateTime>,
    },
    SetHousing {
        housing: Housing,
    },
    SetArrivalMeeting {
        meeting: ArrivalMeeting,
    },
    SchedulePdo {
        days: [NaiveDate; PDO_DAYS as usize],
    },
    MarkPdoAttendance {
        day: u8,
        status: PdoDayStatus,
    },
    SetPdoModuleStatus {
        module: String,
        status: ModuleStatus,
    },
    AddFamilyMember {
        member: FamilyMember,
    },
    RemoveFamilyMember {
        member: String,
    },
    /// Move the journey to the newest version of its template, keeping all progress.
    UpgradeTemplate,
    AddAppointment {
        appointment: Appointment,
    },
    RescheduleAppointment {
        appointment: String,
        at: ZonedDateTime,
    },
    RecordMedicalTest {
        test: MedicalTest,
    },
    RecordVaccination {
        vaccination: Vaccination,
    },
    SetFitness {
        fitness: Fitness,
    },
    /// Choose value number `pick` (from 0) of an open conflict on a critical field.
    ResolveConflict {
        conflict: String,
        pick: usize,
    },
}

impl Edit {
    /// The document this edit changes.
    pub fn doc_kind(&self) -> DocKind {
        match self {
            Edit::ResolveConflict { conflict, .. } => {
                crate::conflict::doc_kind_of(conflict).unwrap_or(DocKind::Journey)
            }
            Edit::AddAppointment { .. }
            | Edit::RescheduleAppointment { .. }
            | Edit::RecordMedicalTest { .. }
            | Edit::RecordVaccination { .. }
            | Edit::SetFitness { .. } => DocKind::Medical,
            _ => DocKind::Journey,
        }
    }

    /// Short stable name, used in history entries: `task.status`, `flight.add`...
    pub fn name(&self) -> &'static str {
        match self {
            Edit::SetTaskStatus { .. } => "task.status",
            Edit::SetTaskNotes { .. } => "task.notes",
            Edit::SetTaskDue { .. } => "task.due",
            Edit::SetPermitDecision { .. } => "permit.decision",
            Edit::AllowSelfBooking { .. } => "travel.self_booking",
            Edit::AddFlight { .. } => "flight.add",
            Edit::ChangeFlightTimes { .. } => "flight.times",
            Edit::SetHousing { .. } => "housing.set",
            Edit::SetArrivalMeeting { .. } => "meeting.set",
            Edit::SchedulePdo { .. } => "pdo.schedule",
            Edit::MarkPdoAttendance { .. } => "pdo.attendance",
            Edit::SetPdoModuleStatus { .. } => "pdo.module",
            Edit::AddFamilyMember { .. } => "family.add",
            Edit::RemoveFamilyMember { .. } => "family.remove",
            Edit::UpgradeTemplate => "template.upgrade",
            Edit::AddAppointment { .. } => "appointment.add",
            Edit::RescheduleAppointment { .. } => "appointment.reschedule",
            Edit::RecordMedicalTest { .. } => "medical_test.add",
            Edit::RecordVaccination { .. } => "vaccination.add",
            Edit::SetFitness { .. } => "fitness.set",
            Edit::ResolveConflict { .. } => "conflict.resolve",
        }
    }

    /// What the edit is about, for the history (an id, never a medical value).
    fn target(&self) -> Option<String> {
        match self {
            Edit::SetTaskStatus { task, status } => Some(format!("{task}={status}")),
            Edit::SetTaskNotes { task, .. } | Edit::SetTaskDue { task, .. } => Some(task.clone()),
            Edit::SetPermitDecision { decision, .. } => Some(decision.to_string()),
            Edit::ChangeFlightTimes { booking, segment, .. } => Some(format!("{booking}#{segment}")),
            Edit::MarkPdoAttendance { day, status } => Some(format!("day {day}={status}")),
            Edit::SetPdoModuleStatus { module, status } => Some(format!("{module}={status}")),
            Edit::RemoveFamilyMember { member } => Some(member.clone()),
            Edit::RescheduleAppointment { appointment, .. } => Some(appointment.clone()),
            Edit::ResolveConflict { conflict, pick } => Some(format!("{conflict}#{pick}")),
            _ => None,
        }
    }
}

/// What an applied edit produced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Applied {
    pub doc: String,
    /// Hash of the committed Automerge change (hex); `None` if the edit changed nothing.
    pub change: Option<String>,
    /// The id given to a new flight, appointment, test, vaccination or family member.
    pub created: Option<String>,
    /// What a template upgrade did.
    pub upgrade: Option<UpgradeReport>,
}

/// Who is editing and when, for role checks and history.
#[derive(Debug)]
pub(crate) struct EditContext<'a> {
    pub(crate) identity: &'a Identity,
    pub(crate) now: DateTime<Utc>,
}

/// What [`apply`] did before the store commits it.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) created: Option<String>,
    pub(crate) upgrade: Option<UpgradeReport>,
}

/// Checks and writes one edit into `doc` (already in a transaction the caller commits
/// or rolls back).
pub(crate) fn apply(
    doc: &mut AutoCommit,
    id: &DocId,
    edit: &Edit,
    ctx: &EditContext<'_>,
    tasks: &mut journey_write::TaskIndex,
) -> Result<Outcome> {
    let role = ctx.identity.role;
    let write = |r: Result<(), WriteError>| r.map_err(|e| e.into_error(id));
    let mut outcome = Outcome::default();
    match edit {
        Edit::SetTaskStatus { task, status } => {
            let found = task_ref(doc, tasks, task)?;
            role.require(match found.owner {
                Some(Owner::Talent) => Action::UpdateTalentTask,
                _ => Action::UpdateStaffTask,
            })?;
            write(journey_write::set_task_status(
                doc,
                &found,
                *status,
                &ctx.identity.name,
                ctx.now,
            ))?;
        }
        Edit::SetTaskNotes { task, notes } => {
            role.require(Action::EditTaskNotes)?;
            check_text("notes", notes, true)?;
            let found = task_ref(doc, tasks, task)?;
            write(journey_write::set_task_notes(doc, &found, notes))?;
        }
        Edit::SetTaskDue { task, due } => {
            role.require(Action::SetDueDates)?;
            let found = task_ref(doc, tasks, task)?;
            write(journey_write::set_task_due(doc, &found, *due))?;
        }
        Edit::SetPermitDecision { decision, decided_on } => {
            role.require(Action::SetPermitDecision)?;
            write(journey_write::set_permit(doc, *decision, *decided_on))?;
        }
        Edit::AllowSelfBooking { allowed } => {
            role.require(Action::AllowSelfBooking)?;
            write(journey_write::set_self_booking(doc, *allowed))?;
        }
        Edit::AddFlight { booking } => {
            require_booking_right(doc, ctx)?;
            check_booking(booking)?;
            let new_id = entity_id();
            write(journey_write::add_flight(doc, &new_id, booking))?;
            outcome.created = Some(new_id);
        }
        Edit::ChangeFlightTimes {
            booking,
            segment,
            departs,
            arrives,
        } => {
            require_booking_right(doc, ctx)?;
            let seg = journey_write::segment(doc, booking, *segment)
                .ok_or_else(|| Error::NotFound(format!("flight {booking} segment {segment}")))?;
            let current: journey::FlightSegment = doc::read::object(doc, id, &seg)?;
            let dep = departs.unwrap_or(current.departs);
            let arr = arrives.unwrap_or(current.arrives);
            check_times(&dep, &arr)?;
            write(journey_write::set_segment_times(doc, &seg, *departs, *arrives))?;
        }
        Edit::SetHousing { housing } => {
            role.require(Action::SetHousing)?;
            check_text("address", &housing.address, true)?;
            check_text("city", &housing.city, true)?;
            if let (Some(from), Some(until)) = (housing.from, housing.until)
                && until < from
            {
                return Err(Error::InvalidInput(format!(
                    "housing ends ({until}) before it starts ({from})"
                )));
            }
            write(journey_write::set_housing(doc, housing))?;
        }
        Edit::SetArrivalMeeting { meeting } => {
            role.require(Action::SetArrivalMeeting)?;
            for (what, text) in [
                ("name", &meeting.name),
                ("organisation", &meeting.organisation),
                ("phone", &meeting.phone),
                ("place", &meeting.place),
            ] {
                check_text(what, text, true)?;
            }
            write(journey_write::set_meeting(doc, meeting))?;
        }
        Edit::SchedulePdo { days } => {
            role.require(Action::ManagePdo)?;
            if !days.windows(2).all(|w| w[0] < w[1]) {
                return Err(Error::InvalidInput(
                    "the three PDO days must be in order, on different dates".into(),
                ));
            }
            write(journey_write::schedule_pdo(doc, days))?;
        }
        Edit::MarkPdoAttendance { day, status } => {
            role.require(Action::ManagePdo)?;
            if !(1..=PDO_DAYS).contains(day) {
                return Err(Error::InvalidInput(format!(
                    "PDO day {day}: the course has days 1 to {PDO_DAYS}"
                )));
            }
            write(journey_write::set_pdo_day_status(doc, *day, *status))?;
        }
        Edit::SetPdoModuleStatus { module, status } => {
            role.require(Action::ManagePdo)?;
            if !journey_write::module_exists(doc, module) {
                return Err(Error::NotFound(format!("PDO module {module}")));
            }
            write(journey_write::set_module_status(doc, module, *status))?;
        }
        Edit::AddFamilyMember { member } => {
            role.require(Action::EditFamily)?;
            check_text("name", &member.name, false)?;
            let new_id = entity_id();
            write(journey_write::add_family_member(doc, &new_id, member))?;
            outcome.created = Some(new_id);
        }
        Edit::RemoveFamilyMember { member } => {
            role.require(Action::EditFamily)?;
            if !journey_write::family_member_exists(doc, member) {
                return Err(Error::NotFound(format!("family member {member}")));
            }
            write(journey_write::remove_family_member(doc, member))?;
        }
        Edit::UpgradeTemplate => {
            role.require(Action::UpgradeTemplate)?;
            let current: Journey = doc::hydrate(doc, id)?;
            let target = Catalogue::builtin()?.latest(&current.template.id)?;
            if target.version <= current.template.version as u64 {
                return Err(Error::InvalidInput(format!(
                    "the journey already uses template {} version {}, the newest",
                    target.id, current.template.version
                )));
            }
            let report = journey_write::upgrade(doc, &current, target).map_err(|e| e.into_error(id))?;
            outcome.upgrade = Some(report);
        }
        Edit::AddAppointment { appointment } => {
            role.require(Action::RecordAppointment)?;
            check_text("clinic", &appointment.clinic, false)?;
            check_text("purpose", &appointment.purpose, true)?;
            let new_id = entity_id();
            write(medical::add_appointment(doc, &new_id, appointment))?;
            outcome.created = Some(new_id);
        }
        Edit::RescheduleAppointment { appointment, at } => {
            role.require(Action::RecordAppointment)?;
            if !medical::appointment_exists(doc, appointment) {
                return Err(Error::NotFound(format!("appointment {appointment}")));
            }
            write(medical::reschedule_appointment(doc, appointment, *at))?;
        }
        Edit::RecordMedicalTest { test } => {
            role.require(Action::RecordMedicalResults)?;
            check_text("test name", &test.name, false)?;
            check_text("result", &test.result, true)?;
            let new_id = entity_id();
            write(medical::add_test(doc, &new_id, test))?;
            outcome.created = Some(new_id);
        }
        Edit::RecordVaccination { vaccination } => {
            role.require(Action::RecordMedicalResults)?;
            check_text("vaccine", &vaccination.name, false)?;
            let new_id = entity_id();
            write(medical::add_vaccination(doc, &new_id, vaccination))?;
            outcome.created = Some(new_id);
        }
        Edit::SetFitness { fitness } => {
            role.require(Action::SetFitToTravel)?;
            if let (Some(on), Some(until)) = (fitness.decided_on, fitness.valid_until)
                && until < on
            {
                return Err(Error::InvalidInput(format!(
                    "the fit-to-travel decision cannot expire ({until}) before it is made ({on})"
                )));
            }
            write(medical::set_fitness(doc, fitness))?;
        }
        Edit::ResolveConflict { conflict, pick } => {
            let found = crate::conflict::find(doc, id.kind, conflict)?;
            match found.field {
                CriticalField::FlightDeparture | CriticalField::FlightArrival => {
                    require_booking_right(doc, ctx)?
                }
                field => role.require(field.action())?,
            }
            crate::conflict::resolve(doc, id, conflict, *pick)?;
        }
    }
    Ok(outcome)
}

/// The history note of an edit.
pub(crate) fn note(edit: &Edit, identity: &Identity) -> crate::history::ChangeNote {
    crate::history::ChangeNote::new(identity, edit.name(), edit.target())
}

fn task_ref(
    doc: &AutoCommit,
    tasks: &mut journey_write::TaskIndex,
    task: &str,
) -> Result<journey_write::TaskRef> {
    tasks
        .find(doc, task)
        .ok_or_else(|| Error::NotFound(format!("task {task}")))
}

/// Staff may always edit bookings; the talent only once staff allowed self-booking.
fn require_booking_right(doc: &AutoCommit, ctx: &EditContext<'_>) -> Result<()> {
    let role = ctx.identity.role;
    if role.may(Action::EditBookings) {
        return Ok(());
    }
    if journey_write::self_booking_allowed(doc) {
        role.require(Action::BookOwnTravel)
    } else {
        role.require(Action::EditBookings)
    }
}

fn check_booking(booking: &FlightBooking) -> Result<()> {
    check_text("booking reference", &booking.booking_reference, true)?;
    if booking.segments.is_empty() {
        return Err(Error::InvalidInput(
            "a booking needs at least one flight segment".into(),
        ));
    }
    for name in &booking.travellers {
        check_text("traveller", name, false)?;
    }
    for (i, s) in booking.segments.iter().enumerate() {
        for (what, code) in [("from", &s.from), ("to", &s.to)] {
            if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(Error::InvalidInput(format!(
                    "segment {i}: {what} airport {code:?} is not a three-letter IATA code"
                )));
            }
        }
        check_text("carrier", &s.carrier, false)?;
        check_text("flight number", &s.flight_number, false)?;
        check_times(&s.departs, &s.arrives)?;
    }
    Ok(())
}

fn check_times(departs: &ZonedDateTime, arrives: &ZonedDateTime) -> Result<()> {
    if arrives.instant() <= departs.instant() {
        return Err(Error::InvalidInput(format!(
            "the flight lands ({arrives}) before it leaves ({departs})"
        )));
    }
    Ok(())
}

fn check_text(what: &str, text: &str, may_be_empty: bool) -> Result<()> {
    if !may_be_empty && text.trim().is_empty() {
        return Err(Error::InvalidInput(format!("the {what} is empty")));
    }
    let chars = text.chars().count();
    if chars > MAX_TEXT {
        return Err(Error::InvalidInput(format!(
            "the {what} has {chars} characters; at most {MAX_TEXT} are kept"
        )));
    }
    Ok(())
}
