//! Erasure asked by a device (`SyncRequest::erase`): crypto-shredding a document
//! everywhere, for GDPR Art. 17 or when a case closes.
//!
//! A caseworker may erase the medical record of a case assigned to them. The server
//! destroys the document's data key and deletes its chunks in the exchange's
//! transaction, keeps a tombstone, and tells every device that held the document at
//! its next sync (`SyncResponse::erased`). The audit log records the erasure, never
//! the data.

use crate::docs::Docs;
use passage_core::sync::wire::{RejectCode, SyncRequest};
use passage_core::{DocId, DocKind, Role};

use super::{Failure, entry, rejection};
use crate::storage::{Device, Timestamp, Tx};

/// Whether `device` may erase `doc`: a caseworker, the case assigned to them, its
/// medical record. Whole cases are not erased this way.
pub(crate) fn may_erase(tx: &mut dyn Tx, device: &Device, doc: &DocId) -> Result<bool, Failure> {
    if device.role != Role::Caseworker || doc.kind != DocKind::Medical {
        return Ok(false);
    }
    assigned(tx, device, doc)
}

fn assigned(tx: &mut dyn Tx, device: &Device, doc: &DocId) -> Result<bool, Failure> {
    Ok(tx.case(&doc.case)?.is_some_and(|case| {
        case.caseworker.as_ref().map(|w| w.id) == device.caseworker.as_ref().map(|w| w.id)
    }))
}

/// Whether `device` may learn that `doc` was erased: it held the document (the server
/// recorded so), or the document's case is its own. Anyone else naming an erased
/// document learns nothing: whether another case's medical record was erased is not
/// theirs to know.
pub(crate) fn may_learn_erased(tx: &mut dyn Tx, device: &Device, doc: &DocId) -> Result<bool, Failure> {
    if tx.peer_heads(device.id, doc)?.is_some() {
        return Ok(true);
    }
    match device.role {
        Role::Talent => Ok(device.case.as_ref() == Some(&doc.case)),
        Role::Family => Ok(false),
        Role::Caseworker => assigned(tx, device, doc),
    }
}

/// Destroys `doc` in `tx` (its key and chunks; a tombstone stays) and audits it as
/// asked by `by`, or by an admin. The caller scrubs the free pages after committing.
pub(crate) fn destroy(
    tx: &mut dyn Tx,
    doc: &DocId,
    by: Option<&Device>,
    reason: &str,
    now: Timestamp,
) -> crate::storage::Result<()> {
    tx.erase_document(doc, by.map(|d| d.id), now)?;
    let mut audit = entry(by, "erase", now);
    audit.case = Some(doc.case.clone());
    audit.doc = Some(doc.clone());
    audit.reason = Some(reason.into());
    tx.audit(&audit)
}

/// What [`apply`] did.
pub(super) struct Erasures {
    /// The documents to confirm as erased to the device: erased now or before.
    pub confirmed: Vec<DocId>,
    /// How many were erased by this request (their free pages then need scrubbing).
    pub destroyed: usize,
}

/// Erases what the request asks, or refuses the whole request. Permission comes
/// first, so that a device that may not erase a document learns nothing of it, not
/// even whether it was erased before.
pub(super) fn apply(
    tx: &mut dyn Tx,
    docs: &Docs,
    device: &Device,
    request: &SyncRequest,
    now: Timestamp,
) -> Result<Erasures, Failure> {
    let mut done = Erasures {
        confirmed: Vec::new(),
        destroyed: 0,
    };
    for doc in &request.erase {
        if !may_erase(tx, device, doc)? {
            let mut audit = entry(Some(device), "erase", now);
            audit.case = Some(doc.case.clone());
            audit.doc = Some(doc.clone());
            audit.allowed = false;
            audit.reason = Some("only the caseworker of the case may erase its medical record".into());
            return Err(Failure::refused(
                rejection(
                    RejectCode::Forbidden,
                    "only the caseworker of the case may erase its medical record",
                    Some(doc.clone()),
                ),
                Some(audit),
            ));
        }
        if tx.is_erased(doc)? {
            done.confirmed.push(doc.clone());
            continue;
        }
        // What the device held of it stays recorded until the answer, which tells it
        // (as every device that held it) that the document is erased.
        docs.forget(doc);
        destroy(
            tx,
            doc,
            Some(device),
            "erased: its key destroyed, its chunks deleted",
            now,
        )?;
        done.confirmed.push(doc.clone());
        done.destroyed += 1;
    }
    Ok(done)
}
