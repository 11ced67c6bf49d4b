//! The device's side of sync, sans-I/O: building a request from what is on disk, and
//! applying the server's answer (docs/protocol.md, "One exchange").
//!
//! Nothing here touches the network. The HTTP client sends what
//! [`Store::sync_request`] builds and hands the answer to [`Store::sync_apply`]; tests
//! and other transports can do the same. A document's server heads are recorded only
//! after the changes that came with them are committed, so a cut connection, a crash
//! or a lost answer costs at most a repeated round trip, never a change.

use std::collections::HashSet;

use automerge::ChangeHash;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Store;
use crate::access::{Action, Role};
use crate::error::{Error, Result};
use crate::ids::{DocId, DocKind};
use crate::sync::wire::{self, DocHeads, Push, SyncRequest, SyncResponse, SyncStatus};

/// Change bytes one request pushes at most; documents beyond it wait for the next
/// round, so a device that was offline for months sends several bodies well under
/// [`wire::MAX_BODY_BYTES`] rather than one that is refused.
pub const PUSH_BUDGET_BYTES: usize = 4 << 20;
/// Changes one request pushes at most: half of what a server takes by default
/// (`passage-server serve --request-changes`), which bounds the work one request
/// costs it. A document with more (a whole history sent again after the server was
/// restored from a backup) goes in causal slices over several rounds.
pub(crate) const PUSH_MAX_CHANGES: usize = 1_000;
/// Operations one request's changes declare at most: half of what a server takes by
/// default (`passage-server serve --request-operations`), for the same reason.
pub(crate) const PUSH_MAX_OPERATIONS: u64 = 25_000;

/// What a set of changes costs a server: the three things its limits count.
#[derive(Clone, Copy, Default)]
struct PushCost {
    changes: usize,
    bytes: usize,
    operations: u64,
}

impl PushCost {
    fn of(changes: &[automerge::Change]) -> PushCost {
        changes.iter().fold(PushCost::default(), |cost, c| cost.plus(c))
    }

    /// Counted as the server counts them: rows declared in the bytes.
    fn plus(self, change: &automerge::Change) -> PushCost {
        let bytes = change.raw_bytes();
        let operations = super::shape::measure(bytes, u64::MAX).unwrap_or(change.len() as u64);
        PushCost {
            changes: self.changes + 1,
            bytes: self.bytes + bytes.len(),
            operations: self.operations + operations,
        }
    }

    fn add(self, other: PushCost) -> PushCost {
        PushCost {
            changes: self.changes + other.changes,
            bytes: self.bytes + other.bytes,
            operations: self.operations + other.operations,
        }
    }

    fn within_request(self) -> bool {
        self.changes <= PUSH_MAX_CHANGES
            && self.bytes <= PUSH_BUDGET_BYTES
            && self.operations <= PUSH_MAX_OPERATIONS
    }
}

/// Names of the values kept in `sync_meta`.
mod key {
    pub(super) const SERVER: &str = "server";
    pub(super) const TOKEN: &str = "token";
    pub(super) const LAST_SUCCESS: &str = "last_success";
    pub(super) const LAST_ERROR: &str = "last_error";
    pub(super) const NEXT_ATTEMPT: &str = "next_attempt_after";
    pub(super) const FAILURES: &str = "consecutive_failures";
    pub(super) const ROLE: &str = "role";
    pub(super) const EXPIRES: &str = "token_expires_at";
    /// `held/<document id>`: a document whose changes the server refused; the value is
    /// the server's reason.
    pub(super) const HELD: &str = "held/";
    /// `enrol_proof/<SHA-256 of the code>`: the secret sent with an enrolment that has
    /// not completed yet, so that a retry (after a lost answer, even after the app was
    /// killed) proves it comes from the device that redeemed the code.
    pub(super) const ENROL_PROOF: &str = "enrol_proof/";
    /// The person the device speaks for, as the server knows them (the case's talent,
    /// the caseworker): the name written into the history of its changes once
    /// enrolled.
    pub(super) const PERSON: &str = "person";
    /// The server keys the store trusts, comma-separated pins; sealed like a secret,
    /// so that whoever can write the file cannot swap them without the store key.
    pub(super) const PINS: &str = "pins";
}

