//! The typed edits, as one uniffi enum mirroring `passage_core::Edit`.
//!
//! Apps build an [`Edit`] and hand it to `Store::apply`; dates and local times arrive
//! as text (see `view.rs`) and are parsed here, in the one conversion into the core's
//! edit, so a malformed date is `InvalidInput` naming the field, never a panic. Role
//! rules and every other check stay in the core.

use chrono::NaiveDate;
use passage_core::doc::{journey, medical};
use passage_core::time::ZonedDateTime;
use passage_core::{Edit as CoreEdit, Error as CoreError};

use crate::error::{PassageError, Result};
use crate::types::{ModuleStatus, PdoDayStatus, PermitDecision, TaskStatus};
use crate::view::{
    Appointment, ArrivalMeeting, FamilyMember, Fitness, FlightBooking, FlightSegment, Housing, MedicalTest,
    Vaccination,
};

/// One change to a case. The role the store was opened as decides which are allowed.
#[derive(Clone, Debug, PartialEq, uniffi::Enum)]
pub enum Edit {
    SetTaskStatus {
        task: String,
        status: TaskStatus,
    },
    SetTaskNotes {
        task: String,
        notes: String,
    },
    /// `due`: an ISO 8601 date, or none to clear it.
    SetTaskDue {
        task: String,
        due: Option<String>,
    },
    SetPermitDecision {
        decision: PermitDecision,
        decided_on: Option<String>,
    },
    AllowSelfBooking {
        allowed: bool,
    },
    AddFlight {
        booking: FlightBooking,
    },
    ChangeFlightTimes {
        booking: String,
        segment: u32,
        departs: Option<String>,
        arrives: Option<String>,
    },
    SetHousing {
        housing: Housing,
    },
    SetArrivalMeeting {
        meeting: ArrivalMeeting,
    },
    /// The three days of the pre-departure orientation, as ISO 8601 dates.
    SchedulePdo {
        days: Vec<String>,
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
        at: String,
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
    /// Choose value number `pick` (from 0) of an open conflict.
    ResolveConflict {
        conflict: String,
        pick: u32,
    },
}

fn invalid(field: &str, value: &str, what: &str) -> PassageError {
    PassageError::from(CoreError::InvalidInput(format!(
        "{field}: {value:?} is not {what}"
    )))
}

fn parse_date(field: &str, value: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|_| invalid(field, value, "a date (YYYY-MM-DD)"))
}

fn parse_opt_date(field: &str, value: Option<&str>) -> Result<Option<NaiveDate>> {
    value.map(|v| parse_date(field, v)).transpose()
}

fn parse_time(field: &str, value: &str) -> Result<ZonedDateTime> {
    value
        .trim()
        .parse::<ZonedDateTime>()
        .map_err(|e| PassageError::from(CoreError::InvalidInput(format!("{field}: {e}"))))
}

fn index(field: &str, value: u32) -> Result<usize> {
    usize::try_from(value).map_err(|_| invalid(field, &value.to_string(), "an index"))
}

impl TryFrom<&FlightSegment> for journey::FlightSegment {
    type Error = PassageError;
    fn try_from(s: &FlightSegment) -> Result<Self> {
        Ok(journey::FlightSegment {
            carrier: s.carrier.clone(),
            flight_number: s.flight_number.clone(),
            from: s.from.clone(),
            to: s.to.clone(),
            departs: parse_time("departs", &s.departs)?,
            arrives: parse_time("arrives", &s.arrives)?,
        })
    }
}

impl TryFrom<Edit> for CoreEdit {
    type Error = PassageError;

