//! Each role violation gives its typed error, and leaves nothing behind.

use passage_core::doc::medical::{Fitness, MedicalTest, Vaccination};
use passage_core::model::{FitnessDecision, ModuleStatus, Owner, PdoDayStatus, PermitDecision, TaskStatus};
use passage_core::{Action, CaseId, DocKind, Edit, Error, Role, Store};

use crate::support::{self, Dir, appointment, date, daughter, flight, housing, meeting};

/// A case made by a caseworker, and the ids of one talent-owned and one staff-owned task.
fn case(dir: &Dir) -> (CaseId, String, String) {
    let (store, case) = support::belgian_case(dir, "roles.db");
    let journey = store.journey(&case).expect("journey");
    let owned_by = |wanted: fn(Owner) -> bool| {
        journey
            .stages_in_order()
            .into_iter()
            .flat_map(|(_, tasks)| tasks)
            .find(|(_, t)| wanted(t.owner))
            .map(|(id, _)| id.to_owned())
            .expect("a task with that owner")
    };
    let talent_task = owned_by(|o| o == Owner::Talent);
    let staff_task = owned_by(|o| o != Owner::Talent);
    (case, talent_task, staff_task)
}

/// Applies `edit` as `store`'s role and expects the typed refusal for `action`, with
/// the case's documents unchanged.
fn refused(store: &Store, case: &CaseId, edit: Edit, action: Action) {
    let role = store.identity().role;
    let heads_before = heads(store, case);
    match store.apply(case, &edit) {
        Err(Error::NotAllowed { role: r, action: a }) => {
            assert_eq!((r, a), (role, action), "{} as {role}", edit.name());
        }
        other => panic!(
            "{} as {role}: expected NotAllowed({action:?}), got {other:?}",
            edit.name()
        ),
    }
    assert_eq!(
        heads(store, case),
        heads_before,
        "{} as {role} left a change behind",
        edit.name()
    );
}

/// Heads of the journey and medical documents, read through a caseworker store on the
/// same file (the role under test may not be allowed to read them).
fn heads(store: &Store, case: &CaseId) -> Vec<String> {
    let reader = support::open(&store.path(), Role::Caseworker);
    [DocKind::Journey, DocKind::Medical]
        .iter()
        .flat_map(|k| reader.heads(&case.doc(*k)).expect("heads"))
        .map(|h| h.to_string())
        .collect()
}

fn staff_only_edits(staff_task: &str) -> Vec<(Edit, Action)> {
    vec![
        (
            Edit::SetTaskStatus {
                task: staff_task.into(),
                status: TaskStatus::Done,
            },
            Action::UpdateStaffTask,
        ),
        (
            Edit::SetTaskDue {
                task: staff_task.into(),
                due: None,
            },
            Action::SetDueDates,
        ),
        (
            Edit::SetPermitDecision {
                decision: PermitDecision::Granted,
                decided_on: None,
            },
            Action::SetPermitDecision,
        ),
        (Edit::AllowSelfBooking { allowed: true }, Action::AllowSelfBooking),
        (Edit::AddFlight { booking: flight() }, Action::EditBookings),
        (Edit::SetHousing { housing: housing() }, Action::SetHousing),
        (
            Edit::SetArrivalMeeting { meeting: meeting() },
            Action::SetArrivalMeeting,
        ),
        (
            Edit::SchedulePdo {
                days: [date("2027-03-08"), date("2027-03-09"), date("2027-03-10")],
            },
            Action::ManagePdo,
        ),
        (
            Edit::MarkPdoAttendance {
                day: 1,
                status: PdoDayStatus::Attended,
            },
            Action::ManagePdo,
        ),
        (
            Edit::SetPdoModuleStatus {
                module: "living".into(),
                status: ModuleStatus::Completed,
            },
            Action::ManagePdo,
        ),
        (Edit::UpgradeTemplate, Action::UpgradeTemplate),
        (
            Edit::RecordMedicalTest {
                test: MedicalTest {
                    name: "Chest X-ray".into(),
                    date: date("2027-01-14"),
                    result: "clear".into(),
                },
            },
            Action::RecordMedicalResults,
        ),
        (
            Edit::RecordVaccination {
                vaccination: Vaccination {
                    name: "MMR".into(),
                    date: date("2027-01-14"),
                },
            },
            Action::RecordMedicalResults,
        ),
        (
            Edit::SetFitness {
                fitness: Fitness {
                    decision: FitnessDecision::Fit,
                    decided_on: None,
                    valid_until: None,
                },
            },
            Action::SetFitToTravel,
        ),
    ]
}

