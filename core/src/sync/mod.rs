//! Sync with the Passage server: the protocol (docs/protocol.md) and the device's side
//! of it.
//!
//! [`wire`] is the protocol's bytes, shared with the server. The device's side is
//! sans-I/O in the store ([`crate::Store::sync_request`] builds a request from what is
//! on disk, [`crate::Store::sync_apply`] applies an answer). [`client`] carries them
//! over HTTP and decides when to try again ([`backoff`]).

mod answer;
pub mod backoff;
mod census;
pub mod client;
mod pinning;
pub mod wire;

pub use crate::store::{HeldDocument, PUSH_BUDGET_BYTES, SyncApplied, SyncServer, SyncState};
pub use backoff::Backoff;
pub use client::{ClientOptions, Enrolment, SyncClient, SyncReport};
pub use pinning::SpkiPin;
pub use wire::{
    DecodeLimits, DocHeads, Pull, Push, RejectCode, Rejection, SyncRequest, SyncResponse, SyncStatus,
    WireError,
};
