//! The one public error of the bindings, and the one place core errors become it.
//!
//! Apps do not want the core's rich error (it names documents, paths and chunks for
//! developers and tests); they want to know what to do next. [`PassageError`] has one
//! variant per next step, each carrying a sentence for logs and support (`reason`),
//! and [`From<passage_core::Error>`] is the only conversion, through the core's own
//! [`passage_core::Error::kind`]. Core messages never carry the value of a medical
//! field (see core/src/error.rs), so neither does any reason here.
//!
//! Nothing may unwind into Kotlin or Swift: every exported call runs inside [`guard`],
//! which turns a panic into [`PassageError::Internal`] (uniffi would catch it too, but
//! as its own exception type outside this enum), and an exception thrown by an app's
//! callback arrives here as `Internal` as well.

use std::panic::{AssertUnwindSafe, catch_unwind};

use passage_core::ErrorKind;

/// What went wrong, sorted by what the app does next.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum PassageError {
    /// The server could not be reached or cannot serve now. Nothing was lost: sync
    /// again later, not before `retry_after_ms` when it is given.
    #[error("retry later: {reason}")]
    RetryLater {
        reason: String,
        retry_after_ms: Option<u64>,
    },
    /// The device is not enrolled, or its token was revoked or expired: ask for a new
    /// enrolment code.
    #[error("enrol again: {reason}")]
    EnrolAgain { reason: String },
    /// The input cannot be used as given (a malformed date, a refused enrolment code,
    /// an unknown task): ask the person to correct it.
    #[error("invalid input: {reason}")]
    InvalidInput { reason: String },
    /// The case, task or booking does not exist (any more): refresh what the person
    /// picked from.
    #[error("not found: {reason}")]
    NotFound { reason: String },
    /// This role may not do this (here or on the server): tell the person, do not retry.
    #[error("not allowed: {reason}")]
    NotAllowed { reason: String },
    /// The disk is full or the database failed: free space, then retry.
    #[error("storage problem: {reason}")]
    Storage { reason: String },
    /// Stored or received data is damaged or from a newer version: report it, update
    /// the app; other cases stay usable.
    #[error("corrupt data: {reason}")]
    CorruptData { reason: String },
    /// The key the app gave is not this store's key: find the right one in the
    /// platform's keystore, or start a new store and sync it again.
    #[error("wrong key: {reason}")]
    WrongKey { reason: String },
    /// A bug in Passage, or an app callback that threw: report it. The operation did
    /// not happen; the store is still usable.
    #[error("internal error: {reason}")]
    Internal { reason: String },
}

impl From<passage_core::Error> for PassageError {
    fn from(error: passage_core::Error) -> Self {
        let reason = error.to_string();
        match error.kind() {
            ErrorKind::RetryLater => PassageError::RetryLater {
                reason,
                retry_after_ms: error
                    .retry_after()
                    .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            },
            ErrorKind::EnrolAgain => PassageError::EnrolAgain { reason },
            ErrorKind::InvalidInput => PassageError::InvalidInput { reason },
            ErrorKind::NotFound => PassageError::NotFound { reason },
            ErrorKind::NotAllowed => PassageError::NotAllowed { reason },
            ErrorKind::Storage => {
                tracing::warn!(%reason, "storage error");
                PassageError::Storage { reason }
            }
            ErrorKind::CorruptData => {
                tracing::error!(%reason, "corrupt data");
                PassageError::CorruptData { reason }
            }
            ErrorKind::WrongKey => PassageError::WrongKey { reason },
        }
    }
}

/// An app callback (the key provider, an observer) threw something it did not
/// declare: the call that needed it fails with `Internal`, the app keeps running.
impl From<uniffi::UnexpectedUniFFICallbackError> for PassageError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        PassageError::Internal {
            reason: format!("an app callback failed: {}", error.reason),
        }
    }
}

pub(crate) type Result<T, E = PassageError> = std::result::Result<T, E>;

/// Runs one exported call; a panic inside becomes [`PassageError::Internal`]. The
/// panic's own message goes to the log only: it may quote data, the error may be
/// shown to a person.
pub(crate) fn guard<T>(operation: &str, call: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(operation, panic = %message, "panic caught at the FFI boundary");
            Err(PassageError::Internal {
                reason: format!("{operation} failed inside Passage; please report it"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_internal_and_does_not_unwind_further() {
        let outcome: Result<()> = guard("apply", || panic!("index out of bounds: the len is 3"));
        match outcome {
            Err(PassageError::Internal { reason }) => {
                assert!(reason.contains("apply"), "{reason}");
                assert!(
                    !reason.contains("index out of bounds"),
                    "the panic's text stays in the log"
                );
            }
            other => panic!("expected Internal, got {other:?}"),
        }
    }

    #[test]
    fn core_errors_become_the_variant_of_their_next_step() {
        use std::time::Duration;

        use passage_core::Error;
        let cases: Vec<(Error, &str)> = vec![
            (Error::InvalidInput("due: bad".into()), "InvalidInput"),
            (Error::NotFound("case".into()), "NotFound"),
            (Error::NotEnrolled, "EnrolAgain"),
            (Error::WrongKey, "WrongKey"),
            (Error::Protocol("garbage".into()), "CorruptData"),
            (
                Error::Network {
                    reason: "refused".into(),
                    retry_after: Some(Duration::from_secs(90)),
                },
                "RetryLater",
            ),
        ];
        for (error, expected) in cases {
            let public = PassageError::from(error);
            let name = format!("{public:?}");
            assert!(name.starts_with(expected), "{name} is not {expected}");
            if let PassageError::RetryLater { retry_after_ms, .. } = public {
                assert_eq!(retry_after_ms, Some(90_000));
            }
        }
    }
}
