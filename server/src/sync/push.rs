//! Applying what a device pushed: steps 1 to 4 of docs/protocol.md, "One exchange".
//!
//! Each pushed document is loaded from its chunks, the new changes are applied to
//! that copy, and `diff(before, after)` lists every path whose visible value they
//! change. Each path goes through `passage_core::policy::check_write`, with the case's
//! journey as it was before the request for context (who owns a task, whether the
//! talent may book). A single refused path refuses the request: the caller drops the
//! transaction, so nothing of any push is stored. Changes that depend on changes the
//! server lacks are not applied; their document is answered with `missing`.
//!
//! Pushes are stored as they are checked, inside the exchange's transaction, and their
//! documents dropped at once, so memory holds one document at a time whatever the
//! number of pushes. Journeys come first, so that a case a caseworker created offline
//! exists before its medical record is stored.

use std::collections::{HashMap, HashSet};

use std::sync::Arc;

use automerge::{AutoCommit, Change, ChangeHash, ExpandedChange};
use passage_core::arrival_plan;
use passage_core::chunk::{decode_change, guarded, has_change};
use passage_core::doc::journey::Journey;
use passage_core::doc::medical::Medical;
use passage_core::doc::{journey_after, read_document, written_paths};
use passage_core::policy::{check_write, max_depth};
use passage_core::sync::wire::{Push, RejectCode, Rejection, SyncRequest};
use passage_core::{CaseId, DocId, DocKind, Role};

use super::{Failure, authorship, depth, entry, rejection};
use crate::cache::Loaded;
use crate::docs::{self, Docs};
use crate::limits::Limits;
use crate::storage::{Device, NewCase, Timestamp, Tx};

/// What became of one pushed document.
#[derive(Debug)]
pub(super) struct Pushed {
    pub(super) doc: DocId,
    /// The device's heads, as it pushed them: what it holds of this document.
    pub(super) device_heads: Vec<ChangeHash>,
    /// Dependencies the server lacked: nothing of this push was stored.
    pub(super) missing: Vec<ChangeHash>,
    pub(super) bytes: u64,
    /// The document was erased: nothing of this push was stored, and the device is
    /// told to destroy its copy.
    pub(super) erased: bool,
}

/// Whether a case is known to the server, or being created by this request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CaseState {
    Known,
    New,
}

fn forbidden(device: &Device, doc: &DocId, why: &str, now: Timestamp) -> Failure {
    let mut audit = entry(Some(device), "push", now);
    audit.case = Some(doc.case.clone());
    audit.doc = Some(doc.clone());
    audit.allowed = false;
    audit.reason = Some(why.to_owned());
    Failure::refused(
        rejection(RejectCode::Forbidden, why, Some(doc.clone())),
        Some(audit),
    )
}

fn malformed(doc: &DocId, why: String) -> Failure {
    Failure::refused(rejection(RejectCode::Malformed, why, Some(doc.clone())), None)
}

/// Which pushed documents this device may write, and whether their cases exist.
fn check_scope(
    tx: &mut dyn Tx,
    device: &Device,
    request: &SyncRequest,
    now: Timestamp,
) -> Result<HashMap<CaseId, CaseState>, Failure> {
    let mut cases = HashMap::new();
    let mut seen = HashSet::new();
    for push in &request.pushes {
        let doc = &push.doc;
        if !seen.insert(doc.clone()) {
            return Err(malformed(doc, format!("{doc} is pushed twice")));
        }
        if doc.kind == DocKind::ArrivalPlan || device.role == Role::Family {
            return Err(forbidden(
                device,
                doc,
                "this device may not write this document",
                now,
            ));
        }
        if cases.contains_key(&doc.case) {
            continue;
        }
        let state = match device.role {
            Role::Talent if device.case.as_ref() == Some(&doc.case) => CaseState::Known,
            Role::Caseworker => match tx.case(&doc.case)? {
                Some(case)
                    if case.caseworker.as_ref().map(|w| w.id) == device.caseworker.as_ref().map(|w| w.id) =>
                {
                    CaseState::Known
                }
                Some(_) => {
                    return Err(forbidden(
                        device,
                        doc,
                        "the case is assigned to another caseworker",
                        now,
                    ));
                }
                // A case the caseworker created offline: it is created here, theirs.
                None => CaseState::New,
            },
            _ => {
                return Err(forbidden(
                    device,
                    doc,
                    "the document is outside this device's case",
                    now,
                ));
            }
        };
        cases.insert(doc.case.clone(), state);
    }
    // A new case starts with its journey: that is where its talent and destination are.
    let with_journey: HashSet<&CaseId> = request
        .pushes
        .iter()
        .filter(|p| p.doc.kind == DocKind::Journey)
        .map(|p| &p.doc.case)
        .collect();
    for push in &request.pushes {
        let new = cases.get(&push.doc.case) == Some(&CaseState::New);
        if new && !with_journey.contains(&push.doc.case) {
            return Err(forbidden(
                device,
                &push.doc,
                "the case is unknown to the server",
                now,
            ));
        }
    }
    Ok(cases)
}

