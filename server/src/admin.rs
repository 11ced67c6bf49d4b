//! The admin commands: caseworkers, cases, enrolment codes, tokens, the audit log.
//!
//! They work on the data directory directly, in their own transactions, and are safe
//! while `serve` runs (SQLite's WAL and busy timeout let the two processes take
//! turns). Each writes to the writer it is given, so tests read what a person reads.
//! Codes are printed as text and as a QR code; a code is shown once and never stored.

use std::io::Write;
use std::path::Path;

use chrono::NaiveDate;
use passage_core::doc::journey::NewJourney;
use passage_core::{CaseId, Role};
use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;

use crate::cache::DocCache;
use crate::docs::{self, Docs};
use crate::enrol::{self, Grant, Issued};
use crate::error::{Result, ServerError};
use crate::storage::sqlite::SqliteStorage;
use crate::storage::{AuditEntry, Caseworker, Device, Storage, Timestamp, Tx};
use crate::time_text;

/// What `case create` needs.
#[derive(Clone, Debug)]
pub struct CaseSpec {
    pub template: String,
    pub talent: String,
    pub employer: String,
    pub job: String,
    pub start: Option<NaiveDate>,
    pub caseworker: String,
}

fn case_id(text: &str) -> Result<CaseId> {
    text.trim()
        .parse()
        .map_err(|_| ServerError::Input(format!("{text:?} is not a case id (32 hex characters)")))
}

fn find_caseworker(tx: &mut dyn Tx, name: &str) -> Result<Caseworker> {
    tx.caseworker(name)?.ok_or_else(|| {
        ServerError::NotFound(format!(
            "no caseworker {name:?}; add one with `passage-server caseworker add`"
        ))
    })
}

fn require_case(tx: &mut dyn Tx, case: &CaseId) -> Result<crate::storage::CaseRow> {
    tx.case(case)?
        .ok_or_else(|| ServerError::NotFound(format!("no case {case} on this server")))
}

fn nonempty(what: &str, text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(ServerError::Input(format!("the {what} is empty")));
    }
    Ok(())
}

/// `caseworker add NAME`: the caseworker, and a code for their first device.
pub fn caseworker_add(
    storage: &dyn Storage,
    out: &mut dyn Write,
    name: &str,
    server: Option<&str>,
    now: Timestamp,
) -> Result<()> {
    nonempty("caseworker's name", name)?;
    let mut tx = storage.begin()?;
    let caseworker = tx.add_caseworker(name.trim(), now)?;
    let issued = enrol::issue(&mut *tx, Grant::Caseworker(caseworker.id), now)?;
    tx.commit()?;
    writeln!(out, "caseworker {} added", caseworker.name)?;
    print_code(
        out,
        &issued,
        &format!("a device of caseworker {}", caseworker.name),
        server,
    )
}

/// `case create`: the journey, medical record and arrival plan of a new case.
pub fn case_create(
    storage: &dyn Storage,
    out: &mut dyn Write,
    spec: &CaseSpec,
    now: Timestamp,
) -> Result<()> {
    let start = spec.start.unwrap_or_else(|| docs::instant(now).date_naive());
    let new = NewJourney {
        template: spec.template.clone(),
        version: None,
        talent_name: spec.talent.trim().to_owned(),
        employer: spec.employer.trim().to_owned(),
        job_title: spec.job.trim().to_owned(),
        start_date: start,
    };
    let mut tx = storage.begin()?;
    let caseworker = find_caseworker(&mut *tx, &spec.caseworker)?;
    // A command, not the server: it keeps no document once it is done.
    let mut docs = Docs::new(std::sync::Arc::new(DocCache::new(0)));
    let case = docs::create_case(&mut *tx, &mut docs, &new, Some(caseworker.id), now)?;
    tx.commit()?;
    writeln!(out, "{case}")?;
    Ok(())
}

