//! Every typed operation survives closing and reopening the store.

use passage_core::doc::medical::{Fitness, MedicalTest, Vaccination};
use passage_core::model::{FitnessDecision, ModuleStatus, PdoDayStatus, PermitDecision, TaskStatus};
use passage_core::{DocKind, Edit, Role, Store};

use crate::support::{self, Dir, appointment, date, daughter, flight, housing, meeting};

/// Forces this file to name every edit: adding a variant to `Edit` fails to compile
/// here until the round trip covers it.
fn covered(edit: &Edit) -> &'static str {
    match edit {
        Edit::SetTaskStatus { .. }
        | Edit::SetTaskNotes { .. }
        | Edit::SetTaskDue { .. }
        | Edit::SetPermitDecision { .. }
        | Edit::AllowSelfBooking { .. }
        | Edit::AddFlight { .. }
        | Edit::ChangeFlightTimes { .. }
        | Edit::SetHousing { .. }
        | Edit::SetArrivalMeeting { .. }
        | Edit::SchedulePdo { .. }
        | Edit::MarkPdoAttendance { .. }
        | Edit::SetPdoModuleStatus { .. }
        | Edit::AddFamilyMember { .. }
        | Edit::RemoveFamilyMember { .. }
        | Edit::UpgradeTemplate
        | Edit::AddAppointment { .. }
        | Edit::RescheduleAppointment { .. }
        | Edit::RecordMedicalTest { .. }
        | Edit::RecordVaccination { .. }
        | Edit::SetFitness { .. } => edit.name(),
        // Resolving needs a conflict, which needs two replicas: see conflicts.rs.
        Edit::ResolveConflict { .. } => edit.name(),
    }
}