#[test]
fn the_talent_may_not_do_what_only_staff_may() {
    let dir = Dir::new();
    let (case, talent_task, staff_task) = case(&dir);
    let talent = dir.open("roles.db", Role::Talent);
    for (edit, action) in staff_only_edits(&staff_task) {
        refused(&talent, &case, edit, action);
    }
    let err = talent
        .create_journey(&support::new_journey("be"))
        .expect_err("talent may not create");
    assert!(
        matches!(
            err,
            Error::NotAllowed {
                role: Role::Talent,
                action: Action::CreateJourney
            }
        ),
        "{err}"
    );

    // What the talent may do.
    let allowed = [
        Edit::SetTaskStatus {
            task: talent_task,
            status: TaskStatus::Done,
        },
        Edit::SetTaskNotes {
            task: staff_task,
            notes: "asked the employer on Monday".into(),
        },
        Edit::AddFamilyMember { member: daughter() },
        Edit::AddAppointment {
            appointment: appointment(),
        },
    ];
    for edit in allowed {
        talent
            .apply(&case, &edit)
            .unwrap_or_else(|e| panic!("talent {}: {e}", edit.name()));
    }
    talent.journey(&case).expect("talent reads the journey");
    talent
        .medical(&case)
        .expect("talent reads their own medical record");
}

#[test]
fn the_talent_books_travel_only_once_staff_allows_it() {
    let dir = Dir::new();
    let (case, _, _) = case(&dir);
    let talent = dir.open("roles.db", Role::Talent);
    refused(
        &talent,
        &case,
        Edit::AddFlight { booking: flight() },
        Action::EditBookings,
    );
    let staff = dir.open("roles.db", Role::Caseworker);
    staff
        .apply(&case, &Edit::AllowSelfBooking { allowed: true })
        .expect("allowed");
    drop(staff);
    let talent = dir.open("roles.db", Role::Talent);
    let id = talent
        .apply(&case, &Edit::AddFlight { booking: flight() })
        .expect("self-booked")
        .created;
    assert!(
        talent
            .journey(&case)
            .expect("read")
            .travel
            .flights
            .contains_key(&id.expect("id"))
    );
}

#[test]
fn family_reads_nothing_but_the_arrival_plan_and_writes_nothing() {
    let dir = Dir::new();
    let (case, talent_task, staff_task) = case(&dir);
    let family = dir.open("roles.db", Role::Family);
    let mut edits = staff_only_edits(&staff_task);
    edits.extend([
        (
            Edit::SetTaskStatus {
                task: talent_task,
                status: TaskStatus::Done,
            },
            Action::ReadJourney,
        ),
        (Edit::AddFamilyMember { member: daughter() }, Action::ReadJourney),
        (
            Edit::AddAppointment {
                appointment: appointment(),
            },
            Action::ReadMedical,
        ),
    ]);
    for (edit, _) in edits {
        // Family may not even read the document an edit would change, so that is the
        // refusal they get.
        let action = if edit.doc_kind() == DocKind::Medical {
            Action::ReadMedical
        } else {
            Action::ReadJourney
        };
        refused(&family, &case, edit, action);
    }
    let reads: [(&str, Result<(), Error>, Action); 5] = [
        ("journey", family.journey(&case).map(drop), Action::ReadJourney),
        ("medical", family.medical(&case).map(drop), Action::ReadMedical),
        ("history", family.history(&case).map(drop), Action::ReadHistory),
        ("export", family.export(&case).map(drop), Action::ExportCase),
        (
            "medical heads",
            family.heads(&case.doc(DocKind::Medical)).map(drop),
            Action::ReadMedical,
        ),
    ];
    for (what, result, action) in reads {
        match result {
            Err(Error::NotAllowed {
                role: Role::Family,
                action: a,
            }) => assert_eq!(a, action, "{what}"),
            other => panic!("family {what}: expected NotAllowed, got {other:?}"),
        }
    }
    // The medical record cannot be pushed onto a family device either.
    let staff = dir.open("roles.db", Role::Caseworker);
    let changes = staff
        .changes_since(&case.doc(DocKind::Medical), &[])
        .expect("changes");
    let other = dir.open("family-device.db", Role::Family);
    let err = other
        .receive_changes(&case.doc(DocKind::Medical), &changes)
        .expect_err("refused");
    assert!(
        matches!(
            err,
            Error::NotAllowed {
                action: Action::ReadMedical,
                ..
            }
        ),
        "{err}"
    );
    // The arrival plan is for family: none has been synced to this device yet.
    assert!(matches!(other.arrival_plan(&case), Err(Error::NotFound(_))));
}

