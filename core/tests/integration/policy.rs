//! The write rules by path (`passage_core::policy`), as one table: for each path a
//! change may touch, in each context, the action it needs and which roles may write
//! it. Every branch of `action_for` has a row, and every row is checked for all three
//! roles.

use passage_core::doc::journey::Journey;
use passage_core::model::Owner;
use passage_core::policy::{Denied, action_for, check_write, max_depth, path_text};
use passage_core::template::Catalogue;
use passage_core::{Action, DocKind, Role};

use crate::support::new_journey;

/// What the server knew of the case before the changes.
#[derive(Clone, Copy, Debug)]
enum Before {
    /// The case is being created: no journey yet.
    Creating,
    /// A Belgian journey, self-booking not allowed.
    Journey,
    /// The same journey after staff allowed self-booking.
    SelfBooking,
}

/// One row: document, path, context, the action needed (`None`: nobody may write it
/// through sync), and who may write it as `tcf` flags (talent, caseworker, family;
/// `-` where refused).
struct Row {
    kind: DocKind,
    path: String,
    before: Before,
    action: Option<Action>,
    who: &'static str,
}

fn row(
    kind: DocKind,
    path: impl Into<String>,
    before: Before,
    action: Option<Action>,
    who: &'static str,
) -> Row {
    Row {
        kind,
        path: path.into(),
        before,
        action,
        who,
    }
}

// A task the template gives the talent, and one it gives the caseworker.
const TALENT_TASK: &str = "/stages/matching/tasks/complete_talent_profile";
const STAFF_TASK: &str = "/stages/matching/tasks/confirm_match";

