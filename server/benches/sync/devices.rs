//! The devices of the benchmarks: passage-core stores on disk, as the apps keep them,
//! and what they do: a caseworker's history of edits on a journey, a talent's task
//! toggle, and a first sync.
//!
//! First syncs of the many talent devices of (c) go through the server's own exchange
//! in-process ([`passage_server::sync::handle`], the function `POST /v1/sync` hands
//! the body to, with the token as its `Authorization` header), with no server process
//! running: they are setup, not measurement, and the server records what each device
//! was sent exactly as over HTTP, so the devices' later syncs over HTTP start from a
//! matching digest, as a real device's do.

use passage_server::sync::Exchanges;
use std::path::Path;

use chrono::NaiveDate;
use passage_core::doc::journey::{ArrivalMeeting, FlightBooking, FlightSegment, Housing, Journey};
use passage_core::model::TaskStatus;
use passage_core::sync::wire::{self, SyncResponse};
use passage_core::{CaseId, Durability, Edit, Identity, Role, Store, StoreOptions};
use passage_server::limits::Limits;
use passage_server::storage::sqlite::SqliteStorage;

use crate::server::now;

/// A task of the Belgian template that the talent updates: the toggle of (a) and (c).
pub(crate) const TOGGLE_TASK: &str = "complete_talent_profile";

pub(crate) fn options(durability: Durability) -> StoreOptions {
    StoreOptions {
        durability,
        ..StoreOptions::default()
    }
}

/// A talent's phone: its store, its case and its token.
pub(crate) struct Device {
    pub(crate) store: Store,
    pub(crate) token: String,
    pub(crate) case: CaseId,
    done: bool,
}

/// Toggles the talent's task between done and to do: one Automerge change.
pub(crate) fn toggle(store: &Store, case: &CaseId, done: &mut bool) {
    // At most twice: the first may set the status the task already has.
    for _ in 0..2 {
        *done = !*done;
        let status = if *done { TaskStatus::Done } else { TaskStatus::Todo };
        let edit = Edit::SetTaskStatus {
            task: TOGGLE_TASK.into(),
            status,
        };
        if store
            .apply(case, &edit)
            .expect("the talent may toggle")
            .change
            .is_some()
        {
            return;
        }
    }
    panic!("toggling {TOGGLE_TASK} made no change");
}

impl Device {
    pub(crate) fn toggle(&mut self) {
        toggle(&self.store, &self.case, &mut self.done);
    }
}

/// Opens a talent device for each case and brings it in step with the server, on
/// `threads` threads (the server's exchange itself runs one at a time, as it does
/// behind HTTP: one writer).
pub(crate) fn talents(
    storage: &SqliteStorage,
    dir: &Path,
    cases: &[CaseId],
    tokens: &[String],
    threads: usize,
) -> Vec<Device> {
    std::fs::create_dir_all(dir).expect("the devices' directory");
    let work: Vec<(&CaseId, &String)> = cases.iter().zip(tokens).collect();
    let per = work.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = work
            .chunks(per)
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|(case, token)| talent(storage, dir, case, token))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a setup thread"))
            .collect()
    })
}

