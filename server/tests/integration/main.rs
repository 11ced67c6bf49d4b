//! The integration tests of `passage-server`: one binary, one module per concern. They
//! start the real `passage-server` process on a free loopback port with a temporary
//! data directory, run its admin commands as an operator would, and sync passage-core
//! stores on disk through it the way devices do.

// Helpers are `pub` so that every module of this one binary can use them.
#![allow(unreachable_pub)]

mod at_rest;
mod attacks;
mod enrol;
mod family;
mod faults;
mod ops;
mod recovery;
mod rejections;
mod support;
mod sync;
mod transport;
mod trust;
