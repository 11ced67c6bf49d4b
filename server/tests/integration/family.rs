//! Family devices: the arrival plan, read-only, and nothing medical, not one byte.

use passage_core::doc::medical::{Fitness, MedicalTest, Vaccination};
use passage_core::model::{FitnessDecision, StageId, TaskStatus};
use passage_core::sync::wire::{self, RejectCode};
use passage_core::{DocKind, Edit};

use crate::support::{Server, data, inflated, push, sync_request};

/// Names and values of the medical record. None may appear in anything family gets.
const MEDICAL_WORDS: &[&str] = &[
    "medical",
    "appointments",
    "clinic",
    "fitness",
    "vaccinations",
    "vaccination",
    "tests",
    "valid_until",
    "Migration Health",
    "tuberculosis",
    "Yellow fever",
    "Chest X-ray",
    "attend_medical_exam",
];

fn contains(haystack: &[u8], needle: &str) -> bool {
    let needle = needle.to_lowercase();
    let hay = String::from_utf8_lossy(haystack).to_lowercase();
    hay.contains(&needle)
}

#[test]
fn family_sees_the_arrival_time_and_nothing_medical() {
    let server = Server::start();
    let case = server.case();
    let caseworker = server.caseworker();
    caseworker.sync(&server);
    let medical = [
        Edit::AddAppointment {
            appointment: data::appointment(),
        },
        Edit::RecordMedicalTest {
            test: MedicalTest {
                name: "Chest X-ray".into(),
                date: "2027-01-12".parse().unwrap(),
                result: "clear".into(),
            },
        },
        Edit::RecordVaccination {
            vaccination: Vaccination {
                name: "Yellow fever".into(),
                date: "2027-01-12".parse().unwrap(),
            },
        },
        Edit::SetFitness {
            fitness: Fitness {
                decision: FitnessDecision::Fit,
                decided_on: Some("2027-01-20".parse().unwrap()),
                valid_until: Some("2027-07-20".parse().unwrap()),
            },
        },
        Edit::SetTaskStatus {
            task: "attend_medical_exam".into(),
            status: TaskStatus::Done,
        },
        Edit::AddFlight {
            booking: data::flight(),
        },
        Edit::SetHousing {
            housing: data::housing(),
        },
        Edit::SetArrivalMeeting {
            meeting: data::meeting(),
        },
    ];
    for edit in &medical {
        caseworker.store.apply(&case, edit).unwrap();
    }
    caseworker.sync(&server);

    let family = server.family(&case);
    let run = family.sync(&server);
    let plan = family.store.arrival_plan(&case).unwrap();
    let segment = &plan.trips[0].segments[0];
    assert_eq!(
        segment.arrives.to_string(),
        "2027-03-28T12:55:00+02:00[Europe/Brussels]"
    );
    assert_eq!(plan.arrival_city, "Brugge");
    assert_eq!(plan.met_by.name, "Joris Peeters");
    assert!(plan.stages.iter().all(|s| s.stage != StageId::MedicalCheck));

    // Every byte family received, as sent and inflated, and the document it holds.
    let saved = family
        .store
        .save_document(&case.doc(DocKind::ArrivalPlan))
        .unwrap();
    let history = serde_json::to_vec(&family.store.history(&case).ok()).unwrap();
    let plan_json = serde_json::to_vec(&plan).unwrap();
    for body in &run.bodies {
        for bytes in [
            body.clone(),
            inflated(body),
            saved.clone(),
            history.clone(),
            plan_json.clone(),
        ] {
            for word in MEDICAL_WORDS {
                assert!(!contains(&bytes, word), "family received {word:?}");
            }
        }
        // Only arrival plans travel to family.
        let response: wire::SyncResponse = wire::decode(body).unwrap();
        assert!(response.docs.iter().all(|p| p.doc.kind == DocKind::ArrivalPlan));
    }
    // The family device holds the arrival plan and nothing else.
    assert!(family.store.medical(&case).is_err());
    assert!(family.store.journey(&case).is_err());

    // Later changes reach family too.
    let later = Edit::SetArrivalMeeting {
        meeting: passage_core::doc::journey::ArrivalMeeting {
            name: "Lotte Janssens".into(),
            ..data::meeting()
        },
    };
    caseworker.store.apply(&case, &later).unwrap();
    caseworker.sync(&server);
    family.sync(&server);
    assert_eq!(
        family.store.arrival_plan(&case).unwrap().met_by.name,
        "Lotte Janssens"
    );
}

#[test]
fn family_may_not_push_anything() {
    let server = Server::start();
    let case = server.case();
    let family = server.family(&case);
    family.sync(&server);
    let plan = case.doc(DocKind::ArrivalPlan);
    let heads = family.store.heads(&plan).unwrap();
    let mut doc = automerge::AutoCommit::load(&family.store.save_document(&plan).unwrap()).unwrap();
    automerge::transaction::Transactable::put(&mut doc, automerge::ROOT, "arrival_city", "Paris").unwrap();
    doc.commit();
    let change = doc.get_last_local_change().unwrap().raw_bytes().to_vec();
    for target in [plan.clone(), case.doc(DocKind::Medical)] {
        let request = sync_request(
            vec![push(target.clone(), heads.clone(), vec![change.clone()])],
            Some(vec![]),
        );
        let rejection = family.exchange(&server, &request).unwrap_err();
        assert_eq!(rejection.code, RejectCode::Forbidden);
        assert_eq!(rejection.doc, Some(target));
        assert!(
            !contains(rejection.message.as_bytes(), "medical"),
            "{}",
            rejection.message
        );
    }
    family.sync(&server);
    assert_eq!(family.store.heads(&plan).unwrap(), heads);
}
