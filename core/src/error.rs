//! The core's error type, and the one place that sorts it by what a caller does next.
//!
//! [`Error`] is rich: it names the document, the task, the role and the action, so a
//! developer or a test can tell exactly what happened. Callers that only need to decide
//! what to do (the terminal device's exit code, the mobile bindings' public error enum)
//! use [`Error::kind`], which is the single mapping from the rich error to the few
//! outcomes a user can act on.
//!
//! No message built here carries the value of a medical field: errors name documents,
//! paths and ids, never their contents. Sync errors are stored as the device's last
//! sync error and shown to people, so they carry what the server said about a request
//! (a path, a status), never a body.

use std::path::PathBuf;
use std::time::Duration;

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

    /// The key the host gave for this store is not the key it was first given. Nothing
    /// was opened with it; the right key (from the platform's keystore) opens the store.
    #[error("this is not the store's key")]
    WrongKey,

    /// The store is sealed and was opened without a key: open it with its key.
    #[error("this store is encrypted; open it with its key")]
    KeyRequired,

    /// The device has no sync server and token yet: enrol it with a code first.
    #[error("this device is not enrolled with a sync server; enrol it with a code first")]
    NotEnrolled,

    /// The enrolment code was refused: used, expired or unknown. A new code is needed.
    #[error("the enrolment code was refused: {0}")]
    EnrolmentRefused(String),

    /// No answer from the server: it could not be reached, the connection was cut, or
    /// it did not answer in time. Nothing was lost; sync again later.
    #[error("the sync server could not be reached: {reason}")]
    Network {
        reason: String,
        /// Do not try again before this long.
        retry_after: Option<Duration>,
    },

    /// The server answered that it cannot serve now (HTTP 5xx, 429, 503 with a
    /// `Retry-After`). Nothing was lost; sync again later.
    #[error("the sync server is unavailable (HTTP {status}): {message}")]
    ServerUnavailable {
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },

    /// The server does not accept this device's token: unknown (401), or revoked or
    /// expired (403). The device must be enrolled again.
    #[error("the sync server refused this device's token (HTTP {status}): {message}")]
    TokenRefused { status: u16, message: String },

    /// The server refused a change that writes what this role may not write. Nothing of
    /// the request was stored; the change stays on this device.
    #[error("the sync server refused a change{}: {message}", forbidden_at(.doc.as_ref(), .path.as_deref()))]
    ForbiddenWrite {
        doc: Option<DocId>,
        path: Option<String>,
        message: String,
    },

    /// The server's answer does not follow the sync protocol, or the server refused
    /// the request as malformed, too large or of another protocol version. Retrying
    /// the same request would not help: report it (or update the app).
    #[error("sync protocol error: {0}")]
    Protocol(String),
}

/// Where a refused change wrote, for [`Error::ForbiddenWrite`]'s message.
fn forbidden_at(doc: Option<&DocId>, path: Option<&str>) -> String {
    match (doc, path) {
        (Some(doc), Some(path)) => format!(" to {doc} at {path}"),
        (Some(doc), None) => format!(" to {doc}"),
        (None, Some(path)) => format!(" at {path}"),
        (None, None) => String::new(),
    }
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
    /// The server could not be reached or cannot serve now: sync again later, not
    /// before [`Error::retry_after`] when it says.
    RetryLater,
    /// The device is not enrolled, or its token is no longer accepted: enrol it (again)
    /// with a new code.
    EnrolAgain,
    /// The host's key is not this store's key: find the right one (the keystore may
    /// have been reset), or start over with a new store and sync it again.
    WrongKey,
}

impl Error {
    /// The single mapping from rich errors to what a caller does next.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotAllowed { .. } | Error::ForbiddenWrite { .. } => ErrorKind::NotAllowed,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::InvalidInput(_) | Error::EnrolmentRefused(_) => ErrorKind::InvalidInput,
            Error::CorruptDocument { .. }
            | Error::UnexpectedShape { .. }
            | Error::NewerFormat { .. }
            | Error::Template { .. }
            | Error::Protocol(_) => ErrorKind::CorruptData,
            Error::Network { .. } | Error::ServerUnavailable { .. } => ErrorKind::RetryLater,
            Error::NotEnrolled | Error::TokenRefused { .. } => ErrorKind::EnrolAgain,
            Error::WrongKey | Error::KeyRequired => ErrorKind::WrongKey,
            Error::DiskFull(_) | Error::Storage { .. } | Error::Io(_) | Error::Automerge { .. } => {
                ErrorKind::Storage
            }
        }
    }

    /// How long the server asked the device to wait before syncing again
    /// (`Retry-After`), for errors of kind [`ErrorKind::RetryLater`].
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Network { retry_after, .. } | Error::ServerUnavailable { retry_after, .. } => *retry_after,
            _ => None,
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
