//! The exported `Store`, called from Rust the way the generated code calls it.

use std::sync::{Arc, Mutex};

use passage_ffi::{
    Appointment, Edit, FlightBooking, FlightSegment, Housing, KeyProvider, Locale, NewJourney, PassageError,
    Role, Store, StoreObserver, SyncStatus, TaskStatus,
};

#[derive(Debug)]
struct Key(u8);

impl KeyProvider for Key {
    fn store_key(&self, _path: String) -> Result<Vec<u8>, PassageError> {
        Ok(vec![self.0; 32])
    }
}

fn open(path: &std::path::Path, role: Role) -> Result<Arc<Store>, PassageError> {
    Store::open(
        path.display().to_string(),
        role,
        "Amira Khoury".into(),
        Arc::new(Key(7)),
    )
}

/// The tests of this file run one at a time: the memory test reads the process's
/// resident size, which the other tests' allocations on parallel threads would move.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

/// A caseworker's store at `case.db` in `dir`, holding one new Belgian journey.
fn belgian_case(dir: &tempfile::TempDir) -> (Arc<Store>, String) {
    let store = open(&dir.path().join("case.db"), Role::Caseworker).expect("open");
    let case = store
        .create_journey(NewJourney {
            template: "be".into(),
            version: None,
            talent_name: "Rana Haddad".into(),
            employer: "AZ Sint-Jan Brugge".into(),
            job_title: "Registered nurse".into(),
            start_date: "2027-01-11".into(),
        })
        .expect("journey");
    (store, case)
}

fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("proc");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[test]
fn opening_and_closing_many_stores_returns_their_memory() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("case.db");
    drop(belgian_case(&dir));
    for _ in 0..500 {
        drop(open(&path, Role::Caseworker).expect("open"));
    }
    let before = resident_kib();
    for _ in 0..10_000 {
        drop(open(&path, Role::Caseworker).expect("open"));
    }
    let grown = resident_kib().saturating_sub(before);
    eprintln!("10,000 opens and closes from Rust: resident memory grew by {grown} KiB");
    assert!(grown < 8 * 1024, "grew by {grown} KiB");
}

/// One bad value per row: the edit, and the field its `InvalidInput` must name.
fn check_refused(store: &Store, case: &str, rows: Vec<(Edit, &str)>) {
    for (edit, field) in rows {
        let shown = format!("{edit:?}");
        match store.apply(case.to_owned(), edit) {
            Err(PassageError::InvalidInput { reason }) => {
                assert!(reason.contains(field), "{shown}: {reason} does not name {field}")
            }
            other => panic!("{shown}: expected InvalidInput, got {other:?}"),
        }
    }
}

#[test]
fn text_dates_and_times_are_checked_at_the_boundary() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("dir");
    let (store, case) = belgian_case(&dir);
    let segment = |departs: &str| FlightSegment {
        carrier: "RJ".into(),
        flight_number: "131".into(),
        from: "AMM".into(),
        to: "BRU".into(),
        departs: departs.into(),
        arrives: "2027-03-28T09:40:00+02:00[Europe/Brussels]".into(),
    };
    check_refused(
        &store,
        &case,
        vec![
            (
                Edit::SetTaskDue {
                    task: "complete_talent_profile".into(),
                    due: Some("2027-02-30".into()),
                },
                "due",
            ),
            (
                Edit::SchedulePdo {
                    days: vec!["2027-02-01".into(), "2027-02-02".into()],
                },
                "days",
            ),
            (
                Edit::SetHousing {
                    housing: Housing {
                        address: "Langestraat 1".into(),
                        city: "Brugge".into(),
                        from: Some("1 March".into()),
                        until: None,
                    },
                },
                "housing.from",
            ),
            (
                Edit::AddFlight {
                    booking: FlightBooking {
                        booking_reference: "RJ7QX2".into(),
                        travellers: vec!["Rana Haddad".into()],
                        segments: vec![segment("2027-03-28 06:00")],
                    },
                },
                "departs",
            ),
            (
                Edit::AddAppointment {
                    appointment: Appointment {
                        clinic: "Clinic".into(),
                        // Skipped by the clock change in Brussels that night.
                        at: "2027-03-28T02:30:00[Europe/Brussels]".into(),
                        purpose: "x-ray".into(),
                    },
                },
                "at",
            ),
        ],
    );
    let journey = store.journey(case, Locale::En).expect("journey");
    assert!(
        journey.travel.flights.is_empty(),
        "nothing of a refused edit is kept"
    );
    assert_eq!(journey.travel.housing, Housing::default());
}

#[test]
fn the_journey_view_is_in_pathway_order_and_in_the_requested_language() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("dir");
    let (store, case) = belgian_case(&dir);
    let en = store.journey(case.clone(), Locale::En).expect("en");
    let fr = store.journey(case.clone(), Locale::Fr).expect("fr");
    let ar = store.journey(case, Locale::Ar).expect("ar");
    assert_eq!(
        en.stages.first().map(|s| s.id),
        Some(passage_ffi::StageId::Matching)
    );
    assert_eq!(
        en.stages.last().map(|s| s.id),
        Some(passage_ffi::StageId::FollowUp)
    );
    assert_eq!(en.stages.len(), fr.stages.len());
    assert_ne!(en.stages[0].title, fr.stages[0].title);
    assert!(ar.right_to_left && !en.right_to_left);
    assert!(
        ar.stages[0].tasks[0]
            .title
            .chars()
            .any(|c| ('\u{0600}'..='\u{06FF}').contains(&c))
    );
    assert_eq!(
        en.tasks_total as usize,
        en.stages
            .iter()
            .flat_map(|s| &s.tasks)
            .filter(|t| !t.retired)
            .count()
    );
    assert_eq!(
        en.pdo.days.iter().map(|d| d.day).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
}

#[derive(Default)]
struct Recorder {
    cases: Mutex<Vec<Vec<String>>>,
}

impl StoreObserver for Recorder {
    fn cases_changed(&self, case_ids: Vec<String>) -> Result<(), PassageError> {
        self.cases.lock().expect("lock").push(case_ids);
        Ok(())
    }

    fn sync_status_changed(&self, _status: SyncStatus) -> Result<(), PassageError> {
        Ok(())
    }
}

#[test]
fn observers_hear_of_edits_until_their_subscription_is_cancelled() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("dir");
    let (store, case) = belgian_case(&dir);
    let recorder = Arc::new(Recorder::default());
    let subscription = store.observe(recorder.clone());
    let toggle = |status| Edit::SetTaskStatus {
        task: "complete_talent_profile".into(),
        status,
    };
    store.apply(case.clone(), toggle(TaskStatus::Done)).expect("edit");
    assert_eq!(*recorder.cases.lock().expect("lock"), vec![vec![case.clone()]]);
    subscription.cancel();
    store.apply(case.clone(), toggle(TaskStatus::Todo)).expect("edit");
    assert_eq!(recorder.cases.lock().expect("lock").len(), 1, "cancelled");
    // Dropping a subscription cancels it too.
    let again = store.observe(recorder.clone());
    drop(again);
    store.apply(case, toggle(TaskStatus::Done)).expect("edit");
    assert_eq!(recorder.cases.lock().expect("lock").len(), 1, "dropped");
}
