//! The HTTP face of the server (axum): `/v1/sync`, `/v1/enrol`, `/healthz`, `/metrics`.
//!
//! Handlers are thin. They read bodies with a hard size limit (a body over it gets a
//! `413` carrying a `Rejection`, as docs/protocol.md asks of every non-200 sync
//! answer), hand the bytes to [`crate::sync::handle`] or [`crate::enrol::redeem`] on a
//! blocking thread (SQLite and Automerge block), then log and count. A request that
//! finds too many syncs already waiting for the database gets `503` with
//! `Retry-After` at once, rather than a slow answer that times out on a phone.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, HttpBody as _};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use passage_core::sync::wire::{self, CONTENT_TYPE, MAX_BODY_BYTES, RejectCode};
use tokio::sync::Semaphore;

use crate::enrol::{self, EnrolError, EnrolRequest};
use crate::metrics::Metrics;
use crate::storage::Storage;
use crate::sync::{self, Limits, Outcome, Report};

/// Sync requests admitted at once (running or waiting for the database); more get 503.
pub const MAX_PENDING_SYNCS: usize = 64;
/// Largest enrolment request: a code and a device name.
const MAX_ENROL_BYTES: usize = 16 << 10;
/// A body over the limit is still read (and dropped) up to this size, so that the
/// client, which is still sending, gets the 413 instead of a reset connection.
const DRAIN_BYTES: usize = 2 * MAX_BODY_BYTES;

/// What every handler shares.
#[derive(Clone, Debug)]
pub struct AppState {
    pub storage: Arc<dyn Storage>,
    pub metrics: Arc<Metrics>,
    pub limits: Limits,
    pending: Arc<Semaphore>,
}

impl AppState {
    pub fn new(storage: Arc<dyn Storage>, metrics: Arc<Metrics>, limits: Limits) -> AppState {
        AppState {
            storage,
            metrics,
            limits,
            pending: Arc::new(Semaphore::new(MAX_PENDING_SYNCS)),
        }
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/sync", post(sync_handler))
        .route("/v1/enrol", post(enrol_handler))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics_handler))
        .with_state(state)
}

/// Why a body could not be read whole.
enum BodyError {
    TooLarge,
    Broken(String),
}

/// Reads a body of at most `limit` bytes.
async fn read_body(mut body: Body, limit: usize) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::new();
    let mut seen = 0usize;
    loop {
        let frame = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
        let data = match frame {
            None => break,
            Some(Err(e)) => return Err(BodyError::Broken(e.to_string())),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => data,
                Err(_) => continue,
            },
        };
        seen = seen.saturating_add(data.len());
        if seen > DRAIN_BYTES {
            return Err(BodyError::TooLarge);
        }
        if seen <= limit {
            out.extend_from_slice(&data);
        }
    }
    if seen > limit {
        return Err(BodyError::TooLarge);
    }
    Ok(out)
}

fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn sync_response(outcome: &Outcome) -> Response {
    let status = StatusCode::from_u16(outcome.http_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, outcome.body.clone()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Some(secs) = outcome.retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

async fn sync_handler(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let refuse = |code: RejectCode, message: String| {
        sync::refused(sync::rejection(code, message, None), None, Report::default())
    };
    let too_large = || {
        refuse(
            RejectCode::TooLarge,
            format!("the body is over {MAX_BODY_BYTES} bytes; send fewer documents per request"),
        )
    };
    let (outcome, bytes_in) = if declared_length(&headers).is_some_and(|n| n > DRAIN_BYTES) {
        (too_large(), 0)
    } else {
        match read_body(body, MAX_BODY_BYTES).await {
            Err(BodyError::TooLarge) => (too_large(), 0),
            Err(BodyError::Broken(why)) => (
                refuse(RejectCode::Malformed, format!("the body was cut: {why}")),
                0,
            ),
            Ok(bytes) => {
                let len = bytes.len();
                (run_sync(&state, &headers, bytes).await, len)
            }
        }
    };
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
    sync_response(&outcome)
}

async fn run_sync(state: &AppState, headers: &HeaderMap, body: Vec<u8>) -> Outcome {
    let Ok(permit) = state.pending.clone().try_acquire_owned() else {
        let rejection = sync::rejection(
            RejectCode::Unavailable,
            "the server is busy; try again shortly",
            None,
        );
        return sync::refused(rejection, None, Report::default());
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let storage = state.storage.clone();
    let limits = state.limits;
    let joined = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        sync::handle(&*storage, limits, authorization.as_deref(), &body, now())
    })
    .await;
    joined.unwrap_or_else(|error| {
        // A panic in the exchange: its transaction was dropped, so nothing was stored.
        tracing::error!(%error, "the sync task failed");
        let rejection = sync::rejection(
            RejectCode::Unavailable,
            "the server failed; try again later",
            None,
        );
        sync::refused(rejection, None, Report::default())
    })
}

fn json_error(status: StatusCode, message: String) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

async fn enrol_handler(State(state): State<AppState>, body: Body) -> Response {
    let bytes = match read_body(body, MAX_ENROL_BYTES).await {
        Ok(bytes) => bytes,
        Err(BodyError::TooLarge) => {
            return json_error(StatusCode::PAYLOAD_TOO_LARGE, "the request is too large".into());
        }
        Err(BodyError::Broken(why)) => return json_error(StatusCode::BAD_REQUEST, why),
    };
    let request: EnrolRequest = match serde_json::from_slice(&bytes) {
        Ok(request) => request,
        Err(e) => {
            state.metrics.enrolment("malformed");
            return json_error(
                StatusCode::BAD_REQUEST,
                format!("expected {{\"code\": \"…\", \"device\": \"…\"}}: {e}"),
            );
        }
    };
    let storage = state.storage.clone();
    let result = tokio::task::spawn_blocking(move || enrol::redeem(&*storage, &request, now())).await;
    match result {
        Ok(Ok(answer)) => {
            tracing::info!(role = %answer.role, cases = answer.cases.len(), "device enrolled");
            state.metrics.enrolment("enrolled");
            axum::Json(answer).into_response()
        }
        Ok(Err(EnrolError::InvalidCode)) => {
            tracing::info!("enrolment refused: invalid code");
            state.metrics.enrolment("invalid_code");
            json_error(StatusCode::UNAUTHORIZED, EnrolError::InvalidCode.to_string())
        }
        Ok(Err(EnrolError::BadRequest(why))) => {
            state.metrics.enrolment("malformed");
            json_error(StatusCode::BAD_REQUEST, why)
        }
        Ok(Err(EnrolError::Storage(error))) => {
            tracing::error!(%error, "enrolment failed");
            state.metrics.enrolment("failed");
            unavailable()
        }
        Err(error) => {
            tracing::error!(%error, "the enrolment task failed");
            state.metrics.enrolment("failed");
            unavailable()
        }
    }
}

fn unavailable() -> Response {
    let mut response = json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the server could not answer; try again later".into(),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(sync::RETRY_AFTER_SECS));
    response
}

async fn metrics_handler(State(state): State<AppState>) -> Response {
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

/// Serves on `listener` until `shutdown` resolves, then lets requests in flight end.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
