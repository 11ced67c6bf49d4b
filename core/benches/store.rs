//! Store benchmarks: what the SQLite store costs on top of the Automerge and SQLite work
//! it cannot avoid.
//!
//! Run with `cargo bench -p passage-core --bench store` (release build). No benchmark
//! framework: a small harness times each call with [`Instant`], interleaves the subject
//! and its baseline in alternating blocks within the same run (machines here are noisy:
//! a slow minute hits both sides alike), and compares medians. Each benchmark prints the
//! medians of both sides, their ratio, the target from the issue and `PASS` or `OVER`.
//!
//! Everything happens in a temporary directory under the OS temp dir, on real files.
//!
//! The journey. A Belgian journey (template `be`) made of 5,000 Automerge changes, the
//! way a caseworker's device accumulates them: status changes across every task (most
//! of the edits), notes, due dates, a few flights and flight-time changes, housing, the
//! arrival meeting and the self-booking switch. It is built through [`Store::apply`]
//! with [`Durability::Normal`] only so that building takes seconds, and with the default
//! [`CompactionPolicy`], so that the file ends up as the store leaves it in real use:
//! one snapshot plus the change rows written since the last automatic compaction. All
//! measurements then use stores opened with [`StoreOptions::default`] (durability
//! `FULL`) unless said otherwise.
//!
//! (a) Opening a journey. Subject: [`Store::open_with`] on the file, then
//! [`Store::journey`], a fresh store each time (so nothing is cached): the SQLite open,
//! the schema check, reading the rows, decoding them (with the store's checks: sizes,
//! change hashes, `catch_unwind`), and hydrating the typed [`Journey`]. Baseline:
//! `AutoCommit::load` of the bytes of `save()` of the same document, already in memory,
//! i.e. Automerge loading the same document directly. The baseline is the floor any
//! Automerge-based store must pay; the ratio is what our layer adds (file, rows,
//! checks, hydration). Target <= 1.2x. An informational second line does the same for
//! the uncompacted layout: the same 5,000 changes as 5,000 change rows (a store whose
//! compaction policy never fires, filled through [`Store::receive_changes`] with the
//! very changes of the first store, so the document is identical) against
//! `AutoCommit::load` of those changes concatenated. Two further informational lines,
//! interleaved with the subject and the baseline, split the subject: `load` followed by
//! Automerge's own `hydrate` of the whole tree on the saved bytes (the walk the store's
//! typed read starts with), and the store's `journey()` on an already cached document
//! (the typed read alone).
//!
//! (b) One task toggle. Subject: [`Store::apply`] of `Edit::SetTaskStatus`, alternating
//! done and todo on one task of the 5,000-change journey (a copy of the file, so that
//! (c) still sees 5,000 changes), on a store with default options: the role check, the Automerge transaction, the commit, the `INSERT` of the
//! change row in its own transaction, `synchronous=FULL`, and the automatic compaction
//! whenever the policy says so (counted in the samples where it happens; the median
//! shows the common case, the mean the amortised one). Baseline: a bare `rusqlite`
//! connection to another file in the same directory, `journal_mode=WAL`,
//! `synchronous=FULL`, a table shaped like `chunks` with the same primary key,
//! inserting in an `IMMEDIATE` transaction one row per call whose bytes are the real
//! change bytes of the toggles (done and todo alternately, taken from the store with
//! `changes_since`) and whose hash varies (SHA-256 of a counter, random like a real
//! change hash). Both sides commit exactly once with the same fsync policy, so the
//! baseline is the durable write a toggle cannot avoid; the ratio is the cost of the
//! Automerge edit and the bookkeeping. Target <= 1.5x. The same comparison with
//! `synchronous=NORMAL` on both sides is printed for information: without the fsync
//! the fixed costs of the store show much more. Both phases also time, for
//! information, the same toggle on a journey just created, interleaved with the others:
//! what of the subject's cost grows with the journey's history.
//!
//! (c) Bytes on disk. After an explicit [`Store::compact`] of the journey: (1) the
//! journey's chunk payload ([`Store::stats`]: change plus snapshot bytes), and (2) the
//! pages SQLite really uses for the `chunks` table (the `dbstat` virtual table, after
//! the store is closed and the WAL checkpointed; the table also holds the small medical
//! document of the case), each against `save()` of the same document, the size
//! Automerge itself would write. Target <= 1.1x. The whole file, its free pages and
//! the primary-key index are printed for context.