fn table() -> Vec<Row> {
    use Action::*;
    use Before::*;
    use DocKind::{ArrivalPlan as Plan, Journey as J, Medical as M};
    let talent_task = |field: &str| format!("{TALENT_TASK}/{field}");
    let staff_task = |field: &str| format!("{STAFF_TASK}/{field}");
    vec![
        // Task status and completion: by the task's owner in the journey before.
        row(J, talent_task("status"), Journey, Some(UpdateTalentTask), "tc-"),
        row(
            J,
            talent_task("completed_at"),
            Journey,
            Some(UpdateTalentTask),
            "tc-",
        ),
        row(
            J,
            talent_task("completed_by"),
            Journey,
            Some(UpdateTalentTask),
            "tc-",
        ),
        row(J, staff_task("status"), Journey, Some(UpdateStaffTask), "-c-"),
        row(
            J,
            staff_task("completed_by"),
            Journey,
            Some(UpdateStaffTask),
            "-c-",
        ),
        row(
            J,
            "/stages/matching/tasks/no_such_task/status",
            Journey,
            Some(UpdateStaffTask),
            "-c-",
        ),
        row(
            J,
            "/stages/no_such_stage/tasks/x/status",
            Journey,
            Some(UpdateStaffTask),
            "-c-",
        ),
        // While the case is created nobody owns a task yet: staff writes them.
        row(J, talent_task("status"), Creating, Some(UpdateStaffTask), "-c-"),
        row(J, talent_task("notes"), Journey, Some(EditTaskNotes), "tc-"),
        row(J, staff_task("notes"), Journey, Some(EditTaskNotes), "tc-"),
        row(J, talent_task("due"), Journey, Some(SetDueDates), "-c-"),
        // Anything else under /stages or /template is what a template upgrade writes.
        row(J, talent_task("owner"), Journey, Some(UpgradeTemplate), "-c-"),
        row(J, talent_task("retired"), Journey, Some(UpgradeTemplate), "-c-"),
        row(
            J,
            "/stages/matching/tasks/new_task",
            Journey,
            Some(UpgradeTemplate),
            "-c-",
        ),
        row(J, "/stages/matching/order", Journey, Some(UpgradeTemplate), "-c-"),
        row(J, "/template/version", Journey, Some(UpgradeTemplate), "-c-"),
        row(J, "/permit/decision", Journey, Some(SetPermitDecision), "-c-"),
        row(
            J,
            "/permit/decided_on",
            SelfBooking,
            Some(SetPermitDecision),
            "-c-",
        ),
        row(J, "/travel/self_booking", Journey, Some(AllowSelfBooking), "-c-"),
        // Flights: staff books, unless staff allowed the talent to book their own.
        row(J, "/travel/flights/f1", Journey, Some(EditBookings), "-c-"),
        row(
            J,
            "/travel/flights/f1/segments/0/departs",
            Journey,
            Some(EditBookings),
            "-c-",
        ),
        row(J, "/travel/flights/f1", SelfBooking, Some(BookOwnTravel), "tc-"),
        row(
            J,
            "/travel/flights/f1/travellers/1",
            SelfBooking,
            Some(BookOwnTravel),
            "tc-",
        ),
        row(J, "/travel/flights/f1", Creating, Some(EditBookings), "-c-"),
        row(J, "/travel/housing/address", Journey, Some(SetHousing), "-c-"),
        row(
            J,
            "/travel/meeting/phone",
            Journey,
            Some(SetArrivalMeeting),
            "-c-",
        ),
        row(J, "/pdo/days/2/status", Journey, Some(ManagePdo), "-c-"),
        row(
            J,
            "/pdo/modules/exploring/status",
            Journey,
            Some(ManagePdo),
            "-c-",
        ),
        row(J, "/pdo/modules/new_module", Journey, Some(ManagePdo), "-c-"),
        row(J, "/family/m1", Journey, Some(EditFamily), "tc-"),
        row(J, "/family/m1/travel", Journey, Some(EditFamily), "tc-"),
        // The header and the containers: only while the case is created.
        row(J, "/talent_name", Creating, Some(CreateJourney), "-c-"),
        row(J, "/schema", Creating, Some(CreateJourney), "-c-"),
        row(J, "/start_date", Creating, Some(CreateJourney), "-c-"),
        row(J, "/stages", Creating, Some(CreateJourney), "-c-"),
        row(J, "/template", Creating, Some(CreateJourney), "-c-"),
        row(J, "/travel/flights", Creating, Some(CreateJourney), "-c-"),
        row(J, "/pdo/days", Creating, Some(CreateJourney), "-c-"),
        row(J, "/talent_name", Journey, None, "---"),
        row(J, "/kind", SelfBooking, None, "---"),
        row(J, "/case_id", Journey, None, "---"),
        row(J, "/stages", Journey, None, "---"),
        row(J, "/family", Journey, None, "---"),
        row(J, "/travel", Journey, None, "---"),
        row(J, "/travel/flights", SelfBooking, None, "---"),
        row(J, "/travel/housing", Journey, None, "---"),
        row(J, "/pdo/modules", Journey, None, "---"),
        // Paths no edit writes.
        row(J, "/", Creating, None, "---"),
        row(J, "/nickname", Creating, None, "---"),
        row(J, "/travel/visa", Journey, None, "---"),
        row(J, "/travel/self_booking/extra", Journey, None, "---"),
        row(J, "/pdo/quiz/1", Journey, None, "---"),
        // Deeper than the layout: no field of ours.
        row(
            J,
            "/travel/flights/f1/segments/0/departs/x",
            SelfBooking,
            None,
            "---",
        ),
        row(J, "/family/m1/a/b/c/d/e", Journey, None, "---"),
        row(J, "/family/m1/a/b/c/d", Journey, Some(EditFamily), "tc-"),
        // The medical record.
        row(M, "/appointments/a1", Journey, Some(RecordAppointment), "tc-"),
        row(M, "/appointments/a1/at", Journey, Some(RecordAppointment), "tc-"),
        row(M, "/tests/t1/result", Journey, Some(RecordMedicalResults), "-c-"),
        row(M, "/vaccinations/v1", Journey, Some(RecordMedicalResults), "-c-"),
        row(M, "/fitness/decision", Journey, Some(SetFitToTravel), "-c-"),
        row(M, "/schema", Creating, Some(CreateJourney), "-c-"),
        row(M, "/appointments", Creating, Some(CreateJourney), "-c-"),
        row(M, "/fitness", Creating, Some(CreateJourney), "-c-"),
        row(M, "/schema", Journey, None, "---"),
        row(M, "/appointments", Journey, None, "---"),
        row(M, "/notes", Journey, None, "---"),
        row(M, "/appointments/a1/at/x", Journey, None, "---"),
        // The arrival plan is the server's alone.
        row(Plan, "/arrival_city", Journey, None, "---"),
        row(Plan, "/trips/0/segments/0/departs", SelfBooking, None, "---"),
        row(Plan, "/schema", Creating, None, "---"),
    ]
}

