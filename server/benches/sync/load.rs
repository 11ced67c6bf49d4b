//! Benchmark (c): talent devices syncing concurrently over loopback, one edit ahead
//! each time: syncs per second, latency, and the server's memory with 100, 1,000 and
//! 3,000 cases (see the crate documentation for the baselines and why they are fair).
//!
//! Its own module because it runs the load: client threads, each with one HTTP
//! connection kept open and its share of the devices, taking them in turn (toggle,
//! then sync as the device's client does: `sync_request`, POST, `sync_apply`, again
//! while the server asks), while the main thread samples the server process's CPU
//! time and memory from `/proc`.

use std::path::Path;
use std::time::{Duration, Instant};

use passage_core::sync::wire::{self, Rejection, SyncResponse, SyncStatus};
use rusqlite::{Connection as Sqlite, TransactionBehavior};

use crate::devices::Device;
use crate::measure::{Memory, Stat, cpu_time, group, latency_line, memory, mib, ms, stat, verdict};
use crate::server::{CacheFigures, Connection, Data, Server};

/// Client threads, each with one connection.
pub(crate) const THREADS: usize = 16;
/// Load before measuring: connections open, the server's caches warm.
pub(crate) const WARMUP: Duration = Duration::from_secs(3);
/// Load measured, per number of cases.
pub(crate) const WINDOW: Duration = Duration::from_secs(20);
/// The bare-commit baseline, per number of cases.
pub(crate) const COMMIT_WINDOW: Duration = Duration::from_secs(2);
/// Syncs made one at a time, before the load, per number of cases.
pub(crate) const ALONE: usize = 100;

/// SQLite's default page cache (`cache_size = -2000`: 2,000 KiB) per connection; the
/// server has two (one writer, one reader).
const PAGE_CACHE_KIB: u64 = 2 * 2_000;

/// What one load run measured.
pub(crate) struct Run {
    pub(crate) cases: usize,
    pub(crate) devices: usize,
    pub(crate) syncs: usize,
    pub(crate) rounds: usize,
    pub(crate) exchange: Stat,
    pub(crate) whole: Stat,
    /// The exchange with one device syncing at a time.
    pub(crate) alone: Stat,
    pub(crate) server_cpu: Duration,
    pub(crate) client_cpu: Duration,
    pub(crate) idle: Memory,
    pub(crate) loaded: Memory,
    pub(crate) database: u64,
    pub(crate) indexes: Option<u64>,
    pub(crate) bytes: (u64, u64),
    pub(crate) commit: Stat,
    pub(crate) commits_per_sec: f64,
    pub(crate) cache: CacheFigures,
}

#[derive(Default)]
struct Samples {
    exchange: Vec<Duration>,
    whole: Vec<Duration>,
    rounds: usize,
    up: u64,
    down: u64,
}

/// One device's sync, as its client makes it; the time spent in HTTP exchanges.
fn sync(conn: &mut Connection, device: &Device, samples: &mut (Duration, usize, u64, u64)) {
    let (mut full, mut repush) = (false, Vec::new());
    loop {
        let request = device.store.sync_request(full, &repush).expect("a request");
        let body = wire::encode(&request);
        let t = Instant::now();
        let reply = conn.sync(&device.token, &body);
        samples.0 += t.elapsed();
        if reply.status != 200 {
            let rejection: Option<Rejection> = wire::decode(&reply.body).ok();
            panic!("sync answered {}: {rejection:?}", reply.status);
        }
        let response: SyncResponse = wire::decode(&reply.body).expect("an answer");
        let applied = device
            .store
            .sync_apply(&request, &response)
            .expect("the answer applies");
        samples.1 += 1;
        samples.2 += body.len() as u64;
        samples.3 += reply.body.len() as u64;
        if !applied.needs_another_round() {
            return;
        }
        assert!(samples.1 < 16, "a sync did not finish");
        full = applied.status == SyncStatus::NeedFull;
        repush = applied.repush;
    }
}

fn worker(addr: &str, mut devices: Vec<&mut Device>, from: Instant, end: Instant) -> Samples {
    let mut conn = Connection::new(addr);
    let mut out = Samples::default();
    let (mut k, n) = (0, devices.len());
    while Instant::now() < end {
        let device = &mut devices[k % n];
        k += 1;
        let started = Instant::now();
        device.toggle();
        let mut one = (Duration::ZERO, 0, 0, 0);
        sync(&mut conn, device, &mut one);
        let finished = Instant::now();
        if started >= from && finished <= end {
            out.whole.push(finished - started);
            out.exchange.push(one.0);
            out.rounds += one.1;
            out.up += one.2;
            out.down += one.3;
        }
    }
    out
}

