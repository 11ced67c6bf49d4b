//! Benchmark (b): one task toggle through the store, against a bare SQLite insert of
//! the same change bytes with the same fsync policy (see the crate documentation for
//! why that baseline is fair).
//!
//! Its own module because it carries the most machinery: the bare connection shaped
//! like the store's `chunks` table, the toggling store, a second journey just created
//! for comparison, and two durability phases.

use std::path::Path;
use std::time::Duration;

use passage_core::model::TaskStatus;
use passage_core::{CaseId, DocId, Durability, Edit, Store, StoreOptions};
use rusqlite::{Connection, TransactionBehavior, params};
use sha2::{Digest, Sha256};

use crate::floor::{self, Floor};
use crate::journey::{Built, identity, new_journey};
use crate::measure::{Stat, compare, group, interleave_n, line, time};

/// Toggles with `synchronous=FULL`: rounds of blocks, per side.
pub(crate) const TOGGLE_ROUNDS: usize = 30;
pub(crate) const TOGGLE_BLOCK: usize = 10;
/// Toggles with `synchronous=NORMAL`: rounds of blocks, per side.
pub(crate) const TOGGLE_NORMAL_ROUNDS: usize = 30;
/// Toggles before measuring: loads the document and warms the statement caches.
pub(crate) const WARMUP: usize = 8;

const TARGET_TOGGLE: f64 = 1.5;

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

pub(crate) struct BareInsert {
    conn: Connection,
    doc_id: String,
    /// The real bytes of a toggle to done and of a toggle to todo.
    bytes: [Vec<u8>; 2],
    n: u64,
}

impl BareInsert {
    fn new(path: &Path, synchronous: &str, doc_id: String, bytes: [Vec<u8>; 2]) -> BareInsert {
        BareInsert {
            conn: bare_connection(path, synchronous),
            doc_id,
            bytes,
            n: 0,
        }
    }

    /// Inserts the next toggle's real bytes (done and todo alternately), timed.
    fn insert(&mut self) -> Duration {
        let bytes = self.bytes[((self.n + 1) % 2) as usize].clone();
        let (elapsed, ()) = time(|| self.write(&bytes));
        elapsed
    }

    /// One row of `bytes` under a new random-looking hash, in its own transaction.
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        self.n += 1;
        let hash = Sha256::digest(self.n.to_le_bytes()).to_vec();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .expect("a write transaction");
        tx.prepare_cached("INSERT INTO chunks (doc_id, hash, kind, bytes) VALUES (?1, ?2, 0, ?3)")
            .expect("the insert prepares")
            .execute(params![self.doc_id, hash, bytes])
            .expect("the row inserts");
        tx.commit().expect("the transaction commits");
    }
}

pub(crate) struct Toggle<'a> {
    pub(crate) store: Store,
    pub(crate) case: &'a CaseId,
    pub(crate) task: &'a str,
    pub(crate) done: bool,
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

    pub(crate) fn apply(&mut self) -> Duration {
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

pub(crate) fn bench(dir: &Path, path: &Path, built: &Built) {
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
        let mut bare = BareInsert::new(
            &dir.join(format!("bare-{}.db", synchronous.to_lowercase())),
            synchronous,
            built.doc.to_string(),
            bytes.clone(),
        );
        let mut floor = Floor::new(
            &toggle.store.save_document(&built.doc).expect("the journey saves"),
            &built.toggle_task,
            BareInsert::new(
                &floor::file(dir, synchronous),
                synchronous,
                built.doc.to_string(),
                bytes.clone(),
            ),
        );
        for _ in 0..WARMUP {
            bare.insert();
            floor.apply();
        }
        println!("    durability synchronous={synchronous} on both sides");
        let stats = interleave_n(
            rounds,
            TOGGLE_BLOCK,
            &mut [
                &mut || toggle.apply(),
                &mut || bare.insert(),
                &mut || fresh.apply(),
                &mut || floor.apply(),
            ],
        );
        compare(
            (&format!("Store::apply(SetTaskStatus), {synchronous}"), &stats[0]),
            (&format!("INSERT of the change bytes, {synchronous}"), &stats[1]),
            target,
        );
        if durability == Durability::Full {
            split(&stats[0], &stats[1]);
        }
        line("info", "Store::apply on a new journey (1 change)", &stats[2]);
        println!(
            "    info     new journey / bare insert = {:.2}x",
            stats[2].median.as_secs_f64() / stats[1].median.as_secs_f64()
        );
        line("info", "floor: Automerge puts+commit+change, INSERT", &stats[3]);
        println!(
            "    info     floor / bare insert = {:.2}x (Automerge's own share); subject / floor = {:.2}x (the store's own share)",
            stats[3].median.as_secs_f64() / stats[1].median.as_secs_f64(),
            stats[0].median.as_secs_f64() / stats[3].median.as_secs_f64()
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

/// Prints the subject's median as the durable write it cannot avoid (the baseline's
/// median) plus what the store spends on top (the difference: CPU, since both sides
/// wait for the same fsync).
fn split(subject: &Stat, baseline: &Stat) {
    let write = baseline.median.as_secs_f64();
    let cpu = subject.median.as_secs_f64() - write;
    let share = |part: f64| 100.0 * part / subject.median.as_secs_f64();
    println!(
        "    split    {:.3} ms durable write ({:.0}%) + {:.3} ms store CPU ({:.0}%) \
         (Automerge edit, change encoding, bookkeeping)",
        write * 1e3,
        share(write),
        cpu * 1e3,
        share(cpu),
    );
}
