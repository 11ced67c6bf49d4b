//! A store at rest: what a lost or seized phone's files give away. Every chunk and
//! secret is sealed under a per-document key wrapped by the host's key; the files are
//! searched byte by byte for what the test wrote.

use std::path::{Path, PathBuf};

use passage_core::sync::SyncServer;
use passage_core::{DocKind, Edit, Error, ErrorKind, Role, SecretKey, Store, StoreId};
use sha2::{Digest as _, Sha256};

use crate::support::{self, Dir};

const CLINIC: &str = "IOM Migration Health Assessment Centre, Amman";
const PURPOSE: &str = "Pre-departure tuberculosis screening";
const TOKEN: &str = "device-token-4c1f0e8a-the-bearer-secret";

/// The store's files as SQLite leaves them: the database, its WAL and shared memory,
/// and a rollback journal if there is one.
fn store_files(db: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| PathBuf::from(format!("{}{suffix}", db.display())))
        .filter(|p| p.exists())
        .collect()
}

/// The files (of `store_files`) that contain `needle`, byte for byte.
fn files_with(db: &Path, needle: &[u8]) -> Vec<String> {
    store_files(db)
        .into_iter()
        .filter(|file| {
            let bytes = std::fs::read(file).expect("a store file");
            bytes.windows(needle.len()).any(|w| w == needle)
        })
        .map(|file| file.display().to_string())
        .collect()
}

fn assert_nothing_plain(db: &Path, secrets: &[&str]) {
    for secret in secrets {
        let found = files_with(db, secret.as_bytes());
        assert!(found.is_empty(), "{secret:?} is in {found:?}");
    }
}

fn with_key(key: &SecretKey) -> impl Fn(&StoreId) -> passage_core::Result<SecretKey> + '_ {
    move |_| Ok(key.clone())
}

fn open(path: &Path, key: &SecretKey) -> passage_core::Result<Store> {
    Store::open_with_key(
        path,
        support::identity(Role::Caseworker),
        support::options(),
        &with_key(key),
    )
}

/// A caseworker's store with a case, an appointment, a token and an enrolment proof
/// in progress: everything a lost phone could give away.
fn fill(store: &Store) -> passage_core::CaseId {
    let case = store
        .create_journey(&support::new_journey("be"))
        .expect("journey");
    let mut appointment = support::appointment();
    appointment.clinic = CLINIC.into();
    appointment.purpose = PURPOSE.into();
    store
        .apply(&case, &Edit::AddAppointment { appointment })
        .expect("appointment");
    // Enough edits to fold into a snapshot, so that deleted rows leave free pages.
    for i in 0..80 {
        store
            .apply(
                &case,
                &Edit::SetTaskNotes {
                    task: "attend_medical_exam".into(),
                    notes: format!("{PURPOSE} booked, call {i}"),
                },
            )
            .expect("notes");
    }
    store
        .set_sync_server(&SyncServer {
            url: "https://sync.example.org".into(),
            token: TOKEN.into(),
            role: Some(Role::Caseworker),
            expires_at: None,
            person: None,
        })
        .expect("token");
    case
}

#[test]
fn a_sealed_stores_files_hold_no_medical_text_and_no_token() {
    let dir = Dir::new();
    let path = dir.path("sealed.db");
    let bytes: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11));
    let key = SecretKey::from_bytes(&bytes).expect("key");
    let store = open(&path, &key).expect("opens");
    let case = fill(&store);
    let proof = store.enrolment_proof("K7QF-M2XD-9TRA").expect("a proof");
    // Open: the WAL holds the latest pages.
    assert_nothing_plain(&path, &[CLINIC, PURPOSE, TOKEN, &proof]);
    assert!(
        files_with(&path, &bytes).is_empty(),
        "the key itself is never written"
    );
    drop(store);
    // Closed: all in the database file.
    assert_nothing_plain(&path, &[CLINIC, PURPOSE, TOKEN, &proof]);
    // And everything reads back with the key.
    let store = open(&path, &key).expect("reopens");
    assert_eq!(first_clinic(&store, &case), CLINIC);
    assert_eq!(
        store.sync_server().expect("server").expect("enrolled").token,
        TOKEN
    );
    assert_eq!(store.enrolment_proof("K7QF-M2XD-9TRA").expect("proof"), proof);
}

