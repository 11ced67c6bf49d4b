//! Steps 5 and 6 of docs/protocol.md, "One exchange": what the device has, what it
//! lacks, and the record of what it was sent.
//!
//! The server keeps, per device, the heads it last sent of each document and the
//! digest of them all. If the request's `known` digest matches, that record is what
//! the device has, and only documents renumbered since the device's cursor (plus the
//! pushed ones) need a look; otherwise the device's `full` list stands in. Documents
//! are compared by their stored heads first and loaded only when they differ, one at
//! a time. Answers stop at a budget of change bytes (status `partial`); the cursor then
//! stays below the first document not sent in full, so the next round picks it up.

use std::collections::{BTreeSet, HashMap, HashSet};

use automerge::{AutoCommit, Change, ChangeHash};
use passage_core::DocId;
use passage_core::chunk::has_change;
use passage_core::sync::wire::{self, Pull, SyncRequest, SyncResponse, SyncStatus};

use super::push::Pushed;
use super::{Failure, entry, erase};
use crate::docs::{self, Docs};
use crate::storage::{AuditEntry, Device, Scope, Timestamp, Tx};

/// Change bytes one answer carries at most by default (at least one change, so that
/// every answer makes progress); well under the 8 MiB body limit. An operator whose
/// devices live on slow, flaky networks may choose less (`serve --response-budget`).
pub const RESPONSE_BUDGET_BYTES: usize = 4 << 20;

/// Where the server learnt what the device has.
enum Knows {
    /// The digest matched: the server's record.
    Recorded,
    /// The device's own list of server heads.
    Full(HashMap<DocId, Vec<ChangeHash>>),
    /// Neither: only pushed documents can be answered.
    Unknown,
}

/// One document to compare.
struct Candidate<'a> {
    doc: DocId,
    server: Vec<ChangeHash>,
    seq: i64,
    device: Vec<ChangeHash>,
    pushed: Option<&'a Pushed>,
}

fn sorted(heads: &[ChangeHash]) -> Vec<ChangeHash> {
    let mut h = heads.to_vec();
    h.sort();
    h
}