#[test]
fn every_typed_operation_survives_close_and_reopen() {
    let dir = Dir::new();
    let store = dir.open("roundtrip.db", Role::Caseworker);
    let mut new = support::new_journey("be");
    new.version = Some(1);
    let case = store.create_journey(&new).expect("created");
    let mut names = Vec::new();
    let mut apply = |store: &passage_core::Store, edit: Edit| {
        names.push(covered(&edit));
        let applied = store
            .apply(&case, &edit)
            .unwrap_or_else(|e| panic!("{}: {e}", edit.name()));
        assert!(applied.change.is_some(), "{} committed a change", edit.name());
        applied.created
    };

    apply(
        &store,
        Edit::SetTaskStatus {
            task: "attend_medical_exam".into(),
            status: TaskStatus::Done,
        },
    );
    apply(
        &store,
        Edit::SetTaskStatus {
            task: "complete_talent_profile".into(),
            status: TaskStatus::Blocked,
        },
    );
    apply(
        &store,
        Edit::SetTaskNotes {
            task: "attend_medical_exam".into(),
            notes: "ملاحظة: bring passport".into(),
        },
    );
    apply(
        &store,
        Edit::SetTaskDue {
            task: "complete_talent_profile".into(),
            due: Some(date("2026-12-01")),
        },
    );
    apply(
        &store,
        Edit::SetPermitDecision {
            decision: PermitDecision::Granted,
            decided_on: Some(date("2027-02-01")),
        },
    );
    apply(&store, Edit::AllowSelfBooking { allowed: true });
    let booking = apply(&store, Edit::AddFlight { booking: flight() }).expect("booking id");
    apply(
        &store,
        Edit::ChangeFlightTimes {
            booking: booking.clone(),
            segment: 0,
            departs: Some("2027-03-28T10:10[Asia/Amman]".parse().expect("time")),
            arrives: None,
        },
    );
    apply(&store, Edit::SetHousing { housing: housing() });
    apply(&store, Edit::SetArrivalMeeting { meeting: meeting() });
    let days = [date("2027-03-08"), date("2027-03-09"), date("2027-03-10")];
    apply(&store, Edit::SchedulePdo { days });
    apply(
        &store,
        Edit::MarkPdoAttendance {
            day: 2,
            status: PdoDayStatus::Attended,
        },
    );
    apply(
        &store,
        Edit::SetPdoModuleStatus {
            module: "living".into(),
            status: ModuleStatus::Completed,
        },
    );
    let lina = apply(&store, Edit::AddFamilyMember { member: daughter() }).expect("member id");
    let mut spouse = daughter();
    spouse.name = "Omar Haddad".into();
    let omar = apply(&store, Edit::AddFamilyMember { member: spouse }).expect("member id");
    apply(&store, Edit::RemoveFamilyMember { member: omar.clone() });
    apply(&store, Edit::UpgradeTemplate);
    let visit = apply(
        &store,
        Edit::AddAppointment {
            appointment: appointment(),
        },
    )
    .expect("appointment id");
    apply(
        &store,
        Edit::RescheduleAppointment {
            appointment: visit.clone(),
            at: "2027-01-14T09:00[Asia/Amman]".parse().expect("time"),
        },
    );
    let test = MedicalTest {
        name: "Chest X-ray".into(),
        date: date("2027-01-14"),
        result: "clear".into(),
    };
    apply(&store, Edit::RecordMedicalTest { test: test.clone() });
    let vaccination = Vaccination {
        name: "MMR".into(),
        date: date("2027-01-14"),
    };
    apply(
        &store,
        Edit::RecordVaccination {
            vaccination: vaccination.clone(),
        },
    );
    let fitness = Fitness {
        decision: FitnessDecision::Fit,
        decided_on: Some(date("2027-01-20")),
        valid_until: Some(date("2027-07-20")),
    };
    apply(
        &store,
        Edit::SetFitness {
            fitness: fitness.clone(),
        },
    );
    drop(store);

    let store = dir.open("roundtrip.db", Role::Caseworker);
    let j = store.journey(&case).expect("journey after reopen");
    let m = store.medical(&case).expect("medical after reopen");
    let (_, exam) = j.task("attend_medical_exam").expect("task");
    assert_eq!(exam.status, TaskStatus::Done);
    assert_eq!(exam.completed_by.as_deref(), Some("Amira Khoury"));
    assert!(exam.completed_at.is_some());
    assert_eq!(exam.notes, "ملاحظة: bring passport");
    let (_, profile) = j.task("complete_talent_profile").expect("task");
    assert_eq!(profile.status, TaskStatus::Blocked);
    assert_eq!(profile.due, Some(date("2026-12-01")));
    assert_eq!(profile.completed_at, None);
    assert_eq!(j.permit.decision, PermitDecision::Granted);
    assert_eq!(j.permit.decided_on, Some(date("2027-02-01")));
    assert!(j.travel.self_booking);
    let stored = &j.travel.flights[&booking];
    assert_eq!(
        stored.segments[0].departs.to_string(),
        "2027-03-28T10:10:00+03:00[Asia/Amman]"
    );
    assert_eq!(stored.segments[0].arrives, flight().segments[0].arrives);
    assert_eq!(stored.travellers, flight().travellers);
    assert_eq!(j.travel.housing, housing());
    assert_eq!(j.travel.meeting, meeting());
    let pdo_dates: Vec<_> = ["1", "2", "3"].iter().map(|d| j.pdo.days[*d].date).collect();
    assert_eq!(pdo_dates, days.map(Some).to_vec());
    assert_eq!(j.pdo.days["2"].status, PdoDayStatus::Attended);
    assert_eq!(j.pdo.days["1"].status, PdoDayStatus::Scheduled);
    assert_eq!(j.pdo.modules["living"].status, ModuleStatus::Completed);
    assert_eq!(j.family.get(&lina), Some(&daughter()));
    assert!(!j.family.contains_key(&omar));
    assert_eq!(j.template.version, 2);
    assert!(j.task("open_bank_account").is_some());
    assert_eq!(
        m.appointments[&visit].at.to_string(),
        "2027-01-14T09:00:00+03:00[Asia/Amman]"
    );
    assert_eq!(m.appointments[&visit].clinic, appointment().clinic);
    assert_eq!(m.tests.values().collect::<Vec<_>>(), vec![&test]);
    assert_eq!(m.vaccinations.values().collect::<Vec<_>>(), vec![&vaccination]);
    assert_eq!(m.fitness, fitness);

    let history = store.history(&case).expect("history");
    let edits: Vec<&str> = history.iter().map(|h| h.edit.as_str()).collect();
    for name in &names {
        assert!(edits.contains(name), "history lacks {name}: {edits:?}");
    }
    assert!(
        history
            .iter()
            .all(|h| h.by == "Amira Khoury" && h.role == Some(Role::Caseworker))
    );
    assert!(
        history.windows(2).all(|w| w[0].at <= w[1].at),
        "history in time order"
    );
}