#[test]
fn a_wrong_key_gets_the_typed_error_and_touches_nothing() {
    let dir = Dir::new();
    let path = dir.path("keyed.db");
    let key = SecretKey::from_bytes(&[0x5a; 32]).expect("key");
    let case = fill(&open(&path, &key).expect("opens"));
    let before = std::fs::read(&path).expect("file");

    let mut bytes = [0x5a; 32];
    bytes[31] ^= 1;
    let other = SecretKey::from_bytes(&bytes).expect("key");
    let e = open(&path, &other).expect_err("one bit off");
    assert!(matches!(e, Error::WrongKey), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::WrongKey);
    let e = Store::open(&path, support::identity(Role::Caseworker)).expect_err("no key");
    assert!(matches!(e, Error::KeyRequired), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::WrongKey);
    for short in [&[0u8; 0][..], &[0u8; 16][..], &[0u8; 33][..]] {
        assert_eq!(
            SecretKey::from_bytes(short).expect_err("length").kind(),
            ErrorKind::InvalidInput
        );
    }
    assert_eq!(
        std::fs::read(&path).expect("file"),
        before,
        "refused keys wrote nothing"
    );
    let store = open(&path, &key).expect("the right key still opens");
    assert_eq!(store.medical(&case).expect("medical").appointments.len(), 1);
}

#[test]
fn rekeying_keeps_the_data_and_retires_the_old_key() {
    let dir = Dir::new();
    let path = dir.path("rekey.db");
    let old = SecretKey::generate().expect("key");
    let new = SecretKey::generate().expect("key");
    let store = open(&path, &old).expect("opens");
    let case = fill(&store);
    let chunks_before = chunk_bytes(&path);
    store.rekey(&new).expect("re-keyed");
    // Still usable at once, and no chunk was rewritten.
    store
        .apply(
            &case,
            &Edit::SetTaskNotes {
                task: "attend_medical_exam".into(),
                notes: "after the new key".into(),
            },
        )
        .expect("an edit after re-keying");
    drop(store);
    let chunks_after = chunk_bytes(&path);
    assert!(chunks_before.iter().all(|c| chunks_after.contains(c)));
    assert!(matches!(open(&path, &old), Err(Error::WrongKey)));
    let store = open(&path, &new).expect("the new key opens");
    assert_eq!(first_clinic(&store, &case), CLINIC);
    assert_eq!(
        store.sync_server().expect("server").expect("enrolled").token,
        TOKEN
    );
}

fn chunk_bytes(path: &Path) -> Vec<Vec<u8>> {
    let conn = rusqlite::Connection::open(path).expect("raw");
    let mut stmt = conn.prepare("SELECT bytes FROM chunks").expect("chunks");
    stmt.query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<rusqlite::Result<_>>()
        .expect("bytes")
}

/// Two handles on one file (the app and its background sync, say) and one re-keys:
/// the other can no longer wrap a key under the retired one, nor read with it, and
/// says so with the typed error; nothing it tried is left behind.
#[test]
fn a_handle_left_on_the_retired_key_stops_with_the_typed_error() {
    let dir = Dir::new();
    let path = dir.path("two.db");
    let old = SecretKey::generate().expect("key");
    let new = SecretKey::generate().expect("key");
    let app = open(&path, &old).expect("opens");
    let case = fill(&app);
    drop(app);
    let app = open(&path, &old).expect("opens");
    let worker = open(&path, &old).expect("opens again");
    worker.rekey(&new).expect("re-keyed");
    assert!(matches!(
        app.create_journey(&support::new_journey("be")),
        Err(Error::WrongKey)
    ));
    assert!(matches!(app.medical(&case), Err(Error::WrongKey)));
    drop((app, worker));
    let store = open(&path, &new).expect("the new key opens");
    assert_eq!(store.cases().expect("cases").len(), 1);
    assert_eq!(first_clinic(&store, &case), CLINIC);
}