// A benchmark reports on stdout by design.
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use automerge::AutoCommit;
use chrono::NaiveDate;
use passage_core::doc::journey::{
    ArrivalMeeting, FlightBooking, FlightSegment, Housing, Journey, NewJourney,
};
use passage_core::model::TaskStatus;
use passage_core::{
    CaseId, CompactionPolicy, DocId, DocKind, Durability, Edit, Identity, Role, Store, StoreOptions,
};
use rusqlite::{Connection, TransactionBehavior, params};
use sha2::{Digest, Sha256};

/// Changes in the benchmark journey, its creation included.
const CHANGES: usize = 5_000;
/// (a) Open + read of the compacted journey, per side (and per informational line).
const OPEN_RUNS: usize = 100;
/// (a) Open + read of the uncompacted journey, per side.
const OPEN_UNCOMPACTED_RUNS: usize = 16;
/// (b) Toggles with `synchronous=FULL`: rounds of blocks, per side.
const TOGGLE_ROUNDS: usize = 30;
const TOGGLE_BLOCK: usize = 10;
/// (b) Toggles with `synchronous=NORMAL`: rounds of blocks, per side.
const TOGGLE_NORMAL_ROUNDS: usize = 30;
/// Toggles before measuring: loads the document and warms the statement caches.
const WARMUP: usize = 8;

const TARGET_OPEN: f64 = 1.2;
const TARGET_TOGGLE: f64 = 1.5;
const TARGET_BYTES: f64 = 1.1;

fn main() {
    let dir = tempfile::Builder::new()
        .prefix("passage-bench-")
        .tempdir()
        .expect("a temporary directory under the OS temp dir");
    let started = Instant::now();

    println!("passage-core store benchmarks");
    println!("  build         release (cargo bench), times are medians of interleaved runs");
    println!("  directory     {}", dir.path().display());
    println!(
        "  sqlite        {} (bundled), journal_mode=WAL",
        rusqlite::version()
    );
    println!(
        "  cpus          {}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "  journey       template be, {CHANGES} changes, built with synchronous=NORMAL and the default compaction policy"
    );
    println!(
        "  iterations    (a) {OPEN_RUNS} per side compacted, {OPEN_UNCOMPACTED_RUNS} uncompacted, alternating; \
         (b) {} per side FULL and {} NORMAL, blocks of {TOGGLE_BLOCK}, after {WARMUP} warm-up",
        TOGGLE_ROUNDS * TOGGLE_BLOCK,
        TOGGLE_NORMAL_ROUNDS * TOGGLE_BLOCK,
    );

    let path = dir.path().join("journey.db");
    let t = Instant::now();
    let built = build_journey(&path);
    println!(
        "  built         {} changes in {:.1} s: {} snapshot row(s) of {} B + {} change rows of {} B",
        built.changes,
        t.elapsed().as_secs_f64(),
        built.stats_snapshot_rows,
        group(built.stats_snapshot_bytes),
        built.stats_change_rows,
        group(built.stats_change_bytes),
    );
    println!(
        "  first open    {} for the first Store::open_with of the process (parses the builtin template catalogue once)",
        ms(built.first_open)
    );
    println!();

    bench_open(dir.path(), &path, &built);
    // (b) writes to the journey: it works on a copy, so that (c) measures the
    // 5,000-change journey itself.
    let copy = dir.path().join("toggle.db");
    checkpoint(&path);
    std::fs::copy(&path, &copy).expect("the store file copies");
    bench_toggle(dir.path(), &copy, &built);
    bench_bytes(&path, &built);

    println!("total {:.1} s (after the build)", started.elapsed().as_secs_f64());
}

// ---------------------------------------------------------------------------------------
// The journey

struct Built {
    case: CaseId,
    doc: DocId,
    changes: usize,
    /// `save()` of the document.
    saved: Vec<u8>,
    /// Every change of the document, in causal order.
    change_bytes: Vec<Vec<u8>>,
    /// A task for (b).
    toggle_task: String,
    /// The first `Store::open_with` of the process (it parses the template catalogue).
    first_open: Duration,
    stats_change_rows: u64,
    stats_change_bytes: u64,
    stats_snapshot_rows: u64,
    stats_snapshot_bytes: u64,
}

fn identity() -> Identity {
    Identity::new(Role::Caseworker, "Amira Khoury")
}

fn date(s: &str) -> NaiveDate {
    s.parse().expect("a valid date")
}