/// The person this device was enrolled as, if it was.
pub(super) fn enrolled_person(db: &super::db::Db) -> Result<Option<String>> {
    Ok(db.meta(key::PERSON)?.filter(|p| !p.trim().is_empty()))
}

/// Whether a named value is a secret, sealed in a sealed store: the device token, and
/// the proof of an enrolment in progress.
pub(crate) fn is_secret(name: &str) -> bool {
    name == key::TOKEN || name == key::PERSON || name == key::PINS || name.starts_with(key::ENROL_PROOF)
}

/// A document the server refused changes of. Its local changes stay on the device and
/// are not sent with the other documents (one refusal must not stop every sync); the
/// client offers them again once per sync, in a round of their own, and the hold ends
/// when the server accepts them (say, after staff allowed self-booking again).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HeldDocument {
    #[serde(serialize_with = "display")]
    pub doc: DocId,
    pub reason: String,
}

fn display<S: serde::Serializer>(doc: &DocId, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(doc)
}

/// Where this device syncs, as enrolment left it.
#[derive(Clone, PartialEq, Eq)]
pub struct SyncServer {
    pub url: String,
    /// The device token: a bearer secret.
    pub token: String,
    /// The role the token was issued for; the device acts as this role.
    pub role: Option<Role>,
    /// When the token stops being accepted (family tokens expire).
    pub expires_at: Option<DateTime<Utc>>,
    /// The person the device speaks for, as the server knows them: from then on the
    /// name in the history of this device's changes, and in the tasks it completes.
    pub person: Option<String>,
}

impl std::fmt::Debug for SyncServer {
    // The token never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncServer")
            .field("url", &self.url)
            .field("token", &"<secret>")
            .field("role", &self.role)
            .field("expires_at", &self.expires_at)
            .field("person", &self.person.as_ref().map(|_| "<name>"))
            .finish()
    }
}

/// What an app shows about sync.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyncState {
    pub server: Option<String>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Do not try again before this (the server's `Retry-After`, or the backoff).
    pub next_attempt_after: Option<DateTime<Utc>>,
    /// Documents with changes the server may not have yet.
    pub pending_documents: usize,
    /// Sync attempts that failed since the last success: the client waits longer
    /// after each.
    pub consecutive_failures: u32,
    /// Documents whose changes the server refused, not counted as pending.
    pub held: Vec<HeldDocument>,
}

/// What applying an answer did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncApplied {
    pub status: SyncStatus,
    /// Changes that were new to this device.
    pub received: usize,
    /// The documents those changes went to.
    pub changed: Vec<DocId>,
    /// Documents the server lacked history for: push their whole history next round.
    pub repush: Vec<DocId>,
}

impl SyncApplied {
    /// Whether another round trip is needed now.
    pub fn needs_another_round(&self) -> bool {
        self.status != SyncStatus::Complete || !self.repush.is_empty()
    }
}

impl Store {
    /// The next request: pushes for the documents that may have changes the server
    /// lacks (whole histories for those in `repush`), and the full list of server
    /// heads on the first sync or when `full` is asked.
    /// Held documents ([`HeldDocument`]) are left out.
    pub fn sync_request(&self, full: bool, repush: &[DocId]) -> Result<SyncRequest> {
        self.build_request(full, repush, Held::Skip)
    }

    /// A request offering a held document's changes again, alone, or `None` when it
    /// has nothing the server lacks any more.
    pub fn sync_request_held(&self, doc: &DocId) -> Result<Option<SyncRequest>> {
        let request = self.build_request(false, &[], Held::Only(doc))?;
        Ok((!request.pushes.is_empty()).then_some(request))
    }

