//! Every catalogue label the terminal device prints, in one place: its key in
//! `core/templates/catalogue.toml` and the English used should the key ever be missing.
//!
//! Renderers and commands take their words only from here (or from a core vocabulary,
//! see [`super::Word`]), so the test below covers every key the device uses.

/// A catalogue label: its key and its English fallback.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Label {
    pub(crate) key: &'static str,
    pub(crate) english: &'static str,
}

/// Defines one constant per label and, for the tests, the list of them all, so that a
/// label cannot be added without being checked.
macro_rules! labels {
    ($($(#[$meta:meta])* $name:ident = $key:literal, $english:literal;)+) => {
        $($(#[$meta])* pub(crate) const $name: Label = Label { key: $key, english: $english };)+

        #[cfg(test)]
        pub(crate) const ALL: &[Label] = &[$($name),+];
    };
}

labels! {
    // Section headings
    HEADING_JOURNEY = "heading.journey", "Journey";
    HEADING_TASKS = "heading.tasks", "Tasks";
    HEADING_TRAVEL = "heading.travel", "Travel";
    HEADING_FLIGHTS = "heading.flights", "Flights";
    HEADING_HOUSING = "heading.housing", "Housing";
    HEADING_MEETING = "heading.meeting", "Meeting on arrival";
    HEADING_PDO = "heading.pdo", "Pre-departure orientation";
    HEADING_FAMILY = "heading.family", "Family";
    HEADING_MEDICAL = "heading.medical", "Medical";
    HEADING_APPOINTMENTS = "heading.appointments", "Appointments";
    HEADING_TESTS = "heading.tests", "Tests";
    HEADING_VACCINATIONS = "heading.vaccinations", "Vaccinations";
    HEADING_CONFLICTS = "heading.conflicts", "Conflicts";
    HEADING_HISTORY = "heading.history", "History";
    HEADING_ARRIVAL_PLAN = "heading.arrival_plan", "Arrival plan";

    // Field captions
    FIELD_DESTINATION = "field.destination", "Destination";
    FIELD_EMPLOYER = "field.employer", "Employer";
    FIELD_JOB_TITLE = "field.job_title", "Job title";
    FIELD_TEMPLATE = "field.template", "Template";
    FIELD_START = "field.start", "Start";
    FIELD_CASE = "field.case", "Case";
    FIELD_DUE = "field.due", "Due";
    FIELD_NOTES = "field.notes", "Notes";
    FIELD_PERMIT = "field.permit", "Permit";
    FIELD_FITNESS = "field.fitness", "Fitness to travel";
    FIELD_VALID_UNTIL = "field.valid_until", "Valid until";
    FIELD_DAY = "field.day", "Day";
    FIELD_MODULE = "field.module", "Module";
    FIELD_ADDRESS = "field.address", "Address";
    FIELD_DATES = "field.dates", "Dates";
    FIELD_MET_BY = "field.met_by", "Met by";
    FIELD_MEETING_PLACE = "field.meeting_place", "Place";
    FIELD_DEPARTS = "field.departs", "Departs";
    FIELD_ARRIVES = "field.arrives", "Arrives";
    FIELD_BOOKING_REFERENCE = "field.booking_reference", "Booking reference";
    FIELD_TRAVELLERS = "field.travellers", "Travellers";
    FIELD_SEGMENT = "field.segment", "Segment";
    FIELD_SELF_BOOKING = "field.self_booking", "Self-booking by the talent";
    FIELD_ARRIVAL_CITY = "field.arrival_city", "Arrival city";
    FIELD_TRAVELLING_WITH = "field.travelling_with", "Travelling with";
    FIELD_CLINIC = "field.clinic", "Clinic";
    FIELD_VALUE_KEPT = "field.value_kept", "Value kept";
    FIELD_CHANGE_ROWS = "field.change_rows", "Change rows";
    FIELD_SNAPSHOT_ROWS = "field.snapshot_rows", "Snapshot rows";

    // Whether the talent may enter their own bookings
    SELF_BOOKING_ALLOWED = "self_booking.allowed", "Allowed";
    SELF_BOOKING_NOT_ALLOWED = "self_booking.not_allowed", "Not allowed";

    // Short notes next to a value
    NOTE_RETIRED = "note.retired", "retired";
    NOTE_NEWEST = "note.newest", "newest";
    NOTE_NO_CASES = "note.no_cases", "no cases on this device";
    NOTE_UNREADABLE = "note.unreadable", "cannot be read";
    NOTE_UNKNOWN_AUTHOR = "note.unknown_author", "unknown";
    NOTE_UNKNOWN_TIME = "note.unknown_time", "unknown time";
    NOTE_SHOWN_UNTIL_RESOLVED = "note.shown_until_resolved", "shown until resolved";
    NOTE_BYTES = "note.bytes", "bytes";
    NOTE_NO_REMINDERS = "note.no_reminders", "no reminders to come";

    // Confirmations of changes
    DONE_NOTES_SAVED = "done.notes_saved", "notes saved";
    DONE_DUE_CLEARED = "done.due_cleared", "no due date";
    DONE_SAVED = "done.saved", "saved";
    DONE_FLIGHT_ADDED = "done.flight_added", "flight booking added";
    DONE_FLIGHT_TIMES_CHANGED = "done.flight_times_changed", "flight times changed";
    DONE_FAMILY_ADDED = "done.family_added", "family member added";
    DONE_FAMILY_REMOVED = "done.family_removed", "family member removed";
    DONE_APPOINTMENT_ADDED = "done.appointment_added", "appointment added";
    DONE_APPOINTMENT_MOVED = "done.appointment_moved", "appointment moved";
    DONE_TEST_RECORDED = "done.test_recorded", "medical test recorded";
    DONE_VACCINATION_RECORDED = "done.vaccination_recorded", "vaccination recorded";
    DONE_CONFLICT_RESOLVED = "done.conflict_resolved", "conflict resolved";
    DONE_EXPORTED = "done.exported", "case exported";
    DONE_COMPACTED = "done.compacted", "compacted";
    DONE_TASK_ADDED = "done.task_added", "added task";
    DONE_TASK_RETIRED = "done.task_retired", "retired task";
    DONE_MODULE_ADDED = "done.module_added", "added module";
    DONE_NOTHING_CHANGED = "done.nothing_changed", "no task or module changed";
    DONE_MEDICAL_ERASED = "done.medical_erased", "medical record erased; the next sync erases it on the server and every device";

    // Who the server vouches made a change (history)
    NOTE_CLAIMED = "note.claimed", "claimed";
    NOTE_NOT_VOUCHED = "note.not_vouched", "not vouched for by the server yet";

    // Enrolment and sync
    HEADING_SYNC = "heading.sync", "Sync";
    DONE_ENROLLED = "done.enrolled", "device enrolled";
    DONE_SYNCED = "done.synced", "synced";
    FIELD_SERVER = "field.server", "Server";
    FIELD_ROLE = "field.role", "Role";
    FIELD_CASES = "field.cases", "Cases";
    FIELD_ACCESS_EXPIRES = "field.access_expires", "Access expires";
    FIELD_LAST_SUCCESS = "field.last_success", "Last successful sync";
    FIELD_LAST_ERROR = "field.last_error", "Last error";
    FIELD_NEXT_ATTEMPT = "field.next_attempt", "Next attempt after";
    FIELD_PENDING_DOCUMENTS = "field.pending_documents", "Documents waiting to be sent";
    FIELD_HELD = "field.held", "Refused by the server, kept on this device";
    FIELD_ROUNDS = "field.rounds", "Round trips";
    FIELD_DOCUMENTS_SENT = "field.documents_sent", "Documents sent";
    FIELD_CHANGES_RECEIVED = "field.changes_received", "Changes received";
    FIELD_BYTES_SENT = "field.bytes_sent", "Sent";
    FIELD_BYTES_RECEIVED = "field.bytes_received", "Received";
    NOTE_NEVER = "note.never", "never";
    NOTE_NOT_ENROLLED = "note.not_enrolled", "this device is not enrolled";
    NOTE_MORE_TO_SYNC = "note.more_to_sync", "more to send: sync again";
    NOTE_NEXT_STEP_SYNC = "note.next_step_sync", "next: sync to receive the cases";
}

#[cfg(test)]
mod tests {
    use passage_core::Locale;
    use passage_core::template::Catalogue;

    use super::ALL;
    use crate::render::Word;

    /// The keys of every word of the core's vocabularies that the device prints.
    fn word_keys() -> Vec<String> {
        fn keys<W: Word + Copy>(all: &[W]) -> impl Iterator<Item = String> + '_ {
            all.iter().map(Word::key)
        }
        use passage_core::conflict::CriticalField;
        use passage_core::model::*;
        let mut out = Vec::new();
        out.extend(keys(TaskStatus::ALL));
        out.extend(keys(Owner::ALL));
        out.extend(keys(PermitDecision::ALL));
        out.extend(keys(FitnessDecision::ALL));
        out.extend(keys(Relation::ALL));
        out.extend(keys(FamilyTravel::ALL));
        out.extend(keys(PdoDayStatus::ALL));
        out.extend(keys(ModuleStatus::ALL));
        out.extend(keys(StageProgress::ALL));
        out.extend(keys(CriticalField::ALL));
        out.extend(keys(passage_core::Role::ALL));
        out
    }

    #[test]
    fn every_label_the_device_prints_is_in_the_catalogue() {
        let catalogue = Catalogue::builtin().expect("the built-in catalogue loads");
        let mut keys: Vec<String> = ALL.iter().map(|l| l.key.to_owned()).collect();
        keys.extend(word_keys());
        let missing: Vec<&String> = keys.iter().filter(|k| !catalogue.has_label(k)).collect();
        assert!(
            missing.is_empty(),
            "labels missing from catalogue.toml: {missing:?}"
        );
    }

    #[test]
    fn labels_are_unique_and_their_english_matches_the_catalogue() {
        let catalogue = Catalogue::builtin().expect("the built-in catalogue loads");
        let mut keys: Vec<&str> = ALL.iter().map(|l| l.key).collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), before, "a label is defined twice");
        for label in ALL {
            assert_eq!(
                catalogue.label(label.key, Locale::En),
                label.english,
                "the fallback of {} differs from the catalogue",
                label.key
            );
        }
    }
}
