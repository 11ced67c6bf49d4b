//! Documents, their chunks and sequence numbers, and what each device holds, in SQLite.

use automerge::ChangeHash;
use passage_core::DocId;
use passage_core::chunk::Chunk;
use rusqlite::{Connection, OptionalExtension, params};

use super::{doc_id, fail, sealing};
use crate::storage::seal::Sealer;
use crate::storage::{DocState, Result, Scope, StorageError, Timestamp, heads_blob, heads_from_blob};

fn doc_state(doc: String, heads: Vec<u8>, seq: i64, bytes: i64) -> Result<DocState> {
    Ok(DocState {
        doc: doc_id(&doc)?,
        heads: heads_from_blob(&heads)?,
        seq,
        bytes: bytes.max(0) as u64,
    })
}

pub(super) fn document(conn: &Connection, doc: &DocId) -> Result<Option<DocState>> {
    let row: Option<(Vec<u8>, i64, i64)> = conn
        .prepare_cached("SELECT heads, seq, bytes FROM documents WHERE doc_id = ?1")
        .map_err(fail)?
        .query_row([doc.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()
        .map_err(fail)?;
    row.map(|(heads, seq, bytes)| doc_state(doc.to_string(), heads, seq, bytes))
        .transpose()
}

pub(super) fn case_bytes(conn: &Connection, case: &passage_core::CaseId) -> Result<u64> {
    conn.prepare_cached("SELECT coalesce(sum(bytes), 0) FROM documents WHERE case_id = ?1")
        .map_err(fail)?
        .query_row([case.as_str()], |r| r.get::<_, i64>(0))
        .map(|n| n.max(0) as u64)
        .map_err(fail)
}

pub(super) fn chunks(conn: &Connection, sealer: Option<&Sealer>, doc: &DocId) -> Result<Vec<Chunk>> {
    let mut stmt = conn
        .prepare_cached("SELECT hash, kind, bytes FROM chunks WHERE doc_id = ?1 ORDER BY rowid")
        .map_err(fail)?;
    let mut chunks: Vec<Chunk> = stmt
        .query_map([doc.to_string()], |r| {
            Ok(Chunk {
                key: r.get(0)?,
                snapshot: r.get::<_, i64>(1)? == 1,
                bytes: r.get(2)?,
            })
        })
        .map_err(fail)?
        .collect::<rusqlite::Result<_>>()
        .map_err(fail)?;
    if let Some(sealer) = sealer
        && !chunks.is_empty()
    {
        let key = sealing::doc_key(conn, sealer, doc, false)?
            .ok_or_else(|| StorageError::Corrupt(format!("{doc} has chunks but no data key")))?;
        for chunk in &mut chunks {
            chunk.bytes = sealer.open(&key, doc, &chunk.key, &chunk.bytes)?;
        }
    }
    Ok(chunks)
}

pub(super) fn store_changes(
    conn: &Connection,
    sealer: Option<&Sealer>,
    doc: &DocId,
    changes: &[(ChangeHash, Vec<u8>)],
    heads: &[ChangeHash],
    at: Timestamp,
) -> Result<()> {
    // One writer at a time: the next number of the one counter is above every
    // position any reader can have seen.
    let seq = next_seq(conn)?;
    conn.prepare_cached(
        "INSERT INTO documents (doc_id, case_id, kind, heads, seq, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (doc_id) DO UPDATE SET heads = excluded.heads, seq = excluded.seq",
    )
    .map_err(fail)?
    .execute(params![
        doc.to_string(),
        doc.case.as_str(),
        doc.kind.as_str(),
        heads_blob(heads),
        seq,
        at
    ])
    .map_err(fail)?;
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO chunks (doc_id, hash, kind, bytes) VALUES (?1, ?2, 0, ?3)
             ON CONFLICT (doc_id, hash) DO NOTHING",
        )
        .map_err(fail)?;
    let key = match sealer {
        Some(sealer) if !changes.is_empty() => sealing::doc_key(conn, sealer, doc, true)?,
        _ => None,
    };
    let mut added = 0i64;
    for (hash, bytes) in changes {
        let stored = match (sealer, &key) {
            (Some(sealer), Some(key)) => sealer.seal(key, doc, hash.as_ref(), bytes)?,
            _ => bytes.clone(),
        };
        if insert
            .execute(params![doc.to_string(), hash.as_ref(), stored])
            .map_err(fail)?
            == 1
        {
            added += stored.len() as i64;
        }
    }
    if added > 0 {
        conn.prepare_cached("UPDATE documents SET bytes = bytes + ?2 WHERE doc_id = ?1")
            .map_err(fail)?
            .execute(params![doc.to_string(), added])
            .map_err(fail)?;
    }
    Ok(())
}

pub(super) fn replace_with_snapshot(
    conn: &Connection,
    sealer: Option<&Sealer>,
    doc: &DocId,
    key: &[u8],
    bytes: &[u8],
) -> Result<()> {
    let stored = match sealer {
        Some(sealer) => {
            let data_key = sealing::doc_key(conn, sealer, doc, true)?
                .ok_or_else(|| StorageError::Corrupt(format!("{doc} has no data key")))?;
            sealer.seal(&data_key, doc, key, bytes)?
        }
        None => bytes.to_vec(),
    };
    conn.execute("DELETE FROM chunks WHERE doc_id = ?1", [doc.to_string()])
        .map_err(fail)?;
    conn.execute(
        "INSERT INTO chunks (doc_id, hash, kind, bytes) VALUES (?1, ?2, 1, ?3)",
        params![doc.to_string(), key, stored],
    )
    .map_err(fail)?;
    conn.execute(
        "UPDATE documents SET bytes = ?2 WHERE doc_id = ?1",
        params![doc.to_string(), stored.len() as i64],
    )
    .map(|_| ())
    .map_err(fail)
}

pub(super) fn change_rows(conn: &Connection, doc: &DocId) -> Result<u64> {
    conn.prepare_cached("SELECT count(*) FROM chunks WHERE doc_id = ?1 AND kind = 0")
        .map_err(fail)?
        .query_row([doc.to_string()], |r| r.get::<_, i64>(0))
        .map(|n| n.max(0) as u64)
        .map_err(fail)
}

pub(super) fn next_seq(conn: &Connection) -> Result<i64> {
    Ok(max_seq(conn)? + 1)
}

/// The highest position given: under SQLite's one writer, whatever commits later is
/// numbered above it.
pub(super) fn max_seq(conn: &Connection) -> Result<i64> {
    conn.prepare_cached("SELECT coalesce(max(seq), 0) FROM documents")
        .map_err(fail)?
        .query_row([], |r| r.get(0))
        .map_err(fail)
}

pub(super) fn readable_docs(conn: &Connection, scope: &Scope, after: i64) -> Result<Vec<DocState>> {
    let (sql, key): (&str, Box<dyn rusqlite::ToSql>) = match scope {
        Scope::Case(case) => (
            // Sorted below, not by SQL: SQLite compiles a statement that may order by
            // either of two indexes again on every run (see `people::DEVICE_COLUMNS`).
            "SELECT doc_id, heads, seq, bytes FROM documents
             WHERE case_id = ?1 AND kind IN ('journey', 'medical') AND seq > ?2",
            Box::new(case.as_str().to_owned()),
        ),
        Scope::ArrivalPlan(case) => (
            "SELECT doc_id, heads, seq, bytes FROM documents
             WHERE case_id = ?1 AND kind = 'arrival-plan' AND seq > ?2",
            Box::new(case.as_str().to_owned()),
        ),
        Scope::Caseworker(id) => (
            // The cases as a subquery, not a join: SQLite compiles a join ordered by a
            // range on a parameter again on every run (see `people::DEVICE_COLUMNS`).
            "SELECT d.doc_id, d.heads, d.seq, d.bytes FROM documents d
             WHERE d.seq > ?2 AND d.kind IN ('journey', 'medical')
               AND d.case_id IN (SELECT c.case_id FROM cases c WHERE c.caseworker = ?1)
             ORDER BY d.seq",
            Box::new(*id),
        ),
    };
    let mut stmt = conn.prepare_cached(sql).map_err(fail)?;
    let mut rows: Vec<(String, Vec<u8>, i64, i64)> = stmt
        .query_map(params![key, after], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .map_err(fail)?
        .collect::<rusqlite::Result<_>>()
        .map_err(fail)?;
    rows.sort_by_key(|row| row.2);
    rows.into_iter()
        .map(|(doc, heads, seq, bytes)| doc_state(doc, heads, seq, bytes))
        .collect()
}

pub(super) fn peer_heads(conn: &Connection, device: i64, doc: &DocId) -> Result<Option<Vec<ChangeHash>>> {
    let blob: Option<Vec<u8>> = conn
        .prepare_cached("SELECT heads FROM peer_heads WHERE device_id = ?1 AND doc_id = ?2")
        .map_err(fail)?
        .query_row(params![device, doc.to_string()], |r| r.get(0))
        .optional()
        .map_err(fail)?;
    blob.map(|b| heads_from_blob(&b)).transpose()
}

pub(super) fn set_peer_heads(
    conn: &Connection,
    device: i64,
    doc: &DocId,
    heads: &[ChangeHash],
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO peer_heads (device_id, doc_id, heads) VALUES (?1, ?2, ?3)
             ON CONFLICT (device_id, doc_id) DO UPDATE SET heads = excluded.heads",
    )
    .map_err(fail)?
    .execute(params![device, doc.to_string(), heads_blob(heads)])
    .map(|_| ())
    .map_err(fail)
}

pub(super) fn replace_peer_heads(
    conn: &Connection,
    device: i64,
    docs: &[(DocId, Vec<ChangeHash>)],
) -> Result<()> {
    conn.execute("DELETE FROM peer_heads WHERE device_id = ?1", [device])
        .map_err(fail)?;
    for (doc, heads) in docs {
        set_peer_heads(conn, device, doc, heads)?;
    }
    Ok(())
}