/// Applies and checks every push, storing those that pass, inside `tx`.
pub(super) fn apply(
    tx: &mut dyn Tx,
    docs: &mut Docs,
    limits: &Limits,
    device: &Device,
    request: &SyncRequest,
    now: Timestamp,
) -> Result<Vec<Pushed>, Failure> {
    let cases = check_scope(tx, device, request, now)?;
    // The journeys as they were before this request, for the policy's context; filled
    // as pushes need them. Journeys are applied first, and each records its own
    // earlier state here before it is stored.
    let mut before: HashMap<CaseId, Arc<Journey>> = HashMap::new();
    let mut order: Vec<&Push> = request.pushes.iter().collect();
    order.sort_by_key(|p| p.doc.kind);
    let mut out = Vec::with_capacity(order.len());
    let mut owners = HashMap::new();
    for push in order {
        let state = cases.get(&push.doc.case).copied().unwrap_or(CaseState::Known);
        let mut ctx = PushContext {
            docs: &mut *docs,
            limits,
            device,
            before: &mut before,
            owners: &mut owners,
            now,
        };
        out.push(apply_one(tx, &mut ctx, push, state)?);
    }
    // Answered in the order the device sent them.
    let position: HashMap<&DocId, usize> = request
        .pushes
        .iter()
        .enumerate()
        .map(|(i, p)| (&p.doc, i))
        .collect();
    out.sort_by_key(|p| position.get(&p.doc).copied());
    Ok(out)
}

fn stored_journey(tx: &mut dyn Tx, docs: &mut Docs, case: &CaseId) -> Result<Arc<Journey>, Failure> {
    let id = case.doc(DocKind::Journey);
    let mut loaded = docs
        .load(tx, &id)?
        .ok_or_else(|| Failure::Internal(format!("case {case} has no journey")))?;
    let journey = Docs::journey(&mut loaded, &id)?;
    let heads = docs::sorted_heads(&mut loaded.doc);
    docs.keep(&id, heads, loaded);
    Ok(journey)
}

/// What every push of one request shares.
struct PushContext<'a> {
    docs: &'a mut Docs,
    limits: &'a Limits,
    device: &'a Device,
    /// The journeys as they were before this request (see [`apply`]).
    before: &'a mut HashMap<CaseId, Arc<Journey>>,
    /// Owners of the actors seen so far in this request.
    owners: &'a mut HashMap<Vec<u8>, Option<i64>>,
    now: Timestamp,
}

