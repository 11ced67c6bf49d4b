//! Concurrent values of critical fields are listed, identically on every replica, and
//! a person's choice resolves them everywhere.

use passage_core::conflict::CriticalField;
use passage_core::model::PermitDecision;
use passage_core::{CaseId, Edit, Role, Store};

use crate::support::{self, Dir, appointment, exchange, flight, housing};

/// Two devices holding the same case: the caseworker who made it and the talent.
fn two_devices(dir: &Dir) -> (Store, Store, CaseId) {
    let (staff, case) = support::belgian_case(dir, "staff.db");
    let talent = dir.open("talent.db", Role::Caseworker);
    exchange(&staff, &talent, &case);
    (staff, talent, case)
}

#[test]
fn concurrent_critical_values_are_listed_and_resolvable() {
    let dir = Dir::new();
    let (a, b, case) = two_devices(&dir);
    let booking = a
        .apply(&case, &Edit::AddFlight { booking: flight() })
        .expect("flight")
        .created
        .expect("id");
    let visit = a
        .apply(
            &case,
            &Edit::AddAppointment {
                appointment: appointment(),
            },
        )
        .expect("appt")
        .created
        .expect("id");
    a.apply(&case, &Edit::SetHousing { housing: housing() })
        .expect("housing");
    exchange(&a, &b, &case);
    assert!(a.conflicts(&case).expect("conflicts").is_empty());

    // Offline, both change the same critical fields to different values.
    let mut other_housing = housing();
    other_housing.address = "Langestraat 40, 8000 Brugge".into();
    let edits_a = [
        Edit::SetPermitDecision {
            decision: PermitDecision::Granted,
            decided_on: None,
        },
        Edit::ChangeFlightTimes {
            booking: booking.clone(),
            segment: 0,
            departs: Some("2027-03-28T10:10[Asia/Amman]".parse().expect("time")),
            arrives: None,
        },
        Edit::RescheduleAppointment {
            appointment: visit.clone(),
            at: "2027-01-13T11:00[Asia/Amman]".parse().expect("t"),
        },
        Edit::SetTaskNotes {
            task: "attend_medical_exam".into(),
            notes: "from a".into(),
        },
    ];
    let edits_b = [
        Edit::SetPermitDecision {
            decision: PermitDecision::Refused,
            decided_on: None,
        },
        Edit::ChangeFlightTimes {
            booking: booking.clone(),
            segment: 0,
            departs: Some("2027-03-28T11:45[Asia/Amman]".parse().expect("time")),
            arrives: Some("2027-03-28T15:00[Europe/Brussels]".parse().expect("time")),
        },
        Edit::RescheduleAppointment {
            appointment: visit.clone(),
            at: "2027-01-15T08:30[Asia/Amman]".parse().expect("t"),
        },
        Edit::SetHousing {
            housing: other_housing,
        },
        Edit::SetTaskNotes {
            task: "attend_medical_exam".into(),
            notes: "from b".into(),
        },
    ];
    for edit in &edits_a {
        a.apply(&case, edit).expect("a edits");
    }
    for edit in &edits_b {
        b.apply(&case, edit).expect("b edits");
    }
    let mut third_housing = housing();
    third_housing.address = "Ezelstraat 3, 8000 Brugge".into();
    a.apply(
        &case,
        &Edit::SetHousing {
            housing: third_housing,
        },
    )
    .expect("a moves the housing too");
    exchange(&a, &b, &case);

    let listed_a = a.conflicts(&case).expect("a conflicts");
    let listed_b = b.conflicts(&case).expect("b conflicts");
    assert_eq!(
        listed_a, listed_b,
        "every replica lists the same conflicts in the same order"
    );
    let fields: Vec<CriticalField> = listed_a.iter().map(|c| c.field).collect();
    for field in [
        CriticalField::PermitDecision,
        CriticalField::HousingAddress,
        CriticalField::FlightDeparture,
        CriticalField::AppointmentTime,
    ] {
        assert!(fields.contains(&field), "{field:?} missing from {fields:?}");
    }
    // Only the departure was changed on both sides; the arrival only by b.
    assert!(!fields.contains(&CriticalField::FlightArrival), "{fields:?}");
    let permit = listed_a
        .iter()
        .find(|c| c.field == CriticalField::PermitDecision)
        .expect("permit conflict");
    let mut values: Vec<&str> = permit.values.iter().map(|v| v.value.as_str()).collect();
    values.sort();
    assert_eq!(values, ["granted", "refused"]);
    assert!(
        permit
            .values
            .iter()
            .all(|v| v.by.as_deref() == Some("Amira Khoury") && v.at.is_some())
    );
    // Notes are not critical: merged silently.
    let notes_a = a
        .journey(&case)
        .expect("j")
        .task("attend_medical_exam")
        .map(|(_, t)| t.notes.clone());
    let notes_b = b
        .journey(&case)
        .expect("j")
        .task("attend_medical_exam")
        .map(|(_, t)| t.notes.clone());
    assert_eq!(notes_a, notes_b);

    // Resolve every conflict on one device, choosing the second value.
    let picks: Vec<(String, String)> = listed_a
        .iter()
        .map(|c| (c.id.clone(), c.values[1].value.clone()))
        .collect();
    for (id, _) in &picks {
        a.apply(
            &case,
            &Edit::ResolveConflict {
                conflict: id.clone(),
                pick: 1,
            },
        )
        .expect("resolved");
    }
    let bad = a.apply(
        &case,
        &Edit::ResolveConflict {
            conflict: picks[0].0.clone(),
            pick: 0,
        },
    );
    assert!(matches!(bad, Err(passage_core::Error::NotFound(_))), "{bad:?}");
    exchange(&a, &b, &case);
    drop(b);
    let b = dir.open("talent.db", Role::Caseworker);
    for store in [&a, &b] {
        assert!(store.conflicts(&case).expect("conflicts").is_empty());
    }
    let journey = b.journey(&case).expect("journey");
    let permit_pick = &picks
        .iter()
        .find(|(id, _)| id == "journey:/permit/decision")
        .expect("permit")
        .1;
    assert_eq!(journey.permit.decision.as_str(), permit_pick);
    let address_pick = &picks
        .iter()
        .find(|(id, _)| id == "journey:/travel/housing/address")
        .expect("addr")
        .1;
    assert_eq!(&journey.travel.housing.address, address_pick);
    let departs = journey.travel.flights[&booking].segments[0].departs.to_string();
    let departs_pick = &picks
        .iter()
        .find(|(id, _)| id.ends_with("/departs"))
        .expect("departs")
        .1;
    assert_eq!(&departs, departs_pick);
    let at = b.medical(&case).expect("medical").appointments[&visit]
        .at
        .to_string();
    assert_eq!(
        &at,
        &picks
            .iter()
            .find(|(id, _)| id.starts_with("medical:"))
            .expect("appt")
            .1
    );
    let history = b.history(&case).expect("history");
    assert_eq!(
        history.iter().filter(|h| h.edit == "conflict.resolve").count(),
        picks.len()
    );
}

