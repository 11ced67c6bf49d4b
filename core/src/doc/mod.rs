//! The shapes of the three Automerge documents of a case, and the low-level reads and
//! writes on them.
//!
//! Documents are map-shaped (Automerge's text- and list-heavy histories are the ones
//! whose loads spike in memory): stages, tasks, flights, appointments and family members are maps keyed
//! by id, so concurrent offline edits of different entities never touch the same key,
//! and entities added offline get random ids. Every container object is created once,
//! when the journey is created from its template, so two devices never race to create
//! the same object (that would hide one side's edits behind a conflict).
//!
//! Reading a document maps it onto the structs of [`journey`] and [`medical`] (see
//! [`read`]); writing puts single scalars at known paths, so that one edit is one
//! small change (reconciling the whole document costs milliseconds per edit).

pub mod codec;
mod create;
pub mod journey;
pub(crate) mod journey_write;
pub mod medical;
pub(crate) mod read;
mod reread;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};

use crate::error::{Error, Result};
use crate::ids::DocId;

/// A write to a document failed: Automerge refused it, or a map the document's shape
/// guarantees is missing (a malformed document). The store turns it into [`Error`]
/// naming the document.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WriteError {
    #[error(transparent)]
    Automerge(#[from] automerge::AutomergeError),
    #[error(transparent)]
    Reconcile(#[from] autosurgeon::ReconcileError),
    #[error("the document has no {0}")]
    Missing(String),
}

impl WriteError {
    pub(crate) fn into_error(self, doc: &DocId) -> Error {
        match self {
            WriteError::Automerge(source) => Error::Automerge {
                doc: doc.clone(),
                source: Box::new(source),
            },
            WriteError::Reconcile(e) => shape(doc, e.to_string()),
            WriteError::Missing(path) => shape(doc, format!("no {path}")),
        }
    }
}

/// Version of the document shapes this build writes and reads. Stored at `/schema`.
pub const DOC_SCHEMA: u64 = 1;

/// Checks the document's kind and schema version before it is hydrated.
pub(crate) fn check_header(doc: &AutoCommit, id: &DocId) -> Result<()> {
    let kind = get_str(doc, &ROOT, "kind");
    if kind.as_deref() != Some(id.kind.as_str()) {
        return Err(Error::UnexpectedShape {
            doc: id.clone(),
            reason: format!("/kind is {kind:?}, expected {:?}", id.kind.as_str()),
        });
    }
    match doc.get(&ROOT, "schema") {
        Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
            ScalarValue::Uint(v) if *v <= DOC_SCHEMA => Ok(()),
            ScalarValue::Int(v) if *v >= 0 && (*v as u64) <= DOC_SCHEMA => Ok(()),
            ScalarValue::Uint(v) => Err(newer(id, *v)),
            ScalarValue::Int(v) => Err(newer(id, *v as u64)),
            _ => Err(shape(id, "/schema is not a number")),
        },
        _ => Err(shape(id, "no /schema")),
    }
}

fn newer(id: &DocId, found: u64) -> Error {
    Error::NewerFormat {
        what: format!("document {id}"),
        found,
        supported: DOC_SCHEMA,
    }
}

pub(crate) fn shape(id: &DocId, reason: impl Into<String>) -> Error {
    Error::UnexpectedShape {
        doc: id.clone(),
        reason: reason.into(),
    }
}

pub use create::{new_case, write_arrival_plan};
pub use reread::{journey_after, written_paths};

/// Reads a whole document as `T` ([`journey::Journey`], [`medical::Medical`],
/// [`crate::arrival_plan::ArrivalPlan`]), after checking its kind and schema version.
pub fn read_document<T: serde::de::DeserializeOwned>(doc: &AutoCommit, id: &DocId) -> Result<T> {
    read::document(doc, id)
}

/// Reads the whole document as `T`.
pub(crate) fn hydrate<T: serde::de::DeserializeOwned>(doc: &AutoCommit, id: &DocId) -> Result<T> {
    read::document(doc, id)
}

/// The string at `obj[key]`, if there is one.
pub(crate) fn get_str(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Option<String> {
    match doc.get(obj, key) {
        Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
            ScalarValue::Str(s) => Some(s.to_string()),
            _ => None,
        },
        _ => None,
    }
}

/// The map at `obj[key]`.
pub(crate) fn get_map(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Option<ObjId> {
    match doc.get(obj, key) {
        Ok(Some((Value::Object(ObjType::Map), id))) => Some(id),
        _ => None,
    }
}

/// The list at `obj[key]`.
pub(crate) fn get_list(doc: &impl ReadDoc, obj: &ObjId, key: &str) -> Option<ObjId> {
    match doc.get(obj, key) {
        Ok(Some((Value::Object(ObjType::List), id))) => Some(id),
        _ => None,
    }
}

/// Follows a path of map keys from the root.
pub(crate) fn map_at(doc: &impl ReadDoc, path: &[&str]) -> Option<ObjId> {
    path.iter().try_fold(ROOT, |obj, key| get_map(doc, &obj, key))
}

/// Writes a string, or null for `None`.
pub(crate) fn put_opt_str(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    value: Option<String>,
) -> std::result::Result<(), automerge::AutomergeError> {
    match value {
        Some(v) => doc.put(obj, key, v),
        None => doc.put(obj, key, ScalarValue::Null),
    }
}