/// `case assign CASE --caseworker NAME`.
pub fn case_assign(storage: &dyn Storage, out: &mut dyn Write, case: &str, caseworker: &str) -> Result<()> {
    let case = case_id(case)?;
    let mut tx = storage.begin()?;
    require_case(&mut *tx, &case)?;
    let caseworker = find_caseworker(&mut *tx, caseworker)?;
    tx.assign_case(&case, caseworker.id)?;
    tx.commit()?;
    writeln!(out, "case {case} is assigned to {}", caseworker.name)?;
    Ok(())
}

/// `enrol talent CASE`.
pub fn enrol_talent(
    storage: &dyn Storage,
    out: &mut dyn Write,
    case: &str,
    server: Option<&str>,
    now: Timestamp,
) -> Result<()> {
    let case = case_id(case)?;
    let mut tx = storage.begin()?;
    let row = require_case(&mut *tx, &case)?;
    let issued = enrol::issue(&mut *tx, Grant::Talent(&case), now)?;
    tx.commit()?;
    let whom = format!("the talent of case {case} ({})", row.talent_name);
    print_code(out, &issued, &whom, server)
}

/// `enrol caseworker NAME`: a code for another device of the caseworker.
pub fn enrol_caseworker(
    storage: &dyn Storage,
    out: &mut dyn Write,
    name: &str,
    server: Option<&str>,
    now: Timestamp,
) -> Result<()> {
    let mut tx = storage.begin()?;
    let caseworker = find_caseworker(&mut *tx, name)?;
    let issued = enrol::issue(&mut *tx, Grant::Caseworker(caseworker.id), now)?;
    tx.commit()?;
    print_code(
        out,
        &issued,
        &format!("a device of caseworker {}", caseworker.name),
        server,
    )
}

/// `enrol family CASE --expires-in 30d`: a share of the arrival plan until then.
pub fn enrol_family(
    storage: &dyn Storage,
    out: &mut dyn Write,
    case: &str,
    expires_in: &str,
    server: Option<&str>,
    now: Timestamp,
) -> Result<()> {
    let case = case_id(case)?;
    let secs = enrol::parse_duration(expires_in).ok_or_else(|| {
        ServerError::Input(format!(
            "--expires-in {expires_in:?}: write a number and a unit, like 30d, 12h, 2w or 90m"
        ))
    })?;
    let mut tx = storage.begin()?;
    let row = require_case(&mut *tx, &case)?;
    let issued = enrol::issue(&mut *tx, Grant::Family(&case, now.saturating_add(secs)), now)?;
    tx.commit()?;
    let whom = format!(
        "family of {} (arrival plan of case {case}, read-only)",
        row.talent_name
    );
    print_code(out, &issued, &whom, server)
}

/// Percent-encodes a query value.
fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// What the QR code holds: a link the app opens, or the bare code.
pub fn qr_payload(code: &str, server: Option<&str>) -> String {
    match server {
        Some(url) => format!(
            "passage://enrol?code={}&server={}",
            query_value(code),
            query_value(url)
        ),
        None => code.to_owned(),
    }
}

fn print_code(out: &mut dyn Write, issued: &Issued, whom: &str, server: Option<&str>) -> Result<()> {
    writeln!(out, "enrolment code: {}", issued.code)?;
    writeln!(out, "for: {whom}")?;
    writeln!(out, "device id: {}", issued.device)?;
    writeln!(
        out,
        "valid until: {} (one use)",
        time_text(issued.code_expires_at)
    )?;
    if let Some(at) = issued.expires_at {
        writeln!(out, "access ends: {}", time_text(at))?;
    }
    let payload = qr_payload(&issued.code, server);
    let qr = QrCode::new(payload.as_bytes())
        .map_err(|e| ServerError::Input(format!("cannot make a QR code of {payload:?}: {e}")))?;
    // Light modules drawn dark and the other way round: terminals are mostly dark.
    let picture = qr
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build();
    writeln!(out)?;
    writeln!(out, "{picture}")?;
    if server.is_some() {
        writeln!(out, "(the QR code holds {payload})")?;
    }
    Ok(())
}

