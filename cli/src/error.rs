//! The terminal device's errors and its exit codes.
//!
//! Scripts (and the tests) act on the exit code, so it follows the core's
//! [`ErrorKind`]: one code per thing a caller can do next. Errors of the device itself
//! (no case chosen, a file it cannot write) are sorted into the same codes.

use chrono::{DateTime, Utc};
use passage_core::ErrorKind;

#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// Boxed: the core's error carries Automerge's and SQLite's, which would make every
    /// `Result` of the device large.
    #[error("{}", core_message(.0))]
    Core(Box<passage_core::Error>),
    /// Input the device cannot use, found before the core was asked.
    #[error("{0}")]
    Input(String),
    /// Something the person named or expected is not on this device.
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The store's key is not where the device keeps keys, or not this store's.
    #[error("{0}")]
    Key(String),
    #[error("cannot write JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A sync that completed for every document but these, whose changes the server
    /// refused; they stay on the device (exit code 3, as any refusal).
    #[error("the sync server refused changes, kept on this device: {0}")]
    Held(String),
    /// A failed sync, with when the device should try again (as recorded in the store).
    #[error("{}{}", core_message(.error), next_attempt_text(.next_attempt.as_ref()))]
    Sync {
        error: Box<passage_core::Error>,
        next_attempt: Option<DateTime<Utc>>,
    },
}

fn next_attempt_text(at: Option<&DateTime<Utc>>) -> String {
    at.map(|t| format!("\nnext attempt after {}", crate::render::utc(t)))
        .unwrap_or_default()
}

impl From<passage_core::Error> for CliError {
    fn from(e: passage_core::Error) -> Self {
        CliError::Core(Box::new(e))
    }
}

impl CliError {
    /// The process exit code: 2 input, 3 not allowed, 4 not found, 5 corrupt data,
    /// 6 storage (or the store's key), 7 retry later, 8 enrol again. Clap's own usage errors also exit
    /// with 2.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::Core(e) | CliError::Sync { error: e, .. } => match e.kind() {
                ErrorKind::InvalidInput => 2,
                ErrorKind::NotAllowed => 3,
                ErrorKind::NotFound => 4,
                ErrorKind::CorruptData => 5,
                // A store whose key is missing or wrong cannot be read: a storage
                // problem, to be fixed by restoring the key file.
                ErrorKind::Storage | ErrorKind::WrongKey => 6,
                ErrorKind::RetryLater => 7,
                ErrorKind::EnrolAgain => 8,
            },
            CliError::Input(_) => 2,
            CliError::Held(_) => 3,
            CliError::NotFound(_) => 4,
            CliError::Json(_) => 5,
            CliError::Io(_) | CliError::Key(_) => 6,
        }
    }
}

/// The core's message without the "invalid input: " prefix, which only repeats what
/// the exit code and clap's "invalid value" already say.
pub(crate) fn core_message(e: &passage_core::Error) -> String {
    match e {
        passage_core::Error::InvalidInput(message) => message.clone(),
        other => other.to_string(),
    }
}

pub(crate) type Result<T, E = CliError> = std::result::Result<T, E>;
