//! Benchmark (a): opening a journey and reading it, against Automerge loading the same
//! document from bytes already in memory (see the crate documentation for why that
//! baseline is fair).
//!
//! Its own module because it also prints where the subject's time goes (load, the typed
//! read) and repeats the comparison on the uncompacted layout, which needs a second
//! store built from the very changes of the first.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use automerge::AutoCommit;
use passage_core::{CaseId, CompactionPolicy, Durability, Store, StoreOptions};

use crate::journey::{Built, identity};
use crate::measure::{compare, group, interleave, interleave_n, line, time};

/// Open + read of the compacted journey, per side (and per informational line).
pub(crate) const OPEN_RUNS: usize = 100;
/// Open + read of the uncompacted journey, per side.
pub(crate) const OPEN_UNCOMPACTED_RUNS: usize = 16;

const TARGET_OPEN: f64 = 1.2;

fn open_and_read(path: &Path, case: &CaseId) -> Duration {
    let (elapsed, (store, journey)) = time(|| {
        let store = Store::open_with(path, identity(), StoreOptions::default()).expect("the store opens");
        let journey = store.journey(case).expect("the journey reads");
        (store, journey)
    });
    black_box(journey);
    drop(store);
    elapsed
}

fn automerge_load(bytes: &[u8]) -> Duration {
    let (elapsed, doc) = time(|| AutoCommit::load(black_box(bytes)).expect("automerge loads"));
    drop(doc);
    elapsed
}

pub(crate) fn bench(dir: &Path, path: &Path, built: &Built) {
    println!(
        "(a) open a journey of {} changes and read it: fresh Store::open_with + journey() vs AutoCommit::load",
        built.changes
    );
    println!(
        "    layout   compacted by the default policy: {} snapshot row(s), {} change rows; save() is {} B",
        built.stats_snapshot_rows,
        built.stats_change_rows,
        group(built.saved.len() as u64)
    );
    // Interleaved with the subject and its baseline, for information: where the
    // subject's time goes.
    let cached = Store::open_with(path, identity(), StoreOptions::default()).expect("opens");
    cached.journey(&built.case).expect("the journey reads");
    let stats = interleave_n(
        OPEN_RUNS,
        1,
        &mut [
            &mut || open_and_read(path, &built.case),
            &mut || automerge_load(&built.saved),
            &mut || {
                let (d, journey) = time(|| {
                    let doc = AutoCommit::load(&built.saved).expect("automerge loads");
                    automerge::ReadDoc::hydrate(&doc, automerge::ROOT, None).expect("the journey hydrates")
                });
                black_box(journey);
                d
            },
            &mut || {
                let (d, journey) = time(|| cached.journey(&built.case).expect("the journey reads"));
                black_box(journey);
                d
            },
        ],
    );
    drop(cached);
    compare(
        ("Store::open_with + journey()", &stats[0]),
        ("AutoCommit::load(save() bytes)", &stats[1]),
        Some(TARGET_OPEN),
    );
    line("info", "AutoCommit::load + ReadDoc::hydrate", &stats[2]);
    line("info", "journey() cached (ReadDoc::hydrate + serde)", &stats[3]);
    println!(
        "    info     subject / (load + ReadDoc::hydrate) = {:.2}x: the store's own share (SQLite, rows, checks, serde)",
        stats[0].median.as_secs_f64() / stats[2].median.as_secs_f64()
    );

    // The same document as one change row per change.
    let flat = dir.join("uncompacted.db");
    {
        let options = StoreOptions {
            durability: Durability::Normal,
            compaction: CompactionPolicy {
                max_change_rows: usize::MAX,
                ..CompactionPolicy::default()
            },
            ..StoreOptions::default()
        };
        let store = Store::open_with(&flat, identity(), options).expect("the store opens");
        let added = store
            .receive_changes(&built.doc, &built.change_bytes)
            .expect("the changes are received");
        assert_eq!(added, built.changes, "every change is a new row");
        let stats = store.stats(Some(&built.doc)).expect("stats");
        assert_eq!(stats.change_rows as usize, built.changes, "one row per change");
        assert_eq!(stats.snapshot_rows, 0, "never compacted");
    }
    let concatenated: Vec<u8> = built.change_bytes.concat();
    println!(
        "    layout   uncompacted: {} change rows, {} B of changes",
        built.changes,
        group(concatenated.len() as u64)
    );
    let (subject, baseline) = interleave(
        OPEN_UNCOMPACTED_RUNS,
        1,
        || open_and_read(&flat, &built.case),
        || automerge_load(&concatenated),
    );
    compare(
        ("Store::open_with + journey(), uncompacted", &subject),
        ("AutoCommit::load(concatenated changes)", &baseline),
        None,
    );
    println!();
}
