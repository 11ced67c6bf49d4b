//! The closed vocabularies of the pathway: stages, task statuses, owners, decisions.
//!
//! Each is a [`string_enum!`]: stored as a snake_case word, labelled through the
//! catalogue (`core/templates/catalogue.toml`) in English, Arabic and French.

string_enum! {
    /// The stages of the DT4E pathway, in pathway order.
    pub enum StageId (label = "stage") {
        Matching = "matching",
        JobOffer = "job_offer",
        WorkPermit = "work_permit",
        Visa = "visa",
        ExitPermit = "exit_permit",
        MedicalCheck = "medical_check",
        TravelBooking = "travel_booking",
        PreDepartureOrientation = "pre_departure_orientation",
        Departure = "departure",
        Arrival = "arrival",
        TemporaryHousing = "temporary_housing",
        MunicipalityRegistration = "municipality_registration",
        FirstWorkingDay = "first_working_day",
        PostArrivalOrientation = "post_arrival_orientation",
        FollowUp = "follow_up",
    }
}

impl StageId {
    /// Position in the pathway, from 0.
    pub fn order(self) -> u64 {
        StageId::ALL.iter().position(|s| *s == self).unwrap_or_default() as u64
    }

    /// Whether family members see this stage's progress in the arrival plan. The
    /// medical check is health data (GDPR Art. 9): not even its name reaches family.
    pub fn family_visible(self) -> bool {
        self != StageId::MedicalCheck
    }
}

string_enum! {
    /// Where a task stands.
    pub enum TaskStatus (label = "status") {
        Todo = "todo",
        InProgress = "in_progress",
        Done = "done",
        Blocked = "blocked",
        NotApplicable = "not_applicable",
    }
}

impl TaskStatus {
    /// Done or not applicable: nothing left to do.
    pub fn is_closed(self) -> bool {
        matches!(self, TaskStatus::Done | TaskStatus::NotApplicable)
    }
}

string_enum! {
    /// Who carries out a task.
    pub enum Owner (label = "owner") {
        Talent = "talent",
        Caseworker = "caseworker",
        Employer = "employer",
    }
}

string_enum! {
    /// The decision on the work authorisation (Belgium: the single permit).
    pub enum PermitDecision (label = "permit") {
        Pending = "pending",
        Granted = "granted",
        Refused = "refused",
    }
}

string_enum! {
    /// The medical fit-to-travel decision.
    pub enum FitnessDecision (label = "fitness") {
        Pending = "pending",
        Fit = "fit",
        Unfit = "unfit",
    }
}

string_enum! {
    /// How a family member is related to the talent.
    pub enum Relation (label = "relation") {
        Spouse = "spouse",
        Child = "child",
        Parent = "parent",
        Sibling = "sibling",
        Other = "other",
    }
}

string_enum! {
    /// Whether a family member travels with the talent or joins later.
    pub enum FamilyTravel (label = "family_travel") {
        WithTalent = "with_talent",
        JoiningLater = "joining_later",
    }
}

string_enum! {
    /// Attendance of one day of the pre-departure orientation.
    pub enum PdoDayStatus (label = "pdo_day") {
        Scheduled = "scheduled",
        Attended = "attended",
        Missed = "missed",
        Excused = "excused",
    }
}

string_enum! {
    /// Progress through one module of the pre-departure orientation.
    pub enum ModuleStatus (label = "pdo_module") {
        NotStarted = "not_started",
        InProgress = "in_progress",
        Completed = "completed",
    }
}

string_enum! {
    /// High-level progress of a stage, as family members see it.
    pub enum StageProgress (label = "progress") {
        Upcoming = "upcoming",
        Current = "current",
        Complete = "complete",
    }
}
