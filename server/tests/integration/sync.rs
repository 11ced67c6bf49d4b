//! Devices converge through the server: edits made offline on a talent's phone and a
//! caseworker's laptop meet in one exchange each, and both end with the same
//! documents and heads.

use passage_core::doc::journey::NewJourney;
use passage_core::model::{PermitDecision, TaskStatus};
use passage_core::sync::wire::SyncStatus;
use passage_core::{DocKind, Edit};

use crate::support::{CASEWORKER, Server, data};

#[test]
fn talent_and_caseworker_edit_offline_and_converge() {
    let server = Server::start();
    let case = server.case();
    let talent = server.talent(&case);
    let caseworker = server.caseworker();
    // First syncs bring the case to both devices.
    talent.sync(&server);
    caseworker.sync(&server);
    assert_eq!(talent.store.journey(&case).unwrap().talent_name, "Rana Haddad");

    // A week offline on both sides.
    for task in ["complete_talent_profile", "attend_job_interview"] {
        let edit = Edit::SetTaskStatus {
            task: task.into(),
            status: TaskStatus::Done,
        };
        talent.store.apply(&case, &edit).unwrap();
    }
    let notes = Edit::SetTaskNotes {
        task: "confirm_match".into(),
        notes: "Interview went well, waiting for the contract".into(),
    };
    talent.store.apply(&case, &notes).unwrap();
    let appointment = Edit::AddAppointment {
        appointment: data::appointment(),
    };
    talent.store.apply(&case, &appointment).unwrap();
    for edit in [
        Edit::AddFlight {
            booking: data::flight(),
        },
        Edit::SetHousing {
            housing: data::housing(),
        },
        Edit::SetArrivalMeeting {
            meeting: data::meeting(),
        },
        Edit::SetPermitDecision {
            decision: PermitDecision::Granted,
            decided_on: Some("2027-02-01".parse().unwrap()),
        },
    ] {
        caseworker.store.apply(&case, &edit).unwrap();
    }

    // The talent finds a signal first: one exchange sends their edits.
    let run = talent.sync(&server);
    assert_eq!(run.statuses, vec![SyncStatus::Complete]);
    // Then the caseworker: one exchange sends the booking and brings the talent's
    // edits.
    let run = caseworker.sync(&server);
    assert_eq!(run.statuses, vec![SyncStatus::Complete]);
    assert_eq!(caseworker.store.medical(&case).unwrap().appointments.len(), 1);
    // And the talent's next exchange brings the booking.
    talent.sync(&server);

    for kind in [DocKind::Journey, DocKind::Medical] {
        let doc = case.doc(kind);
        assert_eq!(
            talent.store.heads(&doc).unwrap(),
            caseworker.store.heads(&doc).unwrap(),
            "{kind}"
        );
    }
    let journey = talent.store.journey(&case).unwrap();
    assert_eq!(journey, caseworker.store.journey(&case).unwrap());
    assert_eq!(journey.permit.decision, PermitDecision::Granted);
    assert_eq!(journey.travel.flights.len(), 1);
    let (_, task) = journey.task("attend_job_interview").unwrap();
    assert_eq!(task.status, TaskStatus::Done);
    assert_eq!(task.completed_by.as_deref(), Some("Rana Haddad"));
    assert_eq!(
        talent.store.medical(&case).unwrap(),
        caseworker.store.medical(&case).unwrap()
    );

    // Nothing new: a sync is one small exchange.
    let run = caseworker.sync(&server);
    assert_eq!(run.statuses, vec![SyncStatus::Complete]);
    assert_eq!(
        run.bodies[0],
        [0x01, 0x84, 0x02, 0x00, 0x80, 0x80],
        "version 2, complete, no pulls, nothing erased"
    );
}

#[test]
fn a_device_one_edit_ahead_needs_one_round_trip() {
    let server = Server::start();
    let case = server.case();
    let talent = server.talent(&case);
    talent.sync(&server);
    let edit = Edit::SetTaskStatus {
        task: "complete_talent_profile".into(),
        status: TaskStatus::InProgress,
    };
    talent.store.apply(&case, &edit).unwrap();
    let request = talent.store.sync_request(false, &[]).unwrap();
    assert_eq!(request.pushes.len(), 1);
    assert_eq!(request.pushes[0].changes.len(), 1);
    let (response, _) = talent.exchange(&server, &request).unwrap();
    assert_eq!(response.status, SyncStatus::Complete);
    assert_eq!(response.docs.len(), 1);
    assert!(response.docs[0].changes.is_empty());
    assert!(
        response.docs[0].heads.is_empty(),
        "the server took the push whole, so it answers \"the heads you sent\" in no bytes"
    );
    let applied = talent.store.sync_apply(&request, &response).unwrap();
    assert!(!applied.needs_another_round());
    assert_eq!(talent.store.sync_state().unwrap().pending_documents, 0);

    // The server recorded the heads themselves, not the empty answer: edit after edit,
    // each sync stays one round trip (the digests on both sides agree).
    for status in [TaskStatus::Done, TaskStatus::Todo, TaskStatus::Done] {
        let edit = Edit::SetTaskStatus {
            task: "complete_talent_profile".into(),
            status,
        };
        talent.store.apply(&case, &edit).unwrap();
        let run = talent.sync(&server);
        assert_eq!(run.statuses, vec![SyncStatus::Complete], "{status:?}");
    }
    let run = talent.sync(&server);
    assert_eq!(run.bodies[0], [0x01, 0x84, 0x02, 0x00, 0x80, 0x80], "nothing new");
}

