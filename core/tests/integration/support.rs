//! Shared helpers: stores in temporary directories, a controllable clock, and a
//! Belgian journey with realistic data.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, NaiveDate, Utc};
use passage_core::doc::journey::{
    ArrivalMeeting, FamilyMember, FlightBooking, FlightSegment, Housing, NewJourney,
};
use passage_core::doc::medical::Appointment;
use passage_core::model::{FamilyTravel, Relation};
use passage_core::time::Clock;
use passage_core::{CaseId, Identity, Role, SecretKey, Store, StoreId, StoreOptions};
use tempfile::TempDir;

/// A clock that starts at a fixed instant and moves one minute per reading, so history
/// entries are ordered and tests are repeatable.
#[derive(Debug)]
pub struct SteppingClock(AtomicI64);

impl SteppingClock {
    pub fn new() -> Arc<Self> {
        Arc::new(SteppingClock(AtomicI64::new(start().timestamp())))
    }
}

impl Clock for SteppingClock {
    fn now(&self) -> DateTime<Utc> {
        let secs = self.0.fetch_add(60, Ordering::SeqCst);
        DateTime::from_timestamp(secs, 0).expect("in range")
    }
}

pub fn start() -> DateTime<Utc> {
    "2026-11-02T08:00:00Z".parse().expect("valid instant")
}

pub fn date(s: &str) -> NaiveDate {
    s.parse().expect("valid date")
}

/// A directory that lives as long as the test, with store files in it.
pub struct Dir(pub TempDir);

impl Dir {
    pub fn new() -> Dir {
        Dir(tempfile::tempdir().expect("temp dir"))
    }

    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.0.path().join(name)
    }

    /// Opens `name` in this directory as `role`.
    pub fn open(&self, name: &str, role: Role) -> Store {
        open(&self.path(name), role)
    }
}

pub fn options() -> StoreOptions {
    StoreOptions {
        clock: SteppingClock::new(),
        ..StoreOptions::default()
    }
}

pub fn identity(role: Role) -> Identity {
    let name = match role {
        Role::Talent => "Rana Haddad",
        Role::Caseworker => "Amira Khoury",
        Role::Family => "Samir Haddad",
    };
    Identity::new(role, name)
}

/// The key of every sealed store in these tests.
pub fn key() -> SecretKey {
    SecretKey::from_bytes(&[0x5a; 32]).expect("a key")
}

/// Opens a store sealed under [`key`], as apps open theirs.
pub fn open(path: &std::path::Path, role: Role) -> Store {
    open_sealed(path, role, &key())
}

pub fn open_sealed(path: &std::path::Path, role: Role, key: &SecretKey) -> Store {
    Store::open_with_key(path, identity(role), options(), &|_: &StoreId| Ok(key.clone()))
        .expect("store opens")
}

/// Opens a plain store (no key), as tools and tests may.
pub fn open_plain(path: &std::path::Path, role: Role) -> Store {
    Store::open_with(path, identity(role), options()).expect("store opens")
}

pub fn new_journey(template: &str) -> NewJourney {
    NewJourney {
        template: template.into(),
        version: None,
        talent_name: "Rana Haddad".into(),
        employer: "AZ Sint-Jan Brugge".into(),
        job_title: "Registered nurse".into(),
        start_date: date("2026-11-02"),
    }
}

/// A caseworker's store with one Belgian journey.
pub fn belgian_case(dir: &Dir, name: &str) -> (Store, CaseId) {
    let store = dir.open(name, Role::Caseworker);
    let case = store.create_journey(&new_journey("be")).expect("journey created");
    (store, case)
}

pub fn flight() -> FlightBooking {
    FlightBooking {
        booking_reference: "X7K2QP".into(),
        travellers: vec!["Rana Haddad".into(), "Lina Haddad".into()],
        segments: vec![FlightSegment {
            carrier: "Royal Jordanian".into(),
            flight_number: "RJ131".into(),
            from: "AMM".into(),
            to: "BRU".into(),
            departs: "2027-03-28T09:40[Asia/Amman]".parse().expect("valid time"),
            arrives: "2027-03-28T12:55[Europe/Brussels]".parse().expect("valid time"),
        }],
    }
}

pub fn housing() -> Housing {
    Housing {
        address: "Sint-Jorisstraat 12, 8000 Brugge".into(),
        city: "Brugge".into(),
        from: Some(date("2027-03-28")),
        until: Some(date("2027-06-27")),
    }
}

pub fn meeting() -> ArrivalMeeting {
    ArrivalMeeting {
        name: "Joris Peeters".into(),
        organisation: "AZ Sint-Jan HR".into(),
        phone: "+32 50 45 21 11".into(),
        place: "Brussels Airport, arrivals hall, meeting point".into(),
    }
}

pub fn daughter() -> FamilyMember {
    FamilyMember {
        name: "Lina Haddad".into(),
        relation: Relation::Child,
        travel: FamilyTravel::WithTalent,
    }
}

pub fn appointment() -> Appointment {
    Appointment {
        clinic: "IOM Migration Health Assessment Centre, Amman".into(),
        at: "2027-01-12T10:30[Asia/Amman]".parse().expect("valid time"),
        purpose: "Pre-departure health assessment".into(),
    }
}

/// Brings two stores up to date with each other for one case, the way the sync
/// exchange will: each sends the changes the other's heads do not cover.
pub fn exchange(a: &Store, b: &Store, case: &CaseId) {
    push(a, b, case);
    push(b, a, case);
}

/// Sends `to` the changes of the case that `from` has and `to` lacks. A store that does
/// not hold the case yet gets everything.
pub fn push(from: &Store, to: &Store, case: &CaseId) {
    for kind in [passage_core::DocKind::Journey, passage_core::DocKind::Medical] {
        let doc = case.doc(kind);
        let their_heads = match to.heads(&doc) {
            Ok(heads) => heads,
            Err(passage_core::Error::NotFound(_)) => vec![],
            Err(e) => panic!("heads of {doc}: {e}"),
        };
        let changes = from.changes_since(&doc, &their_heads).expect("changes");
        to.receive_changes(&doc, &changes).expect("receive");
    }
}
