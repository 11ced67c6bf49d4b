//! The store on disk: compaction, corruption, quotas, untrusted input, threads.

use std::path::Path;

use passage_core::model::TaskStatus;
use passage_core::{
    CaseId, CompactionPolicy, DocKind, Edit, Error, ErrorKind, MAX_CHUNK_BYTES, Role, Store, StoreOptions,
};

use crate::support::{self, Dir, daughter};

fn toggle(store: &Store, case: &CaseId, i: usize) {
    let status = if i.is_multiple_of(2) {
        TaskStatus::Done
    } else {
        TaskStatus::Todo
    };
    store
        .apply(
            case,
            &Edit::SetTaskStatus {
                task: "attend_medical_exam".into(),
                status,
            },
        )
        .expect("toggle");
}

fn store_with(path: &Path, options: StoreOptions) -> Store {
    let key = support::key();
    Store::open_with_key(
        path,
        support::identity(Role::Caseworker),
        options,
        &|_: &passage_core::StoreId| Ok(key.clone()),
    )
    .expect("store")
}

#[test]
fn compaction_keeps_heads_and_content() {
    let dir = Dir::new();
    let path = dir.path("compact.db");
    let policy = CompactionPolicy {
        max_change_rows: 8,
        min_change_percent: 0,
    };
    let store = store_with(
        &path,
        StoreOptions {
            compaction: policy,
            ..support::options()
        },
    );
    let case = store
        .create_journey(&support::new_journey("be"))
        .expect("journey");
    let doc = case.doc(DocKind::Journey);
    for i in 0..50 {
        toggle(&store, &case, i);
    }
    let heads = store.heads(&doc).expect("heads");
    let journey = store.journey(&case).expect("journey");
    let stats = store.stats(Some(&doc)).expect("stats");
    assert_eq!(
        stats.snapshot_rows, 1,
        "automatic compaction left one snapshot: {stats:?}"
    );
    assert!(stats.change_rows < 8, "{stats:?}");

    store.compact(&doc).expect("compact now");
    let stats = store.stats(Some(&doc)).expect("stats");
    assert_eq!((stats.snapshot_rows, stats.change_rows), (1, 0), "{stats:?}");
    drop(store);

    let store = support::open(&path, Role::Caseworker);
    assert_eq!(store.heads(&doc).expect("heads after reopen"), heads);
    assert_eq!(store.journey(&case).expect("journey after reopen"), journey);
    assert_eq!(
        store.history(&case).expect("history").len(),
        2 + 50,
        "create x2 + 50 toggles"
    );
    // Compacting again is harmless, and so is a change arriving twice.
    store.compact(&doc).expect("compact again");
    let all = store.changes_since(&doc, &[]).expect("changes");
    assert_eq!(
        store.receive_changes(&doc, &all).expect("replay"),
        0,
        "nothing new"
    );
    assert_eq!(store.heads(&doc).expect("heads"), heads);
}

