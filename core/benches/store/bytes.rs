//! Benchmark (c): the bytes the journey takes on disk after compaction, against
//! `save()` of the same document (see the crate documentation for why that baseline is
//! fair).
//!
//! Its own module because it measures sizes, not times: it reads SQLite's page
//! accounting (`dbstat`, pragmas) on the closed, checkpointed file rather than using the
//! timing harness.

use std::path::Path;

use passage_core::{DocKind, Store, StoreOptions};
use rusqlite::Connection;

use crate::journey::{Built, identity};
use crate::measure::{group, verdict};

const TARGET_BYTES: f64 = 1.1;

/// Opens a closed store's file with rusqlite and moves everything from the WAL into the
/// main file.
pub(crate) fn checkpoint(path: &Path) -> Connection {
    let conn = Connection::open(path).expect("the store file opens");
    let busy: i64 = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
        .expect("the WAL checkpoints");
    assert_eq!(busy, 0, "nothing else has the file open");
    conn
}

pub(crate) fn bench(path: &Path, built: &Built) {
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
    // Everything the journey's rows store: the chunk bytes plus their keys and heads.
    let rows: i64 = conn
        .query_row(
            "SELECT coalesce(sum(length(doc_id) + length(hash) + 8 + length(bytes) + coalesce(length(heads), 0)), 0)
             FROM chunks WHERE doc_id = ?1",
            [built.doc.to_string()],
            |r| r.get(0),
        )
        .expect("the journey's rows");
    let rows = rows as u64;
    println!(
        "    rows     journey rows: chunk bytes + keys + heads                {:>9} B",
        group(rows)
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
    println!(
        "    ratio    journey rows / save()   {}",
        verdict(rows as f64 / saved as f64, Some(TARGET_BYTES))
    );
    println!(
        "    info     payload / save()   {:.3}x",
        payload as f64 / saved as f64
    );
    let (pages_label, pages_bytes) = match pages {
        Some(b) => ("chunks pages / save()", b),
        None => ("whole file (page_count * page_size) / save()", whole),
    };
    // Informational: SQLite allocates whole pages, so a blob's last overflow page is
    // partly empty (up to one page per row, about half a page on average), and this
    // table also holds the medical document.
    println!(
        "    info     {pages_label}   {:.3}x   (page granularity: up to {page_size} B per row)",
        pages_bytes as f64 / saved as f64
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
