//! The closed sets of values (roles, statuses, languages...) as uniffi enums.
//!
//! Each one mirrors a core enum variant for variant, with a `From` conversion each
//! way, so the apps get Kotlin and Swift enums (exhaustive `when` and `switch`) instead
//! of the words stored in documents. One macro writes them all: a variant added to the
//! core fails to compile here until it is added to its mirror too.

use passage_core::{DocKind as CoreDocKind, Locale as CoreLocale, Role as CoreRole, model};

macro_rules! mirror_enum {
    (
        $(#[$meta:meta])*
        $name:ident = $core:ty { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl From<$core> for $name {
            fn from(value: $core) -> Self {
                match value {
                    $(<$core>::$variant => $name::$variant),+
                }
            }
        }

        impl From<$name> for $core {
            fn from(value: $name) -> Self {
                match value {
                    $($name::$variant => <$core>::$variant),+
                }
            }
        }
    };
}

mirror_enum! {
    /// The role a store is opened as; it decides what may be read and written.
    Role = CoreRole {
        /// The person on the pathway: their own journey and medical record.
        Talent,
        /// IOM or partner staff: everything in their cases, medical included.
        Caseworker,
        /// A relative: one arrival plan, read-only, never anything medical.
        Family,
    }
}

mirror_enum! {
    /// The languages of every text Passage hands to the apps.
    Locale = CoreLocale { En, Ar, Fr }
}

mirror_enum! {
    /// The documents of a case, one per audience.
    DocKind = CoreDocKind { Journey, Medical, ArrivalPlan }
}

mirror_enum! {
    /// How far a history entry's author can be believed.
    Trust = passage_core::history::Trust {
        /// The server received the change from the person and role it names.
        Vouched,
        /// The server received it from someone else: show the vouched author.
        Disputed,
        /// Not vouched for yet (not synced, or from before the server kept records).
        Unvouched,
    }
}

mirror_enum! {
    TaskStatus = model::TaskStatus { Todo, InProgress, Done, Blocked, NotApplicable }
}

mirror_enum! {
    /// Who is expected to do a task.
    Owner = model::Owner { Talent, Caseworker, Employer }
}

mirror_enum! {
    /// The stages of the pathway, in order.
    StageId = model::StageId {
        Matching,
        JobOffer,
        WorkPermit,
        Visa,
        ExitPermit,
        MedicalCheck,
        TravelBooking,
        PreDepartureOrientation,
        Departure,
        Arrival,
        TemporaryHousing,
        MunicipalityRegistration,
        FirstWorkingDay,
        PostArrivalOrientation,
        FollowUp,
    }
}

mirror_enum! {
    PermitDecision = model::PermitDecision { Pending, Granted, Refused }
}

mirror_enum! {
    FitnessDecision = model::FitnessDecision { Pending, Fit, Unfit }
}

mirror_enum! {
    Relation = model::Relation { Spouse, Child, Parent, Sibling, Other }
}

mirror_enum! {
    FamilyTravel = model::FamilyTravel { WithTalent, JoiningLater }
}

mirror_enum! {
    PdoDayStatus = model::PdoDayStatus { Scheduled, Attended, Missed, Excused }
}

mirror_enum! {
    ModuleStatus = model::ModuleStatus { NotStarted, InProgress, Completed }
}

mirror_enum! {
    /// How far a stage is, as family members see it.
    StageProgress = model::StageProgress { Upcoming, Current, Complete }
}

mirror_enum! {
    /// The fields whose concurrent values are kept for a person to choose from.
    CriticalField = passage_core::conflict::CriticalField {
        PermitDecision,
        HousingAddress,
        FlightDeparture,
        FlightArrival,
        AppointmentTime,
    }
}

mirror_enum! {
    /// What a reminder is about.
    ReminderKind = passage_core::ReminderKind { Flight, MedicalAppointment, PdoDay, TaskDue }
}