fn new_journey() -> NewJourney {
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

fn build_journey(path: &Path) -> Built {
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

// ---------------------------------------------------------------------------------------
// Harness

#[derive(Clone, Copy)]
struct Stat {
    median: Duration,
    p90: Duration,
    max: Duration,
    mean: Duration,
    n: usize,
}

fn stat(mut samples: Vec<Duration>) -> Stat {
    assert!(!samples.is_empty(), "at least one sample");
    samples.sort();
    let n = samples.len();
    let median = if n % 2 == 1 {
        samples[n / 2]
    } else {
        (samples[n / 2 - 1] + samples[n / 2]) / 2
    };
    let p90 = samples[((n * 9) / 10).min(n - 1)];
    let mean = samples.iter().sum::<Duration>() / n as u32;
    Stat {
        median,
        p90,
        max: samples[n - 1],
        mean,
        n,
    }
}

/// Runs `rounds` rounds of a block of each side, rotating which side goes first. Each
/// closure times its own call and returns the duration, so setup stays out.
fn interleave_n(rounds: usize, block: usize, sides: &mut [&mut dyn FnMut() -> Duration]) -> Vec<Stat> {
    let mut samples = vec![Vec::with_capacity(rounds * block); sides.len()];
    for round in 0..rounds {
        for k in 0..sides.len() {
            let side = (round + k) % sides.len();
            samples[side].extend((0..block).map(|_| sides[side]()));
        }
    }
    samples.into_iter().map(stat).collect()
}

/// [`interleave_n`] for a subject and its baseline.
fn interleave(
    rounds: usize,
    block: usize,
    mut subject: impl FnMut() -> Duration,
    mut baseline: impl FnMut() -> Duration,
) -> (Stat, Stat) {
    let stats = interleave_n(rounds, block, &mut [&mut subject, &mut baseline]);
    (stats[0], stats[1])
}

fn time<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let t = Instant::now();
    let out = f();
    (t.elapsed(), out)
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn line(side: &str, what: &str, s: &Stat) {
    println!(
        "    {side:<9}{what:<47} median {:>10}  p90 {:>10}  max {:>10}  mean {:>10}  n={}",
        ms(s.median),
        ms(s.p90),
        ms(s.max),
        ms(s.mean),
        s.n
    );
}

fn verdict(ratio: f64, target: Option<f64>) -> String {
    match target {
        Some(t) if ratio <= t => format!("{ratio:.3}x   target <= {t:.1}x   PASS"),
        Some(t) => format!("{ratio:.3}x   target <= {t:.1}x   OVER"),
        None => format!("{ratio:.3}x   (informational, no target)"),
    }
}

fn compare(subject: (&str, &Stat), baseline: (&str, &Stat), target: Option<f64>) {
    line("subject", subject.0, subject.1);
    line("baseline", baseline.0, baseline.1);
    let ratio = subject.1.median.as_secs_f64() / baseline.1.median.as_secs_f64();
    println!("    ratio    {}", verdict(ratio, target));
}

// ---------------------------------------------------------------------------------------
// (a) Opening a journey

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

fn bench_open(dir: &Path, path: &Path, built: &Built) {
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
    line(
        "info",
        "journey() on a cached document (hydration only)",
        &stats[3],
    );
    println!(
        "    info     subject / (load + hydrate) = {:.2}x: the store's own share (SQLite, rows, checks)",
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

// ---------------------------------------------------------------------------------------
// (c) Bytes on disk

/// Opens a closed store's file with rusqlite and moves everything from the WAL into the
/// main file.
fn checkpoint(path: &Path) -> Connection {
    let conn = Connection::open(path).expect("the store file opens");
    let busy: i64 = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
        .expect("the WAL checkpoints");
    assert_eq!(busy, 0, "nothing else has the file open");
    conn
}

fn bench_bytes(path: &Path, built: &Built) {
    println!("(c) bytes on disk for the journey after Store::compact vs save() of the same document");
    let (payload, saved, medical) = {
        let store = Store::open_with(path, identity(), StoreOptions::default()).expect("the store opens");
        store.compact(&built.doc).expect("the journey compacts");
        let stats = store.stats(Some(&built.doc)).expect("stats");
        let medical = store
            .stats(Some(&built.case.doc(DocKind::Medical)))
            .expect("stats");
        let saved = store.save_document(&built.doc).expect("the journey saves");
        println!(
            "    rows     {} snapshot row(s) of {} B, {} change rows of {} B",
            stats.snapshot_rows,
            group(stats.snapshot_bytes),
            stats.change_rows,
            group(stats.change_bytes)
        );
        (
            stats.change_bytes + stats.snapshot_bytes,
            saved.len() as u64,
            medical.change_bytes + medical.snapshot_bytes,
        )
    };
    let conn = checkpoint(path);
    let pragma = |name: &str| -> u64 {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get::<_, i64>(0))
            .expect("the pragma answers") as u64
    };
    let (page_size, page_count, freelist) = (
        pragma("page_size"),
        pragma("page_count"),
        pragma("freelist_count"),
    );
    let file = std::fs::metadata(path).expect("the file exists").len();
    let dbstat = |name: &str| -> rusqlite::Result<(u64, u64, u64)> {
        conn.query_row(
            "SELECT coalesce(sum(pgsize), 0), count(*), coalesce(sum(pagetype = 'overflow'), 0)
             FROM dbstat WHERE name = ?1",
            [name],
            |r| {
                Ok((
                    r.get::<_, i64>(0)? as u64,
                    r.get::<_, i64>(1)? as u64,
                    r.get::<_, i64>(2)? as u64,
                ))
            },
        )
    };
    println!(
        "    payload  journey change_bytes + snapshot_bytes (Store::stats)   {:>9} B",
        group(payload)
    );
    let pages = match dbstat("chunks") {
        Ok((bytes, pages, overflow)) => {
            println!(
                "    pages    chunks table, dbstat sum(pgsize)                       {:>9} B   ({pages} pages of {page_size} B, {overflow} overflow; also holds the medical document, {} B)",
                group(bytes),
                group(medical)
            );
            Some(bytes)
        }
        Err(e) => {
            println!("    pages    dbstat is not available ({e}); using the whole file below");
            None
        }
    };
    println!(
        "    baseline save_document().len()                                   {:>9} B",
        group(saved)
    );
    let whole = page_count * page_size;
    let ratio = payload as f64 / saved as f64;
    println!(
        "    ratio    payload / save()   {}",
        verdict(ratio, Some(TARGET_BYTES))
    );
    let (pages_label, pages_bytes) = match pages {
        Some(b) => ("chunks pages / save()", b),
        None => ("whole file (page_count * page_size) / save()", whole),
    };
    println!(
        "    ratio    {pages_label}   {}",
        verdict(pages_bytes as f64 / saved as f64, Some(TARGET_BYTES))
    );
    let index = dbstat("sqlite_autoindex_chunks_1").map_or_else(
        |_| "n/a".to_owned(),
        |(b, p, _)| format!("{} B in {p} pages", group(b)),
    );
    println!(
        "    context  whole file {} B ({page_count} pages of {page_size} B, {freelist} free), chunks primary-key index {index}",
        group(file)
    );
    println!();
}

// ---------------------------------------------------------------------------------------
// (b) One task toggle

/// A bare SQLite file with a table shaped like the store's `chunks`.
fn bare_connection(path: &Path, synchronous: &str) -> Connection {
    let conn = Connection::open(path).expect("the bare file opens");
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .expect("WAL");
    assert!(mode.eq_ignore_ascii_case("wal"), "journal_mode is WAL");
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {synchronous};
         CREATE TABLE IF NOT EXISTS chunks (
             doc_id TEXT NOT NULL,
             hash   BLOB NOT NULL,
             kind   INTEGER NOT NULL,
             bytes  BLOB NOT NULL,
             heads  BLOB,
             PRIMARY KEY (doc_id, hash)
         );"
    ))
    .expect("the bare table exists");
    conn
}

struct BareInsert {
    conn: Connection,
    doc_id: String,
    /// The real bytes of a toggle to done and of a toggle to todo.
    bytes: [Vec<u8>; 2],
    n: u64,
}

impl BareInsert {
    fn insert(&mut self) -> Duration {
        self.n += 1;
        let hash = Sha256::digest(self.n.to_le_bytes()).to_vec();
        let bytes = &self.bytes[(self.n % 2) as usize];
        let (elapsed, ()) = time(|| {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .expect("a write transaction");
            tx.prepare_cached("INSERT INTO chunks (doc_id, hash, kind, bytes) VALUES (?1, ?2, 0, ?3)")
                .expect("the insert prepares")
                .execute(params![self.doc_id, hash, bytes])
                .expect("the row inserts");
            tx.commit().expect("the transaction commits");
        });
        elapsed
    }
}

struct Toggle<'a> {
    store: Store,
    case: &'a CaseId,
    task: &'a str,
    done: bool,
}