    fn build_request(&self, full: bool, repush: &[DocId], held_mode: Held<'_>) -> Result<SyncRequest> {
        let mut inner = self.lock();
        let role = inner.identity.role;
        let known_heads = inner.db.server_heads()?;
        let held = held_docs(&inner.db)?;
        let candidates = inner.db.sync_candidates()?.into_iter().filter(|(doc, _)| {
            let is_held = held.iter().any(|h| &h.doc == doc);
            match held_mode {
                Held::Skip => !is_held,
                Held::Only(only) => is_held && doc == only,
            }
        });
        let mut pushes = Vec::new();
        let mut spent = PushCost::default();
        for (doc, server_heads) in candidates {
            // Documents this role only reads (the arrival plan, for family) have no
            // changes of the device's own to send.
            if !may_push(role, doc.kind) {
                continue;
            }
            let whole = repush.contains(&doc);
            let loaded = inner.loaded(&doc)?;
            let mut heads = loaded.doc.get_heads();
            heads.sort();
            let since: &[ChangeHash] = match (&server_heads, whole) {
                (Some(h), false) => h,
                _ => &[],
            };
            if !whole && server_heads.as_ref().is_some_and(|h| sorted(h) == heads) {
                // Rows were written (a compaction, or changes the server sent) but
                // nothing the server lacks: mark the document in step.
                inner.db.record_server_heads(&doc, &heads, true)?;
                continue;
            }
            let mut changes = loaded.doc.get_changes(since);
            let mut cost = PushCost::of(&changes);
            if !pushes.is_empty() && !spent.add(cost).within_request() {
                break;
            }
            if !cost.within_request() {
                // Alone in its request and still too much: a causal prefix of it now
                // (changes come oldest first, each after its dependencies), the rest
                // in the next rounds. Its heads are those of what the server will then
                // hold, so the document stays pending until all of it is sent.
                changes = causal_prefix(changes);
                heads = heads_after(since, &changes);
                cost = PushCost::of(&changes);
            }
            spent = spent.add(cost);
            let changes = changes.into_iter().map(|c| c.raw_bytes().to_vec()).collect();
            pushes.push(Push { doc, heads, changes });
        }
        let known = (!known_heads.is_empty())
            .then(|| wire::known_digest(known_heads.iter().map(|(d, h)| (d, h.as_slice()))));
        let full = (full || known.is_none()).then(|| {
            known_heads
                .into_iter()
                .map(|(doc, heads)| DocHeads { doc, heads })
                .collect()
        });
        let erase = match held_mode {
            Held::Skip => inner.pending_erasures()?,
            Held::Only(_) => Vec::new(),
        };
        Ok(SyncRequest {
            known,
            pushes,
            full,
            erase,
        })
    }

