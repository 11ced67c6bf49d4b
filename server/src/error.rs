//! The server's errors, and the exit codes of its admin commands.
//!
//! Exit codes follow the terminal device's (`cli/src/error.rs`), so that scripts treat
//! both alike: 2 input, 3 not allowed, 4 not found, 5 corrupt data, 6 storage (7 and 8,
//! retry later and enrol again, come only from a device's sync). Errors
//! of a sync request never reach here: they become a `Rejection` (docs/protocol.md).

use passage_core::ErrorKind;

use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Input that cannot be used as given.
    #[error("{0}")]
    Input(String),
    /// Refused by a rule, not by a fault.
    #[error("{0}")]
    NotAllowed(String),
    /// A case, caseworker or token that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Boxed: the core's error carries Automerge's and SQLite's.
    #[error("{0}")]
    Core(Box<passage_core::Error>),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl From<passage_core::Error> for ServerError {
    fn from(e: passage_core::Error) -> Self {
        ServerError::Core(Box::new(e))
    }
}

impl ServerError {
    /// The process exit code of an admin command that failed with this.
    pub fn exit_code(&self) -> u8 {
        match self {
            ServerError::Input(_) => 2,
            ServerError::NotAllowed(_) => 3,
            ServerError::NotFound(_) => 4,
            ServerError::Core(e) => match e.kind() {
                ErrorKind::InvalidInput => 2,
                ErrorKind::NotAllowed => 3,
                ErrorKind::NotFound => 4,
                ErrorKind::CorruptData => 5,
                // Neither asks for a store key; a wrong one is a storage problem here.
                ErrorKind::Storage | ErrorKind::WrongKey => 6,
                ErrorKind::RetryLater => 7,
                ErrorKind::EnrolAgain => 8,
            },
            ServerError::Storage(StorageError::Exists(_)) => 2,
            ServerError::Storage(StorageError::Corrupt(_) | StorageError::NewerFormat { .. }) => 5,
            ServerError::Storage(_) | ServerError::Io(_) => 6,
        }
    }
}

pub type Result<T, E = ServerError> = std::result::Result<T, E>;
