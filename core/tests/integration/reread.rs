//! The server's narrow re-read of a journey (`passage_core::doc::journey_after`) gives
//! what a whole read gives, for every kind of journey edit: it is what the server
//! checks readability and projects the arrival plan with.

use automerge::AutoCommit;
use passage_core::doc::journey::Journey;
use passage_core::doc::{journey_after, read_document, written_paths};
use passage_core::model::{ModuleStatus, PdoDayStatus, PermitDecision, TaskStatus};
use passage_core::{DocKind, Edit, Role, arrival_plan};

use crate::support::{Dir, belgian_case, date, daughter, flight, housing, meeting};

/// Each edit in turn, by the staff (who may make them all); after each, the journey
/// re-read from the paths it wrote is the journey read whole.
#[test]
fn a_journey_re_read_where_edits_wrote_is_the_journey_read_whole() {
    let dir = Dir::new();
    let (store, case) = belgian_case(&dir, "caseworker");
    let id = case.doc(DocKind::Journey);
    let mut doc = AutoCommit::load(&store.save_document(&id).expect("saved")).expect("loads");
    let mut before: Journey = read_document(&doc, &id).expect("reads");

    let first_task = |j: &Journey| j.stages_in_order()[0].1[0].0.to_owned();
    type Step = Box<dyn Fn(&Journey) -> Edit>;
    let steps: Vec<(&str, Step)> = vec![
        (
            "task done",
            Box::new(move |j| Edit::SetTaskStatus {
                task: first_task(j),
                status: TaskStatus::Done,
            }),
        ),
        (
            "task reopened",
            Box::new(move |j| Edit::SetTaskStatus {
                task: first_task(j),
                status: TaskStatus::Todo,
            }),
        ),
        (
            "task notes",
            Box::new(move |j| Edit::SetTaskNotes {
                task: first_task(j),
                notes: "called the embassy".into(),
            }),
        ),
        (
            "task due",
            Box::new(move |j| Edit::SetTaskDue {
                task: first_task(j),
                due: Some(date("2027-01-20")),
            }),
        ),
        (
            "permit",
            Box::new(|_| Edit::SetPermitDecision {
                decision: PermitDecision::Granted,
                decided_on: Some(date("2027-01-10")),
            }),
        ),
        (
            "self-booking",
            Box::new(|_| Edit::AllowSelfBooking { allowed: true }),
        ),
        ("flight", Box::new(|_| Edit::AddFlight { booking: flight() })),
        (
            "flight times",
            Box::new(|j| Edit::ChangeFlightTimes {
                booking: j.travel.flights.keys().next().expect("a flight").clone(),
                segment: 0,
                departs: Some("2027-03-28T10:10[Asia/Amman]".parse().expect("time")),
                arrives: None,
            }),
        ),
        ("housing", Box::new(|_| Edit::SetHousing { housing: housing() })),
        (
            "meeting",
            Box::new(|_| Edit::SetArrivalMeeting { meeting: meeting() }),
        ),
        (
            "pdo days",
            Box::new(|_| Edit::SchedulePdo {
                days: [date("2027-03-01"), date("2027-03-02"), date("2027-03-03")],
            }),
        ),
        (
            "pdo attendance",
            Box::new(|_| Edit::MarkPdoAttendance {
                day: 1,
                status: PdoDayStatus::Attended,
            }),
        ),
        (
            "pdo module",
            Box::new(|j| Edit::SetPdoModuleStatus {
                module: j.pdo.modules.keys().next().expect("a module").clone(),
                status: ModuleStatus::Completed,
            }),
        ),
        (
            "family joins",
            Box::new(|_| Edit::AddFamilyMember { member: daughter() }),
        ),
        (
            "family leaves",
            Box::new(|j| Edit::RemoveFamilyMember {
                member: j.family.keys().next().expect("a member").clone(),
            }),
        ),
    ];
    assert_eq!(store.identity().role, Role::Caseworker);
    let mut unread = Vec::new();
    for (what, edit) in steps {
        let old_heads = doc.get_heads();
        store
            .apply(&case, &edit(&before))
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let changes = store.changes_since(&id, &old_heads).expect("changes");
        let changes = changes
            .into_iter()
            .map(|bytes| automerge::Change::from_bytes(bytes).expect("a change"))
            .collect::<Vec<_>>();
        doc.apply_changes(changes).expect("applies");
        let new_heads = doc.get_heads();
        let written = written_paths(&doc.diff(&old_heads, &new_heads));
        assert!(!written.is_empty(), "{what} wrote nothing");
        let narrow = journey_after(&doc, &id, &before, &written).unwrap_or_else(|e| panic!("{what}: {e}"));
        let whole: Journey = read_document(&doc, &id).expect("reads whole");
        assert_eq!(narrow, whole, "{what}");
        assert_ne!(narrow, before, "{what} changed nothing a reader sees");
        // The server projects the plan again only when a written path is one the
        // projection reads: any other edit leaves the plan as it was.
        if !written.iter().any(|p| arrival_plan::reads(p)) {
            assert_eq!(
                arrival_plan::project(&narrow),
                arrival_plan::project(&before),
                "{what}"
            );
            unread.push(what);
        }
        before = whole;
    }
    assert_eq!(
        unread,
        [
            "task notes",
            "task due",
            "permit",
            "self-booking",
            "pdo days",
            "pdo attendance",
            "pdo module"
        ],
        "the edits that leave the arrival plan alone"
    );
}
