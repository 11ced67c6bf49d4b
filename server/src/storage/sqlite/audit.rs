//! The audit log in SQLite.

use passage_core::{CaseId, DocId, Role};
use rusqlite::{Connection, params};

use super::{case_id, doc_id, fail, role};
use crate::storage::{AuditEntry, Result};

pub(super) fn audit(conn: &Connection, e: &AuditEntry) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit (at, device_id, role, action, case_id, doc_id, allowed, reason,
                                bytes_in, bytes_out)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )
    .map_err(fail)?
    .execute(params![
        e.at,
        e.device,
        e.role.map(Role::as_str),
        e.action,
        e.case.as_ref().map(CaseId::as_str),
        e.doc.as_ref().map(DocId::to_string),
        e.allowed,
        e.reason,
        i64::try_from(e.bytes_in).unwrap_or(i64::MAX),
        i64::try_from(e.bytes_out).unwrap_or(i64::MAX)
    ])
    .map(|_| ())
    .map_err(fail)
}

pub(super) fn audit_log(conn: &Connection, case: Option<&CaseId>, limit: u32) -> Result<Vec<AuditEntry>> {
    type Raw = (
        i64,
        Option<i64>,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
        bool,
        Option<String>,
        i64,
        i64,
    );
    let mut stmt = conn
        .prepare_cached(
            "SELECT at, device_id, role, action, case_id, doc_id, allowed, reason, bytes_in, bytes_out
             FROM audit WHERE ?1 IS NULL OR case_id = ?1 ORDER BY id DESC LIMIT ?2",
        )
        .map_err(fail)?;
    let rows: Vec<Raw> = stmt
        .query_map(params![case.map(CaseId::as_str), limit], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
            ))
        })
        .map_err(fail)?
        .collect::<rusqlite::Result<_>>()
        .map_err(fail)?;
    rows.into_iter()
        .map(
            |(at, device, role_text, action, case, doc, allowed, reason, bytes_in, bytes_out)| {
                Ok(AuditEntry {
                    at,
                    device,
                    role: role_text.as_deref().map(role).transpose()?,
                    action,
                    case: case.as_deref().map(case_id).transpose()?,
                    doc: doc.as_deref().map(doc_id).transpose()?,
                    allowed,
                    reason,
                    bytes_in: bytes_in.max(0) as u64,
                    bytes_out: bytes_out.max(0) as u64,
                })
            },
        )
        .collect()
}