struct Journeys {
    plain: Journey,
    self_booking: Journey,
}

fn journeys() -> Journeys {
    let template = Catalogue::builtin().expect("catalogue").latest("be").expect("be");
    let plain = Journey::instantiate(&"ab".repeat(16), template, &new_journey("be"));
    // The table's task paths must name a talent's task and a caseworker's task.
    let owner = |task: &str| plain.task(task).map(|(_, t)| t.owner);
    assert_eq!(owner("complete_talent_profile"), Some(Owner::Talent));
    assert_eq!(owner("confirm_match"), Some(Owner::Caseworker));
    let mut self_booking = plain.clone();
    self_booking.travel.self_booking = true;
    Journeys { plain, self_booking }
}

fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

#[test]
fn every_path_needs_the_action_of_its_edit_and_only_those_roles_may_write_it() {
    let journeys = journeys();
    let rows = table();
    for row in &rows {
        let before = match row.before {
            Before::Creating => None,
            Before::Journey => Some(&journeys.plain),
            Before::SelfBooking => Some(&journeys.self_booking),
        };
        let path = segments(&row.path);
        let what = format!("{} {} ({:?})", row.kind, row.path, row.before);
        assert_eq!(
            action_for(row.kind, &path, before),
            row.action,
            "action for {what}"
        );
        for (role, flag) in [Role::Talent, Role::Caseworker, Role::Family]
            .into_iter()
            .zip(row.who.chars())
        {
            let result = check_write(role, row.kind, &path, before);
            if flag == '-' {
                let denied = result.expect_err(&format!("a {role} must not write {what}"));
                assert_eq!(
                    denied,
                    Denied {
                        role,
                        path: row.path.clone(),
                        action: row.action,
                    }
                );
            } else {
                assert_eq!(result, Ok(()), "a {role} may write {what}");
            }
        }
    }
    // Each writing action the server can meet appears in the table. (Erasure writes
    // no path: it destroys the whole document, and travels as its own request field.)
    for action in Action::ALL {
        let writes = !matches!(
            action,
            Action::ReadJourney
                | Action::ReadMedical
                | Action::ReadArrivalPlan
                | Action::ReadHistory
                | Action::ExportCase
                | Action::EraseMedical
        );
        assert_eq!(
            rows.iter().any(|r| r.action == Some(action)),
            writes,
            "{action:?} in the table"
        );
    }
}

#[test]
fn family_may_write_nothing_at_all() {
    let journeys = journeys();
    for row in table() {
        let path = segments(&row.path);
        for before in [None, Some(&journeys.plain), Some(&journeys.self_booking)] {
            assert!(
                check_write(Role::Family, row.kind, &path, before).is_err(),
                "{}",
                row.path
            );
        }
    }
}

#[test]
fn a_refusal_names_the_path_and_what_it_needed() {
    let journeys = journeys();
    let denied = check_write(
        Role::Talent,
        DocKind::Journey,
        &["permit", "decision"],
        Some(&journeys.plain),
    )
    .unwrap_err();
    assert_eq!(denied.path, "/permit/decision");
    assert_eq!(denied.action, Some(Action::SetPermitDecision));
    assert_eq!(
        denied.to_string(),
        "a talent may not write /permit/decision (that would set the permit decision)"
    );
    let nobody = check_write(
        Role::Caseworker,
        DocKind::ArrivalPlan,
        &["arrival_city"],
        Some(&journeys.plain),
    )
    .unwrap_err();
    assert_eq!(nobody.to_string(), "/arrival_city cannot be written through sync");
    assert_eq!(path_text(&[]), "/");
    assert_eq!(max_depth(DocKind::Journey), 6);
    assert_eq!(max_depth(DocKind::Medical), 3);
    assert_eq!(max_depth(DocKind::ArrivalPlan), 0);
    assert_eq!(path_text(&["travel", "flights", "f1"]), "/travel/flights/f1");
}