    /// Applies the server's answer: stores the changes it sent, then records its heads
    /// per document. A document the role may not read is refused, whatever the server
    /// sends.
    pub fn sync_apply(&self, request: &SyncRequest, response: &SyncResponse) -> Result<SyncApplied> {
        let mut inner = self.lock();
        // Erased, here and everywhere: before anything else of the answer, so that
        // nothing it carries can bring the document back.
        let mut destroyed = false;
        for doc in &response.erased {
            destroyed |= inner.erased_by_server(doc)?;
        }
        if destroyed {
            inner.scrub_after_erasure();
        }
        let pushed: HashSet<&DocId> = request.pushes.iter().map(|p| &p.doc).collect();
        let now = inner.options.clock.now();
        let mut received = 0;
        let mut changed = Vec::new();
        let mut repush = Vec::new();
        let mut delivered = false;
        for pull in &response.docs {
            inner.require_read(pull.doc.kind)?;
            if inner.erasure(&pull.doc)?.is_some() {
                continue;
            }
            // An empty list of heads means "the heads you sent for this document".
            let heads = if pull.heads.is_empty() {
                match request.pushes.iter().find(|p| p.doc == pull.doc) {
                    Some(push) => push.heads.clone(),
                    None => {
                        return Err(Error::Protocol(format!(
                            "the server answered for {} with no heads, but it was not pushed",
                            pull.doc
                        )));
                    }
                }
            } else {
                pull.heads.clone()
            };
            if !pull.missing.is_empty() {
                // The server stored nothing of this document's push; it keeps the heads
                // it had, and the device sends everything next round.
                repush.push(pull.doc.clone());
            }
            let (new_here, hashes) = inner.receive(&pull.doc, &pull.changes)?;
            if new_here > 0 {
                changed.push(pull.doc.clone());
            }
            received += new_here;
            let mut vouchers = pulled_vouchers(pull, &hashes);
            if let Some(push) = request.pushes.iter().find(|p| p.doc == pull.doc)
                && pull.missing.is_empty()
            {
                // Accepted: a hold on this document, if any, is over, and the server
                // now vouches that these changes came from this device.
                inner
                    .db
                    .set_meta(&[(&format!("{}{}", key::HELD, pull.doc), None)])?;
                vouchers.extend(own_vouchers(&inner.identity, push, now));
                delivered |= !push.changes.is_empty();
            }
            inner.db.record_vouchers(&pull.doc, &vouchers)?;
            let exists = inner.db.document_exists(&pull.doc)?;
            if !exists {
                continue;
            }
            let mut local = inner.loaded(&pull.doc)?.doc.get_heads();
            local.sort();
            let in_step = pull.missing.is_empty() && sorted(&heads) == local;
            if !in_step && !pushed.contains(&pull.doc) && pull.missing.is_empty() {
                // The device has changes the server did not get (made during this
                // round trip, or after the request was built): they stay pending.
                tracing::debug!(doc = %pull.doc, "local changes remain after sync");
            }
            inner.db.record_server_heads(&pull.doc, &heads, in_step)?;
            if !pull.missing.is_empty() && !pushed.contains(&pull.doc) {
                // Not pushed, yet the server lacks some of it: it went back in time
                // (docs/protocol.md, "A server restored from a backup").
                inner.db.resend(&pull.doc)?;
            }
        }
        if delivered {
            inner.rotate_actor();
        }
        Ok(SyncApplied {
            status: response.status,
            received,
            changed,
            repush,
        })
    }

    /// The server refused to erase `doc`: it stays erased on this device, and the
    /// device stops asking (the client records the server's reason as the sync's
    /// error).
    pub fn erasure_refused(&self, doc: &DocId) -> Result<()> {
        self.lock().erasure_refused(doc)
    }

    /// Records where this device syncs (enrolment). Moving to another server forgets
    /// the heads the previous one sent and the previous results: they describe what
    /// that server had, and heads are never guessed. Forgetting them costs at most
    /// one request that pushes everything, never a change.
    pub fn set_sync_server(&self, server: &SyncServer) -> Result<()> {
        let mut inner = self.lock();
        let moved = inner.db.meta(key::SERVER)?.is_some_and(|url| url != server.url);
        if moved {
            inner.db.forget_server_heads()?;
        }
        let role = server.role.map(|r| r.as_str());
        let expires = server.expires_at.map(crate::time::instant_text);
        if let Some(person) = server.person.as_deref().filter(|p| !p.trim().is_empty()) {
            inner.identity.name = person.to_owned();
        }
        let proofs: Vec<String> = inner
            .db
            .meta_with_prefix(key::ENROL_PROOF)?
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let mut values = vec![
            (key::SERVER, Some(server.url.as_str())),
            (key::TOKEN, Some(server.token.as_str())),
            (key::ROLE, role),
            (key::EXPIRES, expires.as_deref()),
            (key::PERSON, server.person.as_deref()),
        ];
        // Enrolled: the proofs of attempts are of no more use.
        values.extend(proofs.iter().map(|k| (k.as_str(), None)));
        if moved {
            for forgotten in [
                key::LAST_SUCCESS,
                key::LAST_ERROR,
                key::NEXT_ATTEMPT,
                key::FAILURES,
            ] {
                values.push((forgotten, None));
            }
        }
        inner.db.set_meta(&values)
    }

    /// Trusts only these server keys from now on, for every enrolment and sync of this
    /// store, whichever process or sync client runs them: kept in the file, so that a
    /// background worker that opens the store on its own is pinned too. An empty list
    /// trusts certificate authorities again.
    pub fn set_pins(&self, pins: &[crate::sync::SpkiPin]) -> Result<()> {
        let text: Vec<String> = pins.iter().map(ToString::to_string).collect();
        let joined = text.join(",");
        let value = (!pins.is_empty()).then_some(joined.as_str());
        self.lock().db.set_meta(&[(key::PINS, value)])
    }

