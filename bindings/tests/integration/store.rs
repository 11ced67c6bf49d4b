//! The exported `Store`, called from Rust the way the generated code calls it.

use std::sync::Arc;

use passage_ffi::{KeyProvider, NewJourney, PassageError, Role, Store};

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
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("many.db");
    let store = open(&path, Role::Caseworker).expect("open");
    store
        .create_journey(NewJourney {
            template: "be".into(),
            version: None,
            talent_name: "Rana Haddad".into(),
            employer: "AZ Sint-Jan Brugge".into(),
            job_title: "Registered nurse".into(),
            start_date: "2027-01-11".into(),
        })
        .expect("journey");
    drop(store);
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