#[test]
fn the_policy_table() {
    // What each role may do, as the programme describes it.
    let talent = [
        Action::ReadJourney,
        Action::ReadMedical,
        Action::ReadArrivalPlan,
        Action::ReadHistory,
        Action::ExportCase,
        Action::UpdateTalentTask,
        Action::EditTaskNotes,
        Action::BookOwnTravel,
        Action::EditFamily,
        Action::RecordAppointment,
    ];
    for action in Action::ALL {
        assert!(Role::Caseworker.may(action), "{action:?}");
        assert_eq!(Role::Talent.may(action), talent.contains(&action), "{action:?}");
        assert_eq!(
            Role::Family.may(action),
            action == Action::ReadArrivalPlan,
            "{action:?}"
        );
    }
}

#[test]
fn the_arrival_plan_carries_nothing_medical() {
    use passage_core::doc::medical::{Fitness, MedicalTest, Vaccination};
    let dir = Dir::new();
    let (store, case) = support::belgian_case(&dir, "plan.db");
    let visit = appointment();
    let test = MedicalTest {
        name: "Tuberculosis screening".into(),
        date: date("2027-01-14"),
        result: "negative".into(),
    };
    let vaccination = Vaccination {
        name: "Measles booster".into(),
        date: date("2027-01-14"),
    };
    for edit in [
        Edit::AddAppointment {
            appointment: visit.clone(),
        },
        Edit::RecordMedicalTest { test: test.clone() },
        Edit::RecordVaccination {
            vaccination: vaccination.clone(),
        },
        Edit::SetFitness {
            fitness: Fitness {
                decision: FitnessDecision::Unfit,
                decided_on: Some(date("2027-01-20")),
                valid_until: None,
            },
        },
        Edit::SetTaskStatus {
            task: "attend_medical_exam".into(),
            status: TaskStatus::Done,
        },
        Edit::SetTaskNotes {
            task: "attend_medical_exam".into(),
            notes: "clinic asked for a second X-ray".into(),
        },
        Edit::AddFlight { booking: flight() },
        Edit::SetHousing { housing: housing() },
        Edit::SetArrivalMeeting { meeting: meeting() },
    ] {
        store.apply(&case, &edit).expect("edit");
    }
    let plan = store.arrival_plan(&case).expect("plan");
    let text = serde_json::to_string(&plan).expect("json").to_lowercase();
    let medical = store.medical(&case).expect("medical");
    let mut forbidden: Vec<String> = [
        "medical",
        "clinic",
        "appointment",
        "fitness",
        "unfit",
        "vaccin",
        "tuberculosis",
        "x-ray",
        "result",
        "attend_medical_exam",
        "health",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    forbidden.extend([
        visit.clinic,
        visit.purpose,
        visit.at.to_string(),
        test.name,
        vaccination.name,
    ]);
    forbidden.extend(medical.appointments.keys().cloned());
    for word in forbidden {
        assert!(
            !text.contains(&word.to_lowercase()),
            "the arrival plan contains {word:?}: {text}"
        );
    }
    // What family should see is there.
    assert!(
        text.contains("rj131") && text.contains("brugge") && text.contains("joris peeters"),
        "{text}"
    );
}
