//! Benchmark (b): a caseworker's device holding 1,000 cases syncs when nothing changed.
//! Bytes on the wire both ways, against Automerge's own sync protocol reconnecting on
//! the same 2,000 documents (see the crate documentation for why that baseline is
//! fair).
//!
//! Its own module because it builds the 1,000 cases (through the server's library, as
//! `case create` does, timed) that (c) then reuses, and brings the caseworker's device
//! in step with all of them over HTTP before measuring.

use std::path::Path;
use std::sync::Arc;

use passage_core::sync::{ClientOptions, SyncClient, SyncReport};
use passage_core::{CaseId, DocKind, Durability, Identity, Role, Store};

use crate::am::{Exchange, Peers};
use crate::devices::options;
use crate::measure::{group, median, ms, secs, stat, time, within};
use crate::server::{Data, Server};

pub(crate) const CASES: usize = 1_000;
/// Syncs measured with nothing changed.
pub(crate) const IDLE_SYNCS: usize = 9;
/// Documents the Automerge baseline reconnects on: all of them.
const TARGET_TOTAL_BYTES: u64 = 1_024;

pub(crate) const CASEWORKER: &str = "Amira Khoury";

/// The 1,000 cases, for (c).
pub(crate) struct Built {
    pub(crate) data: Data,
    pub(crate) caseworker: i64,
    pub(crate) cases: Vec<CaseId>,
}

fn sync(rt: &tokio::runtime::Runtime, client: &SyncClient, store: &Arc<Store>) -> SyncReport {
    let report = rt
        .block_on(client.sync(store.clone()))
        .expect("the sync succeeds");
    assert!(report.complete, "the sync completes");
    report
}

pub(crate) fn bench(dir: &Path, rt: &tokio::runtime::Runtime) -> Built {
    println!(
        "(b) a caseworker's device holding {} cases syncs when nothing changed: bytes on the wire, ours vs Automerge's sync protocol",
        group(CASES as u64)
    );
    let data = Data::open(dir.join("server-1000"));
    let caseworker = data.caseworker(CASEWORKER);
    let (took, cases) = time(|| data.cases(caseworker, 0, CASES));
    println!(
        "    setup    {} cases created through passage_server::docs::create_case in one transaction: {} ({} per case); database {} B",
        group(CASES as u64),
        secs(took),
        ms(took / CASES as u32),
        group(data.bytes())
    );
    let server = Server::start(&data.dir);
    let client = SyncClient::new(ClientOptions::default()).expect("the HTTP client");
    let laptop = Arc::new(
        Store::open_with(
            dir.join("b-caseworker.db"),
            Identity::new(Role::Caseworker, CASEWORKER),
            options(Durability::Full),
        )
        .expect("the caseworker's store"),
    );
    rt.block_on(client.enrol(
        laptop.clone(),
        &server.url(),
        &data.caseworker_code(caseworker),
        "laptop",
    ))
    .expect("the caseworker's device enrols");
    let (took, first) = time(|| sync(rt, &client, &laptop));
    println!(
        "    setup    the device's first sync over HTTP: {} round trips, {} B up, {} B down, {} changes, {}",
        first.rounds,
        group(first.bytes_up),
        group(first.bytes_down),
        group(first.changes_received as u64),
        secs(took),
    );

    let idle: Vec<SyncReport> = (0..IDLE_SYNCS).map(|_| sync(rt, &client, &laptop)).collect();
    drop(server);
    let rounds = idle.iter().map(|r| r.rounds).max().unwrap_or(0);
    let up = median(idle.iter().map(|r| r.bytes_up).collect());
    let down = median(idle.iter().map(|r| r.bytes_down).collect());
    let most = idle.iter().map(|r| r.bytes_up + r.bytes_down).max().unwrap_or(0);

    // Automerge: every document in step on both peers, states persisted from an
    // earlier full sync, then one reconnect per document.
    let (took, (total, per_doc)) = time(|| {
        let mut total = Exchange::default();
        let mut per_doc = Vec::new();
        for case in &cases {
            for kind in [DocKind::Journey, DocKind::Medical] {
                let saved = laptop.save_document(&case.doc(kind)).expect("the document saves");
                let (mut peers, _) = Peers::new(&saved);
                let ex = peers.reconnect();
                per_doc.push(ex.bytes());
                total.add(&ex);
            }
            laptop.evict_all();
        }
        (total, per_doc)
    });
    println!("    edit     none: {IDLE_SYNCS} syncs in a row after the device is in step");
    println!(
        "    subject  ours: {rounds} round trip(s) per sync (max); request {up} B + response {down} B = {} B (medians; largest {most} B)",
        up + down
    );
    println!(
        "    baseline Automerge: {} documents, {} messages, {} round trip(s) if all travel together; device->server {} B + server->device {} B = {} B ({} B per document, median)",
        group(per_doc.len() as u64),
        group(total.messages() as u64),
        total.round_trips,
        group(total.bytes_up()),
        group(total.bytes_down()),
        group(total.bytes()),
        median(per_doc),
    );
    let ratio = (up + down) as f64 / total.bytes() as f64;
    println!(
        "    ratio    bytes ours / Automerge   {ratio:.5}x (1/{})   (informational, no target)",
        group((1.0 / ratio).round() as u64)
    );
    println!(
        "    target   ours, total both ways   {}",
        within(up + down, TARGET_TOTAL_BYTES, "B")
    );
    let s = stat(idle.iter().map(|r| r.duration).collect());
    println!(
        "    info     our whole sync (SyncClient::sync, synchronous=FULL on the device): median {}, max {}; \
         the baseline took {} to compute in memory",
        ms(s.p50),
        ms(s.max),
        secs(took)
    );
    println!();
    Built {
        data,
        caseworker,
        cases,
    }
}