/// Whoever can write the file but lacks the key cannot plant a secret: a plain pin
/// (their own server's key) or token in a sealed store is refused, not believed.
#[test]
fn a_secret_planted_unsealed_in_a_sealed_store_is_refused() {
    let dir = Dir::new();
    let path = dir.path("planted.db");
    let key = SecretKey::generate().expect("key");
    let pin: passage_core::sync::SpkiPin = format!("sha256/{}", "A".repeat(43) + "=").parse().expect("a pin");
    let store = open(&path, &key).expect("opens");
    fill(&store);
    store.set_pins(&[pin]).expect("pins");
    assert_eq!(store.pins().expect("pins"), vec![pin]);
    drop(store);
    let planted = format!("sha256/{}", "B".repeat(43) + "=");
    for (name, value) in [("pins", planted.as_str()), ("token", "the attacker's token")] {
        let conn = rusqlite::Connection::open(&path).expect("the file");
        conn.execute(
            "UPDATE sync_meta SET value = ?2 WHERE key = ?1",
            rusqlite::params![name, value],
        )
        .expect("planted");
        drop(conn);
        let store = open(&path, &key).expect("opens");
        let read = if name == "pins" {
            store.pins().map(drop)
        } else {
            store.sync_server().map(drop)
        };
        let e = read.expect_err("a planted secret");
        assert!(e.to_string().contains("unsealed"), "{name}: {e}");
    }
}

#[test]
fn a_plain_store_is_sealed_on_its_first_open_with_a_key() {
    let dir = Dir::new();
    let path = dir.path("plain.db");
    let plain = support::open_plain(&path, Role::Caseworker);
    let case = fill(&plain);
    let proof = plain.enrolment_proof("K7QF-M2XD-9TRA").expect("a proof");
    let journey = plain.journey(&case).expect("journey");
    let id = plain.store_id().expect("an id");
    drop(plain);
    // Plain indeed: the test would see what it looks for.
    assert!(!files_with(&path, CLINIC.as_bytes()).is_empty());
    assert!(!files_with(&path, TOKEN.as_bytes()).is_empty());

    let key = SecretKey::generate().expect("key");
    let asked = std::cell::RefCell::new(Vec::new());
    let keys = |store: &StoreId| {
        asked.borrow_mut().push(store.clone());
        Ok(key.clone())
    };
    let store = Store::open_with_key(
        &path,
        support::identity(Role::Caseworker),
        support::options(),
        &keys,
    )
    .expect("sealed on open");
    assert_eq!(
        *asked.borrow(),
        vec![id],
        "the key is asked for with the store's id"
    );
    assert!(store.is_sealed());
    assert_eq!(store.journey(&case).expect("journey"), journey);
    assert_eq!(first_clinic(&store, &case), CLINIC);
    assert_eq!(
        store.sync_server().expect("server").expect("enrolled").token,
        TOKEN
    );
    assert_eq!(store.enrolment_proof("K7QF-M2XD-9TRA").expect("proof"), proof);
    assert_nothing_plain(&path, &[CLINIC, PURPOSE, TOKEN, &proof]);
    drop(store);
    assert_nothing_plain(&path, &[CLINIC, PURPOSE, TOKEN, &proof]);
    assert!(matches!(
        Store::open(&path, support::identity(Role::Caseworker)),
        Err(Error::KeyRequired)
    ));
}

