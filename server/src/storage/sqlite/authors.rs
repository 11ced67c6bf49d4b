//! Authorship and erasure in SQLite: the actor each device first used, the device each
//! change came from, and erased documents' tombstones.

use automerge::ChangeHash;
use passage_core::{DocId, Role};
use rusqlite::{Connection, OptionalExtension, params};

use super::{doc_id, fail, role};
use crate::docs::SERVER_NAME;
use crate::storage::seal::Sealer;
use crate::storage::{Author, Result, Timestamp, heads_from_blob};

pub(super) fn actor_owner(conn: &Connection, actor: &[u8]) -> Result<Option<i64>> {
    conn.prepare_cached("SELECT device_id FROM actors WHERE actor = ?1")
        .map_err(fail)?
        .query_row([actor], |r| r.get(0))
        .optional()
        .map_err(fail)
}

pub(super) fn claim_actor(conn: &Connection, actor: &[u8], device: i64, at: Timestamp) -> Result<()> {
    conn.prepare_cached("INSERT OR IGNORE INTO actors (actor, device_id, first_seen) VALUES (?1, ?2, ?3)")
        .map_err(fail)?
        .execute(params![actor, device, at])
        .map(|_| ())
        .map_err(fail)
}

pub(super) fn record_authors(
    conn: &Connection,
    doc: &DocId,
    hashes: &[ChangeHash],
    device: Option<i64>,
    at: Timestamp,
) -> Result<()> {
    let mut insert = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO authorship (doc_id, hash, device_id, received_at) VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(fail)?;
    let id = doc.to_string();
    for hash in hashes {
        insert
            .execute(params![id, hash.as_ref(), device, at])
            .map_err(fail)?;
    }
    Ok(())
}

/// One author row: the device's role and the person it speaks for.
/// A device's role, its caseworker's name, its case's talent, when the change came.
type AuthorRow = (Option<String>, Option<String>, Option<String>, i64);

/// The authors of `hashes` in `doc`, in their order: one look-up by primary key each,
/// so a pull of a few changes of a long journey reads those few rows.
pub(super) fn authors(conn: &Connection, doc: &DocId, hashes: &[ChangeHash]) -> Result<Vec<Option<Author>>> {
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare_cached(
            // Subqueries, not LEFT JOINs, so that the statement is not compiled
            // again for every change looked up (see `people::DEVICE_COLUMNS`).
            "SELECT (SELECT d.role FROM devices d WHERE d.id = a.device_id),
                    (SELECT w.name FROM devices d JOIN caseworkers w ON w.id = d.caseworker
                      WHERE d.id = a.device_id),
                    (SELECT c.talent_name FROM devices d JOIN cases c ON c.case_id = d.case_id
                      WHERE d.id = a.device_id),
                    a.received_at
             FROM authorship a
             WHERE a.doc_id = ?1 AND a.hash = ?2",
        )
        .map_err(fail)?;
    let id = doc.to_string();
    let mut out = Vec::with_capacity(hashes.len());
    for hash in hashes {
        let row: Option<AuthorRow> = stmt
            .query_row(params![id, hash.as_ref()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()
            .map_err(fail)?;
        let Some((role_text, caseworker, talent, received_at)) = row else {
            out.push(None);
            continue;
        };
        let author = match role_text {
            None => Author {
                role: None,
                name: SERVER_NAME.to_owned(),
                received_at,
            },
            Some(text) => {
                let role = role(&text)?;
                let name = match role {
                    Role::Caseworker => caseworker,
                    Role::Talent => talent,
                    Role::Family => None,
                };
                Author {
                    role: Some(role),
                    name: name.unwrap_or_else(|| role.as_str().to_owned()),
                    received_at,
                }
            }
        };
        out.push(Some(author));
    }
    Ok(out)
}

pub(super) fn erase_document(
    conn: &Connection,
    sealer: Option<&Sealer>,
    doc: &DocId,
    device: Option<i64>,
    at: Timestamp,
) -> Result<bool> {
    let id = doc.to_string();
    // The chunks go before the row they reference; all in the caller's transaction.
    for sql in [
        "DELETE FROM chunks WHERE doc_id = ?1",
        "DELETE FROM doc_keys WHERE doc_id = ?1",
        "DELETE FROM authorship WHERE doc_id = ?1",
    ] {
        conn.execute(sql, [&id]).map_err(fail)?;
    }
    let existed = conn
        .execute("DELETE FROM documents WHERE doc_id = ?1", [&id])
        .map_err(fail)?
        > 0;
    if let Some(sealer) = sealer {
        sealer.forget(doc);
    }
    conn.execute(
        "INSERT OR IGNORE INTO erased (doc_id, case_id, erased_at, device_id) VALUES (?1, ?2, ?3, ?4)",
        params![id, doc.case.as_str(), at, device],
    )
    .map_err(fail)?;
    Ok(existed)
}

pub(super) fn is_erased(conn: &Connection, doc: &DocId) -> Result<bool> {
    conn.prepare_cached("SELECT 1 FROM erased WHERE doc_id = ?1")
        .map_err(fail)?
        .query_row([doc.to_string()], |_| Ok(()))
        .optional()
        .map(|found| found.is_some())
        .map_err(fail)
}

pub(super) fn erased_held(conn: &Connection, device: i64) -> Result<Vec<(DocId, Vec<ChangeHash>)>> {
    let mut stmt = conn
        .prepare_cached(
            // Read from `erased` (empty but for erasures), and written so that SQLite
            // does not compile it again on each run, as it does a join on a parameter
            // (see `people::DEVICE_COLUMNS`).
            "SELECT e.doc_id, (SELECT p.heads FROM peer_heads p WHERE p.device_id = ?1 AND p.doc_id = e.doc_id)
                 AS held
             FROM erased e WHERE held IS NOT NULL ORDER BY e.doc_id",
        )
        .map_err(fail)?;
    let rows: Vec<(String, Vec<u8>)> = stmt
        .query_map([device], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(fail)?
        .collect::<rusqlite::Result<_>>()
        .map_err(fail)?;
    rows.into_iter()
        .map(|(doc, heads)| Ok((doc_id(&doc)?, heads_from_blob(&heads)?)))
        .collect()
}

pub(super) fn forget_peer_doc(conn: &Connection, device: i64, doc: &DocId) -> Result<()> {
    conn.execute(
        "DELETE FROM peer_heads WHERE device_id = ?1 AND doc_id = ?2",
        params![device, doc.to_string()],
    )
    .map(|_| ())
    .map_err(fail)
}