fn apply_one(
    tx: &mut dyn Tx,
    ctx: &mut PushContext<'_>,
    push: &Push,
    state: CaseState,
) -> Result<Pushed, Failure> {
    let (limits, device, now) = (ctx.limits, ctx.device, ctx.now);
    let id = &push.doc;
    let bytes: u64 = push.changes.iter().map(|c| c.len() as u64).sum();
    let mut pushed = Pushed {
        doc: id.clone(),
        device_heads: push.heads.clone(),
        missing: vec![],
        bytes,
        erased: false,
    };
    let mut loaded = match ctx.docs.load(tx, id)? {
        Some(loaded) => loaded,
        // An erased document has no chunks: erased for good, what a device still had
        // of it is dropped, and it is told.
        None if tx.is_erased(id)? => {
            pushed.erased = true;
            return Ok(pushed);
        }
        None => Loaded::new(AutoCommit::new()),
    };
    let before_heads = loaded.doc.get_heads();
    let mut new = Vec::new();
    let mut seen = HashSet::new();
    for (i, bytes) in push.changes.iter().enumerate() {
        let change = decode_change(id, &format!("pushed change {i}"), bytes)
            .map_err(|e| malformed(id, e.to_string()))?;
        // Changes the server already has are no-ops: a replayed request stores nothing.
        if !has_change(&loaded.doc, change.hash()) && seen.insert(change.hash()) {
            new.push(change);
        }
    }
    if new.is_empty() {
        return Ok(pushed);
    }
    authorship::check_actors(tx, device, id, &new, ctx.owners, now)?;
    if state == CaseState::New && id.kind != DocKind::Journey && tx.case(&id.case)?.is_none() {
        // The new case's journey was not stored (it lacked dependencies): this waits
        // for the next round, when the device pushes everything again.
        return Ok(pushed);
    }
    let before = &mut *ctx.before;
    if state == CaseState::Known && !before.contains_key(&id.case) {
        let journey = match id.kind {
            DocKind::Journey => Docs::journey(&mut loaded, id)?,
            _ => stored_journey(tx, ctx.docs, &id.case)?,
        };
        before.insert(id.case.clone(), journey);
    }
    let context = before.get(&id.case).cloned();
    let doc = &mut loaded.doc;
    let rows: Vec<(ChangeHash, Vec<u8>)> = new.iter().map(|c| (c.hash(), c.raw_bytes().to_vec())).collect();
    let expanded: Vec<ExpandedChange> =
        guarded(|| new.iter().map(Change::decode).collect()).map_err(|e| malformed(id, e))?;
    // Automerge records the patches as it applies the changes, so the `diff` below
    // reads that record instead of scanning every operation of the document.
    doc.update_diff_cursor();
    guarded(|| doc.apply_changes(new))
        .map_err(|e| malformed(id, e))?
        .map_err(|e| malformed(id, format!("the changes do not apply: {e}")))?;
    let missing = doc.get_missing_deps(&[]);
    if !missing.is_empty() {
        pushed.missing = missing;
        return Ok(pushed);
    }
    if let Some(path) = depth::too_deep(doc, &expanded, max_depth(id.kind)) {
        let why = format!("{path} is deeper than any field of a {}", id.kind);
        return Err(forbidden_write(device, id, path, why, bytes, now));
    }
    authorship::check_completed_by(doc, id, device, &expanded, now)?;
    drop(expanded);
    let after_heads = doc.get_heads();
    let patches = guarded(|| doc.diff(&before_heads, &after_heads)).map_err(|e| malformed(id, e))?;
    doc.reset_diff_cursor();
    let written = written_paths(&patches);
    drop(patches);
    for path in &written {
        let keys: Vec<&str> = path.iter().map(String::as_str).collect();
        if let Err(denied) = check_write(device.role, id.kind, &keys, context.as_deref()) {
            return Err(forbidden_write(
                device,
                id,
                denied.path.clone(),
                denied.to_string(),
                bytes,
                now,
            ));
        }
    }
    let journey = readable(
        doc,
        id,
        context.as_deref().filter(|_| id.kind == DocKind::Journey),
        &written,
    )?;
    check_quota(tx, limits, device, id, &rows, now)?;
    if state == CaseState::New
        && let Some(journey) = &journey
    {
        tx.create_case(&NewCase {
            case: &id.case,
            caseworker: device.caseworker.as_ref().map(|w| w.id),
            talent_name: &journey.talent_name,
            destination: &journey.destination,
            created_at: now,
        })?;
    }
    // The plan is projected again only when a path it reads was written.
    let plan_moved = state == CaseState::New || written.iter().any(|p| arrival_plan::reads(p));
    let journey = journey.map(Arc::new);
    loaded.journey.clone_from(&journey);
    ctx.docs.store(tx, id, loaded, &rows, Some(device.id), now)?;
    if let Some(journey) = journey
        && plan_moved
    {
        docs::write_arrival_plan(tx, ctx.docs, &id.case, &journey, now)?;
    }
    Ok(pushed)
}

