//! `passage-core` keeps a displaced talent's journey to a job in Europe on the phone,
//! offline: the checklist, the medical check, the travel bookings, the pre-departure
//! orientation and the family, as Automerge documents in a SQLite file.
//!
//! The entry point is [`Store`]: open it on a file with an [`Identity`] (a role and a
//! name), create journeys from the [`template`] catalogue, read them, and change them
//! through typed [`Edit`]s. Every edit is refused locally when the role may not make it,
//! and returns only after its change is committed to disk.
//!
//! The crate has no FFI and no UI: `passage-ffi` wraps it for Kotlin and Swift, and the
//! `passage` terminal device is built on it the way the apps are. See ARCHITECTURE.md at
//! the root of the repository for the code map and the invariants.

#[macro_use]
mod macros;

pub mod access;
pub mod arrival_plan;
pub mod chunk;
pub mod conflict;
pub mod crypt;
pub mod doc;
pub mod edit;
mod error;
pub mod export;
pub mod history;
pub mod ids;
pub mod locale;
pub mod model;
pub mod policy;
pub mod reminder;
mod store;
pub mod sync;
pub mod template;
pub mod time;

pub use access::{Action, Identity, Role};
pub use edit::{Applied, Edit};
pub use error::{Error, ErrorKind, Result};
pub use ids::{CaseId, DocId, DocKind};
pub use locale::Locale;
pub use reminder::{Reminder, ReminderKind};
pub use store::{
    CaseSummary, CompactionPolicy, Durability, KeySource, MAX_CHUNK_BYTES, MAX_DOC_BYTES, SEAL_OVERHEAD,
    STORE_KEY_BYTES, SecretKey, Store, StoreId, StoreOptions, StoreStats,
};
