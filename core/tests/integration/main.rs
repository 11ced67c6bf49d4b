//! The integration tests of `passage-core`: one binary, one module per concern, real
//! SQLite files on disk (see ../shared/reference/style-anchors.md, point 8).

// Helpers are `pub` so that every module of this one binary can use them.
#![allow(unreachable_pub)]

mod client;
mod conflicts;
mod convergence;
mod policy;
mod reminders;
mod roles;
mod roundtrip;
mod snapshots;
mod storage;
mod support;
mod templates;
mod wire;