pub(super) fn answer(
    tx: &mut dyn Tx,
    docs: &mut Docs,
    budget: usize,
    device: &Device,
    request: &SyncRequest,
    pushed: &[Pushed],
    now: Timestamp,
) -> Result<(SyncResponse, Vec<AuditEntry>), Failure> {
    let knows = match (&request.known, &device.known_digest, &request.full) {
        (Some(known), Some(recorded), _) if known == recorded => Knows::Recorded,
        (_, _, Some(full)) => Knows::Full(full.iter().map(|d| (d.doc.clone(), d.heads.clone())).collect()),
        // A device with no server heads at all sends no digest: it has nothing.
        (None, _, None) => Knows::Full(HashMap::new()),
        _ => Knows::Unknown,
    };
    let scope = super::scope(device)
        .ok_or_else(|| Failure::Internal(format!("device {} has no case or caseworker", device.id)))?;
    // Taken before the documents are read, so that whatever they miss is above it.
    let watermark = tx.watermark()?;
    let candidates = candidates(tx, device, &scope, pushed, &knows)?;
    // With `full`, the candidates are every readable document and every pushed one.
    let in_scope: HashSet<DocId> = match &knows {
        Knows::Full(_) => candidates.iter().map(|c| c.doc.clone()).collect(),
        _ => HashSet::new(),
    };

    let mut used = 0usize;
    let mut pulls: Vec<Pull> = Vec::new();
    // Erased documents the device still holds: it destroys them.
    let mut erased: Vec<DocId> = pushed
        .iter()
        .filter(|p| p.erased)
        .map(|p| p.doc.clone())
        .collect();
    let mut audit = Vec::new();
    // The pulls of pushed documents now in step: the device's heads, answered as sent.
    let mut as_sent = Vec::new();
    // The lowest position of a document not sent in full.
    let mut incomplete: Option<i64> = None;
    for c in candidates {
        let in_step = sorted(&c.server) == sorted(&c.device);
        if in_step && c.pushed.is_none() {
            continue;
        }
        if !in_step && c.pushed.is_none() && used >= budget {
            incomplete = Some(incomplete.map_or(c.seq, |s| s.min(c.seq)));
            continue;
        }
        let Lacking {
            changes,
            hashes,
            heads,
            complete,
            unknown,
        } = if in_step {
            Lacking {
                changes: Vec::new(),
                hashes: Vec::new(),
                heads: c.server.clone(),
                complete: true,
                unknown: Vec::new(),
            }
        } else {
            lacking(tx, docs, &c, budget, &mut used)?
        };
        if !complete {
            incomplete = Some(incomplete.map_or(c.seq, |s| s.min(c.seq)));
            if changes.is_empty() && c.pushed.is_none() {
                continue;
            }
        }
        // A document the device did not push, but holds heads of that the server
        // never saw: the server went back in time (a restored backup, a failover to a
        // lagging replica). It asks for them now, as for a push that lacked its
        // dependencies: the device sends the document's history next round.
        let (missing, why) = match c.pushed {
            Some(p) => (p.missing.clone(), "dependencies missing"),
            None => (unknown, "heads the server lacks"),
        };
        let bytes_out: u64 = changes.iter().map(|b| b.len() as u64).sum();
        if !changes.is_empty() || !missing.is_empty() {
            let mut e = entry(Some(device), "pull", now);
            e.case = Some(c.doc.case.clone());
            e.doc = Some(c.doc.clone());
            e.bytes_out = bytes_out;
            if !missing.is_empty() {
                e.reason = Some(format!("{} {why}", missing.len()));
            }
            audit.push(e);
        }
        if in_step && c.pushed.is_some() {
            as_sent.push(pulls.len());
        }
        let authors = tx.authors(&c.doc, &hashes)?;
        pulls.push(Pull {
            doc: c.doc,
            heads,
            changes,
            missing,
            authors,
        });
    }
    for p in pushed {
        let mut e = entry(Some(device), "push", now);
        e.case = Some(p.doc.case.clone());
        e.doc = Some(p.doc.clone());
        e.bytes_in = p.bytes;
        audit.push(e);
    }

    let status = match (&knows, incomplete) {
        (Knows::Unknown, _) => SyncStatus::NeedFull,
        (_, Some(_)) => SyncStatus::Partial,
        (_, None) => SyncStatus::Complete,
    };
    // Documents above the watermark may have been read already; a position below a
    // document left for the next round must not be passed either.
    let cursor = match incomplete {
        Some(seq) => (seq - 1).min(watermark),
        None => watermark,
    };
    match knows {
        Knows::Recorded => {
            let mut digest = device.known_digest.unwrap_or_default();
            for (doc, held) in tx.erased_held(device.id)? {
                digest = wire::xor(digest, wire::doc_digest(&doc, &held));
                tx.forget_peer_doc(device.id, &doc)?;
                if !erased.contains(&doc) {
                    erased.push(doc);
                }
            }
            for pull in &pulls {
                if let Some(old) = tx.peer_heads(device.id, &pull.doc)? {
                    digest = wire::xor(digest, wire::doc_digest(&pull.doc, &old));
                }
                digest = wire::xor(digest, wire::doc_digest(&pull.doc, &pull.heads));
                tx.set_peer_heads(device.id, &pull.doc, &pull.heads)?;
            }
            tx.record_sync(device.id, now, Some(digest), cursor)?;
        }
        Knows::Full(mut held) => {
            for doc in held.keys() {
                // A readable document is not erased: only the others are looked up.
                if !in_scope.contains(doc)
                    && !erased.contains(doc)
                    && tx.is_erased(doc)?
                    && erase::may_learn_erased(tx, device, doc)?
                {
                    erased.push(doc.clone());
                }
            }
            // Only what the device may read is recorded: a `full` list naming other
            // documents (invented ones, another case's, erased ones) costs the server
            // nothing.
            held.retain(|doc, _| in_scope.contains(doc));
            for pull in &pulls {
                held.insert(pull.doc.clone(), pull.heads.clone());
            }
            let mut held: Vec<(DocId, Vec<ChangeHash>)> = held.into_iter().collect();
            held.sort_by(|a, b| a.0.cmp(&b.0));
            tx.replace_peer_heads(device.id, &held)?;
            let digest =
                (!held.is_empty()).then(|| wire::known_digest(held.iter().map(|(d, h)| (d, h.as_slice()))));
            tx.record_sync(device.id, now, digest, cursor)?;
        }
        Knows::Unknown => {
            // The device sends `full` next; until then nothing it holds is known.
            tx.record_sync(device.id, now, None, device.cursor)?;
        }
    }
    // A pushed document now in step has the heads the device sent: the answer says so
    // with an empty list (docs/protocol.md), 34 bytes fewer for every edit. Only on the
    // wire: what the server recorded above are the heads themselves.
    for i in as_sent {
        pulls[i].heads.clear();
    }
    Ok((
        SyncResponse {
            status,
            docs: pulls,
            erased,
        },
        audit,
    ))
}

