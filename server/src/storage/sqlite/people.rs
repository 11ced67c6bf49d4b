//! Caseworkers, cases and devices (with their codes and tokens) in SQLite.

use passage_core::CaseId;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{case_id, fail, role};
use crate::storage::{CaseRow, Caseworker, Device, NewCase, NewDevice, Result, StorageError, Timestamp};

// The caseworker's and talent's columns come from scalar subqueries, not LEFT JOINs: a
// statement that LEFT JOINs and filters on a bound parameter is compiled again each
// time it is run with new bindings (SQLite's join simplification depends on the
// value), which cost every sync about a tenth of the server's CPU in the device lookups.
const DEVICE_COLUMNS: &str = "d.id, d.role, d.case_id, d.caseworker,
     (SELECT w.name FROM caseworkers w WHERE w.id = d.caseworker),
     (SELECT w.created_at FROM caseworkers w WHERE w.id = d.caseworker), d.name,
     d.created_at, d.code_expires_at, d.expires_at, d.enrolled_at, d.revoked_at, d.last_sync_at,
     d.known_digest, d.cursor, (SELECT t.talent_name FROM cases t WHERE t.case_id = d.case_id)";

const CASE_COLUMNS: &str = "c.case_id, c.caseworker,
     (SELECT w.name FROM caseworkers w WHERE w.id = c.caseworker),
     (SELECT w.created_at FROM caseworkers w WHERE w.id = c.caseworker), c.talent_name, c.destination,
     c.created_at,
     nullif(max(coalesce((SELECT max(d.last_sync_at) FROM devices d WHERE d.case_id = c.case_id), 0),
                coalesce((SELECT max(d.last_sync_at) FROM devices d
                          WHERE d.caseworker = c.caseworker AND d.role = 'caseworker'), 0)), 0)";

/// A row's raw columns are read first, then parsed, so that a bad stored value is a
/// [`StorageError::Corrupt`] rather than a panic.
fn caseworker_at(row: &Row<'_>, id: usize) -> rusqlite::Result<Option<Caseworker>> {
    let cw_id: Option<i64> = row.get(id)?;
    let name: Option<String> = row.get(id + 1)?;
    let created: Option<i64> = row.get(id + 2)?;
    Ok(match (cw_id, name, created) {
        (Some(id), Some(name), Some(created_at)) => Some(Caseworker { id, name, created_at }),
        _ => None,
    })
}

type RawDevice = (
    i64,
    String,
    Option<String>,
    Option<Caseworker>,
    Option<String>,
    [Timestamp; 2],
    [Option<Timestamp>; 4],
    Option<Vec<u8>>,
    i64,
    Option<String>,
);

fn raw_device(r: &Row<'_>) -> rusqlite::Result<RawDevice> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        caseworker_at(r, 3)?,
        r.get(6)?,
        [r.get(7)?, r.get(8)?],
        [r.get(9)?, r.get(10)?, r.get(11)?, r.get(12)?],
        r.get(13)?,
        r.get(14)?,
        r.get(15)?,
    ))
}

fn device_from(raw: RawDevice) -> Result<Device> {
    let (id, role_text, case, caseworker, name, [created_at, code_expires_at], times, digest, cursor, talent) =
        raw;
    let [expires_at, enrolled_at, revoked_at, last_sync_at] = times;
    let known_digest = match digest {
        Some(d) => Some(
            <[u8; 16]>::try_from(d.as_slice())
                .map_err(|_| StorageError::Corrupt(format!("digest of device {id}")))?,
        ),
        None => None,
    };
    Ok(Device {
        id,
        role: role(&role_text)?,
        case: case.as_deref().map(case_id).transpose()?,
        caseworker,
        name,
        created_at,
        code_expires_at,
        expires_at,
        enrolled_at,
        revoked_at,
        last_sync_at,
        known_digest,
        cursor,
        talent_name: talent,
    })
}

type RawCase = (
    String,
    Option<Caseworker>,
    String,
    String,
    Timestamp,
    Option<Timestamp>,
);