#[test]
fn a_task_reopened_loses_its_completion() {
    let dir = Dir::new();
    let (store, case) = support::belgian_case(&dir, "reopen.db");
    let task = "attend_medical_exam";
    store
        .apply(
            &case,
            &Edit::SetTaskStatus {
                task: task.into(),
                status: TaskStatus::Done,
            },
        )
        .expect("done");
    store
        .apply(
            &case,
            &Edit::SetTaskStatus {
                task: task.into(),
                status: TaskStatus::InProgress,
            },
        )
        .expect("reopen");
    let (_, t) = store
        .journey(&case)
        .expect("read")
        .task(task)
        .map(|(s, t)| (s, t.clone()))
        .expect("task");
    assert_eq!(
        (t.status, t.completed_at, t.completed_by),
        (TaskStatus::InProgress, None, None)
    );
}

/// Reopening a task writes its status alone (one Automerge op instead of three); the
/// completion it leaves in the document is never shown, on either device, after a
/// sync, or when a completion arrives concurrently, and a later completion replaces it.
#[test]
fn a_reopened_task_shows_no_completion_on_any_device() {
    let dir = Dir::new();
    let (caseworker, case) = support::belgian_case(&dir, "caseworker.db");
    let talent = dir.open("talent.db", Role::Talent);
    let task = "complete_talent_profile";
    let doc = case.doc(DocKind::Journey);
    let set = |store: &Store, status| {
        store
            .apply(
                &case,
                &Edit::SetTaskStatus {
                    task: task.into(),
                    status,
                },
            )
            .expect("the status is set");
    };
    let shown = |store: &Store| {
        let journey = store.journey(&case).expect("the journey reads");
        let (_, t) = journey.task(task).expect("the task exists");
        (t.status, t.completed_at, t.completed_by.clone())
    };

    set(&caseworker, TaskStatus::Done);
    support::exchange(&caseworker, &talent, &case);
    let (_, done_at, done_by) = shown(&talent);
    assert!(done_at.is_some());
    assert_eq!(done_by.as_deref(), Some("Amira Khoury"));

    let before = talent.heads(&doc).expect("heads");
    set(&talent, TaskStatus::Todo);
    let reopen = talent.changes_since(&doc, &before).expect("the reopen");
    assert_eq!(reopen.len(), 1, "one edit is one change");
    let ops = automerge::Change::try_from(reopen[0].as_slice())
        .expect("a valid change")
        .len();
    assert_eq!(ops, 1, "a reopen writes the status alone");
    support::exchange(&caseworker, &talent, &case);
    for store in [&caseworker, &talent] {
        assert_eq!(shown(store), (TaskStatus::Todo, None, None));
    }

    set(&talent, TaskStatus::Done);
    support::exchange(&caseworker, &talent, &case);
    let (status, at, by) = shown(&caseworker);
    assert_eq!((status, by.as_deref()), (TaskStatus::Done, Some("Rana Haddad")));
    assert!(at.is_some());
    assert_eq!(shown(&talent), (status, at, by));

    // Concurrent edits, each device offline: one completes, the other reopens.
    set(&talent, TaskStatus::Todo);
    support::exchange(&caseworker, &talent, &case);
    set(&caseworker, TaskStatus::Done);
    set(&talent, TaskStatus::Blocked);
    support::exchange(&caseworker, &talent, &case);
    let (status, at, by) = shown(&caseworker);
    assert_eq!(
        shown(&talent),
        (status, at, by.clone()),
        "both devices show the same"
    );
    assert_eq!(
        caseworker.journey(&case).expect("journey"),
        talent.journey(&case).expect("journey")
    );
    let done = status == TaskStatus::Done;
    assert_eq!(
        (at.is_some(), by.is_some()),
        (done, done),
        "a completion is shown exactly when the task is done ({status:?})"
    );
    if done {
        assert_eq!(by.as_deref(), Some("Amira Khoury"), "the concurrent completion");
    }
}