/// The floor of a sync on the server: one durable commit through one writer, as a
/// bare SQLite file in the same directory does it (WAL, `synchronous=FULL`, a
/// `BEGIN IMMEDIATE` transaction inserting one row of the size of a toggle's change).
fn bare_commits(dir: &Path) -> (Stat, f64) {
    let path = dir.join("bare-commit.db");
    let _ = std::fs::remove_file(&path);
    let mut conn = Sqlite::open(&path).expect("the bare file opens");
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE rows (id INTEGER PRIMARY KEY, bytes BLOB NOT NULL);",
    )
    .expect("the bare table");
    let blob = vec![0x5a_u8; 300];
    let mut samples = Vec::new();
    let started = Instant::now();
    while started.elapsed() < COMMIT_WINDOW {
        let t = Instant::now();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .expect("a write transaction");
        tx.execute("INSERT INTO rows (bytes) VALUES (?1)", [&blob])
            .expect("the row inserts");
        tx.commit().expect("the commit");
        samples.push(t.elapsed());
    }
    let rate = samples.len() as f64 / started.elapsed().as_secs_f64();
    (stat(samples), rate)
}

/// The server database's indexes, in bytes of pages (`dbstat`), if SQLite has it.
fn index_bytes(data: &Data) -> Option<u64> {
    let conn = Sqlite::open(data.dir.join(passage_server::run::DB_FILE)).ok()?;
    conn.query_row(
        "SELECT coalesce(sum(pgsize), 0) FROM dbstat
         WHERE name IN (SELECT name FROM sqlite_schema WHERE type = 'index')",
        [],
        |r| r.get::<_, i64>(0),
    )
    .ok()
    .map(|b| b as u64)
}

/// Runs the load on a fresh server process over `data`, whose cases each have one of
/// `devices`.
pub(crate) fn run(data: &Data, cases: usize, devices: &mut [Device]) -> Run {
    let (commit, commits_per_sec) = bare_commits(&data.dir);
    let server = Server::start(&data.dir);
    std::thread::sleep(Duration::from_millis(200));
    let idle = memory(server.pid);
    let alone = {
        let mut conn = Connection::new(&server.addr);
        let mut times = Vec::with_capacity(ALONE);
        for i in 0..ALONE {
            let device = &mut devices[i % devices.len()];
            device.toggle();
            let mut one = (Duration::ZERO, 0, 0, 0);
            sync(&mut conn, device, &mut one);
            times.push(one.0);
        }
        stat(times)
    };
    let count = devices.len();
    let mut groups: Vec<Vec<&mut Device>> = (0..THREADS).map(|_| Vec::new()).collect();
    for (i, device) in devices.iter_mut().enumerate() {
        groups[i % THREADS].push(device);
    }
    let start = Instant::now();
    let (from, end) = (start + WARMUP, start + WARMUP + WINDOW);
    let me = std::process::id();
    let (samples, server_cpu, client_cpu, loaded, cache) = std::thread::scope(|s| {
        let addr = server.addr.as_str();
        let handles: Vec<_> = groups
            .into_iter()
            .filter(|g| !g.is_empty())
            .map(|group| s.spawn(move || worker(addr, group, from, end)))
            .collect();
        std::thread::sleep(from.saturating_duration_since(Instant::now()));
        let (server0, client0) = (cpu_time(server.pid), cpu_time(me));
        std::thread::sleep(end.saturating_duration_since(Instant::now()));
        let (server1, client1) = (cpu_time(server.pid), cpu_time(me));
        let loaded = memory(server.pid);
        let cache = server.cache();
        let samples: Vec<Samples> = handles
            .into_iter()
            .map(|h| h.join().expect("a client thread"))
            .collect();
        (samples, server1 - server0, client1 - client0, loaded, cache)
    });
    drop(server);
    let mut all = Samples::default();
    for s in samples {
        all.exchange.extend(s.exchange);
        all.whole.extend(s.whole);
        all.rounds += s.rounds;
        all.up += s.up;
        all.down += s.down;
    }
    let syncs = all.whole.len();
    Run {
        cases,
        devices: count,
        syncs,
        rounds: all.rounds,
        exchange: stat(all.exchange),
        whole: stat(all.whole),
        alone,
        server_cpu,
        client_cpu,
        idle,
        loaded,
        cache,
        database: data.bytes(),
        indexes: index_bytes(data),
        bytes: (all.up / syncs as u64, all.down / syncs as u64),
        commit,
        commits_per_sec,
    }
}

