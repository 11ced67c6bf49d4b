//! `POST /v1/enrol`: a code (and the device's proof) for a device token.
//!
//! Only `application/json` is taken: a web page can post a form or plain text to any
//! address without asking, but not JSON, for which the browser first asks the server
//! (a CORS preflight) and this server never says yes. Attempts are rate-limited per
//! client address and per code, so that codes cannot be guessed at speed.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::body::{self, BodyError};
use super::{AppState, now};
use crate::enrol::{self, EnrolError, EnrolRequest};
use crate::ratelimit::retry_after_secs;

/// Largest enrolment request: a code, a device name and a proof.
const MAX_ENROL_BYTES: usize = 4 << 10;
/// Time for an enrolment body to arrive.
const ENROL_BODY_TIMEOUT: Duration = Duration::from_secs(10);

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

/// The address enrolment attempts are counted by: the peer's, or (from a trusted
/// proxy on loopback) the client's as the proxy appended it to `X-Forwarded-For`, the
/// last entry, which the client cannot forge. IPv6 addresses count by their /64.
fn client_address(peer: SocketAddr, headers: &HeaderMap, trust_forwarded_for: bool) -> IpAddr {
    // A dual-stack listener sees a proxy on 127.0.0.1 as ::ffff:127.0.0.1.
    let peer_ip = peer.ip().to_canonical();
    let forwarded = (trust_forwarded_for && peer_ip.is_loopback())
        .then(|| {
            headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .last()
                .and_then(|last| last.trim().parse::<IpAddr>().ok())
        })
        .flatten();
    match forwarded.unwrap_or(peer_ip) {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
        v4 => v4,
    }
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
    let client = client_address(peer, &headers, state.limits.trust_forwarded_for);
    if let Err(wait) = state.enrol_by_address.take(&client) {
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
    // Enrolment bodies take from the same memory budget as sync bodies.
    let body::Budgeted { bytes, memory: _held } =
        match body::read(body, MAX_ENROL_BYTES, deadline, &state.memory).await {
            Ok(read) => read,
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
            Err(BodyError::NoMemory) => {
                return json_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the server is busy; try again".into(),
                );
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_are_counted_by_the_client_not_the_proxy_nor_one_ipv6_address() {
        let headers = |values: &[&str]| {
            let mut map = HeaderMap::new();
            for v in values {
                map.append("x-forwarded-for", HeaderValue::from_str(v).expect("a value"));
            }
            map
        };
        let proxy: SocketAddr = "127.0.0.1:50000".parse().expect("addr");
        let remote: SocketAddr = "203.0.113.9:50000".parse().expect("addr");
        let v6: SocketAddr = "[2001:db8:1:2:3:4:5:6]:50000".parse().expect("addr");
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:50000".parse().expect("addr");
        let cases: [(&str, SocketAddr, &[&str], bool, &str); 8] = [
            ("a direct client", remote, &[], false, "203.0.113.9"),
            (
                "a header nobody trusts",
                remote,
                &["198.51.100.1"],
                false,
                "203.0.113.9",
            ),
            (
                "a header from a remote peer, trusted or not",
                remote,
                &["198.51.100.1"],
                true,
                "203.0.113.9",
            ),
            (
                "behind the proxy, untrusted",
                proxy,
                &["198.51.100.1"],
                false,
                "127.0.0.1",
            ),
            (
                "behind the proxy: the address it appended",
                proxy,
                &["10.0.0.1, 198.51.100.1"],
                true,
                "198.51.100.1",
            ),
            (
                "the last of several headers",
                proxy,
                &["10.0.0.1", "198.51.100.2"],
                true,
                "198.51.100.2",
            ),
            (
                "an IPv6 client counts by its /64",
                v6,
                &[],
                false,
                "2001:db8:1:2::",
            ),
            (
                "a proxy seen through a dual-stack listener",
                mapped,
                &["198.51.100.3"],
                true,
                "198.51.100.3",
            ),
        ];
        for (what, peer, values, trusted, expected) in cases {
            let got = client_address(peer, &headers(values), trusted);
            assert_eq!(got, expected.parse::<IpAddr>().expect("ip"), "{what}");
        }
    }
}