#[test]
fn after_reopening_one_edit_adds_only_its_own_bytes() {
    let dir = Dir::new();
    let path = dir.path("incremental.db");
    let (store, case) = {
        let store = support::open(&path, Role::Caseworker);
        let case = store
            .create_journey(&support::new_journey("be"))
            .expect("journey");
        for i in 0..20 {
            toggle(&store, &case, i);
        }
        store.compact(&case.doc(DocKind::Journey)).expect("compact");
        for i in 0..5 {
            toggle(&store, &case, i);
        }
        drop(store);
        (support::open(&path, Role::Caseworker), case)
    };
    let doc = case.doc(DocKind::Journey);
    let heads = store.heads(&doc).expect("heads");
    let before = store.stats(None).expect("stats");
    let wal = || {
        std::fs::metadata(dir.path("incremental.db-wal"))
            .map(|m| m.len())
            .unwrap_or(0)
    };
    let db_size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let (wal_before, db_before) = (wal(), db_size());

    store
        .apply(
            &case,
            &Edit::SetTaskNotes {
                task: "attend_medical_exam".into(),
                notes: "ok".into(),
            },
        )
        .expect("edit");

    let after = store.stats(None).expect("stats");
    let change = store.changes_since(&doc, &heads).expect("the new change");
    assert_eq!(change.len(), 1);
    assert_eq!(after.change_rows, before.change_rows + 1);
    assert_eq!(
        after.change_bytes - before.change_bytes,
        (change[0].len() + passage_core::SEAL_OVERHEAD) as u64,
        "{before:?} -> {after:?}"
    );
    assert_eq!(
        (after.snapshot_rows, after.snapshot_bytes),
        (before.snapshot_rows, before.snapshot_bytes)
    );
    assert!(
        change[0].len() < 300,
        "one small edit is one small change: {} bytes",
        change[0].len()
    );
    // On disk, SQLite writes whole pages to the WAL: a handful for one row, never a
    // re-encoded history (automerge/automerge#592).
    let grown = (wal() + db_size()).saturating_sub(wal_before + db_before);
    assert!(
        grown <= 4 * 4096 + 4 * 24,
        "the file grew by {grown} bytes for one edit"
    );
}