fn raw_case(r: &Row<'_>) -> rusqlite::Result<RawCase> {
    Ok((
        r.get(0)?,
        caseworker_at(r, 1)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    ))
}

fn case_from(raw: RawCase) -> Result<CaseRow> {
    let (case, caseworker, talent_name, destination, created_at, last_sync) = raw;
    Ok(CaseRow {
        case: case_id(&case)?,
        caseworker,
        talent_name,
        destination,
        created_at,
        last_sync,
    })
}

fn devices_where(conn: &Connection, filter: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<Device>> {
    let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices d WHERE {filter} ORDER BY d.id");
    let mut stmt = conn.prepare_cached(&sql).map_err(fail)?;
    let raws = stmt
        .query_map(args, raw_device)
        .map_err(fail)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(fail)?;
    raws.into_iter().map(device_from).collect()
}

fn cases_where(conn: &Connection, filter: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<CaseRow>> {
    let sql = format!("SELECT {CASE_COLUMNS} FROM cases c WHERE {filter} ORDER BY c.created_at, c.case_id");
    let mut stmt = conn.prepare_cached(&sql).map_err(fail)?;
    let raws = stmt
        .query_map(args, raw_case)
        .map_err(fail)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(fail)?;
    raws.into_iter().map(case_from).collect()
}

pub(super) fn add_caseworker(conn: &Connection, name: &str, at: Timestamp) -> Result<Caseworker> {
    if caseworker(conn, name)?.is_some() {
        return Err(StorageError::Exists(format!("caseworker {name:?}")));
    }
    conn.execute(
        "INSERT INTO caseworkers (name, created_at) VALUES (?1, ?2)",
        params![name, at],
    )
    .map_err(fail)?;
    Ok(Caseworker {
        id: conn.last_insert_rowid(),
        name: name.to_owned(),
        created_at: at,
    })
}

pub(super) fn caseworker(conn: &Connection, name: &str) -> Result<Option<Caseworker>> {
    conn.query_row(
        "SELECT id, name, created_at FROM caseworkers WHERE name = ?1",
        [name],
        |r| {
            Ok(Caseworker {
                id: r.get(0)?,
                name: r.get(1)?,
                created_at: r.get(2)?,
            })
        },
    )
    .optional()
    .map_err(fail)
}

pub(super) fn create_case(conn: &Connection, case: &NewCase<'_>) -> Result<()> {
    conn.execute(
        "INSERT INTO cases (case_id, caseworker, talent_name, destination, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            case.case.as_str(),
            case.caseworker,
            case.talent_name,
            case.destination,
            case.created_at
        ],
    )
    .map(|_| ())
    .map_err(fail)
}

pub(super) fn case(conn: &Connection, case: &CaseId) -> Result<Option<CaseRow>> {
    Ok(cases_where(conn, "c.case_id = ?1", &[&case.as_str()])?.pop())
}

pub(super) fn cases(conn: &Connection) -> Result<Vec<CaseRow>> {
    cases_where(conn, "1", &[])
}

pub(super) fn assign_case(conn: &Connection, case: &CaseId, caseworker: i64) -> Result<()> {
    conn.execute(
        "UPDATE cases SET caseworker = ?2 WHERE case_id = ?1",
        params![case.as_str(), caseworker],
    )
    .map_err(fail)?;
    let docs: Vec<String> = {
        let mut stmt = conn
            .prepare_cached("SELECT doc_id FROM documents WHERE case_id = ?1 ORDER BY doc_id")
            .map_err(fail)?;
        stmt.query_map([case.as_str()], |r| r.get(0))
            .map_err(fail)?
            .collect::<rusqlite::Result<_>>()
            .map_err(fail)?
    };
    for doc in docs {
        let seq = super::documents::next_seq(conn)?;
        conn.execute(
            "UPDATE documents SET seq = ?2 WHERE doc_id = ?1",
            params![doc, seq],
        )
        .map_err(fail)?;
    }
    Ok(())
}

pub(super) fn add_device(conn: &Connection, device: &NewDevice<'_>) -> Result<i64> {
    conn.execute(
        "INSERT INTO devices (role, case_id, caseworker, code_hash, code_expires_at, expires_at,
                                  created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            device.role.as_str(),
            device.case.map(CaseId::as_str),
            device.caseworker,
            device.code_hash.as_slice(),
            device.code_expires_at,
            device.expires_at,
            device.created_at
        ],
    )
    .map_err(fail)?;
    Ok(conn.last_insert_rowid())
}

