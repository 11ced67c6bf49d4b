//! The integration tests of `passage-core`: one binary, one module per concern, real
//! SQLite files on disk, sealed under a test key as apps seal theirs.

// Helpers are `pub` so that every module of this one binary can use them.
#![allow(unreachable_pub)]

mod at_rest;
mod client;
mod conflicts;
mod convergence;
mod policy;
mod reminders;
mod reread;
mod roles;
mod roundtrip;
mod snapshots;
mod storage;
mod support;
mod templates;
mod trust;
mod wire;
