//! Benchmark (a): a talent's phone one task toggle ahead of the server. Round trips and
//! bytes of our protocol, over HTTP against the real server, against Automerge's own
//! sync protocol on the same change (see the crate documentation for why that
//! baseline is fair).
//!
//! Its own module because it carries the setup of a real case: a caseworker's device
//! that creates the journey offline with a history and pushes it (the server creates
//! the case from that push), and the talent's device enrolled and brought in step,
//! both through the device's own HTTP client ([`SyncClient`]).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use automerge::Change;
use passage_core::sync::{ClientOptions, SyncClient, SyncReport};
use passage_core::{DocKind, Durability, Identity, Role, Store};

use crate::am::{Exchange, Peers};
use crate::devices::{TOGGLE_TASK, history, options, toggle};
use crate::measure::{group, median, ms, stat, verdict};
use crate::server::{Data, Server, new_journey};

/// Toggles measured, each one sync of ours and one reconnect of Automerge's.
pub(crate) const TOGGLES: usize = 15;
/// Edits the caseworker makes on the journey before the talent's phone joins.
pub(crate) const HISTORY: usize = 300;

const TARGET_ROUND_TRIPS: u32 = 1;
const TARGET_BYTES: f64 = 0.6;

fn sync(rt: &tokio::runtime::Runtime, client: &SyncClient, store: &Arc<Store>) -> SyncReport {
    let report = rt
        .block_on(client.sync(store.clone()))
        .expect("the sync succeeds");
    assert!(report.complete, "the sync completes");
    report
}

pub(crate) fn bench(dir: &Path, rt: &tokio::runtime::Runtime) {
    println!(
        "(a) a talent's phone one task toggle ahead: our protocol over HTTP vs Automerge's sync protocol on the same change"
    );
    let data = Data::open(dir.join("server-a"));
    let caseworker = data.caseworker("Amira Khoury");
    let server = Server::start(&data.dir);
    let client = SyncClient::new(ClientOptions::default()).expect("the HTTP client");

    // The caseworker creates the case offline, works on it, and pushes it.
    let laptop = Arc::new(
        Store::open_with(
            dir.join("a-caseworker.db"),
            Identity::new(Role::Caseworker, "Amira Khoury"),
            options(Durability::Normal),
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
    let case = laptop.create_journey(&new_journey(0)).expect("the journey");
    history(&laptop, &case, HISTORY);
    let pushed = sync(rt, &client, &laptop);

    // The talent's phone joins (default options: synchronous=FULL, as on a phone).
    let phone = Arc::new(
        Store::open_with(
            dir.join("a-talent.db"),
            Identity::new(Role::Talent, "Rana Haddad"),
            options(Durability::Full),
        )
        .expect("the talent's store"),
    );
    rt.block_on(client.enrol(
        phone.clone(),
        &server.url(),
        &data.talent_code(&case),
        "Rana's phone",
    ))
    .expect("the talent's phone enrols");
    let joined = sync(rt, &client, &phone);
    let journey = case.doc(DocKind::Journey);
    let medical = case.doc(DocKind::Medical);
    let saved = phone.save_document(&journey).expect("the journey saves");
    let changes = phone.changes_since(&journey, &[]).expect("the changes").len();
    println!(
        "    journey  template be, {changes} changes ({HISTORY} edits by the caseworker), save() {} B; \
         pushed by the caseworker in {} round trip(s), {} B up; the phone's first sync {} B down",
        group(saved.len() as u64),
        pushed.rounds,
        group(pushed.bytes_up),
        group(joined.bytes_down),
    );

    // Automerge's peers hold the same journey, after a first full sync whose states
    // they persisted; and the medical record likewise, for the note below.
    let (mut peers, first) = Peers::new(&saved);
    let (mut medical_peers, _) =
        Peers::new(&phone.save_document(&medical).expect("the medical record saves"));

    let mut ours: Vec<SyncReport> = Vec::new();
    let mut theirs: Vec<Exchange> = Vec::new();
    let mut medical_idle: Vec<Exchange> = Vec::new();
    let mut change_sizes = Vec::new();
    let mut done = false;
    for _ in 0..TOGGLES {
        let heads = phone.heads(&journey).expect("heads");
        toggle(&phone, &case, &mut done);
        let mut change = phone.changes_since(&journey, &heads).expect("the change");
        assert_eq!(change.len(), 1, "a toggle is one change");
        let change = change.pop().expect("one change");
        change_sizes.push(change.len() as u64);

        ours.push(sync(rt, &client, &phone));

        peers
            .device
            .apply_changes([Change::from_bytes(change).expect("the change decodes")])
            .expect("the device's peer applies the toggle");
        theirs.push(peers.reconnect());
        medical_idle.push(medical_peers.reconnect());
    }
    drop(server);

    let rounds = ours.iter().map(|r| r.rounds).max().unwrap_or(0);
    let up = median(ours.iter().map(|r| r.bytes_up).collect());
    let down = median(ours.iter().map(|r| r.bytes_down).collect());
    let am = median(theirs.iter().map(Exchange::bytes).collect());
    let am_up = median(theirs.iter().map(Exchange::bytes_up).collect());
    let am_down = median(theirs.iter().map(Exchange::bytes_down).collect());
    let am_rounds = theirs.iter().map(|e| e.round_trips).max().unwrap_or(0);
    let am_messages = theirs.iter().map(Exchange::messages).max().unwrap_or(0);
    let shape = |e: &Exchange| format!("up {:?} down {:?}", e.up, e.down);
    println!(
        "    edit     SetTaskStatus({TOGGLE_TASK}) done <-> todo, {TOGGLES} times; the change is {} B (median)",
        median(change_sizes)
    );
    println!(
        "    subject  ours: {rounds} round trip(s) per sync (max of {TOGGLES}); request {up} B + response {down} B = {} B (medians; bodies as sent, envelope included, no HTTP headers)",
        up + down
    );
    println!(
        "    baseline Automerge: {am_rounds} round trips, {am_messages} messages per sync (max); device->server {am_up} B + server->device {am_down} B = {am} B (medians; encoded messages, no framing)"
    );
    println!(
        "    messages Automerge, one sync: {}",
        shape(&theirs[theirs.len() / 2])
    );
    println!(
        "    ratio    round trips ours {rounds}   target <= {TARGET_ROUND_TRIPS}   {}",
        if rounds <= TARGET_ROUND_TRIPS {
            "PASS"
        } else {
            "OVER"
        }
    );
    println!(
        "    ratio    bytes ours / Automerge   {}",
        verdict((up + down) as f64 / am as f64, Some(TARGET_BYTES))
    );
    let idle = median(medical_idle.iter().map(Exchange::bytes).collect());
    println!(
        "    info     not in the baseline: a reconnecting Automerge peer also syncs the unchanged medical record, \
         +{} messages, +{idle} B (ours covers it with the 16-byte digest)",
        medical_idle[0].messages(),
    );
    println!(
        "    info     first full sync of Automerge's peers (same document, empty states): {} messages, {} B",
        first.messages(),
        group(first.bytes())
    );
    let times: Vec<Duration> = ours.iter().map(|r| r.duration).collect();
    let s = stat(times);
    println!(
        "    info     our whole sync on the phone (SyncClient::sync: store, HTTP on loopback, server, store; synchronous=FULL): median {}, max {}",
        ms(s.p50),
        ms(s.max)
    );
    println!();
}
