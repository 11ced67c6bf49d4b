//! The benchmark journey: a Belgian journey of 5,000 changes, built once and shared by
//! the three benchmarks, plus the identity and the journey description they all use.
//!
//! It lives apart from the measurements so that the script of edits (what a caseworker's
//! device accumulates) can be read, and changed, on its own.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use chrono::NaiveDate;
use passage_core::doc::journey::{
    ArrivalMeeting, FlightBooking, FlightSegment, Housing, Journey, NewJourney,
};
use passage_core::model::TaskStatus;
use passage_core::{CaseId, DocId, DocKind, Durability, Edit, Identity, Role, Store, StoreOptions};

use crate::measure::time;

/// Changes in the benchmark journey, its creation included.
pub(crate) const CHANGES: usize = 5_000;

pub(crate) struct Built {
    pub(crate) case: CaseId,
    pub(crate) doc: DocId,
    pub(crate) changes: usize,
    /// `save()` of the document.
    pub(crate) saved: Vec<u8>,
    /// Every change of the document, in causal order.
    pub(crate) change_bytes: Vec<Vec<u8>>,
    /// A task for (b).
    pub(crate) toggle_task: String,
    /// The first `Store::open_with` of the process (it creates the file; the template
    /// catalogue is parsed later, by the first `create_journey`).
    pub(crate) first_open: Duration,
    pub(crate) stats_change_rows: u64,
    pub(crate) stats_change_bytes: u64,
    pub(crate) stats_snapshot_rows: u64,
    pub(crate) stats_snapshot_bytes: u64,
}

pub(crate) fn identity() -> Identity {
    Identity::new(Role::Caseworker, "Amira Khoury")
}

fn date(s: &str) -> NaiveDate {
    s.parse().expect("a valid date")
}

pub(crate) fn new_journey() -> NewJourney {
    NewJourney {
        template: "be".into(),
        version: None,
        talent_name: "Rana Haddad".into(),
        employer: "AZ Sint-Jan Brugge".into(),
        job_title: "Registered nurse".into(),
        start_date: date("2026-11-02"),
    }
}
fn flight(day: usize) -> FlightBooking {
    FlightBooking {
        booking_reference: format!("X7K{day:02}QP"),
        travellers: vec!["Rana Haddad".into(), "Lina Haddad".into()],
        segments: vec![FlightSegment {
            carrier: "Royal Jordanian".into(),
            flight_number: "RJ131".into(),
            from: "AMM".into(),
            to: "BRU".into(),
            departs: format!("2027-03-{day:02}T09:40[Asia/Amman]")
                .parse()
                .expect("a valid departure"),
            arrives: format!("2027-03-{day:02}T12:55[Europe/Brussels]")
                .parse()
                .expect("a valid arrival"),
        }],
    }
}

