//! `POST /v1/sync`: one exchange of docs/protocol.md, "One exchange", from the bytes
//! of a request to the bytes of its answer.
//!
//! [`handle`] is everything but HTTP: the token, the body, one write transaction
//! holding the whole exchange, and the audit. [`push`] applies and checks what the
//! device sent (with [`depth`] guarding the cost of that check); [`answer`] works out
//! what the device lacks. A refused request leaves
//! nothing behind but its audit entry, written after the exchange's transaction was
//! rolled back. Documents outlive the request only in the [`DocCache`], within its
//! byte budget, and only once the exchange committed: memory does not grow with the
//! number of cases.

mod answer;
mod authorship;
mod depth;
pub(crate) mod erase;
mod group;
mod push;

pub use answer::RESPONSE_BUDGET_BYTES;

use passage_core::sync::wire::{self, RejectCode, Rejection, SyncRequest, SyncResponse, SyncStatus};
use passage_core::{CaseId, DocId, Role};

use std::sync::Arc;

use group::GroupCommit;

use crate::cache::DocCache;
use crate::docs::Docs;
use crate::enrol::token_hash;
use crate::error::ServerError;
use crate::limits::Limits;
use crate::storage::{AuditEntry, Device, Scope, Storage, StorageError, Timestamp, Tx};

/// Seconds a device waits before retrying after a 503.
pub const RETRY_AFTER_SECS: u64 = 5;

/// What the HTTP layer sends back, and what it logs and counts.
#[derive(Debug)]
pub struct Outcome {
    pub http_status: u16,
    pub body: Vec<u8>,
    /// For 503: the `Retry-After` header.
    pub retry_after: Option<u64>,
    pub report: Report,
}

/// One exchange in numbers, for the log line and the metrics. Never a payload.
#[derive(Debug, Default)]
pub struct Report {
    pub device: Option<i64>,
    pub role: Option<Role>,
    pub status: Option<SyncStatus>,
    pub rejected: Option<RejectCode>,
    pub docs_in: usize,
    pub changes_in: usize,
    pub docs_out: usize,
    pub changes_out: usize,
}

/// Why an exchange did not complete.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Refused: the device gets the rejection.
    Refused(Box<Refusal>),
    /// The server's fault (storage, a stored document that does not load): 503.
    Internal(String),
}

/// A refusal, and the audit entry (if any) written after the rollback.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) rejection: Rejection,
    pub(crate) audit: Option<AuditEntry>,
}

impl Failure {
    pub(crate) fn refused(rejection: Rejection, audit: Option<AuditEntry>) -> Failure {
        Failure::Refused(Box::new(Refusal { rejection, audit }))
    }
}

impl From<StorageError> for Failure {
    fn from(e: StorageError) -> Self {
        Failure::Internal(e.to_string())
    }
}

impl From<ServerError> for Failure {
    fn from(e: ServerError) -> Self {
        Failure::Internal(e.to_string())
    }
}

impl From<passage_core::Error> for Failure {
    fn from(e: passage_core::Error) -> Self {
        Failure::Internal(e.to_string())
    }
}

pub(crate) fn rejection(code: RejectCode, message: impl Into<String>, doc: Option<DocId>) -> Rejection {
    Rejection {
        code,
        message: message.into(),
        doc,
        path: None,
    }
}

/// An audit entry for this device, without a document yet.
pub(crate) fn entry(device: Option<&Device>, action: &str, now: Timestamp) -> AuditEntry {
    AuditEntry {
        at: now,
        device: device.map(|d| d.id),
        role: device.map(|d| d.role),
        action: action.to_owned(),
        case: device.and_then(|d| d.case.clone()),
        doc: None,
        allowed: true,
        reason: None,
        bytes_in: 0,
        bytes_out: 0,
    }
}

