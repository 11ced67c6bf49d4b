//! The device's side of trust, sans-I/O: a new Automerge actor after each delivered
//! batch, vouchers from the server in the history, and erasure that destroys the key at
//! once and tells the server at the next sync.

use automerge::Change;
use passage_core::crypt::{self, SecretKey};
use passage_core::history::Trust;
use passage_core::sync::wire::{Author, Pull, SyncResponse, SyncStatus};
use passage_core::{CaseId, DocId, DocKind, Edit, ErrorKind, Role, Store};

use crate::support::{self, Dir};

fn toggle(store: &Store, case: &CaseId, notes: &str) {
    store
        .apply(
            case,
            &Edit::SetTaskNotes {
                task: "confirm_match".into(),
                notes: notes.into(),
            },
        )
        .expect("an edit");
}

fn actor_of(change: &[u8]) -> Vec<u8> {
    Change::try_from(change)
        .expect("a change")
        .actor_id()
        .to_bytes()
        .to_vec()
}

/// The answer of a server that took every push and has nothing new.
fn accepted(request: &passage_core::sync::wire::SyncRequest) -> SyncResponse {
    SyncResponse {
        status: SyncStatus::Complete,
        docs: request
            .pushes
            .iter()
            .map(|p| Pull {
                doc: p.doc.clone(),
                heads: vec![],
                changes: vec![],
                missing: vec![],
                authors: vec![],
            })
            .collect(),
        erased: vec![],
    }
}

#[test]
fn each_delivered_batch_ends_its_actor() {
    let dir = Dir::new();
    let (store, case) = support::belgian_case(&dir, "actors.db");
    let journey = case.doc(DocKind::Journey);
    let heads = store.heads(&journey).expect("heads");
    toggle(&store, &case, "one");
    toggle(&store, &case, "two");
    let batch = store.changes_since(&journey, &heads).expect("changes");
    assert_eq!(actor_of(&batch[0]), actor_of(&batch[1]), "one actor per batch");
    let request = store.sync_request(false, &[]).expect("a request");
    store.sync_apply(&request, &accepted(&request)).expect("applied");
    let heads = store.heads(&journey).expect("heads");
    toggle(&store, &case, "three");
    let next = store.changes_since(&journey, &heads).expect("changes");
    assert_ne!(
        actor_of(&next[0]),
        actor_of(&batch[0]),
        "a new actor after delivery"
    );
    // Its own delivered changes are vouched for; the new one is not yet.
    let history = store.history(&case).expect("history");
    let trust = |target_notes: usize| history[history.len() - target_notes].trust;
    assert_eq!(trust(1), Trust::Unvouched);
    assert_eq!(trust(2), Trust::Vouched);
    assert!(history[history.len() - 2].vouched.as_ref().is_some_and(|v| v.own));
}

#[test]
fn the_servers_word_is_shown_beside_what_a_change_claims() {
    let dir = Dir::new();
    let (caseworker, case) = support::belgian_case(&dir, "caseworker.db");
    let journey = case.doc(DocKind::Journey);
    let talent = support::open(&dir.path("talent.db"), Role::Talent);
    support::exchange(&caseworker, &talent, &case);
    let heads = talent.heads(&journey).expect("heads");
    toggle(&talent, &case, "from the talent");
    let changes = talent.changes_since(&journey, &heads).expect("changes");
    let hash = Change::try_from(changes[0].as_slice()).expect("a change").hash();
    // The server vouches it came from someone else than the note says: the caseworker.
    let request = caseworker.sync_request(false, &[]).expect("a request");
    let response = SyncResponse {
        status: SyncStatus::Complete,
        docs: vec![Pull {
            doc: journey,
            heads: vec![hash],
            changes,
            missing: vec![],
            authors: vec![Some(Author {
                role: Some(Role::Caseworker),
                name: "Youssef Nasser".into(),
                received_at: 1_800_000_000,
            })],
        }],
        erased: vec![],
    };
    caseworker.sync_apply(&request, &response).expect("applied");
    let history = caseworker.history(&case).expect("history");
    let entry = history
        .iter()
        .find(|e| e.change == hash.to_string())
        .expect("the entry");
    assert_eq!(
        (entry.by.as_str(), entry.role),
        ("Rana Haddad", Some(Role::Talent)),
        "the claim"
    );
    assert_eq!(entry.trust, Trust::Disputed);
    assert_eq!(
        entry.vouched.as_ref().map(|v| v.name.as_str()),
        Some("Youssef Nasser")
    );
}