/// The edit number `i` of the script: mostly status changes across all tasks.
fn scripted_edit(
    i: usize,
    tasks: &[String],
    statuses: &mut HashMap<String, usize>,
    flights: &[String],
) -> Edit {
    const CYCLE: [TaskStatus; 4] = [
        TaskStatus::InProgress,
        TaskStatus::Done,
        TaskStatus::Todo,
        TaskStatus::Blocked,
    ];
    let task = tasks[(i * 7) % tasks.len()].clone();
    match i % 1000 {
        100 => {
            return Edit::SetHousing {
                housing: Housing {
                    address: format!("Sint-Jorisstraat {}, 8000 Brugge", 10 + i / 1000),
                    city: "Brugge".into(),
                    from: Some(date("2027-03-28")),
                    until: Some(date("2027-06-27")),
                },
            };
        }
        200 => {
            return Edit::SetArrivalMeeting {
                meeting: ArrivalMeeting {
                    name: "Joris Peeters".into(),
                    organisation: "AZ Sint-Jan HR".into(),
                    phone: format!("+32 50 45 21 {:02}", i / 1000),
                    place: "Brussels Airport, arrivals hall, meeting point".into(),
                },
            };
        }
        300 => {
            return Edit::AllowSelfBooking {
                allowed: (i / 1000).is_multiple_of(2),
            };
        }
        500 => {
            return Edit::AddFlight {
                booking: flight(10 + i / 1000),
            };
        }
        750 if !flights.is_empty() => {
            let day = 20 + i / 1000;
            return Edit::ChangeFlightTimes {
                booking: flights[flights.len() - 1].clone(),
                segment: 0,
                departs: Some(
                    format!("2027-03-{day:02}T10:15[Asia/Amman]")
                        .parse()
                        .expect("a valid departure"),
                ),
                arrives: Some(
                    format!("2027-03-{day:02}T13:30[Europe/Brussels]")
                        .parse()
                        .expect("a valid arrival"),
                ),
            };
        }
        _ => {}
    }
    if i % 10 == 3 {
        return Edit::SetTaskNotes {
            task,
            notes: format!(
                "Call {}: spoke with the embassy, legalised diploma copy still missing; \
                 follow up on {}.",
                i / 10,
                date("2026-11-02") + chrono::Days::new((i % 120) as u64)
            ),
        };
    }
    if i % 50 == 7 {
        return Edit::SetTaskDue {
            task,
            due: Some(date("2026-11-02") + chrono::Days::new((i % 150) as u64)),
        };
    }
    let next = statuses.entry(task.clone()).or_insert(0);
    let status = CYCLE[*next % CYCLE.len()];
    *next += 1;
    Edit::SetTaskStatus { task, status }
}

fn live_tasks(journey: &Journey) -> Vec<String> {
    let mut stages: Vec<_> = journey.stages.values().collect();
    stages.sort_by_key(|s| s.order);
    stages
        .iter()
        .flat_map(|s| {
            let mut tasks: Vec<_> = s.tasks.iter().filter(|(_, t)| !t.retired).collect();
            tasks.sort_by_key(|(_, t)| t.order);
            tasks.into_iter().map(|(id, _)| id.clone())
        })
        .collect()
}

/// Builds the journey in a new store at `path`, edit by edit, and records what the
/// benchmarks compare against.
pub(crate) fn build(path: &Path) -> Built {
    let options = StoreOptions {
        durability: Durability::Normal,
        ..StoreOptions::default()
    };
    let (first_open, store) = time(|| Store::open_with(path, identity(), options).expect("the store opens"));
    let case = store
        .create_journey(&new_journey())
        .expect("the journey is created");
    let doc = case.doc(DocKind::Journey);
    let tasks = live_tasks(&store.journey(&case).expect("the journey reads"));
    assert!(tasks.len() > 20, "the Belgian template has many tasks");
    let mut statuses = HashMap::new();
    let mut flights = Vec::new();
    let mut changes = 1; // the creation
    let mut i = 0;
    while changes < CHANGES {
        let edit = scripted_edit(i, &tasks, &mut statuses, &flights);
        let applied = store
            .apply(&case, &edit)
            .unwrap_or_else(|e| panic!("edit {i} ({}) failed: {e}", edit.name()));
        if applied.change.is_some() {
            changes += 1;
        }
        if let Some(created) = applied.created {
            flights.push(created);
        }
        i += 1;
    }
    let change_bytes = store
        .changes_since(&doc, &[])
        .expect("the changes of the journey");
    assert_eq!(change_bytes.len(), CHANGES, "the journey has {CHANGES} changes");
    let saved = store.save_document(&doc).expect("the journey saves");
    let stats = store.stats(Some(&doc)).expect("stats");
    Built {
        case,
        doc,
        changes,
        saved,
        change_bytes,
        toggle_task: tasks[0].clone(),
        first_open,
        stats_change_rows: stats.change_rows,
        stats_change_bytes: stats.change_bytes,
        stats_snapshot_rows: stats.snapshot_rows,
        stats_snapshot_bytes: stats.snapshot_bytes,
    }
}
