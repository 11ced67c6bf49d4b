//! `passage-server`: the sync server of Passage.
//!
//! Devices of talents, caseworkers and family members keep their cases offline as
//! Automerge documents and meet here, over `POST /v1/sync` (docs/protocol.md): one
//! round trip brings a device and the server up to date both ways. The server checks
//! every change against what the device's role may write (`passage_core::policy`)
//! before storing any of it, derives each case's arrival plan from its journey for
//! family devices, and logs every access decision without payloads.
//!
//! The same binary holds the admin commands (caseworkers, cases, enrolment codes,
//! tokens, the audit log), which work on the data directory directly. docs/server.md
//! is the operator's guide; ARCHITECTURE.md places the crate in the whole.
//!
//! Map: [`http`] (connections, routes, admitting requests), [`limits`] (every limit a
//! client can push on) and [`ratelimit`], [`sync`] (one exchange), [`enrol`] (codes
//! and tokens), [`admin`] (the commands), [`docs`] (loading and writing documents),
//! [`storage`] (the trait, and SQLite behind it), [`metrics`], [`text`] (client text
//! made safe for a terminal), [`cli`] and [`run`] (the binary's arguments and what
//! they do).

pub mod admin;
pub mod cache;
pub mod cli;
pub mod docs;
pub mod enrol;
pub mod error;
pub mod http;
pub mod keys;
pub mod limits;
pub mod metrics;
pub mod ratelimit;
pub mod run;
pub mod storage;
pub mod sync;
pub mod text;

/// A timestamp as RFC 3339 text in UTC, `2026-11-02T08:00:00Z`.
pub fn time_text(at: storage::Timestamp) -> String {
    docs::instant(at).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
