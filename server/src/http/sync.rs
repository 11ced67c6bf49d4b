//! `POST /v1/sync`: admitting a request, cheapest check first, then handing its bytes
//! to [`crate::sync::handle`] on a blocking thread.
//!
//! Before a byte of the body is read: the token (its shape, then one indexed read),
//! the device's rate and its syncs in flight, the server's syncs in flight, and the
//! role's size limit against the declared length. Then the body is read within the
//! role's limit and the body deadline, taking from the memory budget as its bytes
//! arrive, and what it may inflate to is reserved before it is decoded. Each refusal
//! carries a `Rejection`, and `Retry-After` when waiting is the answer.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use passage_core::sync::wire::{self, CONTENT_TYPE, RejectCode};

use super::body::{self, BodyError};
use super::{AppState, kib, now};
use crate::limits::UNAUTHENTICATED_DRAIN_BYTES;
use crate::ratelimit::retry_after_secs;
use crate::storage::Device;
use crate::sync::{self, Outcome, Report};

fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

fn sync_response(outcome: Outcome) -> Response {
    let status = StatusCode::from_u16(outcome.http_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, outcome.body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Some(secs) = outcome.retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

fn refuse(code: RejectCode, message: String, retry_after: Option<u64>, report: Report) -> Outcome {
    sync::refused(sync::rejection(code, message, None), retry_after, report)
}

fn busy(report: Report) -> Outcome {
    refuse(
        RejectCode::Unavailable,
        "the server is busy; try again shortly".into(),
        Some(sync::RETRY_AFTER_SECS),
        report,
    )
}

pub(super) async fn sync_handler(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let (outcome, bytes_in) = admit_and_run(&state, &headers, body).await;
    let seconds = started.elapsed().as_secs_f64();
    let r = &outcome.report;
    let status = match (r.rejected, r.status) {
        (Some(code), _) => crate::metrics::reason(code),
        (None, Some(wire::SyncStatus::Complete)) => "complete",
        (None, Some(wire::SyncStatus::NeedFull)) => "need_full",
        (None, Some(wire::SyncStatus::Partial)) => "partial",
        (None, None) => "none",
    };
    tracing::info!(
        device = r.device,
        role = r.role.map(|role| role.as_str()),
        docs_in = r.docs_in,
        changes_in = r.changes_in,
        docs_out = r.docs_out,
        changes_out = r.changes_out,
        bytes_in,
        bytes_out = outcome.body.len(),
        status,
        ms = (seconds * 1000.0).round() as u64,
        "sync"
    );
    state.metrics.sync(r, bytes_in, outcome.body.len(), seconds);
    sync_response(outcome)
}

/// The checks of the module's documentation, in order, then the exchange. Returns the
/// outcome and the body bytes read.
async fn admit_and_run(state: &AppState, headers: &HeaderMap, body: Body) -> (Outcome, usize) {
    let limits = state.limits;
    let deadline = tokio::time::Instant::now() + limits.body_timeout;
    let device = match authenticate(state, headers).await {
        Ok(device) => device,
        Err(outcome) => {
            body::drain(body, UNAUTHENTICATED_DRAIN_BYTES, deadline.min(drain_deadline())).await;
            return (outcome, 0);
        }
    };
    let (id, role_of) = (device.id, device.role);
    let report = || Report {
        device: Some(id),
        role: Some(role_of),
        ..Report::default()
    };
    if let Err(wait) = state.sync_rate.take(&device.id) {
        let message = "this device sends too many sync requests; try again later".to_owned();
        return (
            refuse(
                RejectCode::RateLimited,
                message,
                Some(retry_after_secs(wait)),
                report(),
            ),
            0,
        );
    }
    let Some(_slot) = state.in_flight.enter(device.id, limits.syncs_per_device) else {
        let message = format!(
            "this device already has {} syncs in progress; wait for them",
            limits.syncs_per_device
        );
        return (
            refuse(
                RejectCode::RateLimited,
                message,
                Some(sync::RETRY_AFTER_SECS),
                report(),
            ),
            0,
        );
    };
    let Ok(pending) = state.pending.clone().try_acquire_owned() else {
        return (busy(report()), 0);
    };
    let role = limits.for_role(device.role);
    let too_large = || {
        refuse(
            RejectCode::TooLarge,
            format!(
                "the body is over the {} bytes this device may send; send fewer documents per request",
                role.body_bytes
            ),
            None,
            report(),
        )
    };
    let declared = declared_length(headers);
    if declared.is_some_and(|n| n > role.body_bytes) {
        return (too_large(), 0);
    }
    // The body takes from the memory budget as it arrives (a slow or stalled upload
    // holds what it sent, not what it announced); then the message it may inflate to.
    let (bytes, mut memory) = match body::read(body, role.body_bytes, deadline, &state.memory).await {
        Ok(read) => (read.bytes, read.memory),
        Err(BodyError::NoMemory) => return (busy(report()), 0),
        Err(BodyError::TooLarge) => return (too_large(), 0),
        Err(BodyError::TimedOut) => {
            let message = format!(
                "the body did not arrive within {} s; send it again",
                limits.body_timeout.as_secs()
            );
            return (refuse(RejectCode::Timeout, message, None, report()), 0);
        }
        Err(BodyError::Broken(why)) => {
            let message = format!("the body was cut: {why}");
            return (refuse(RejectCode::Malformed, message, None, report()), 0);
        }
    };
    let len = bytes.len();
    let inflating = u32::try_from(kib(role.decode_for(len).message_bytes)).unwrap_or(u32::MAX);
    match state.memory.clone().try_acquire_many_owned(inflating) {
        Ok(more) => memory.merge(more),
        Err(_) => return (busy(report()), len),
    }
    let storage = state.storage.clone();
    let exchanges = state.exchanges.clone();
    let joined = tokio::task::spawn_blocking(move || {
        let (_pending, _memory) = (pending, memory);
        sync::handle(&*storage, &exchanges, &limits, &device, &bytes, now())
    })
    .await;
    let outcome = joined.unwrap_or_else(|error| {
        // A panic in the exchange: its transaction was dropped, so nothing was stored.
        tracing::error!(%error, "the sync task failed");
        refuse(
            RejectCode::Unavailable,
            "the server failed; try again later".into(),
            Some(sync::RETRY_AFTER_SECS),
            report(),
        )
    });
    (outcome, len)
}

/// How long a refused client's body is read and dropped at most.
fn drain_deadline() -> tokio::time::Instant {
    tokio::time::Instant::now() + std::time::Duration::from_secs(1)
}

/// The device of the request's token, or the answer that refuses it.
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Device, Outcome> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(refused) = sync::refuse_without_lookup(authorization.as_deref()) {
        return Err(refused);
    }
    let storage = state.storage.clone();
    let rate = Arc::clone(&state.sync_rate);
    let found = tokio::task::spawn_blocking(move || {
        sync::authenticate(&*storage, authorization.as_deref(), now(), |id| {
            rate.take(&id).is_ok()
        })
    })
    .await;
    match found {
        Ok(result) => result.map_err(|outcome| *outcome),
        Err(error) => {
            tracing::error!(%error, "the token check failed");
            Err(refuse(
                RejectCode::Unavailable,
                "the server failed; try again later".into(),
                Some(sync::RETRY_AFTER_SECS),
                Report::default(),
            ))
        }
    }
}
