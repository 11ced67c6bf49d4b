//! Enrolment and sync for the apps: the records they read, and the runtime the
//! library owns to run them.
//!
//! `Store::enrol` and `Store::sync` are `async` in Kotlin and Swift. Their work runs on
//! [`RUNTIME`], a small tokio runtime inside the library, and the future the app
//! awaits only waits for that task's result: the app's own executor (a coroutine
//! dispatcher, Swift's cooperative pool) never runs tokio code, and never blocks on
//! the network or on SQLite. The host decides when to sync (WorkManager,
//! BGTaskScheduler) from `SyncStatus::next_attempt_after`.

use std::sync::LazyLock;
use std::time::SystemTime;

use tokio::runtime::Runtime;

use crate::error::{PassageError, Result};
use crate::types::Role;

/// Two workers: a sync is one request at a time per store, and a phone has better
/// uses for its cores. Built on first use; if the OS refuses the threads, every sync
/// reports `Internal` instead of taking the app down.
static RUNTIME: LazyLock<std::io::Result<Runtime>> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("passage-sync")
        .enable_all()
        .build()
});

/// Runs `work` on the library's runtime and waits for it from whatever executor the
/// caller uses. A panic inside the task arrives as [`PassageError::Internal`].
pub(crate) async fn on_runtime<T, F>(operation: &'static str, work: F) -> Result<T>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let runtime = RUNTIME.as_ref().map_err(|e| PassageError::Internal {
        reason: format!("the sync runtime could not start: {e}"),
    })?;
    match runtime.spawn(work).await {
        Ok(result) => result,
        Err(join) => {
            tracing::error!(operation, error = %join, "task failed on the sync runtime");
            Err(PassageError::Internal {
                reason: format!("{operation} failed inside Passage; please report it"),
            })
        }
    }
}

/// Where this device is enrolled now.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Enrolment {
    pub server: String,
    /// The role the server gave this device. Open the store as this role.
    pub role: Role,
    /// The cases this device will receive.
    pub case_ids: Vec<String>,
    pub expires_at: Option<SystemTime>,
}

impl From<passage_core::sync::Enrolment> for Enrolment {
    fn from(e: passage_core::sync::Enrolment) -> Self {
        Enrolment {
            server: e.server,
            role: e.role.into(),
            case_ids: e.cases.iter().map(ToString::to_string).collect(),
            expires_at: e.expires_at.map(SystemTime::from),
        }
    }
}

/// What one successful sync did.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct SyncReport {
    pub round_trips: u32,
    /// Round trips sent again after a network failure.
    pub retries: u32,
    pub documents_pushed: u32,
    pub changes_received: u32,
    /// The cases whose documents changed: refresh their screens.
    pub cases_changed: Vec<String>,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub duration_ms: u64,
    /// False when the device has more to send than one sync carries; sync again.
    pub complete: bool,
    /// Documents the server refused to take, kept on this device (see `SyncStatus`).
    pub held: Vec<String>,
}

impl From<passage_core::sync::SyncReport> for SyncReport {
    fn from(r: passage_core::sync::SyncReport) -> Self {
        let mut cases_changed: Vec<String> = r.documents_changed.iter().map(|d| d.case.to_string()).collect();
        cases_changed.sort();
        cases_changed.dedup();
        SyncReport {
            round_trips: r.rounds,
            retries: r.retries,
            documents_pushed: u32::try_from(r.documents_pushed).unwrap_or(u32::MAX),
            changes_received: u32::try_from(r.changes_received).unwrap_or(u32::MAX),
            cases_changed,
            bytes_up: r.bytes_up,
            bytes_down: r.bytes_down,
            duration_ms: u64::try_from(r.duration.as_millis()).unwrap_or(u64::MAX),
            complete: r.complete,
            held: r.held.iter().map(ToString::to_string).collect(),
        }
    }
}

/// The state of sync on this device, for a status line and for scheduling the next.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct SyncStatus {
    /// The server this device is enrolled with, if any.
    pub server: Option<String>,
    pub last_success: Option<SystemTime>,
    /// The last failure since the last success, as a sentence.
    pub last_error: Option<String>,
    /// Do not sync before this (the server's wait, or the backoff after failures).
    pub next_attempt_after: Option<SystemTime>,
    /// Documents with changes the server may not have yet.
    pub pending_documents: u32,
    pub consecutive_failures: u32,
    /// Documents whose changes the server refused; they stay here, not pending.
    pub held: Vec<HeldDocument>,
}

#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct HeldDocument {
    pub doc_id: String,
    pub reason: String,
}

impl From<passage_core::sync::SyncState> for SyncStatus {
    fn from(s: passage_core::sync::SyncState) -> Self {
        SyncStatus {
            server: s.server,
            last_success: s.last_success.map(SystemTime::from),
            last_error: s.last_error,
            next_attempt_after: s.next_attempt_after.map(SystemTime::from),
            pending_documents: u32::try_from(s.pending_documents).unwrap_or(u32::MAX),
            consecutive_failures: s.consecutive_failures,
            held: s
                .held
                .into_iter()
                .map(|h| HeldDocument {
                    doc_id: h.doc.to_string(),
                    reason: h.reason,
                })
                .collect(),
        }
    }
}