/// Ways a stored chunk can be damaged, and a check that each is reported.
#[test]
fn a_corrupt_chunk_is_reported_while_other_documents_open() {
    type Damage = fn(&mut Vec<u8>);
    let cases: [(&str, bool, Damage); 6] = [
        ("flipped byte in a change", false, |b| {
            let i = b.len() / 2;
            b[i] ^= 0x5a;
        }),
        ("truncated change", false, |b| b.truncate(b.len() / 2)),
        ("empty change", false, |b| b.clear()),
        ("garbage change", false, |b| {
            *b = b"this is not automerge".to_vec()
        }),
        ("flipped byte in a snapshot", true, |b| {
            let i = b.len() - 9;
            b[i] ^= 0x01;
        }),
        ("truncated snapshot", true, |b| b.truncate(40)),
    ];
    for (what, snapshot, damage) in cases {
        let dir = Dir::new();
        let path = dir.path("corrupt.db");
        let store = support::open(&path, Role::Caseworker);
        let victim = store
            .create_journey(&support::new_journey("be"))
            .expect("journey");
        let healthy = store
            .create_journey(&support::new_journey("fr"))
            .expect("journey");
        for i in 0..3 {
            toggle(&store, &victim, i);
        }
        if snapshot {
            store.compact(&victim.doc(DocKind::Journey)).expect("compact");
        }
        drop(store);

        let conn = rusqlite::Connection::open(&path).expect("raw sqlite");
        let kind = i64::from(snapshot);
        let (hash, mut bytes): (Vec<u8>, Vec<u8>) = conn
            .query_row(
                "SELECT hash, bytes FROM chunks WHERE doc_id = ?1 AND kind = ?2 ORDER BY rowid DESC LIMIT 1",
                rusqlite::params![victim.doc(DocKind::Journey).to_string(), kind],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("a chunk");
        damage(&mut bytes);
        conn.execute(
            "UPDATE chunks SET bytes = ?1 WHERE hash = ?2",
            rusqlite::params![bytes, hash],
        )
        .expect("damage");
        drop(conn);

        let store = support::open(&path, Role::Caseworker);
        match store.journey(&victim) {
            Err(Error::CorruptDocument { doc, .. }) => {
                assert_eq!(doc, victim.doc(DocKind::Journey), "{what}")
            }
            other => panic!("{what}: expected CorruptDocument, got {other:?}"),
        }
        let err = store
            .apply(&victim, &Edit::AllowSelfBooking { allowed: true })
            .expect_err(what);
        assert_eq!(
            err.kind(),
            ErrorKind::CorruptData,
            "{what}: edits to it are refused too"
        );
        assert!(
            err.to_string().contains(&victim.to_string()),
            "{what}: the error names the document: {err}"
        );
        store
            .journey(&healthy)
            .unwrap_or_else(|e| panic!("{what}: the other journey: {e}"));
        store
            .medical(&victim)
            .unwrap_or_else(|e| panic!("{what}: the victim's medical record: {e}"));
        toggle(&store, &healthy, 0);
    }
}

#[test]
fn untrusted_changes_are_refused_whole() {
    let dir = Dir::new();
    let (store, case) = support::belgian_case(&dir, "untrusted.db");
    let other_dir = Dir::new();
    let (other, other_case) = support::belgian_case(&other_dir, "other.db");
    let doc = case.doc(DocKind::Journey);
    let heads = store.heads(&doc).expect("heads");
    let stats = store.stats(None).expect("stats");

    // A good change followed by garbage: neither is kept.
    let good = other
        .changes_since(&other_case.doc(DocKind::Journey), &[])
        .expect("changes");
    let mut batch = good;
    batch.push(vec![0x85, 0x6f, 0x4a, 0x83, 1, 2, 3]);
    let err = store.receive_changes(&doc, &batch).expect_err("garbage");
    assert_eq!(err.kind(), ErrorKind::CorruptData, "{err}");

    // A change whose dependencies this store does not have.
    let other_doc = other_case.doc(DocKind::Journey);
    let before = other.heads(&other_doc).expect("heads");
    toggle(&other, &other_case, 0);
    let last = other.changes_since(&other_doc, &before).expect("the toggle");
    assert_eq!(last.len(), 1);
    let last = last[0].clone();
    let err = store.receive_changes(&doc, &[last]).expect_err("missing deps");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");

    // Oversized.
    let huge = vec![0u8; MAX_CHUNK_BYTES + 1];
    let err = store.receive_changes(&doc, &[huge]).expect_err("too big");
    assert!(err.to_string().contains("limit"), "{err}");

    assert_eq!(store.heads(&doc).expect("heads"), heads);
    assert_eq!(store.stats(None).expect("stats"), stats, "nothing was stored");
    store.journey(&case).expect("still readable");
}

#[test]
fn a_full_disk_loses_no_acknowledged_edit() {
    let dir = Dir::new();
    let path = dir.path("quota.db");
    let (case, acknowledged) = {
        let store = support::open(&path, Role::Caseworker);
        let case = store
            .create_journey(&support::new_journey("be"))
            .expect("journey");
        drop(store);
        let size = std::fs::metadata(&path).expect("size").len() + 64 * 1024;
        let store = store_with(
            &path,
            StoreOptions {
                max_size_bytes: Some(size),
                ..support::options()
            },
        );
        let mut acknowledged = Vec::new();
        let err = loop {
            let mut member = daughter();
            member.name = format!("member {} {}", acknowledged.len(), "x".repeat(1_000));
            match store.apply(
                &case,
                &Edit::AddFamilyMember {
                    member: member.clone(),
                },
            ) {
                Ok(_) => acknowledged.push(member.name),
                Err(e) => break e,
            }
            assert!(acknowledged.len() < 10_000, "the quota never filled");
        };
        assert!(matches!(err, Error::DiskFull(_)), "{err:?}");
        assert_eq!(err.kind(), ErrorKind::Storage);
        // Still readable, with everything acknowledged.
        let names: Vec<String> = store
            .journey(&case)
            .expect("read")
            .family
            .into_values()
            .map(|m| m.name)
            .collect();
        assert!(acknowledged.iter().all(|n| names.contains(n)));
        assert_eq!(
            names.len(),
            acknowledged.len(),
            "the refused edit is not in memory either"
        );
        (case, acknowledged)
    };
    // Space freed: the store works again and nothing was lost.
    let store = support::open(&path, Role::Caseworker);
    let names: Vec<String> = store
        .journey(&case)
        .expect("read")
        .family
        .into_values()
        .map(|m| m.name)
        .collect();
    assert_eq!(names.len(), acknowledged.len());
    store
        .apply(&case, &Edit::AddFamilyMember { member: daughter() })
        .expect("writes again");
    let integrity: String = rusqlite::Connection::open(&path)
        .expect("raw")
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("check");
    assert_eq!(integrity, "ok");
}

#[test]
fn newer_formats_are_refused_not_misread() {
    let dir = Dir::new();
    let path = dir.path("newer.db");
    drop(support::open(&path, Role::Caseworker));
    rusqlite::Connection::open(&path)
        .expect("raw")
        .pragma_update(None, "user_version", 99)
        .expect("bump");
    match Store::open_with(&path, support::identity(Role::Caseworker), support::options()) {
        Err(Error::NewerFormat {
            found: 99,
            supported: 5,
            ..
        }) => {}
        other => panic!("expected NewerFormat, got {other:?}"),
    }

    // A journey document written by a newer build.
    use automerge::transaction::Transactable;
    let (store, case) = support::belgian_case(&dir, "doc.db");
    let doc = case.doc(DocKind::Journey);
    let mut newer = automerge::AutoCommit::new();
    newer
        .merge(&mut automerge::AutoCommit::load(&store.save_document(&doc).expect("save")).expect("load"))
        .expect("m");
    newer.put(automerge::ROOT, "schema", 7_i64).expect("put");
    newer.commit();
    let changes: Vec<Vec<u8>> = newer
        .get_changes(&store.heads(&doc).expect("heads"))
        .iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect();
    store.receive_changes(&doc, &changes).expect("accepted as data");
    match store.journey(&case) {
        Err(Error::NewerFormat { found: 7, .. }) => {}
        other => panic!("expected NewerFormat, got {other:?}"),
    }
}

#[test]
fn threads_share_one_store() {
    let dir = Dir::new();
    let (store, case) = support::belgian_case(&dir, "threads.db");
    std::thread::scope(|s| {
        for t in 0..4 {
            let (store, case) = (&store, &case);
            s.spawn(move || {
                for i in 0..10 {
                    let mut member = daughter();
                    member.name = format!("thread {t} member {i}");
                    store
                        .apply(case, &Edit::AddFamilyMember { member })
                        .expect("edit");
                    store.journey(case).expect("read");
                }
            });
        }
    });
    drop(store);
    let store = support::open(&dir.path("threads.db"), Role::Caseworker);
    assert_eq!(store.journey(&case).expect("read").family.len(), 40);
}

mod damaged_input {
    //! Damaged changes from the network never panic, never stick, never break reads.

    use std::sync::OnceLock;

    use passage_core::model::TaskStatus;
    use passage_core::{CaseId, DocKind, Edit, ErrorKind, Role, Store};
    use proptest::prelude::*;

    use crate::support::{self, Dir, exchange};

    /// A receiving store that holds the case, and one real change it lacks.
    fn setup() -> &'static (Dir, Store, CaseId, Vec<u8>) {
        static SETUP: OnceLock<(Dir, Store, CaseId, Vec<u8>)> = OnceLock::new();
        SETUP.get_or_init(|| {
            let dir = Dir::new();
            let (sender, case) = support::belgian_case(&dir, "sender.db");
            let receiver = dir.open("receiver.db", Role::Caseworker);
            exchange(&sender, &receiver, &case);
            let doc = case.doc(DocKind::Journey);
            let before = sender.heads(&doc).expect("heads");
            sender
                .apply(
                    &case,
                    &Edit::SetTaskStatus {
                        task: "attend_medical_exam".into(),
                        status: TaskStatus::Done,
                    },
                )
                .expect("edit");
            let change = sender.changes_since(&doc, &before).expect("change").remove(0);
            (dir, receiver, case, change)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn a_damaged_change_is_refused_or_harmless(
            flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 0..4),
            cut in prop::option::of(any::<prop::sample::Index>()),
        ) {
            let (_dir, receiver, case, change) = setup();
            let doc = case.doc(DocKind::Journey);
            let mut bytes = change.clone();
            for (at, mask) in &flips {
                let i = at.index(bytes.len());
                bytes[i] ^= mask;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(bytes.len()));
            }
            let heads = receiver.heads(&doc).expect("heads");
            match receiver.receive_changes(&doc, &[bytes.clone()]) {
                // Two flips of one byte may cancel out: only changed bytes count as damage.
                Ok(_) => prop_assert!(bytes == *change, "a damaged change was accepted"),
                Err(e) => {
                    prop_assert!(matches!(e.kind(), ErrorKind::CorruptData | ErrorKind::InvalidInput), "{e}");
                    prop_assert_eq!(receiver.heads(&doc).expect("heads"), heads);
                }
            }
            receiver.journey(case).expect("the journey still reads");
        }
    }
}