impl Toggle<'_> {
    fn edit(&mut self) -> Edit {
        self.done = !self.done;
        Edit::SetTaskStatus {
            task: self.task.to_owned(),
            status: if self.done {
                TaskStatus::Done
            } else {
                TaskStatus::Todo
            },
        }
    }

    fn apply(&mut self) -> Duration {
        let edit = self.edit();
        let (elapsed, applied) = time(|| self.store.apply(self.case, &edit).expect("the toggle applies"));
        assert!(applied.change.is_some(), "a toggle makes a change");
        elapsed
    }

    /// Applies the next toggle; returns whether it set done, and its change bytes.
    fn next_change(&mut self, doc: &DocId) -> (bool, Vec<u8>) {
        let heads = self.store.heads(doc).expect("heads");
        let edit = self.edit();
        self.store.apply(self.case, &edit).expect("the toggle applies");
        let mut changes = self.store.changes_since(doc, &heads).expect("the change");
        assert_eq!(changes.len(), 1, "one toggle is one change");
        (self.done, changes.pop().expect("one change"))
    }
}

fn open_store(path: &Path, durability: Durability) -> Store {
    let options = StoreOptions {
        durability,
        ..StoreOptions::default()
    };
    Store::open_with(path, identity(), options).expect("the store opens")
}

