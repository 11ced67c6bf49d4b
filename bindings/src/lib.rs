//! `passage-ffi`: Passage for Android and iOS, through uniffi.
//!
//! A thin layer over `passage-core`, in the manner of matrix-rust-sdk's `-ffi` crate:
//! [`Store`] wraps the core's store,
//! every exported method is a short forward to it inside [`error::guard`], the records
//! and enums are copies of the core's types with `From` conversions, and
//! [`PassageError`] is the one public error, converted from the core's in one place.
//! No rule of the domain lives here; if an exported method grows logic, it belongs in
//! the core.
//!
//! Kotlin and Swift are generated from this crate by the pinned generator
//! (`cargo uniffi-bindgen generate --library ...`); the idiomatic wrappers over them
//! live in android/ and ios/.

// uniffi's scaffolding (the extern "C" functions the generated Kotlin and Swift call)
// is unsafe code by nature; it is generated, and this crate writes none by hand.
#![allow(unsafe_code)]

uniffi::setup_scaffolding!("passage");

#[cfg(feature = "bench")]
pub mod bench;
mod edit;
mod error;
mod store;
mod sync;
mod types;
mod view;

pub use edit::Edit;
pub use error::PassageError;
pub use store::{Applied, KeyProvider, NewJourney, Store, StoreObserver, Subscription};
pub use sync::{Enrolment, HeldDocument, SyncReport, SyncStatus};
pub use types::*;
pub use view::*;