/// Lines of aligned columns. Every cell is escaped ([`crate::text::escape`]): names,
/// paths and reasons may come from devices.
fn table(out: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|cell| crate::text::escape(cell).into_owned())
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    writeln!(out, "{}", line(header.iter().map(|h| (*h).to_owned()).collect()))?;
    for row in rows {
        writeln!(out, "{}", line(row))?;
    }
    Ok(())
}

fn when(at: Option<Timestamp>) -> String {
    at.map(time_text).unwrap_or_else(|| "-".into())
}

/// `cases`.
pub fn cases(storage: &dyn Storage, out: &mut dyn Write) -> Result<()> {
    let mut tx = storage.read()?;
    let cases = tx.cases()?;
    drop(tx);
    let rows: Vec<Vec<String>> = cases
        .into_iter()
        .map(|c| {
            vec![
                c.case.to_string(),
                c.talent_name,
                c.destination,
                c.caseworker.map(|w| w.name).unwrap_or_else(|| "-".into()),
                when(c.last_sync),
            ]
        })
        .collect();
    table(out, &["CASE", "TALENT", "DEST", "CASEWORKER", "LAST SYNC"], &rows)
}

/// Where a device stands now.
pub fn device_state(device: &Device, now: Timestamp) -> &'static str {
    if device.revoked_at.is_some() {
        "revoked"
    } else if device.enrolled_at.is_none() {
        if device.code_expires_at <= now {
            "code expired"
        } else {
            "code pending"
        }
    } else if device.expires_at.is_some_and(|at| at <= now) {
        "expired"
    } else {
        "active"
    }
}

/// `tokens [--case ID]`.
pub fn tokens(storage: &dyn Storage, out: &mut dyn Write, case: Option<&str>, now: Timestamp) -> Result<()> {
    let case = case.map(case_id).transpose()?;
    let mut tx = storage.read()?;
    if let Some(case) = &case {
        require_case(&mut *tx, case)?;
    }
    let devices = tx.devices(case.as_ref())?;
    drop(tx);
    let rows: Vec<Vec<String>> = devices
        .iter()
        .map(|d| {
            let whose = match (d.role, &d.case, &d.caseworker) {
                (Role::Caseworker, _, Some(w)) => w.name.clone(),
                (_, Some(case), _) => case.to_string(),
                _ => "-".into(),
            };
            vec![
                d.id.to_string(),
                d.role.as_str().to_owned(),
                whose,
                d.name.clone().unwrap_or_else(|| "-".into()),
                device_state(d, now).to_owned(),
                time_text(d.created_at),
                when(d.expires_at),
                when(d.last_sync_at),
            ]
        })
        .collect();
    table(
        out,
        &[
            "ID",
            "ROLE",
            "CASE/CASEWORKER",
            "DEVICE",
            "STATE",
            "CREATED",
            "EXPIRES",
            "LAST SYNC",
        ],
        &rows,
    )
}

/// `token revoke ID`: a device token, or a code not used yet.
pub fn token_revoke(storage: &dyn Storage, out: &mut dyn Write, id: i64, now: Timestamp) -> Result<()> {
    let mut tx = storage.begin()?;
    if !tx.revoke_device(id, now)? {
        return Err(ServerError::NotFound(format!("no token or code with id {id}")));
    }
    let device = tx.device(id)?;
    tx.audit(&AuditEntry {
        at: now,
        device: Some(id),
        role: device.as_ref().map(|d| d.role),
        action: "revoke".into(),
        case: device.and_then(|d| d.case),
        doc: None,
        allowed: true,
        reason: Some("revoked by an admin".into()),
        bytes_in: 0,
        bytes_out: 0,
    })?;
    tx.commit()?;
    writeln!(out, "token {id} revoked")?;
    Ok(())
}