    /// The server keys this store trusts; empty: certificate authorities.
    pub fn pins(&self) -> Result<Vec<crate::sync::SpkiPin>> {
        let Some(text) = self.lock().db.meta(key::PINS)? else {
            return Ok(Vec::new());
        };
        text.split(',').map(str::parse).collect()
    }

    /// The secret this device sends with an enrolment code: the same for every attempt
    /// with that code until one succeeds, across restarts of the app. Made (and kept)
    /// on the first attempt.
    pub fn enrolment_proof(&self, code: &str) -> Result<String> {
        use sha2::Digest as _;
        let typed: String = code
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .flat_map(char::to_uppercase)
            .collect();
        let name = format!("{}{}", key::ENROL_PROOF, hex::encode(sha2::Sha256::digest(typed)));
        let mut inner = self.lock();
        if let Some(proof) = inner.db.meta(&name)? {
            return Ok(proof);
        }
        let mut secret = [0u8; 32];
        crate::crypt::random(&mut secret)?;
        let proof = hex::encode(secret);
        inner.db.set_meta(&[(&name, Some(&proof))])?;
        Ok(proof)
    }

    /// Where this device syncs, if it was enrolled.
    pub fn sync_server(&self) -> Result<Option<SyncServer>> {
        let inner = self.lock();
        let (Some(url), Some(token)) = (inner.db.meta(key::SERVER)?, inner.db.meta(key::TOKEN)?) else {
            return Ok(None);
        };
        // A value this build cannot read is left out rather than failing the sync: the
        // role only sets the device's default, and the server knows the token's role.
        let role = inner.db.meta(key::ROLE)?.and_then(|r| r.parse().ok());
        let expires_at = inner
            .db
            .meta(key::EXPIRES)?
            .and_then(|t| crate::time::parse_instant(&t).ok());
        let person = inner.db.meta(key::PERSON)?;
        Ok(Some(SyncServer {
            url,
            token,
            role,
            expires_at,
            person,
        }))
    }

    /// Records the end of a sync attempt: success clears the last error.
    pub fn record_sync_result(
        &self,
        at: DateTime<Utc>,
        error: Option<&str>,
        next_attempt_after: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let at = crate::time::instant_text(at);
        let next = next_attempt_after.map(crate::time::instant_text);
        let mut inner = self.lock();
        match error {
            None => inner.db.set_meta(&[
                (key::LAST_SUCCESS, Some(&at)),
                (key::LAST_ERROR, None),
                (key::NEXT_ATTEMPT, next.as_deref()),
                (key::FAILURES, None),
            ]),
            Some(e) => {
                let failures = failures(inner.db.meta(key::FAILURES)?)
                    .saturating_add(1)
                    .to_string();
                inner.db.set_meta(&[
                    (key::LAST_ERROR, Some(e)),
                    (key::NEXT_ATTEMPT, next.as_deref()),
                    (key::FAILURES, Some(&failures)),
                ])
            }
        }
    }

    /// Sync as the person sees it: last success, last error, what is pending.
    pub fn sync_state(&self) -> Result<SyncState> {
        let inner = self.lock();
        let role = inner.identity.role;
        let instant = |v: Option<String>| v.and_then(|t| crate::time::parse_instant(&t).ok());
        let held = held_docs(&inner.db)?;
        let pending = inner
            .db
            .sync_candidates()?
            .into_iter()
            .filter(|(doc, _)| may_push(role, doc.kind) && !held.iter().any(|h| &h.doc == doc))
            .count();
        Ok(SyncState {
            server: inner.db.meta(key::SERVER)?,
            last_success: instant(inner.db.meta(key::LAST_SUCCESS)?),
            last_error: inner.db.meta(key::LAST_ERROR)?,
            next_attempt_after: instant(inner.db.meta(key::NEXT_ATTEMPT)?),
            pending_documents: pending,
            consecutive_failures: failures(inner.db.meta(key::FAILURES)?),
            held,
        })
    }

