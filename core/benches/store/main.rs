//! Store benchmarks: what the SQLite store costs on top of the Automerge and SQLite work
//! it cannot avoid.
//!
//! Run with `cargo bench -p passage-core --bench store` (release build). No benchmark
//! framework: a small harness ([`measure`]) times each call with [`Instant`], interleaves
//! the subject and its baseline in alternating blocks within the same run (machines here
//! are noisy: a slow minute hits both sides alike), and compares medians. Each benchmark
//! prints the medians of both sides, their ratio, the target from the issue and `PASS`
//! or `OVER`. This file sets up the run, prints the environment header and calls the
//! four benchmarks in order; each lives in its own module.
//!
//! Everything happens in a temporary directory under the OS temp dir, on real files.
//!
//! The journey ([`journey`]). A Belgian journey (template `be`) made of 5,000 Automerge
//! changes, the way a caseworker's device accumulates them: status changes across every
//! task (most of the edits), notes, due dates, a few flights and flight-time changes,
//! housing, the arrival meeting and the self-booking switch. It is built through
//! [`Store::apply`] with [`Durability::Normal`] only so that building takes seconds, and
//! with the default [`CompactionPolicy`], so that the file ends up as the store leaves it
//! in real use: one snapshot plus the change rows written since the last automatic
//! compaction. All measurements then use stores opened with [`StoreOptions::default`]
//! (durability `FULL`) unless said otherwise.
//!
//! (a) Opening a journey ([`open`]). Subject: [`Store::open_with`] on the file, then
//! [`Store::journey`], a fresh store each time (so nothing is cached): the SQLite open,
//! the schema check, reading the rows, decoding them (with the store's checks: sizes,
//! change hashes, `catch_unwind`), and the typed read of the [`Journey`] (Automerge's own
//! `ReadDoc::hydrate` of the document, then serde onto the structs). Baseline:
//! `AutoCommit::load` of the bytes of `save()` of the same document, already in memory,
//! i.e. Automerge loading the same document directly. Fair because it is the floor any
//! Automerge-based store must pay, with no file, no rows and no checks; the ratio is
//! what our layer adds (file, rows, checks, typed read). Target <= 1.2x. Two
//! informational lines, interleaved with the subject and the baseline, split the
//! subject: `AutoCommit::load + ReadDoc::hydrate` on the saved bytes (the load plus the
//! walk the store's typed read starts with), and `journey()` on an already cached
//! document (the typed read alone: `ReadDoc::hydrate` plus serde). A further
//! informational comparison does the same for the uncompacted layout: the same 5,000
//! changes as 5,000 change rows (a store whose compaction policy never fires, filled
//! through [`Store::receive_changes`] with the very changes of the first store, so the
//! document is identical) against `AutoCommit::load` of those changes concatenated.
//!
//! (b) One task toggle ([`toggle`]). Subject: [`Store::apply`] of `Edit::SetTaskStatus`,
//! alternating done and todo on one task of the 5,000-change journey (a copy of the file,
//! so that (c) still sees 5,000 changes), on a store with default options: the role
//! check, the Automerge transaction, the commit, the `INSERT` of the change row in its
//! own transaction, `synchronous=FULL`, and the automatic compaction whenever the policy
//! says so (counted in the samples where it happens; the median shows the common case,
//! the mean the amortised one). Baseline: a bare `rusqlite` connection to another file in
//! the same directory, `journal_mode=WAL`, `synchronous=FULL`, a table shaped like
//! `chunks` with the same primary key, inserting in an `IMMEDIATE` transaction one row
//! per call whose bytes are the real change bytes of the toggles (done and todo
//! alternately, taken from the store with `changes_since`) and whose hash varies (SHA-256
//! of a counter, random like a real change hash). Fair because both sides commit exactly
//! once with the same fsync policy and the same bytes: the baseline is the durable write
//! a toggle cannot avoid, and the ratio is the cost of the Automerge edit and the
//! bookkeeping. Target <= 1.5x. A `split` line states the subject's median as that
//! durable write (the baseline) plus the store's CPU (subject minus baseline). The same
//! comparison with `synchronous=NORMAL` on both sides is printed for information: without
//! the fsync the fixed costs of the store show much more. Both phases also time, for
//! information, the same toggle on a journey just created, interleaved with the others:
//! what of the subject's cost grows with the journey's history; and the floor
//! ([`floor`]): the least any Automerge store on SQLite does per toggle (the same puts
//! on the same document, Automerge's commit and change bytes, the bare insert of those
//! bytes), with the ratios floor / bare insert (Automerge's own share, which no store
//! built on it can avoid) and subject / floor (the store's own share).
//!
//! (c) Bytes on disk ([`bytes`]). After an explicit [`Store::compact`] of the journey,
//! the bytes of the journey's rows (chunk bytes, keys and heads) against `save()` of the
//! same document. Fair because `save()` is the size Automerge itself would write for the
//! document, the smallest form of the same history. Target <= 1.1x. For information:
//! the chunk payload alone ([`Store::stats`]), and the pages SQLite really uses for the
//! `chunks` table (the `dbstat` virtual table, after the store is closed and the WAL
//! checkpointed), which adds SQLite's page granularity (a blob's last overflow page is
//! partly empty: up to one page per row) and the case's small medical document. The
//! whole file, its free pages and the primary-key index are printed for context.
//!
//! (d) Encryption at rest ([`sealed`]). The same journey in a sealed store (every chunk
//! sealed with XChaCha20-Poly1305 under the document's data key, which the store key
//! wraps) against the same file plain: opening it and reading the journey, and one task
//! toggle with `synchronous=FULL`, interleaved. Target <= 1.3x each.
//!
//! [`Store::apply`]: passage_core::Store::apply
//! [`Store::open_with`]: passage_core::Store::open_with
//! [`Store::journey`]: passage_core::Store::journey
//! [`Store::receive_changes`]: passage_core::Store::receive_changes
//! [`Store::compact`]: passage_core::Store::compact
//! [`Store::stats`]: passage_core::Store::stats
//! [`Durability::Normal`]: passage_core::Durability::Normal
//! [`CompactionPolicy`]: passage_core::CompactionPolicy
//! [`StoreOptions::default`]: passage_core::StoreOptions::default
//! [`Journey`]: passage_core::doc::journey::Journey

// A benchmark reports on stdout by design.
#![allow(clippy::print_stdout)]

mod bytes;
mod floor;
mod journey;
mod measure;
mod open;
mod sealed;
mod toggle;

use std::time::Instant;

use journey::CHANGES;
use measure::{group, ms};
use open::{OPEN_RUNS, OPEN_UNCOMPACTED_RUNS};
use toggle::{TOGGLE_BLOCK, TOGGLE_NORMAL_ROUNDS, TOGGLE_ROUNDS, WARMUP};

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
    let built = journey::build(&path);
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
        "  first open    {} for the first Store::open_with of the process (creates the file and its schema; \
         the template catalogue is parsed on first use, not by the open)",
        ms(built.first_open)
    );
    println!();

    open::bench(dir.path(), &path, &built);
    // (b) writes to the journey: it works on a copy, so that (c) measures the
    // 5,000-change journey itself.
    let copy = dir.path().join("toggle.db");
    bytes::checkpoint(&path);
    std::fs::copy(&path, &copy).expect("the store file copies");
    toggle::bench(dir.path(), &copy, &built);
    bytes::bench(&path, &built);
    sealed::bench(dir.path(), &path, &built);

    println!("total {:.1} s (after the build)", started.elapsed().as_secs_f64());
}
