//! Sync with the Passage server: the protocol (docs/protocol.md) and the device's side
//! of it.
//!
//! [`wire`] is the protocol's bytes, shared with the server. The device's side is
//! sans-I/O in the store ([`crate::Store::sync_request`] builds a request from what is
//! on disk, [`crate::Store::sync_apply`] applies an answer); the HTTP client that
//! carries them comes with issue 3's client work.

pub mod wire;

pub use crate::store::{PUSH_BUDGET_BYTES, SyncApplied, SyncServer, SyncState};
pub use wire::{
    DocHeads, Pull, Push, RejectCode, Rejection, SyncRequest, SyncResponse, SyncStatus, WireError,
};