    fn try_from(edit: Edit) -> Result<CoreEdit> {
        Ok(match edit {
            Edit::SetTaskStatus { task, status } => CoreEdit::SetTaskStatus {
                task,
                status: status.into(),
            },
            Edit::SetTaskNotes { task, notes } => CoreEdit::SetTaskNotes { task, notes },
            Edit::SetTaskDue { task, due } => CoreEdit::SetTaskDue {
                task,
                due: parse_opt_date("due", due.as_deref())?,
            },
            Edit::SetPermitDecision { decision, decided_on } => CoreEdit::SetPermitDecision {
                decision: decision.into(),
                decided_on: parse_opt_date("decided_on", decided_on.as_deref())?,
            },
            Edit::AllowSelfBooking { allowed } => CoreEdit::AllowSelfBooking { allowed },
            Edit::AddFlight { booking } => CoreEdit::AddFlight {
                booking: journey::FlightBooking {
                    booking_reference: booking.booking_reference,
                    travellers: booking.travellers,
                    segments: booking
                        .segments
                        .iter()
                        .map(journey::FlightSegment::try_from)
                        .collect::<Result<_>>()?,
                },
            },
            Edit::ChangeFlightTimes {
                booking,
                segment,
                departs,
                arrives,
            } => CoreEdit::ChangeFlightTimes {
                booking,
                segment: index("segment", segment)?,
                departs: departs.as_deref().map(|t| parse_time("departs", t)).transpose()?,
                arrives: arrives.as_deref().map(|t| parse_time("arrives", t)).transpose()?,
            },
            Edit::SetHousing { housing } => CoreEdit::SetHousing {
                housing: journey::Housing {
                    from: parse_opt_date("housing.from", housing.from.as_deref())?,
                    until: parse_opt_date("housing.until", housing.until.as_deref())?,
                    address: housing.address,
                    city: housing.city,
                },
            },
            Edit::SetArrivalMeeting { meeting } => CoreEdit::SetArrivalMeeting {
                meeting: journey::ArrivalMeeting {
                    name: meeting.name,
                    organisation: meeting.organisation,
                    phone: meeting.phone,
                    place: meeting.place,
                },
            },
            Edit::SchedulePdo { days } => {
                let parsed = days
                    .iter()
                    .map(|d| parse_date("days", d))
                    .collect::<Result<Vec<NaiveDate>>>()?;
                let days: [NaiveDate; journey::PDO_DAYS as usize] = parsed.try_into().map_err(|_| {
                    PassageError::from(CoreError::InvalidInput(format!(
                        "days: the orientation has {} days, {} were given",
                        journey::PDO_DAYS,
                        days.len()
                    )))
                })?;
                CoreEdit::SchedulePdo { days }
            }
            Edit::MarkPdoAttendance { day, status } => CoreEdit::MarkPdoAttendance {
                day,
                status: status.into(),
            },
            Edit::SetPdoModuleStatus { module, status } => CoreEdit::SetPdoModuleStatus {
                module,
                status: status.into(),
            },
            Edit::AddFamilyMember { member } => CoreEdit::AddFamilyMember {
                member: journey::FamilyMember {
                    name: member.name,
                    relation: member.relation.into(),
                    travel: member.travel.into(),
                },
            },
            Edit::RemoveFamilyMember { member } => CoreEdit::RemoveFamilyMember { member },
            Edit::UpgradeTemplate => CoreEdit::UpgradeTemplate,
            Edit::AddAppointment { appointment } => CoreEdit::AddAppointment {
                appointment: medical::Appointment {
                    at: parse_time("at", &appointment.at)?,
                    clinic: appointment.clinic,
                    purpose: appointment.purpose,
                },
            },
            Edit::RescheduleAppointment { appointment, at } => CoreEdit::RescheduleAppointment {
                appointment,
                at: parse_time("at", &at)?,
            },
            Edit::RecordMedicalTest { test } => CoreEdit::RecordMedicalTest {
                test: medical::MedicalTest {
                    date: parse_date("date", &test.date)?,
                    name: test.name,
                    result: test.result,
                },
            },
            Edit::RecordVaccination { vaccination } => CoreEdit::RecordVaccination {
                vaccination: medical::Vaccination {
                    date: parse_date("date", &vaccination.date)?,
                    name: vaccination.name,
                },
            },
            Edit::SetFitness { fitness } => CoreEdit::SetFitness {
                fitness: medical::Fitness {
                    decision: fitness.decision.into(),
                    decided_on: parse_opt_date("decided_on", fitness.decided_on.as_deref())?,
                    valid_until: parse_opt_date("valid_until", fitness.valid_until.as_deref())?,
                },
            },
            Edit::ResolveConflict { conflict, pick } => CoreEdit::ResolveConflict {
                conflict,
                pick: index("pick", pick)?,
            },
        })
    }
}
