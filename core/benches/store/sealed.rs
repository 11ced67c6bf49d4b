//! Benchmark (d): what sealing a store at rest costs. The same 5,000-change journey,
//! opened and toggled in a sealed store ([`Store::open_with_key`]) against a plain one
//! ([`Store::open_with`]), interleaved in one run.
//!
//! Fair because the two files hold the same document in the same layout (the sealed one
//! is a copy of the plain one, sealed in place by its first open with a key), and both
//! sides do the same work but for the sealing: the subject unwraps the document's data
//! key and opens every chunk on the way in, and seals the change on the way out. Target
//! <= 1.3x for each, from the issue.
//!
//! [`Store::open_with_key`]: passage_core::Store::open_with_key
//! [`Store::open_with`]: passage_core::Store::open_with

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use passage_core::{SecretKey, Store, StoreId, StoreOptions};

use crate::journey::{Built, identity};
use crate::measure::{compare, interleave, time};
use crate::toggle::Toggle;

/// Open + read of each store, per side.
const OPEN_RUNS: usize = 100;
/// Blocks of toggles per side, and toggles per block.
const TOGGLE_ROUNDS: usize = 20;
const TOGGLE_BLOCK: usize = 10;
const TARGET: f64 = 1.3;

fn sealed(path: &Path, key: &SecretKey) -> Store {
    Store::open_with_key(path, identity(), StoreOptions::default(), &|_: &StoreId| {
        Ok(key.clone())
    })
    .expect("the sealed store opens")
}

fn plain(path: &Path) -> Store {
    Store::open_with(path, identity(), StoreOptions::default()).expect("the plain store opens")
}

fn open_and_read(open: impl FnOnce() -> Store, built: &Built) -> Duration {
    let (elapsed, (store, journey)) = time(|| {
        let store = open();
        let journey = store.journey(&built.case).expect("the journey reads");
        (store, journey)
    });
    black_box(journey);
    drop(store);
    elapsed
}

pub(crate) fn bench(dir: &Path, path: &Path, built: &Built) {
    println!(
        "(d) encryption at rest: the same journey sealed (XChaCha20-Poly1305, a key per document) vs plain"
    );
    let key = SecretKey::generate().expect("a key");
    let plain_path = dir.join("plain.db");
    let sealed_path = dir.join("sealed.db");
    std::fs::copy(path, &plain_path).expect("the store file copies");
    std::fs::copy(path, &sealed_path).expect("the store file copies");
    let (sealing, store) = time(|| sealed(&sealed_path, &key));
    drop(store);
    println!(
        "    setup    sealing the 5,000-change store in place on its first open with a key: {:.1} ms",
        sealing.as_secs_f64() * 1e3
    );

    let (subject, baseline) = interleave(
        OPEN_RUNS,
        1,
        || open_and_read(|| sealed(&sealed_path, &key), built),
        || open_and_read(|| plain(&plain_path), built),
    );
    compare(
        ("sealed: Store::open_with_key + journey()", &subject),
        ("plain: Store::open_with + journey()", &baseline),
        Some(TARGET),
    );

    let mut sealed_toggle = Toggle {
        store: sealed(&sealed_path, &key),
        case: &built.case,
        task: &built.toggle_task,
        done: false,
    };
    let mut plain_toggle = Toggle {
        store: plain(&plain_path),
        case: &built.case,
        task: &built.toggle_task,
        done: false,
    };
    for _ in 0..4 {
        sealed_toggle.apply();
        plain_toggle.apply();
    }
    let (subject, baseline) = interleave(
        TOGGLE_ROUNDS,
        TOGGLE_BLOCK,
        || sealed_toggle.apply(),
        || plain_toggle.apply(),
    );
    compare(
        ("sealed: one task toggle (synchronous=FULL)", &subject),
        ("plain: one task toggle (synchronous=FULL)", &baseline),
        Some(TARGET),
    );
    println!();
}