/// `rekey --new-key-file FILE`: a new random key, written to a new owner-only file
/// first, then every document's data key wrapped under it. If the re-key fails, the
/// old key still opens everything and the new file is removed.
pub fn rekey(
    storage: &SqliteStorage,
    out: &mut dyn Write,
    new_key_file: &Path,
    now: Timestamp,
) -> Result<()> {
    let key = passage_core::SecretKey::generate()?;
    crate::keys::write_key_file(new_key_file, &key)?;
    let count = match storage.rekey(&key) {
        Ok(count) => count,
        Err(e) => {
            let _ = std::fs::remove_file(new_key_file);
            return Err(e.into());
        }
    };
    let mut tx = storage.begin()?;
    let mut audit = crate::sync::entry(None, "rekey", now);
    audit.reason = Some(format!("{count} document keys wrapped under a new server key"));
    tx.audit(&audit)?;
    tx.commit()?;
    writeln!(
        out,
        "re-keyed: {count} document keys are now wrapped under the key in {}",
        new_key_file.display()
    )?;
    writeln!(
        out,
        "start the server with --key-file {} (or that key in PASSAGE_SERVER_KEY)",
        new_key_file.display()
    )?;
    // The old key is left where it was: backups made before now are sealed under it,
    // and only the operator knows whether they are to stay readable.
    writeln!(
        out,
        "the old key no longer opens this database, but it still opens every backup made before now: \
         keep it with those backups, or destroy it and them together"
    )?;
    Ok(())
}

/// `erase CASE --yes`: the case's medical record, crypto-shredded: its data key
/// destroyed and its chunks deleted here, and every device that holds it told at its
/// next sync. The audit log records the erasure, not the data.
pub fn erase(
    storage: &SqliteStorage,
    out: &mut dyn Write,
    case: &str,
    yes: bool,
    now: Timestamp,
) -> Result<()> {
    let case = case_id(case)?;
    if !yes {
        return Err(ServerError::Input(
            "erasing the medical record cannot be undone: add --yes to erase it".into(),
        ));
    }
    let doc = case.doc(passage_core::DocKind::Medical);
    let mut tx = storage.begin()?;
    require_case(&mut *tx, &case)?;
    if tx.is_erased(&doc)? {
        writeln!(out, "the medical record of case {case} was erased before")?;
        return Ok(());
    }
    crate::sync::erase::destroy(
        &mut *tx,
        &doc,
        None,
        "erased by an admin: its key destroyed, its chunks deleted",
        now,
    )?;
    tx.commit()?;
    if let Err(error) = storage.scrub() {
        tracing::warn!(%error, "the database's free pages could not be scrubbed after the erasure");
    }
    writeln!(
        out,
        "the medical record of case {case} is erased; devices that hold it erase it at their next sync"
    )?;
    Ok(())
}

/// `audit [--case ID] [--limit N]`: newest first.
pub fn audit(storage: &dyn Storage, out: &mut dyn Write, case: Option<&str>, limit: u32) -> Result<()> {
    let case = case.map(case_id).transpose()?;
    let mut tx = storage.read()?;
    let entries = tx.audit_log(case.as_ref(), limit)?;
    drop(tx);
    let rows: Vec<Vec<String>> = entries
        .into_iter()
        .map(|e| {
            vec![
                time_text(e.at),
                e.device.map_or_else(|| "-".into(), |d| d.to_string()),
                e.role.map_or("-", Role::as_str).to_owned(),
                e.action,
                e.doc.map_or_else(|| "-".into(), |d| d.to_string()),
                if e.allowed { "allowed" } else { "denied" }.to_owned(),
                e.bytes_in.to_string(),
                e.bytes_out.to_string(),
                e.reason.unwrap_or_default(),
            ]
        })
        .collect();
    table(
        out,
        &[
            "AT", "DEVICE", "ROLE", "ACTION", "DOCUMENT", "DECISION", "IN", "OUT", "REASON",
        ],
        &rows,
    )
}