    /// Holds a document whose changes the server refused (see [`HeldDocument`]).
    pub fn hold_document(&self, doc: &DocId, reason: &str) -> Result<()> {
        self.lock()
            .db
            .set_meta(&[(&format!("{}{doc}", key::HELD), Some(reason))])
    }
}

/// The first changes of `changes` (in causal order) that fit one request's limits;
/// at least one.
fn causal_prefix(changes: Vec<automerge::Change>) -> Vec<automerge::Change> {
    let mut cost = PushCost::default();
    let mut out = Vec::new();
    for change in changes {
        let next = cost.plus(&change);
        if !out.is_empty() && !next.within_request() {
            break;
        }
        cost = next;
        out.push(change);
    }
    out
}

/// The heads of a document holding `base` and then `added`: every hash neither
/// superseded by an added change's dependencies.
fn heads_after(base: &[ChangeHash], added: &[automerge::Change]) -> Vec<ChangeHash> {
    let mut heads: std::collections::BTreeSet<ChangeHash> = base.iter().copied().collect();
    heads.extend(added.iter().map(automerge::Change::hash));
    for change in added {
        for dep in change.deps() {
            heads.remove(dep);
        }
    }
    heads.into_iter().collect()
}

/// The vouchers of a pull's changes, from the server's authors.
fn pulled_vouchers(
    pull: &crate::sync::wire::Pull,
    hashes: &[ChangeHash],
) -> Vec<(ChangeHash, crate::store::Voucher)> {
    if pull.authors.len() != hashes.len() {
        return Vec::new();
    }
    hashes
        .iter()
        .zip(&pull.authors)
        .filter_map(|(hash, author)| {
            let author = author.as_ref()?;
            Some((
                *hash,
                crate::store::Voucher {
                    role: author.role,
                    name: author.name.clone(),
                    received_at: DateTime::from_timestamp(author.received_at, 0).unwrap_or_default(),
                    own: false,
                },
            ))
        })
        .collect()
}

/// Vouchers for this device's own changes, which the server just accepted. The
/// identity's name is the person the device was enrolled as.
fn own_vouchers(
    identity: &crate::access::Identity,
    push: &Push,
    now: DateTime<Utc>,
) -> Vec<(ChangeHash, crate::store::Voucher)> {
    push.changes
        .iter()
        .filter_map(|bytes| super::loaded::parse_change(bytes).ok())
        // A push may relay changes this device received (all of a document's history
        // goes again after the server was restored): only those this device's person,
        // in its role, wrote are its own. The others keep the voucher they came with,
        // or none.
        .filter(|change| {
            change
                .message()
                .and_then(crate::history::ChangeNote::decode)
                .is_some_and(|note| note.role == identity.role && note.by == identity.name)
        })
        .map(|change| {
            (
                change.hash(),
                crate::store::Voucher {
                    role: Some(identity.role),
                    name: identity.name.clone(),
                    received_at: now,
                    own: true,
                },
            )
        })
        .collect()
}

/// Which documents a request carries, as to holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Held<'a> {
    Skip,
    Only(&'a DocId),
}

fn held_docs(db: &super::db::Db) -> Result<Vec<HeldDocument>> {
    Ok(db
        .meta_with_prefix(key::HELD)?
        .into_iter()
        .filter_map(|(k, reason)| {
            Some(HeldDocument {
                doc: k.strip_prefix(key::HELD)?.parse().ok()?,
                reason,
            })
        })
        .collect())
}

/// Whether documents of this kind can hold changes made on a device of this role.
fn may_push(role: crate::access::Role, kind: DocKind) -> bool {
    match kind {
        DocKind::ArrivalPlan => false,
        DocKind::Journey => role.may(Action::ReadJourney),
        DocKind::Medical => role.may(Action::ReadMedical),
    }
}

/// The stored count of failed attempts; unreadable counts as none.
fn failures(stored: Option<String>) -> u32 {
    stored.and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn sorted(heads: &[ChangeHash]) -> Vec<ChangeHash> {
    let mut h = heads.to_vec();
    h.sort();
    h
}
