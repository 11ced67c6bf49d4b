//! The kill test: a process making edits is SIGKILLed at random points, again and
//! again; every edit it had acknowledged must be there afterwards, and SQLite must find
//! the file intact.
//!
//! The child is `passage debug churn`, which adds family members in a loop and prints
//! `ok <name>` only after `Store::apply` returned, that is after the change was
//! committed. Kills land anywhere: while the process starts, opens the store, writes
//! a change, commits, or compacts (the store compacts every few dozen edits, and the
//! edits accumulate across runs). After each kill the test reopens the store, checks
//! that every acknowledged member is in the journey, and runs `PRAGMA integrity_check`.
//!
//! `PASSAGE_KILLS` sets the number of kills (default 200); `PASSAGE_KILL_SEED` replays
//! a run (the seed is printed).

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use passage_core::doc::journey::NewJourney;
use passage_core::{CaseId, Identity, Role};

use crate::cli::Device;

/// A small deterministic generator (xorshift64*), so that a failing run can be
/// replayed from its seed without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Kills per journey before the test starts a new one.
const CASE_EVERY: u64 = 25;

fn new_case(path: &Path) -> CaseId {
    let store = crate::cli::open_store(path, Identity::new(Role::Caseworker, "setup"));
    store
        .create_journey(&NewJourney {
            template: "be".into(),
            version: None,
            talent_name: "Rana Haddad".into(),
            employer: "AZ Sint-Jan Brugge".into(),
            job_title: "Registered nurse".into(),
            start_date: "2026-11-02".parse().expect("date"),
        })
        .expect("journey")
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Names the store holds as family members of the case, read by a fresh store.
fn members(path: &Path, case: &CaseId) -> HashSet<String> {
    let store = crate::cli::open_store(path, Identity::new(Role::Caseworker, "checker"));
    let journey = store.journey(case).expect("the journey loads after a kill");
    journey.family.into_values().map(|m| m.name).collect()
}

fn integrity(path: &Path) -> String {
    let conn = rusqlite::Connection::open(path).expect("sqlite opens");
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check runs")
}

/// Starts `passage debug churn`, kills it after `delay`, and returns the names it
/// acknowledged (complete lines only).
fn churn_until_killed(path: &Path, case: &CaseId, label: &str, delay: Duration) -> Vec<String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_passage"))
        .env("PASSAGE_KEY_DIR", crate::cli::key_dir(path))
        .args(["--store"])
        .arg(path)
        .args(["--role", "caseworker", "--name", "churn", "--case", case.as_str()])
        .args(["debug", "churn", "--label", label])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("passage starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut acknowledged = Vec::new();
        let mut lines = BufReader::new(stdout);
        let mut line = String::new();
        // A line counts only when its newline arrived: a kill may cut a write short.
        while lines.read_line(&mut line).is_ok_and(|n| n > 0) {
            if let Some(name) = line.strip_suffix('\n').and_then(|l| l.strip_prefix("ok ")) {
                acknowledged.push(name.to_owned());
            }
            line.clear();
        }
        acknowledged
    });
    std::thread::sleep(delay);
    // std's kill is SIGKILL on Unix: no destructor, no flush, no SQLite close.
    child.kill().expect("kill");
    child.wait().expect("wait");
    reader.join().expect("reader")
}

#[test]
fn acknowledged_edits_survive_sigkill() {
    let kills = env_number("PASSAGE_KILLS", 200);
    let seed = env_number("PASSAGE_KILL_SEED", 0).max(1);
    let seed = if seed == 1 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(7, |d| d.as_nanos() as u64)
            | 1
    } else {
        seed
    };
    eprintln!("kill test: {kills} kills, PASSAGE_KILL_SEED={seed}");
    let mut rng = Rng(seed);

    let device = Device::new();
    let path = device.store.as_path();
    let started = Instant::now();
    // (case, names acknowledged for it). A new case every few dozen kills keeps each
    // journey the size of a real one; a journey with thousands of family members
    // would measure its own load time, not durability.
    let mut cases: Vec<(CaseId, Vec<String>)> = Vec::new();
    let mut runs_with_acks = 0;
    for k in 0..kills {
        if k % CASE_EVERY == 0 {
            cases.push((new_case(path), Vec::new()));
        }
        // One run in ten within the first 3 ms (while the process starts and opens the
        // store); the others between 20 and 150 ms, after a few to a few dozen edits.
        let delay = if rng.below(10) == 0 {
            rng.below(3_000)
        } else {
            20_000 + rng.below(130_000)
        };
        let (case, acknowledged) = cases.last_mut().expect("a case");
        let acked = churn_until_killed(path, case, &format!("k{k}"), Duration::from_micros(delay));
        runs_with_acks += usize::from(!acked.is_empty());
        acknowledged.extend(acked);

        assert_eq!(integrity(path), "ok", "after kill {k} (seed {seed})");
        let present = members(path, case);
        let lost: Vec<&String> = acknowledged.iter().filter(|n| !present.contains(*n)).collect();
        assert!(
            lost.is_empty(),
            "after kill {k} (seed {seed}), acknowledged edits lost: {lost:?}"
        );
    }
    // Finally every case again, from a store opened once more.
    for (case, acknowledged) in &cases {
        let present = members(path, case);
        assert!(
            acknowledged.iter().all(|n| present.contains(n)),
            "case {case} lost edits (seed {seed})"
        );
    }
    let acknowledged: usize = cases.iter().map(|(_, a)| a.len()).sum();
    let stats = crate::cli::open_store(path, Identity::new(Role::Caseworker, "checker"))
        .stats(None)
        .expect("stats");
    eprintln!(
        "kill test: {acknowledged} acknowledged edits in {} journeys over {kills} kills ({runs_with_acks} runs \
         acknowledged at least one), all present; store holds {} change rows and {} snapshot(s); {:.1} s",
        cases.len(),
        stats.change_rows,
        stats.snapshot_rows,
        started.elapsed().as_secs_f64()
    );
    assert!(
        runs_with_acks * 2 > kills as usize,
        "most runs should get some edits done before the kill"
    );
    assert!(
        stats.snapshot_rows >= 1,
        "compaction ran (and was killed) along the way"
    );
}