/// The documents to compare: pushed ones first, then (unless nothing is known of the
/// device) the readable ones changed since the device's cursor, in position order.
fn candidates<'a>(
    tx: &mut dyn Tx,
    device: &Device,
    scope: &Scope,
    pushed: &'a [Pushed],
    knows: &Knows,
) -> Result<Vec<Candidate<'a>>, Failure> {
    let mut out = Vec::new();
    for p in pushed.iter().filter(|p| !p.erased) {
        let (server, seq) = match tx.document(&p.doc)? {
            Some(state) => (state.heads, state.seq),
            None => (vec![], 0),
        };
        out.push(Candidate {
            doc: p.doc.clone(),
            server,
            seq,
            device: p.device_heads.clone(),
            pushed: Some(p),
        });
    }
    let after = match knows {
        Knows::Recorded => device.cursor,
        Knows::Full(_) => 0,
        Knows::Unknown => return Ok(out),
    };
    let pushed_docs: HashSet<&DocId> = pushed.iter().map(|p| &p.doc).collect();
    for state in tx.readable_docs(scope, after)? {
        if pushed_docs.contains(&state.doc) {
            continue;
        }
        let held = match knows {
            Knows::Recorded => tx.peer_heads(device.id, &state.doc)?.unwrap_or_default(),
            Knows::Full(full) => full.get(&state.doc).cloned().unwrap_or_default(),
            Knows::Unknown => vec![],
        };
        out.push(Candidate {
            doc: state.doc,
            server: state.heads,
            seq: state.seq,
            device: held,
            pushed: None,
        });
    }
    Ok(out)
}

/// What one document's `Pull` carries.
struct Lacking {
    changes: Vec<Vec<u8>>,
    /// The hashes of `changes`, in their order.
    hashes: Vec<ChangeHash>,
    /// The heads the device will have once it applied `changes`.
    heads: Vec<ChangeHash>,
    /// False when some changes were left for the next round.
    complete: bool,
    /// The device's heads that the server does not have.
    unknown: Vec<ChangeHash>,
}

/// The changes the device lacks of one document, as many as the budget allows.
fn lacking(
    tx: &mut dyn Tx,
    docs: &mut Docs,
    c: &Candidate<'_>,
    budget: usize,
    used: &mut usize,
) -> Result<Lacking, Failure> {
    let Some(mut loaded) = docs.load(tx, &c.doc)? else {
        return Ok(Lacking {
            changes: vec![],
            hashes: vec![],
            heads: vec![],
            complete: true,
            unknown: vec![],
        });
    };
    let stored = docs::sorted_heads(&mut loaded.doc);
    let lacking = lacking_in(&mut loaded.doc, &stored, c, budget, used);
    // Kept for the next exchange that reads it (a caseworker's, after a talent's push).
    docs.keep(&c.doc, stored, loaded);
    Ok(lacking)
}

fn lacking_in(
    doc: &mut AutoCommit,
    stored: &[ChangeHash],
    c: &Candidate<'_>,
    budget: usize,
    used: &mut usize,
) -> Lacking {
    // Heads the device holds but the server lacks (its own unsent changes, or what a
    // server restored from a backup lost) say nothing about what it needs.
    let (have, unknown): (Vec<ChangeHash>, Vec<ChangeHash>) =
        c.device.iter().copied().partition(|h| has_change(&*doc, *h));
    let all: Vec<Change> = doc.get_changes(&have);
    let total: usize = all.iter().map(|ch| ch.raw_bytes().len()).sum();
    let room = budget.saturating_sub(*used);
    if total <= room {
        *used += total;
        let hashes = all.iter().map(Change::hash).collect();
        let changes = all.into_iter().map(|ch| ch.raw_bytes().to_vec()).collect();
        return Lacking {
            changes,
            hashes,
            heads: stored.to_vec(),
            complete: true,
            unknown,
        };
    }
    // A prefix of the changes in causal order, at least one when the answer is empty
    // so far; its heads are those of what the device will then hold.
    let mut prefix: Vec<Change> = Vec::new();
    let mut size = 0usize;
    for ch in all {
        let len = ch.raw_bytes().len();
        if size + len > room && !(prefix.is_empty() && *used == 0) {
            break;
        }
        size += len;
        prefix.push(ch);
    }
    *used += size;
    let mut heads: BTreeSet<ChangeHash> = have.into_iter().collect();
    heads.extend(prefix.iter().map(Change::hash));
    for ch in &prefix {
        for dep in ch.deps() {
            heads.remove(dep);
        }
    }
    Lacking {
        hashes: prefix.iter().map(Change::hash).collect(),
        changes: prefix.into_iter().map(|ch| ch.raw_bytes().to_vec()).collect(),
        heads: heads.into_iter().collect(),
        complete: false,
        unknown,
    }
}