/// What the device's token lets it read (see docs/protocol.md, "Documents and access").
pub(crate) fn scope(device: &Device) -> Option<Scope> {
    match device.role {
        Role::Talent => device.case.clone().map(Scope::Case),
        Role::Family => device.case.clone().map(Scope::ArrivalPlan),
        Role::Caseworker => device.caseworker.as_ref().map(|w| Scope::Caseworker(w.id)),
    }
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(header: Option<&str>) -> Option<&str> {
    let value = header?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The length of a device token: 32 random bytes in unpadded base64url.
const TOKEN_CHARS: usize = 43;

/// The answer to a request whose `Authorization` header cannot hold a device token at
/// all (none, or not 43 base64url characters), found without touching the database;
/// `None` when the token is to be looked up.
pub fn refuse_without_lookup(authorization: Option<&str>) -> Option<Outcome> {
    let why = match bearer(authorization) {
        None => "no bearer token",
        Some(token)
            if token.len() != TOKEN_CHARS
                || !token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            "unknown token; enrol again"
        }
        Some(_) => return None,
    };
    Some(refused(
        rejection(RejectCode::Unauthorized, why, None),
        None,
        Report::default(),
    ))
}

/// The device an `Authorization` header's token belongs to, if it may sync now; else
/// the answer to send. Only a read of the database, before any byte of the body is
/// looked at: whoever has no valid token costs the server that and nothing more. A
/// revoked or expired device's refusal is audited only while `may_audit` (its rate)
/// allows, so that one retrying for ever does not fill the audit log.
pub fn authenticate(
    storage: &dyn Storage,
    authorization: Option<&str>,
    now: Timestamp,
    may_audit: impl FnOnce(i64) -> bool,
) -> Result<Device, Box<Outcome>> {
    find_device(storage, authorization, now, may_audit)
        .map_err(|failure| Box::new(outcome(storage, Err(failure), Report::default())))
}

fn find_device(
    storage: &dyn Storage,
    authorization: Option<&str>,
    now: Timestamp,
    may_audit: impl FnOnce(i64) -> bool,
) -> Result<Device, Failure> {
    let token = bearer(authorization).ok_or_else(|| {
        Failure::refused(rejection(RejectCode::Unauthorized, "no bearer token", None), None)
    })?;
    // A read: looking a token up never waits for, or holds, the write lock.
    let found = storage.read()?.device_by_token(&token_hash(token))?;
    let Some(device) = found else {
        // Unknown callers are logged and counted, not stored: they cannot fill the
        // audit log.
        return Err(Failure::refused(
            rejection(RejectCode::Unauthorized, "unknown token; enrol again", None),
            None,
        ));
    };
    let refused = if device.revoked_at.is_some() {
        Some("the token was revoked")
    } else if device.expires_at.is_some_and(|at| at <= now) {
        Some("the token has expired")
    } else {
        None
    };
    if let Some(why) = refused {
        let audit = may_audit(device.id).then(|| {
            let mut audit = entry(Some(&device), "sync", now);
            audit.allowed = false;
            audit.reason = Some(why.into());
            audit
        });
        return Err(Failure::refused(
            rejection(RejectCode::Forbidden, why, None),
            audit,
        ));
    }
    Ok(device)
}

/// One whole `POST /v1/sync` of an authenticated device: `body` is the bytes as
/// received (the HTTP layer has already refused bodies over the role's size limit).
pub fn handle(
    storage: &dyn Storage,
    exchanges: &Exchanges,
    limits: &Limits,
    device: &Device,
    body: &[u8],
    now: Timestamp,
) -> Outcome {
    let mut report = Report {
        device: Some(device.id),
        role: Some(device.role),
        ..Report::default()
    };
    let result = exchange(storage, exchanges, limits, device, body, now, &mut report);
    outcome(storage, result, report)
}

/// The answer to an exchange that ended with `result`; a refusal's audit entry is
/// written here, on its own (the exchange's transaction was rolled back).
fn outcome(storage: &dyn Storage, result: Result<SyncResponse, Failure>, mut report: Report) -> Outcome {
    match result {
        Ok(response) => {
            report.status = Some(response.status);
            Outcome {
                http_status: 200,
                body: wire::encode(&response),
                retry_after: None,
                report,
            }
        }
        Err(Failure::Refused(refusal)) => {
            let Refusal { rejection, audit } = *refusal;
            if let Some(audit) = audit {
                let logged = storage.begin().and_then(|mut tx| {
                    tx.audit(&audit)?;
                    tx.commit()
                });
                if let Err(error) = logged {
                    tracing::error!(%error, "could not write an audit entry");
                }
            }
            refused(rejection, None, report)
        }
        Err(Failure::Internal(message)) => {
            tracing::error!(device = ?report.device, %message, "sync failed");
            let rejection = rejection(
                RejectCode::Unavailable,
                "the server could not answer; try again later",
                None,
            );
            refused(rejection, Some(RETRY_AFTER_SECS), report)
        }
    }
}

/// The answer to a request that was refused or failed.
pub fn refused(rejection: Rejection, retry_after: Option<u64>, mut report: Report) -> Outcome {
    report.rejected = Some(rejection.code);
    Outcome {
        http_status: rejection.code.http_status(),
        body: wire::encode(&rejection),
        retry_after: retry_after.or((rejection.code == RejectCode::Unavailable).then_some(RETRY_AFTER_SECS)),
        report,
    }
}

fn exchange(
    storage: &dyn Storage,
    exchanges: &Exchanges,
    limits: &Limits,
    device: &Device,
    body: &[u8],
    now: Timestamp,
    report: &mut Report,
) -> Result<SyncResponse, Failure> {
    // Decoded outside the write transaction, within the role's limits: a message
    // that is too big, or holds too many items, is refused before it is allocated.
    let decode = limits.for_role(device.role).decode_for(body.len());
    let request: SyncRequest =
        wire::decode_with(body, &decode).map_err(|e| Failure::refused(e.rejection(), None))?;
    report.docs_in = request.pushes.len();
    report.changes_in = request.pushes.iter().map(|p| p.changes.len()).sum();
    if scope(device).is_none() {
        return Err(Failure::Internal(format!(
            "device {} has no case or caseworker",
            device.id
        )));
    }
    let work = Exchange {
        cache: exchanges.cache.clone(),
        limits: *limits,
        device: device.id,
        request,
        now,
    };
    let (response, destroyed) = exchanges.commits.run(storage, work)?;
    // Only when this request destroyed something: asking again to erase what is gone
    // costs the server no rewrite of its free pages.
    if destroyed > 0
        && let Err(error) = storage.scrub()
    {
        tracing::warn!(%error, "the database's free pages could not be scrubbed after an erasure");
    }
    report.docs_out = response.docs.len();
    report.changes_out = response.docs.iter().map(|p| p.changes.len()).sum();
    Ok(response)
}

/// What the sync exchanges of one server share: the documents kept between them, and
/// the queue that lets those arriving together share one commit.
#[derive(Debug)]
pub struct Exchanges {
    cache: Arc<DocCache>,
    commits: GroupCommit<Exchange>,
}

impl Exchanges {
    /// `cache_bytes`: the document cache's budget (0: none).
    pub fn new(cache_bytes: usize) -> Exchanges {
        Exchanges {
            cache: Arc::new(DocCache::new(cache_bytes)),
            commits: GroupCommit::new(MAX_BATCH),
        }
    }

    pub fn cache(&self) -> &DocCache {
        &self.cache
    }

    /// Transactions the exchanges committed, and the exchanges they held: more than
    /// one per commit when syncs arrive together.
    pub fn commits(&self) -> (u64, u64) {
        self.commits.committed()
    }
}

/// The most exchanges one commit holds: each waits for the last of its batch.
const MAX_BATCH: usize = 64;

/// One exchange of a decoded request, inside a group commit's transaction.
struct Exchange {
    cache: Arc<DocCache>,
    limits: Limits,
    device: i64,
    request: SyncRequest,
    now: Timestamp,
}

impl group::Work for Exchange {
    /// The answer, what the exchange stored, and how many documents it destroyed.
    type Pending = (SyncResponse, Docs, usize);
    type Done = (SyncResponse, usize);

    fn run(self, tx: &mut dyn Tx) -> Result<Self::Pending, Failure> {
        let (request, now) = (&self.request, self.now);
        // The device as it is now, inside the transaction: its digest and cursor are
        // read and written by this exchange alone.
        let device = tx
            .device(self.device)?
            .ok_or_else(|| Failure::Internal(format!("device {} vanished", self.device)))?;
        // Every case this exchange writes, locked before anything of them is read: on
        // a backend where exchanges run side by side, what is read stays as read.
        let mut cases: Vec<&CaseId> = request
            .pushes
            .iter()
            .map(|p| &p.doc.case)
            .chain(request.erase.iter().map(|d| &d.case))
            .collect();
        cases.sort_unstable();
        cases.dedup();
        tx.lock_cases(&cases)?;
        let mut docs = Docs::new(self.cache.clone());
        let erasures = erase::apply(tx, &docs, &device, request, now)?;
        let pushed = push::apply(tx, &mut docs, &self.limits, &device, request, now)?;
        let (mut response, audit) = answer::answer(
            tx,
            &mut docs,
            self.limits.response_budget,
            &device,
            request,
            &pushed,
            now,
        )?;
        for doc in erasures.confirmed {
            if !response.erased.contains(&doc) {
                response.erased.push(doc);
            }
        }
        for entry in &audit {
            tx.audit(entry)?;
        }
        Ok((response, docs, erasures.destroyed))
    }

    fn committed((response, docs, destroyed): Self::Pending) -> Self::Done {
        docs.committed();
        (response, destroyed)
    }
}
