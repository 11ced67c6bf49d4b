//! Benchmark (d): what the limits cost the server per sync. Every sync request now
//! goes through admission (the device's rate, its syncs in flight, the server's,
//! a reservation in the memory budget) and a decode within the role's limits (the
//! census that counts the message's CBOR items before the decoder runs, then the
//! field counts). This times that work in-process, per request, on a real one-edit
//! request body (a talent toggling a task), and sets it against the server's CPU time
//! per sync measured in (c) with 100 cases: the share the limits add.
//!
//! Fair, and on the limits' side of caution: the decode is timed whole, census and
//! field counts together with the message decode that every sync paid before the
//! limits existed; and the admission structures are exercised the way the handler
//! does (a rate limiter with a bucket per device, two semaphores, a per-device count
//! behind a mutex). Target: the limits add at most 5% to server CPU per sync.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use passage_core::sync::wire::{self, Push, SyncRequest};
use passage_core::{DocKind, Edit, Identity, Role, Store, StoreOptions};
use passage_server::limits::Limits;
use passage_server::ratelimit::RateLimiter;
use tokio::sync::Semaphore;

use crate::load::Run;
use crate::measure::{ms, verdict};

/// Requests timed.
const REQUESTS: usize = 20_000;
const TARGET: f64 = 1.05;

/// A talent's one-edit request, as its device sends it.
fn one_edit_request(dir: &std::path::Path) -> Vec<u8> {
    let store = Store::open_with(
        dir.join("limits-device.db"),
        Identity::new(Role::Caseworker, "Amira Khoury"),
        StoreOptions::default(),
    )
    .expect("a store");
    let case = store
        .create_journey(&crate::server::new_journey(0))
        .expect("a journey");
    let journey = case.doc(DocKind::Journey);
    let heads = store.heads(&journey).expect("heads");
    store
        .apply(
            &case,
            &Edit::SetTaskStatus {
                task: "complete_talent_profile".into(),
                status: passage_core::model::TaskStatus::Done,
            },
        )
        .expect("a toggle");
    let changes = store.changes_since(&journey, &heads).expect("the change");
    wire::encode(&SyncRequest {
        known: Some([7; 16]),
        pushes: vec![Push {
            doc: journey.clone(),
            heads: store.heads(&journey).expect("heads"),
            changes,
        }],
        full: None,
        erase: vec![],
    })
}

pub(crate) fn bench(dir: &std::path::Path, run: &Run) {
    println!("(d) what the limits cost per sync, in-process, against the server's CPU per sync in (c)");
    let body = one_edit_request(dir);
    let limits = Limits::default();
    let role = limits.for_role(Role::Talent);
    let rate: RateLimiter<i64> = RateLimiter::new(limits.sync_rate);
    let pending = Arc::new(Semaphore::new(limits.max_pending_syncs));
    let memory = Arc::new(Semaphore::new(limits.request_memory / 1024));
    let in_flight: Mutex<HashMap<i64, usize>> = Mutex::new(HashMap::new());

    let started = Instant::now();
    for i in 0..REQUESTS {
        // A bucket per device, as many devices as requests: the limiter's worst case.
        let _ = std::hint::black_box(rate.take(&(i as i64)));
        {
            let mut counts = in_flight.lock().expect("counts");
            *counts.entry(i as i64).or_insert(0) += 1;
        }
        let permit = Arc::clone(&pending).try_acquire_owned().expect("a permit");
        let reserve = body.len() + role.decode_for(body.len()).message_bytes;
        let reserved = Arc::clone(&memory)
            .try_acquire_many_owned(reserve.div_ceil(1024) as u32)
            .expect("memory");
        let decoded: SyncRequest =
            wire::decode_with(&body, &role.decode_for(body.len())).expect("a valid request");
        std::hint::black_box(decoded);
        drop((permit, reserved));
        let mut counts = in_flight.lock().expect("counts");
        if let Some(count) = counts.get_mut(&(i as i64)) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&(i as i64));
            }
        }
    }
    let per_request = started.elapsed() / REQUESTS as u32;
    let per_sync = run.server_cpu / run.syncs.max(1) as u32;
    let ratio = (per_sync + per_request).as_secs_f64() / per_sync.as_secs_f64();
    println!(
        "    subject  admission and decoding within limits, one {}-byte one-edit request: {} per request (n={REQUESTS})",
        body.len(),
        micros(per_request)
    );
    println!(
        "    baseline server CPU per sync in (c), 100 cases: {}",
        ms(per_sync)
    );
    println!(
        "    ratio    (CPU per sync + limits) / CPU per sync  {}",
        verdict(ratio, Some(TARGET))
    );
    println!();
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}