#[test]
fn a_store_keyed_before_sealing_existed_is_sealed_with_that_key_only() {
    // Schema 3 recorded a hash of the first key and sealed nothing.
    let dir = Dir::new();
    let path = dir.path("v3.db");
    let bytes = [0xc3; 32];
    let key = SecretKey::from_bytes(&bytes).expect("key");
    let case = fill(&support::open_plain(&path, Role::Caseworker));
    let hash = Sha256::new()
        .chain_update(b"passage store key canary v1\0")
        .chain_update(bytes)
        .finalize();
    rusqlite::Connection::open(&path)
        .expect("raw")
        .execute(
            "INSERT INTO store_meta (key, value) VALUES ('key_canary', ?1)",
            [hash.as_slice()],
        )
        .expect("the old canary");
    let other = SecretKey::generate().expect("key");
    assert!(matches!(open(&path, &other), Err(Error::WrongKey)));
    assert!(
        !files_with(&path, CLINIC.as_bytes()).is_empty(),
        "untouched by the wrong key"
    );
    let store = open(&path, &key).expect("the recorded key seals it");
    assert_eq!(first_clinic(&store, &case), CLINIC);
    drop(store);
    assert_nothing_plain(&path, &[CLINIC, TOKEN]);
}

#[test]
fn the_store_id_stays_when_the_file_moves() {
    let dir = Dir::new();
    let key = SecretKey::generate().expect("key");
    let first = dir.path("Containers/A/passage.db");
    std::fs::create_dir_all(first.parent().expect("dir")).expect("dir");
    let store = open(&first, &key).expect("opens");
    let id = store.store_id().expect("id");
    assert_eq!(id.as_str().len(), 32);
    drop(store);
    let moved = dir.path("moved.db");
    std::fs::rename(&first, &moved).expect("moved");
    let asked = std::cell::RefCell::new(None);
    let keys = |store: &StoreId| {
        *asked.borrow_mut() = Some(store.clone());
        Ok(key.clone())
    };
    Store::open_with_key(
        &moved,
        support::identity(Role::Caseworker),
        support::options(),
        &keys,
    )
    .expect("opens where it is now");
    assert_eq!(asked.into_inner(), Some(id));
    // Another store has another id.
    let other = open(&dir.path("other.db"), &key).expect("opens");
    assert_ne!(other.store_id().expect("id"), asked_id(&moved, &key));
}

fn asked_id(path: &Path, key: &SecretKey) -> StoreId {
    open(path, key).expect("opens").store_id().expect("id")
}

#[test]
fn a_sealed_chunk_moved_to_another_document_does_not_open_there() {
    let dir = Dir::new();
    let path = dir.path("moved-chunk.db");
    let key = SecretKey::generate().expect("key");
    let store = open(&path, &key).expect("opens");
    let case = fill(&store);
    store.compact(&case.doc(DocKind::Medical)).expect("compacted");
    store.compact(&case.doc(DocKind::Journey)).expect("compacted");
    drop(store);
    // Someone with the file swaps the journey's snapshot for the medical record's.
    let conn = rusqlite::Connection::open(&path).expect("raw");
    let medical: Vec<u8> = conn
        .query_row(
            "SELECT bytes FROM chunks WHERE doc_id = ?1 AND kind = 1",
            [case.doc(DocKind::Medical).to_string()],
            |r| r.get(0),
        )
        .expect("the medical snapshot");
    conn.execute(
        "UPDATE chunks SET bytes = ?2 WHERE doc_id = ?1 AND kind = 1",
        rusqlite::params![case.doc(DocKind::Journey).to_string(), medical],
    )
    .expect("swapped");
    drop(conn);
    let store = open(&path, &key).expect("opens");
    match store.journey(&case) {
        Err(Error::CorruptDocument { doc, .. }) => assert_eq!(doc, case.doc(DocKind::Journey)),
        other => panic!("{other:?}"),
    }
    assert_eq!(store.medical(&case).expect("medical").appointments.len(), 1);
}

fn first_clinic(store: &Store, case: &passage_core::CaseId) -> String {
    let medical = store.medical(case).expect("medical");
    medical
        .appointments
        .values()
        .next()
        .expect("an appointment")
        .clinic
        .clone()
}