/// How long after enrolling a device may redeem its code again (see `redeem_code`).
const REDEEM_AGAIN_WITHIN_SECS: i64 = 600;

pub(super) fn redeem_code(
    conn: &Connection,
    code_hash: &[u8; 32],
    token_hash: &[u8; 32],
    proof_hash: &[u8; 32],
    name: &str,
    now: Timestamp,
) -> Result<Option<Device>> {
    // A code works once, with one exception: the device that redeemed it may redeem it
    // again for a few minutes, as long as it has not synced, because the answer to its
    // first try may have been lost on the way (the server committed, the phone never
    // got the token). It proves it is that device with the secret it chose and sent
    // the first time, which only the server's hash of it can check: a device name is
    // guessable, the secret is not. The second redemption replaces the token nobody
    // received.
    let id: Option<i64> = conn
        .query_row(
            "UPDATE devices SET token_hash = ?2, name = ?3, enrolled_at = coalesce(enrolled_at, ?4),
                                proof_hash = coalesce(proof_hash, ?6)
             WHERE code_hash = ?1 AND revoked_at IS NULL
               AND code_expires_at > ?4 AND (expires_at IS NULL OR expires_at > ?4)
               AND (enrolled_at IS NULL
                    OR (proof_hash = ?6 AND last_sync_at IS NULL AND enrolled_at > ?4 - ?5))
             RETURNING id",
            params![
                code_hash.as_slice(),
                token_hash.as_slice(),
                name,
                now,
                REDEEM_AGAIN_WITHIN_SECS,
                proof_hash.as_slice()
            ],
            |r| r.get(0),
        )
        .optional()
        .map_err(fail)?;
    match id {
        Some(id) => device(conn, id),
        None => Ok(None),
    }
}

pub(super) fn device_by_token(conn: &Connection, token_hash: &[u8; 32]) -> Result<Option<Device>> {
    Ok(devices_where(conn, "d.token_hash = ?1", &[&token_hash.as_slice()])?.pop())
}

pub(super) fn device(conn: &Connection, id: i64) -> Result<Option<Device>> {
    Ok(devices_where(conn, "d.id = ?1", &[&id])?.pop())
}

pub(super) fn devices(conn: &Connection, case: Option<&CaseId>) -> Result<Vec<Device>> {
    match case {
        None => devices_where(conn, "1", &[]),
        Some(case) => devices_where(
            conn,
            "d.case_id = ?1 OR (d.role = 'caseworker'
                AND d.caseworker = (SELECT caseworker FROM cases WHERE case_id = ?1))",
            &[&case.as_str()],
        ),
    }
}

pub(super) fn revoke_device(conn: &Connection, id: i64, at: Timestamp) -> Result<bool> {
    let changed = conn
        .execute(
            "UPDATE devices SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
            params![id, at],
        )
        .map_err(fail)?;
    Ok(changed == 1)
}

pub(super) fn record_sync(
    conn: &Connection,
    device: i64,
    at: Timestamp,
    digest: Option<[u8; 16]>,
    cursor: i64,
) -> Result<()> {
    conn.execute(
        "UPDATE devices SET last_sync_at = ?2, known_digest = ?3, cursor = ?4 WHERE id = ?1",
        params![device, at, digest.as_ref().map(|d| d.as_slice()), cursor],
    )
    .map(|_| ())
    .map_err(fail)
}