#[test]
fn resolving_needs_the_right_to_set_the_field() {
    let dir = Dir::new();
    let (a, b, case) = two_devices(&dir);
    a.apply(
        &case,
        &Edit::SetPermitDecision {
            decision: PermitDecision::Granted,
            decided_on: None,
        },
    )
    .expect("a");
    b.apply(
        &case,
        &Edit::SetPermitDecision {
            decision: PermitDecision::Refused,
            decided_on: None,
        },
    )
    .expect("b");
    exchange(&a, &b, &case);
    drop(b);
    let talent = dir.open("talent.db", Role::Talent);
    let conflicts = talent.conflicts(&case).expect("the talent sees the conflict");
    assert_eq!(conflicts.len(), 1);
    let err = talent.apply(
        &case,
        &Edit::ResolveConflict {
            conflict: conflicts[0].id.clone(),
            pick: 0,
        },
    );
    assert!(
        matches!(
            err,
            Err(passage_core::Error::NotAllowed {
                action: passage_core::Action::SetPermitDecision,
                ..
            })
        ),
        "{err:?}"
    );
    let err = a.apply(
        &case,
        &Edit::ResolveConflict {
            conflict: conflicts[0].id.clone(),
            pick: 5,
        },
    );
    assert!(
        matches!(err, Err(passage_core::Error::InvalidInput(_))),
        "{err:?}"
    );
}