/// Whether any data key the store holds now opens one of `rows` as a chunk of `doc`.
fn any_key_opens(path: &std::path::Path, key: &SecretKey, doc: &DocId, rows: &[(Vec<u8>, Vec<u8>)]) -> bool {
    let conn = rusqlite::Connection::open(path).expect("raw");
    let mut stmt = conn
        .prepare("SELECT doc_id, wrapped FROM doc_keys")
        .expect("keys");
    let keys: Vec<(String, Vec<u8>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    keys.iter()
        .filter_map(|(id, wrapped)| SecretKey::unwrap(wrapped, key, &crypt::doc_key_aad(id)))
        .any(|data| {
            rows.iter().any(|(hash, sealed)| {
                data.open(sealed, &crypt::chunk_aad(&doc.to_string(), hash))
                    .is_some()
            })
        })
}

fn sealed_rows(path: &std::path::Path, doc: &DocId) -> Vec<(Vec<u8>, Vec<u8>)> {
    let conn = rusqlite::Connection::open(path).expect("raw");
    let mut stmt = conn
        .prepare("SELECT hash, bytes FROM chunks WHERE doc_id = ?1")
        .expect("chunks");
    stmt.query_map([doc.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<rusqlite::Result<_>>()
        .expect("rows")
}

#[test]
fn an_erasure_destroys_the_key_at_once_and_tells_the_server_next() {
    let dir = Dir::new();
    let path = dir.path("erase.db");
    let (store, case) = support::belgian_case(&dir, "erase.db");
    let medical = case.doc(DocKind::Medical);
    store
        .apply(
            &case,
            &Edit::AddAppointment {
                appointment: support::appointment(),
            },
        )
        .expect("an appointment");
    let all = store.changes_since(&medical, &[]).expect("changes");
    let rows = sealed_rows(&path, &medical);
    assert!(
        any_key_opens(&path, &support::key(), &medical, &rows),
        "opens before"
    );
    let talent = support::open(&dir.path("talent.db"), Role::Talent);
    assert_eq!(
        talent.erase_medical(&case).expect_err("talents may not").kind(),
        ErrorKind::NotAllowed
    );

    store.erase_medical(&case).expect("erased");
    let e = store.medical(&case).expect_err("gone");
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("erased"), "{e}");
    assert!(sealed_rows(&path, &medical).is_empty());
    assert!(
        !any_key_opens(&path, &support::key(), &medical, &rows),
        "no key left opens the old chunks"
    );
    assert!(
        store
            .history(&case)
            .expect("history")
            .iter()
            .all(|e| e.doc != DocKind::Medical)
    );

    // The next request asks the server to erase it; nothing of it is pushed.
    let request = store.sync_request(false, &[]).expect("a request");
    assert_eq!(request.erase, vec![medical.clone()]);
    assert!(request.pushes.iter().all(|p| p.doc != medical));
    // An answer that still carries the document (the server has not heard yet) does
    // not bring it back.
    let stale = SyncResponse {
        status: SyncStatus::Complete,
        docs: vec![Pull {
            doc: medical.clone(),
            heads: vec![
                Change::try_from(all[all.len() - 1].as_slice())
                    .expect("a change")
                    .hash(),
            ],
            changes: all,
            missing: vec![],
            authors: vec![],
        }],
        erased: vec![],
    };
    store.sync_apply(&request, &stale).expect("applied");
    assert_eq!(
        store.medical(&case).expect_err("still gone").kind(),
        ErrorKind::NotFound
    );
    assert!(sealed_rows(&path, &medical).is_empty());
    // The server confirms: it is not asked again.
    let confirmed = SyncResponse {
        status: SyncStatus::Complete,
        docs: vec![],
        erased: vec![medical.clone()],
    };
    store.sync_apply(&request, &confirmed).expect("applied");
    let next = store.sync_request(false, &[]).expect("a request");
    assert!(next.erase.is_empty());
    assert!(next.pushes.iter().all(|p| p.doc != medical));
    assert!(next.full.iter().flatten().all(|d| d.doc != medical));
    store.journey(&case).expect("the journey stays");
}