#[test]
fn a_version_1_store_is_migrated_with_its_data() {
    let dir = Dir::new();
    let path = dir.path("v1.db");
    let (case, journey) = {
        // Version 1 stores were plain.
        let store = support::open_plain(&path, Role::Caseworker);
        let case = store
            .create_journey(&support::new_journey("be"))
            .expect("journey created");
        toggle(&store, &case, 0);
        (case.clone(), store.journey(&case).expect("journey"))
    };
    // Take the file back to schema 1: the first migration's tables, nothing of sync.
    {
        let conn = rusqlite::Connection::open(&path).expect("raw");
        conn.execute_batch(
            "DROP TABLE sync_state; DROP TABLE sync_meta; DROP TABLE store_meta; DROP TABLE doc_keys;
             DROP TABLE vouchers; DROP TABLE erased; PRAGMA user_version = 1;",
        )
        .expect("downgrade");
    }
    let store = support::open_plain(&path, Role::Caseworker);
    assert_eq!(store.journey(&case).expect("journey after migration"), journey);
    assert_eq!(
        store.sync_state().expect("sync tables exist").pending_documents,
        2
    );
    let version: i64 = rusqlite::Connection::open(&path)
        .expect("raw")
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, 5);
    drop(store);
    // The key tables exist too: the store can be sealed.
    let key = passage_core::SecretKey::generate().expect("a key");
    let sealed = Store::open_with_key(
        &path,
        support::identity(Role::Caseworker),
        support::options(),
        &|_: &passage_core::StoreId| Ok(key.clone()),
    )
    .expect("sealed");
    assert_eq!(sealed.journey(&case).expect("journey after sealing"), journey);
}

#[test]
fn a_document_nested_too_deep_is_refused_not_walked() {
    use automerge::transaction::Transactable;
    let dir = Dir::new();
    let (store, case) = support::belgian_case(&dir, "deep.db");
    let doc = case.doc(DocKind::Journey);
    let mut copy = automerge::AutoCommit::load(&store.save_document(&doc).expect("save")).expect("load");
    let heads = copy.get_heads();
    let family = match automerge::ReadDoc::get(&copy, automerge::ROOT, "family") {
        Ok(Some((_, id))) => id,
        other => panic!("no family map: {other:?}"),
    };
    let mut obj = copy
        .put_object(&family, "deep", automerge::ObjType::Map)
        .expect("map");
    for _ in 0..40 {
        obj = copy.put_object(&obj, "x", automerge::ObjType::Map).expect("map");
    }
    copy.commit();
    let changes: Vec<Vec<u8>> = copy
        .get_changes(&heads)
        .iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect();
    store.receive_changes(&doc, &changes).expect("stored as data");
    let err = store.journey(&case).expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::CorruptData, "{err}");
    assert!(err.to_string().contains("nested deeper"), "{err}");
}