fn bench_toggle(dir: &Path, path: &Path, built: &Built) {
    println!(
        "(b) one task toggle (done <-> todo) on the {}-change journey: Store::apply vs a bare SQLite insert of the same bytes",
        built.changes
    );
    let mut toggle = Toggle {
        store: open_store(path, Durability::Full),
        case: &built.case,
        task: &built.toggle_task,
        done: false,
    };
    for _ in 0..WARMUP {
        toggle.apply();
    }
    let (first_done, first) = toggle.next_change(&built.doc);
    let (_, second) = toggle.next_change(&built.doc);
    // [todo, done]
    let bytes = if first_done {
        [second, first]
    } else {
        [first, second]
    };
    println!(
        "    change   {} B (todo) and {} B (done) per toggle; task {}",
        bytes[0].len(),
        bytes[1].len(),
        built.toggle_task
    );

    // For information: the same toggle on a journey just created (one change), to
    // show what of the subject's cost grows with the history.
    let fresh_path = dir.join("fresh.db");
    let fresh_case = open_store(&fresh_path, Durability::Full)
        .create_journey(&new_journey())
        .expect("the journey is created");
    let mut fresh = Toggle {
        store: open_store(&fresh_path, Durability::Full),
        case: &fresh_case,
        task: &built.toggle_task,
        done: false,
    };

    for (durability, synchronous, rounds, target) in [
        (Durability::Full, "FULL", TOGGLE_ROUNDS, Some(TARGET_TOGGLE)),
        (Durability::Normal, "NORMAL", TOGGLE_NORMAL_ROUNDS, None),
    ] {
        if durability != Durability::Full {
            toggle.store = open_store(path, durability);
            fresh.store = open_store(&fresh_path, durability);
            for _ in 0..WARMUP {
                toggle.apply();
            }
        }
        for _ in 0..WARMUP {
            fresh.apply();
        }
        let mut bare = BareInsert {
            conn: bare_connection(
                &dir.join(format!("bare-{}.db", synchronous.to_lowercase())),
                synchronous,
            ),
            doc_id: built.doc.to_string(),
            bytes: bytes.clone(),
            n: 0,
        };
        for _ in 0..WARMUP {
            bare.insert();
        }
        println!("    durability synchronous={synchronous} on both sides");
        let stats = interleave_n(
            rounds,
            TOGGLE_BLOCK,
            &mut [&mut || toggle.apply(), &mut || bare.insert(), &mut || {
                fresh.apply()
            }],
        );
        compare(
            (&format!("Store::apply(SetTaskStatus), {synchronous}"), &stats[0]),
            (&format!("INSERT of the change bytes, {synchronous}"), &stats[1]),
            target,
        );
        line("info", "Store::apply on a new journey (1 change)", &stats[2]);
        println!(
            "    info     new journey / bare insert = {:.2}x",
            stats[2].median.as_secs_f64() / stats[1].median.as_secs_f64()
        );
    }
    let stats = toggle.store.stats(Some(&built.doc)).expect("stats");
    println!(
        "    after    {} change rows, {} snapshot row(s) of {} B (automatic compactions happen inside apply)",
        stats.change_rows,
        stats.snapshot_rows,
        group(stats.snapshot_bytes)
    );
    println!();
}