/// Checks that the document still reads as its kind after the changes (a talent may
/// write a task's status, but not a status no build can read), and returns the
/// journey for the arrival plan. A journey read before the changes (`before`) is
/// brought up to date by re-reading only what they wrote.
fn readable(
    doc: &AutoCommit,
    id: &DocId,
    before: Option<&Journey>,
    written: &[Vec<String>],
) -> Result<Option<Journey>, Failure> {
    let unreadable =
        |e: passage_core::Error| malformed(id, format!("the changes leave {id} unreadable: {e}"));
    match id.kind {
        DocKind::Journey => {
            let journey: Journey = match before {
                Some(before) => journey_after(doc, id, before, written),
                None => read_document(doc, id),
            }
            .map_err(unreadable)?;
            if journey.case_id != id.case.as_str() {
                return Err(malformed(id, format!("{id} names another case")));
            }
            Ok(Some(journey))
        }
        DocKind::Medical => {
            let medical: Medical = read_document(doc, id).map_err(unreadable)?;
            if medical.case_id != id.case.as_str() {
                return Err(malformed(id, format!("{id} names another case")));
            }
            Ok(None)
        }
        DocKind::ArrivalPlan => Err(malformed(id, "arrival plans are not pushed".into())),
    }
}

/// Refuses changes that would take the document, or its case, past its quota: a
/// device may write what its role allows, but not without end.
fn check_quota(
    tx: &mut dyn Tx,
    limits: &Limits,
    device: &Device,
    id: &DocId,
    rows: &[(ChangeHash, Vec<u8>)],
    now: Timestamp,
) -> Result<(), Failure> {
    let adding: u64 = rows.iter().map(|(_, bytes)| bytes.len() as u64).sum();
    let stored = tx.document(id)?.map_or(0, |d| d.bytes);
    let over = if stored.saturating_add(adding) > limits.doc_quota {
        Some(format!(
            "{id} would hold {} bytes, over its quota of {}",
            stored.saturating_add(adding),
            limits.doc_quota
        ))
    } else {
        let case = tx.case_bytes(&id.case)?;
        (case.saturating_add(adding) > limits.case_quota).then(|| {
            format!(
                "case {} would hold {} bytes, over its quota of {}",
                id.case,
                case.saturating_add(adding),
                limits.case_quota
            )
        })
    };
    let Some(why) = over else { return Ok(()) };
    let mut audit = entry(Some(device), "push", now);
    audit.case = Some(id.case.clone());
    audit.doc = Some(id.clone());
    audit.allowed = false;
    audit.reason = Some("over quota".into());
    audit.bytes_in = adding;
    let rejection = Rejection {
        code: RejectCode::QuotaExceeded,
        message: format!("{why}; nothing of this sync was stored"),
        doc: Some(id.clone()),
        path: None,
    };
    Err(Failure::refused(rejection, Some(audit)))
}

fn forbidden_write(
    device: &Device,
    doc: &DocId,
    path: String,
    why: String,
    bytes: u64,
    now: Timestamp,
) -> Failure {
    let mut audit = entry(Some(device), "push", now);
    audit.case = Some(doc.case.clone());
    audit.doc = Some(doc.clone());
    audit.allowed = false;
    audit.reason = Some(format!("forbidden write {path}"));
    audit.bytes_in = bytes;
    let rejection = Rejection {
        code: RejectCode::ForbiddenWrite,
        message: format!("{why}; nothing of this sync was stored"),
        doc: Some(doc.clone()),
        path: Some(path),
    };
    Failure::refused(rejection, Some(audit))
}
