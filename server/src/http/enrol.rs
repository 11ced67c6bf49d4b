//! `POST /v1/enrol`: a code (and the device's proof) for a device token.
//!
//! Only `application/json` is taken: a web page can post a form or plain text to any
//! address without asking, but not JSON, for which the browser first asks the server
//! (a CORS preflight) and this server never says yes. Attempts are rate-limited per
//! client address and per code, so that codes cannot be guessed at speed.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::body::{self, BodyError};
use crate::enrol::{self, EnrolError, EnrolRequest};
use crate::ratelimit::retry_after_secs;

/// Largest enrolment request: a code, a device name and a proof.
const MAX_ENROL_BYTES: usize = 4 << 10;
/// Time for an enrolment body to arrive.
const ENROL_BODY_TIMEOUT: Duration = Duration::from_secs(10);

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn json_error(status: StatusCode, message: String) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

fn with_retry_after(mut response: Response, secs: u64) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

fn too_many(wait: Duration) -> Response {
    with_retry_after(
        json_error(
            StatusCode::TOO_MANY_REQUESTS,
            "too many enrolment attempts; try again later".into(),
        ),
        retry_after_secs(wait),
    )
}

fn unavailable() -> Response {
    with_retry_after(
        json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server could not answer; try again later".into(),
        ),
        crate::sync::RETRY_AFTER_SECS,
    )
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

pub(super) async fn enrol_handler(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(wait) = state.enrol_by_address.take(&peer.ip()) {
        tracing::info!(%peer, "enrolment refused: too many attempts from this address");
        state.metrics.enrolment("rate_limited");
        return too_many(wait);
    }
    if !is_json(&headers) {
        state.metrics.enrolment("malformed");
        return json_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the request must be application/json".into(),
        );
    }
    let deadline = tokio::time::Instant::now() + ENROL_BODY_TIMEOUT;
    let bytes = match body::read(body, MAX_ENROL_BYTES, deadline).await {
        Ok(bytes) => bytes,
        Err(BodyError::TooLarge) => {
            return json_error(StatusCode::PAYLOAD_TOO_LARGE, "the request is too large".into());
        }
        Err(BodyError::TimedOut) => {
            return json_error(
                StatusCode::REQUEST_TIMEOUT,
                "the request did not arrive in time".into(),
            );
        }
        Err(BodyError::Broken(why)) => return json_error(StatusCode::BAD_REQUEST, why),
    };
    let request: EnrolRequest = match serde_json::from_slice(&bytes) {
        Ok(request) => request,
        Err(e) => {
            state.metrics.enrolment("malformed");
            return json_error(
                StatusCode::BAD_REQUEST,
                format!("expected {{\"code\": \"…\", \"device\": \"…\", \"proof\": \"…\"}}: {e}"),
            );
        }
    };
    if let Some(code) = enrol::normalize_code(&request.code)
        && let Err(wait) = state.enrol_by_code.take(&enrol::code_hash(&code))
    {
        tracing::info!("enrolment refused: too many attempts with one code");
        state.metrics.enrolment("rate_limited");
        return too_many(wait);
    }
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