pub(crate) fn print(run: &Run) {
    let rate = run.syncs as f64 / WINDOW.as_secs_f64();
    let per = |d: Duration| ms(d / run.syncs as u32);
    println!(
        "    {} cases, {} devices: {rate:.1} syncs/s ({} in {} s), {:.2} round trips per sync, {} B up + {} B down per sync (mean)",
        group(run.cases as u64),
        group(run.devices as u64),
        group(run.syncs as u64),
        WINDOW.as_secs(),
        run.rounds as f64 / run.syncs as f64,
        run.bytes.0,
        run.bytes.1,
    );
    latency_line("subject", "HTTP exchange (POST to last byte)", &run.exchange);
    latency_line("info", "whole sync (toggle, request, HTTP, apply)", &run.whole);
    latency_line("baseline", "HTTP exchange, one device at a time", &run.alone);
    latency_line("baseline", "bare SQLite commit, synchronous=FULL", &run.commit);
    println!(
        "    ratio    exchange p50 under load / one at a time   {}",
        verdict(run.exchange.p50.as_secs_f64() / run.alone.p50.as_secs_f64(), None)
    );
    println!(
        "    ratio    exchange p50 / bare commit p50   {}",
        verdict(
            run.exchange.p50.as_secs_f64() / run.commit.p50.as_secs_f64(),
            None
        )
    );
    println!(
        "    ratio    syncs/s / bare commits/s ({:.0}/s)   {}",
        run.commits_per_sec,
        verdict(rate / run.commits_per_sec, None)
    );
    // Little's law: requests in the server = arrival rate x time in the server.
    let in_flight = rate * run.exchange.mean.as_secs_f64();
    let reading = if in_flight >= 0.8 * THREADS as f64 {
        "the server is saturated, the latency is mostly waiting"
    } else {
        "the server keeps up with the clients"
    };
    println!(
        "    info     in flight = syncs/s x mean exchange = {in_flight:.1} of {THREADS} client threads: {reading}"
    );
    println!(
        "    server   CPU {} per sync ({:.0}% of one core; one sync completes every {:.3} ms); the client threads used {} per sync",
        per(run.server_cpu),
        100.0 * run.server_cpu.as_secs_f64() / WINDOW.as_secs_f64(),
        1e3 / rate,
        per(run.client_cpu),
    );
    println!(
        "    memory   VmRSS {} at start -> {} under load (anon {}), VmHWM {}; database {} B, its indexes {}",
        mib(run.idle.rss),
        mib(run.loaded.rss),
        mib(run.loaded.anon),
        mib(run.loaded.hwm),
        group(run.database),
        run.indexes
            .map_or_else(|| "n/a".to_owned(), |b| format!("{} B", group(b))),
    );
    let loads = run.cache.hits + run.cache.misses;
    println!(
        "    cache    {} documents, {} (estimated) of its {} budget; {} of {} document loads from memory ({:.0}%) since the server started",
        group(run.cache.documents),
        mib(run.cache.bytes / 1024),
        mib(passage_server::cache::DEFAULT_CACHE_BYTES as u64 / 1024),
        group(run.cache.hits),
        group(loads),
        100.0 * run.cache.hits as f64 / loads.max(1) as f64,
    );
    println!(
        "    commits  {} sync exchanges in {} commits since the server started: {:.2} per commit",
        group(run.cache.committed),
        group(run.cache.commits),
        run.cache.committed as f64 / run.cache.commits.max(1) as f64,
    );
}

/// The memory comparison across numbers of cases: `runs[0]` is the baseline. The
/// document cache grows to its budget by design (its estimate of a document's size errs
/// high, so it stays under); what must not grow is the rest. So the target is that the
/// growth from 100 cases stays within the cache's budget; the plain ratio is printed
/// beside it.
pub(crate) fn memory_ratios(runs: &[Run]) {
    let base = &runs[0];
    let budget = passage_server::cache::DEFAULT_CACHE_BYTES as u64 / 1024;
    println!(
        "    target   the server's memory does not grow with the number of cases beyond its indexes \
         (SQLite's page caches: at most {}) and its document cache (budget {})",
        mib(PAGE_CACHE_KIB),
        mib(budget),
    );
    for run in &runs[1..] {
        let target = (run.cases == 1_000).then_some(1.0);
        let growth = run.loaded.rss.saturating_sub(base.loaded.rss);
        println!(
            "    ratio    VmRSS growth from {} to {} cases / the cache's budget ({} / {})   {}",
            group(base.cases as u64),
            group(run.cases as u64),
            mib(growth),
            mib(budget),
            verdict(growth as f64 / budget as f64, target)
        );
        println!(
            "    info     VmRSS under load, {} / {} cases ({} / {})   {}",
            group(run.cases as u64),
            group(base.cases as u64),
            mib(run.loaded.rss),
            mib(base.loaded.rss),
            verdict(run.loaded.rss as f64 / base.loaded.rss as f64, None),
        );
        println!(
            "    info     VmHWM, {} / {} cases ({} / {})   {}",
            group(run.cases as u64),
            group(base.cases as u64),
            mib(run.loaded.hwm),
            mib(base.loaded.hwm),
            verdict(run.loaded.hwm as f64 / base.loaded.hwm as f64, None)
        );
    }
}