#[test]
fn a_case_created_offline_by_a_caseworker_reaches_the_server() {
    let server = Server::start();
    server.admin_ok(&["caseworker", "add", CASEWORKER]);
    let laptop = server.caseworker();
    let case = laptop
        .store
        .create_journey(&NewJourney {
            template: "be".into(),
            version: None,
            talent_name: "Yousef Nasser".into(),
            employer: "Ziekenhuis Oost-Limburg".into(),
            job_title: "Software engineer".into(),
            start_date: "2026-12-01".parse().unwrap(),
        })
        .unwrap();
    laptop.sync(&server);
    let cases = server.admin_ok(&["cases"]);
    let line = cases
        .lines()
        .find(|l| l.starts_with(case.as_str()))
        .expect("case listed");
    assert!(
        line.contains("Yousef Nasser") && line.contains(CASEWORKER),
        "{line}"
    );
    // The talent enrols and receives it; family gets its arrival plan.
    let talent = server.talent(&case);
    talent.sync(&server);
    assert_eq!(
        talent.store.journey(&case).unwrap(),
        laptop.store.journey(&case).unwrap()
    );
    let family = server.family(&case);
    family.sync(&server);
    assert_eq!(
        family.store.arrival_plan(&case).unwrap().talent_name,
        "Yousef Nasser"
    );
}

#[test]
fn a_reassigned_case_moves_to_the_new_caseworkers_devices() {
    let server = Server::start();
    let case = server.case();
    let old = server.caseworker();
    old.sync(&server);
    server.admin_ok(&["caseworker", "add", "Karim Saleh"]);
    let code = server.code(&["enrol", "caseworker", "Karim Saleh"]);
    let new = server.device(passage_core::Role::Caseworker, "Karim Saleh", &code);
    new.sync(&server);
    assert!(new.store.cases().unwrap().is_empty());

    server.admin_ok(&["case", "assign", case.as_str(), "--caseworker", "Karim Saleh"]);
    new.sync(&server);
    assert_eq!(new.store.cases().unwrap().len(), 1);
    // The former caseworker's edits are refused, naming the document.
    let edit = Edit::SetHousing {
        housing: data::housing(),
    };
    old.store.apply(&case, &edit).unwrap();
    let refused = old.try_sync(&server).unwrap_err();
    assert_eq!(refused.code, passage_core::sync::wire::RejectCode::Forbidden);
    assert_eq!(refused.doc, Some(case.doc(DocKind::Journey)));
}

#[test]
fn a_small_response_budget_splits_answers_and_loses_nothing() {
    let server = Server::start_with(&["--response-budget", "1024"]);
    let cases: Vec<_> = (0..3).map(|_| server.case()).collect();
    let talent = server.talent(&cases[0]);
    talent.sync(&server);
    // Thirty edits: one journey's history alone is several budgets long.
    for i in 0..30 {
        let edit = Edit::SetTaskNotes {
            task: "confirm_match".into(),
            notes: format!(
                "Call {i} with the employer: the contract is on its way, {}",
                "…".repeat(i)
            ),
        };
        talent.store.apply(&cases[0], &edit).unwrap();
    }
    talent.sync(&server);

    let caseworker = server.caseworker();
    let run = caseworker.sync(&server);
    assert!(run.rounds() >= 4, "{:?}", run.statuses);
    assert!(
        run.statuses[..run.rounds() - 1]
            .iter()
            .all(|s| *s == SyncStatus::Partial),
        "{:?}",
        run.statuses
    );
    assert_eq!(run.statuses.last(), Some(&SyncStatus::Complete));
    assert_eq!(caseworker.store.cases().unwrap().len(), 3);
    for kind in [DocKind::Journey, DocKind::Medical] {
        let doc = cases[0].doc(kind);
        assert_eq!(
            caseworker.store.heads(&doc).unwrap(),
            talent.store.heads(&doc).unwrap()
        );
    }
    // And then nothing is left.
    assert_eq!(caseworker.sync(&server).statuses, vec![SyncStatus::Complete]);
}

#[test]
fn more_changes_than_a_request_carries_go_in_causal_slices() {
    let server = Server::start();
    let case = server.case();
    let rt = crate::support::runtime();
    let talent = crate::support::Phone::new(passage_core::Role::Talent, crate::support::TALENT);
    talent.enrol(
        rt.handle(),
        &server.url(),
        &server.code(&["enrol", "talent", case.as_str()]),
    );
    talent.sync_until_complete(rt.handle());
    // Months offline: 2,500 edits, more than one request may carry (1,000).
    for i in 0..2_500 {
        let status = if i % 2 == 0 {
            TaskStatus::Done
        } else {
            TaskStatus::Todo
        };
        let edit = Edit::SetTaskStatus {
            task: "complete_talent_profile".into(),
            status,
        };
        talent.store.apply(&case, &edit).unwrap();
    }
    let report = talent.sync(rt.handle()).expect("the sync completes");
    assert!(report.complete, "{report:?}");
    assert!(report.rounds >= 3, "{report:?}");
    // Every change is on the server: a caseworker gets the journey at the same heads.
    let caseworker = server.caseworker();
    caseworker.sync(&server);
    let journey = case.doc(DocKind::Journey);
    assert_eq!(
        caseworker.store.heads(&journey).unwrap(),
        talent.store.heads(&journey).unwrap()
    );
    assert_eq!(talent.store.sync_state().unwrap().pending_documents, 0);
}