fn talent(storage: &SqliteStorage, dir: &Path, case: &CaseId, token: &str) -> Device {
    let identity = Identity::new(Role::Talent, "Rana Haddad");
    let store = Store::open_with(
        dir.join(format!("{case}.db")),
        identity,
        options(Durability::Normal),
    )
    .expect("the device's store opens");
    let authorization = format!("Bearer {token}");
    let (mut full, mut repush) = (false, Vec::new());
    for _ in 0..8 {
        let request = store.sync_request(full, &repush).expect("a request");
        let device = passage_server::sync::authenticate(storage, Some(&authorization), now(), |_| true)
            .unwrap_or_else(|refused| panic!("the token is refused: HTTP {}", refused.http_status));
        let outcome = passage_server::sync::handle(
            storage,
            &Exchanges::new(0),
            &Limits::default(),
            &device,
            &wire::encode(&request),
            now(),
        );
        assert_eq!(outcome.http_status, 200, "the first sync is accepted");
        let response: SyncResponse = wire::decode(&outcome.body).expect("an answer");
        let applied = store.sync_apply(&request, &response).expect("the answer applies");
        if !applied.needs_another_round() {
            // Enrolled, a device writes the name the server knows its talent by (what
            // enrolment tells it): the server accepts a completion only in that name.
            let person = store.journey(case).expect("the journey").talent_name;
            store
                .set_sync_server(&passage_core::sync::SyncServer {
                    url: "http://127.0.0.1:1".into(),
                    token: token.to_owned(),
                    role: Some(Role::Talent),
                    expires_at: None,
                    person: Some(person),
                })
                .expect("the enrolment is recorded");
            // Phones do not keep every case decoded; the load reads from disk.
            store.evict_all();
            return Device {
                store,
                token: token.to_owned(),
                case: case.clone(),
                done: false,
            };
        }
        full = applied.status == wire::SyncStatus::NeedFull;
        repush = applied.repush;
    }
    panic!("the first sync of a talent device did not finish");
}

fn date(s: &str) -> NaiveDate {
    s.parse().expect("a valid date")
}

fn flight(n: usize) -> FlightBooking {
    FlightBooking {
        booking_reference: format!("X7K{n:02}QP"),
        travellers: vec!["Rana Haddad".into(), "Lina Haddad".into()],
        segments: vec![FlightSegment {
            carrier: "Royal Jordanian".into(),
            flight_number: "RJ131".into(),
            from: "AMM".into(),
            to: "BRU".into(),
            departs: format!("2027-03-{n:02}T09:40[Asia/Amman]")
                .parse()
                .expect("a departure"),
            arrives: format!("2027-03-{n:02}T12:55[Europe/Brussels]")
                .parse()
                .expect("an arrival"),
        }],
    }
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

/// A caseworker's weeks on a case, `edits` edits long: status changes across the
/// tasks (most of them), notes, due dates, housing, a flight and the arrival meeting.
/// Leaves the talent's own task alone.
pub(crate) fn history(store: &Store, case: &CaseId, edits: usize) {
    const CYCLE: [TaskStatus; 3] = [TaskStatus::InProgress, TaskStatus::Done, TaskStatus::Todo];
    let tasks: Vec<String> = live_tasks(&store.journey(case).expect("the journey reads"))
        .into_iter()
        .filter(|t| t != TOGGLE_TASK)
        .collect();
    for i in 0..edits {
        let task = tasks[(i * 7) % tasks.len()].clone();
        let edit = match i {
            40 => Edit::SetHousing {
                housing: Housing {
                    address: "Sint-Jorisstraat 12, 8000 Brugge".into(),
                    city: "Brugge".into(),
                    from: Some(date("2027-03-28")),
                    until: Some(date("2027-06-27")),
                },
            },
            80 => Edit::AddFlight { booking: flight(28) },
            120 => Edit::SetArrivalMeeting {
                meeting: ArrivalMeeting {
                    name: "Joris Peeters".into(),
                    organisation: "AZ Sint-Jan HR".into(),
                    phone: "+32 50 45 21 11".into(),
                    place: "Brussels Airport, arrivals hall".into(),
                },
            },
            _ if i % 10 == 3 => Edit::SetTaskNotes {
                task,
                notes: format!(
                    "Call {}: spoke with the embassy, legalised diploma copy still missing.",
                    i / 10
                ),
            },
            _ if i % 25 == 7 => Edit::SetTaskDue {
                task,
                due: Some(date("2026-11-02") + chrono::Days::new((i % 90) as u64)),
            },
            _ => Edit::SetTaskStatus {
                task,
                status: CYCLE[(i / 7) % CYCLE.len()],
            },
        };
        store
            .apply(case, &edit)
            .unwrap_or_else(|e| panic!("edit {i} ({}) failed: {e}", edit.name()));
    }
}
