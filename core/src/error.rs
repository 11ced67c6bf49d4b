//! The core's error type, and the one place that sorts it by what a caller does next.
//!
//! [`Error`] is rich: it names the document, the task, the role and the action, so a
//! developer or a test can tell exactly what happened. Callers that only need to decide
//! what to do (the terminal device's exit code, the mobile bindings' public error enum)
//! use [`Error::kind`], which is the single mapping from the rich error to the few
//! outcomes a user can act on.
//!
//! No message built here carries the value of a medical field: errors name documents,
//! paths and ids, never their contents.

use std::path::PathBuf;

use crate::access::{Action, Role};
use crate::ids::DocId;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store's role may not do this; nothing was changed.
    #[error("a {role} may not {action}")]
    NotAllowed { role: Role, action: Action },

    /// The case, document or entity does not exist in this store.
    #[error("not found: {0}")]
    NotFound(String),

    /// Input that cannot be used as given (a malformed time, an unknown task status...).
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// A stored chunk of a document failed to decode or verify. The document named here
    /// cannot be opened; every other document still can.
    #[error("document {doc} is corrupt ({chunk}): {reason}")]
    CorruptDocument {
        doc: DocId,
        chunk: String,
        reason: String,
    },

    /// The document decoded but does not have the shape this version expects.
    #[error("document {doc} has an unexpected shape: {reason}")]
    UnexpectedShape { doc: DocId, reason: String },

    /// A document or store from a newer version of Passage; update the app.
    #[error("{what} was written by a newer Passage (format {found}; this build reads up to {supported})")]
    NewerFormat {
        what: String,
        found: u64,
        supported: u64,
    },

    /// A journey template file is missing, malformed or incomplete.
    #[error("template {template}: {reason}")]
    Template { template: String, reason: String },

    /// The disk (or the store's quota) is full. The edit was not committed.
    #[error("the disk is full; the change was not saved: {0}")]
    DiskFull(Box<rusqlite::Error>),

    /// The SQLite store failed.
    #[error("storage error at {path}: {source}")]
    Storage {
        path: PathBuf,
        source: Box<rusqlite::Error>,
    },

    /// Automerge refused an operation on an in-memory document.
    #[error("automerge error in {doc}: {source}")]
    Automerge {
        doc: DocId,
        source: Box<automerge::AutomergeError>,
    },

    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// What a caller can do about an [`Error`]: the coarse classes apps and the terminal
/// device act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The role may not do this: tell the person, do not retry.
    NotAllowed,
    /// It does not exist: refresh the list the person picked from.
    NotFound,
    /// The input is wrong: ask the person to correct it.
    InvalidInput,
    /// Stored data is damaged or from a newer version: report it, keep other cases usable.
    CorruptData,
    /// The disk or the database failed: retry later, free space.
    Storage,
}

impl Error {
    /// The single mapping from rich errors to what a caller does next.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotAllowed { .. } => ErrorKind::NotAllowed,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::InvalidInput(_) => ErrorKind::InvalidInput,
            Error::CorruptDocument { .. }
            | Error::UnexpectedShape { .. }
            | Error::NewerFormat { .. }
            | Error::Template { .. } => ErrorKind::CorruptData,
            Error::DiskFull(_) | Error::Storage { .. } | Error::Io(_) | Error::Automerge { .. } => {
                ErrorKind::Storage
            }
        }
    }

    pub(crate) fn storage(path: &std::path::Path, source: rusqlite::Error) -> Error {
        let full = matches!(source.sqlite_error_code(), Some(rusqlite::ErrorCode::DiskFull));
        if full {
            Error::DiskFull(Box::new(source))
        } else {
            Error::Storage {
                path: path.to_owned(),
                source: Box::new(source),
            }
        }
    }
}
