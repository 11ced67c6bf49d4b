//! Who may do what: the programme's role rules (talents their own case, caseworkers
//! their assigned cases, family the arrival plan only) as one table.
//!
//! Every typed [`crate::Edit`] and every read names an [`Action`]; [`Role::may`] is the
//! whole policy. The store checks it before touching a document, so a refused edit
//! leaves nothing behind. The sync server (issue 3) enforces the same table on the
//! paths a change touches; the local check is for the person in front of the screen,
//! the server's for everyone else.

use std::fmt;

use serde::{Deserialize, Serialize};

string_enum! {
    /// The role a store is opened as.
    pub enum Role (label = "role") {
        /// The person on the pathway: their own journey and medical record.
        Talent = "talent",
        /// IOM or partner staff: everything in their cases, medical included.
        Caseworker = "caseworker",
        /// A relative: the arrival plan of one talent, read-only.
        Family = "family",
    }
}

/// Who is using the store: the role decides what is allowed, the name is written into
/// the history of every change they make.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub role: Role,
    pub name: String,
}

impl Identity {
    pub fn new(role: Role, name: impl Into<String>) -> Self {
        Self {
            role,
            name: name.into(),
        }
    }
}

/// Everything a role may or may not do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    ReadJourney,
    ReadMedical,
    ReadArrivalPlan,
    ReadHistory,
    ExportCase,
    CreateJourney,
    UpgradeTemplate,
    /// Change the status of a task the talent owns.
    UpdateTalentTask,
    /// Change the status of a task owned by the caseworker or the employer.
    UpdateStaffTask,
    EditTaskNotes,
    SetDueDates,
    SetPermitDecision,
    AllowSelfBooking,
    /// Add or change flight bookings (staff books; employer pays).
    EditBookings,
    /// Add or change one's own flight booking, once staff allowed self-booking.
    BookOwnTravel,
    SetHousing,
    SetArrivalMeeting,
    ManagePdo,
    EditFamily,
    RecordAppointment,
    RecordMedicalResults,
    SetFitToTravel,
    /// Erase (crypto-shred) a case's medical record on every device and the server.
    EraseMedical,
}

impl Action {
    /// Every action, for tables and tests.
    pub const ALL: [Action; 23] = [
        Action::ReadJourney,
        Action::ReadMedical,
        Action::ReadArrivalPlan,
        Action::ReadHistory,
        Action::ExportCase,
        Action::CreateJourney,
        Action::UpgradeTemplate,
        Action::UpdateTalentTask,
        Action::UpdateStaffTask,
        Action::EditTaskNotes,
        Action::SetDueDates,
        Action::SetPermitDecision,
        Action::AllowSelfBooking,
        Action::EditBookings,
        Action::BookOwnTravel,
        Action::SetHousing,
        Action::SetArrivalMeeting,
        Action::ManagePdo,
        Action::EditFamily,
        Action::RecordAppointment,
        Action::RecordMedicalResults,
        Action::SetFitToTravel,
        Action::EraseMedical,
    ];

    fn describe(self) -> &'static str {
        match self {
            Action::ReadJourney => "read the journey",
            Action::ReadMedical => "read the medical record",
            Action::ReadArrivalPlan => "read the arrival plan",
            Action::ReadHistory => "read the history",
            Action::ExportCase => "export the case",
            Action::CreateJourney => "create a journey",
            Action::UpgradeTemplate => "move the journey to a newer template",
            Action::UpdateTalentTask => "update the talent's tasks",
            Action::UpdateStaffTask => "update a task owned by the caseworker or employer",
            Action::EditTaskNotes => "edit task notes",
            Action::SetDueDates => "set due dates",
            Action::SetPermitDecision => "set the permit decision",
            Action::AllowSelfBooking => "allow self-booking",
            Action::EditBookings => "edit flight bookings",
            Action::BookOwnTravel => "book their own travel",
            Action::SetHousing => "set the temporary housing",
            Action::SetArrivalMeeting => "set who meets the talent on arrival",
            Action::ManagePdo => "manage the pre-departure orientation",
            Action::EditFamily => "edit the family members",
            Action::RecordAppointment => "record a medical appointment",
            Action::RecordMedicalResults => "record medical results",
            Action::SetFitToTravel => "set the fit-to-travel decision",
            Action::EraseMedical => "erase the medical record",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

impl Role {
    /// The whole local policy. Family reads the arrival plan and nothing else; the
    /// talent works on their own tasks, notes, family, appointments and, when allowed,
    /// bookings; the caseworker may do everything in the cases on their device.
    pub fn may(self, action: Action) -> bool {
        use Action::*;
        match self {
            Role::Caseworker => true,
            Role::Family => matches!(action, ReadArrivalPlan),
            Role::Talent => matches!(
                action,
                ReadJourney
                    | ReadMedical
                    | ReadArrivalPlan
                    | ReadHistory
                    | ExportCase
                    | UpdateTalentTask
                    | EditTaskNotes
                    | BookOwnTravel
                    | EditFamily
                    | RecordAppointment
            ),
        }
    }

    /// `Ok` if this role may do `action`, else the typed refusal.
    pub fn require(self, action: Action) -> crate::Result<()> {
        if self.may(action) {
            Ok(())
        } else {
            Err(crate::Error::NotAllowed { role: self, action })
        }
    }
}
