//! What an HTTP answer from the sync server means for the device: a body to read, or
//! a typed error that says what the caller does next (docs/protocol.md,
//! "Rejections").
//!
//! Kept apart from the client's loop so that every mapping (a `Rejection` code, a
//! bare HTTP status, a `Retry-After`, a login page where a sync body should be) is
//! tested without a network. Messages from the server end up as the device's last
//! sync error, shown to people: they are cut to one short line.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use serde::Deserialize;

use super::wire::{self, RejectCode, Rejection};
use crate::error::{Error, ErrorKind, Result};

/// The longest `Retry-After` taken at its word; a longer one is read as a day, so a
/// misconfigured server cannot park devices for a year.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);
/// A server's refusal message is shown to people and stored as the last error: kept
/// to a line.
const MAX_MESSAGE_CHARS: usize = 200;

/// An HTTP answer, read whole (within a size limit).
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) retry_after: Option<Duration>,
    pub(super) content_type: Option<String>,
    pub(super) body: Vec<u8>,
}

/// The `{"error": "..."}` body of a refused enrolment.
#[derive(Deserialize)]
struct EnrolRefusal {
    error: String,
}

/// Reads a `/v1/sync` answer: a sync body on 200, else the error its `Rejection` (or
/// its status) means.
pub(super) fn sync_answer(answer: Answer) -> Result<Vec<u8>> {
    if answer.status == 200 {
        return match answer.content_type.as_deref() {
            Some(wire::CONTENT_TYPE) => Ok(answer.body),
            // A captive portal (hotel or camp Wi-Fi) answers 200 with its login page:
            // the server was not reached, so this is for later.
            other => Err(Error::Network {
                reason: format!(
                    "the answer is not from a Passage server (content type {}); is a network login page in the way?",
                    other.unwrap_or("none")
                ),
                retry_after: None,
            }),
        };
    }
    let rejection = wire::decode::<Rejection>(&answer.body).ok();
    Err(rejected(answer.status, rejection, answer.retry_after))
}

/// Reads a `/v1/enrol` answer: JSON on 200; a refused code on 401.
pub(super) fn enrol_answer(answer: Answer) -> Result<Vec<u8>> {
    match answer.status {
        200 => Ok(answer.body),
        400 | 401 | 403 | 404 | 410 => {
            let why = serde_json::from_slice::<EnrolRefusal>(&answer.body)
                .map_or_else(|_| format!("HTTP {}", answer.status), |r| short(r.error));
            Err(Error::EnrolmentRefused(why))
        }
        status => Err(rejected(status, None, answer.retry_after)),
    }
}

/// The error a refused sync request means, from its `Rejection` when it carries one,
/// else from its HTTP status alone.
pub(super) fn rejected(status: u16, rejection: Option<Rejection>, retry_after: Option<Duration>) -> Error {
    let Some(r) = rejection else {
        let message = format!("HTTP {status} without an explanation");
        return match status {
            401 | 403 => Error::TokenRefused { status, message },
            408 | 425 | 429 | 500..=599 => Error::ServerUnavailable {
                status,
                message,
                retry_after,
            },
            _ => Error::Protocol(format!("unexpected answer: {message}")),
        };
    };
    let message = short(r.message);
    match r.code {
        RejectCode::Unauthorized => Error::TokenRefused { status, message },
        // A forbidden document (one outside the token's cases) is a write the server
        // will not take; without one, the token itself was refused.
        RejectCode::Forbidden if r.doc.is_some() => Error::ForbiddenWrite {
            doc: r.doc,
            path: r.path,
            message,
        },
        RejectCode::Forbidden => Error::TokenRefused { status, message },
        RejectCode::ForbiddenWrite => Error::ForbiddenWrite {
            doc: r.doc,
            path: r.path,
            message,
        },
        RejectCode::Unavailable | RejectCode::RateLimited | RejectCode::Timeout => Error::ServerUnavailable {
            status,
            message,
            retry_after,
        },
        // Like a forbidden write, a change the server will not take: the device holds
        // that document's changes and syncs the others.
        RejectCode::QuotaExceeded => Error::ForbiddenWrite {
            doc: r.doc,
            path: r.path,
            message,
        },
        RejectCode::Malformed | RejectCode::UnsupportedVersion | RejectCode::TooLarge => {
            Error::Protocol(format!(
                "the server refused the request ({:?}, HTTP {status}): {message}",
                r.code
            ))
        }
    }
}

/// What the store refusing an answer means: changes that depend on changes the server
/// did not send, or a document this role may not read, are the server's mistake, not
/// the person's input. Storage errors stay what they are.
pub(super) fn answer_not_applicable(e: Error) -> Error {
    match e.kind() {
        ErrorKind::InvalidInput | ErrorKind::NotAllowed => {
            Error::Protocol(format!("the server's answer cannot be applied: {e}"))
        }
        _ => e,
    }
}

/// The error with the wait the device announced, for errors that say "later".
pub(super) fn with_retry_after(e: Error, wait: Duration) -> Error {
    match e {
        Error::Network { reason, .. } => Error::Network {
            reason,
            retry_after: Some(wait),
        },
        Error::ServerUnavailable { status, message, .. } => Error::ServerUnavailable {
            status,
            message,
            retry_after: Some(wait),
        },
        other => other,
    }
}

/// `Retry-After` as a wait: seconds, or an HTTP date.
pub(super) fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
            (at - now).to_std().unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// The media type of an answer, without parameters, in lower case.
pub(super) fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let media = value.split(';').next().unwrap_or_default().trim();
    Some(media.to_ascii_lowercase())
}

/// A message from the server, cut to one short line.
fn short(message: String) -> String {
    let line = message.lines().next().unwrap_or_default();
    if line.chars().count() <= MAX_MESSAGE_CHARS {
        return line.to_owned();
    }
    let mut cut: String = line.chars().take(MAX_MESSAGE_CHARS).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;
    use crate::ids::{CaseId, DocKind};

    fn rejection(code: RejectCode, doc: Option<crate::ids::DocId>, path: Option<&str>) -> Option<Rejection> {
        Some(Rejection {
            code,
            message: "refused".into(),
            doc,
            path: path.map(str::to_owned),
        })
    }

    #[test]
    fn rejections_map_to_what_the_device_does_next() {
        let doc = CaseId::random().doc(DocKind::Journey);
        let cases = [
            (
                401,
                rejection(RejectCode::Unauthorized, None, None),
                ErrorKind::EnrolAgain,
            ),
            (
                403,
                rejection(RejectCode::Forbidden, None, None),
                ErrorKind::EnrolAgain,
            ),
            (
                403,
                rejection(RejectCode::Forbidden, Some(doc.clone()), None),
                ErrorKind::NotAllowed,
            ),
            (
                403,
                rejection(
                    RejectCode::ForbiddenWrite,
                    Some(doc.clone()),
                    Some("/permit/decision"),
                ),
                ErrorKind::NotAllowed,
            ),
            (
                400,
                rejection(RejectCode::Malformed, None, None),
                ErrorKind::CorruptData,
            ),
            (
                400,
                rejection(RejectCode::UnsupportedVersion, None, None),
                ErrorKind::CorruptData,
            ),
            (
                413,
                rejection(RejectCode::TooLarge, None, None),
                ErrorKind::CorruptData,
            ),
            (
                503,
                rejection(RejectCode::Unavailable, None, None),
                ErrorKind::RetryLater,
            ),
            (
                429,
                rejection(RejectCode::RateLimited, None, None),
                ErrorKind::RetryLater,
            ),
            (
                408,
                rejection(RejectCode::Timeout, None, None),
                ErrorKind::RetryLater,
            ),
            (
                413,
                rejection(RejectCode::QuotaExceeded, Some(doc), None),
                ErrorKind::NotAllowed,
            ),
            // Without a Rejection body (a proxy, a crashed server), the status decides.
            (401, None, ErrorKind::EnrolAgain),
            (403, None, ErrorKind::EnrolAgain),
            (429, None, ErrorKind::RetryLater),
            (500, None, ErrorKind::RetryLater),
            (502, None, ErrorKind::RetryLater),
            (404, None, ErrorKind::CorruptData),
            (301, None, ErrorKind::CorruptData),
        ];
        for (status, rejection, kind) in cases {
            let code = rejection.as_ref().map(|r| r.code);
            let e = rejected(status, rejection, None);
            assert_eq!(e.kind(), kind, "HTTP {status} {code:?}: {e}");
        }
    }

    #[test]
    fn a_forbidden_write_names_the_document_and_path() {
        let doc = CaseId::random().doc(DocKind::Journey);
        let e = rejected(
            403,
            rejection(
                RejectCode::ForbiddenWrite,
                Some(doc.clone()),
                Some("/permit/decision"),
            ),
            None,
        );
        let text = e.to_string();
        assert!(
            text.contains(&doc.to_string()) && text.contains("/permit/decision"),
            "{text}"
        );
    }

    #[test]
    fn the_server_wait_travels_with_an_unavailable_answer() {
        let wait = Some(Duration::from_secs(42));
        let e = rejected(503, rejection(RejectCode::Unavailable, None, None), wait);
        assert_eq!(e.retry_after(), wait);
        let e = rejected(503, None, wait);
        assert_eq!(e.retry_after(), wait);
        // Errors that retrying does not fix carry no wait, even when the server sent one.
        assert_eq!(rejected(401, None, wait).retry_after(), None);
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = DateTime::parse_from_rfc3339("2027-03-28T06:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let mut headers = HeaderMap::new();
        let mut read = |value: &'static str| {
            headers.insert(RETRY_AFTER, HeaderValue::from_static(value));
            retry_after(&headers, now)
        };
        assert_eq!(read("120"), Some(Duration::from_secs(120)));
        assert_eq!(read(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(
            read("Sun, 28 Mar 2027 06:01:30 GMT"),
            Some(Duration::from_secs(90))
        );
        // A date in the past means now; nonsense means no hint; a year means a day.
        assert_eq!(read("Sun, 28 Mar 2027 05:00:00 GMT"), Some(Duration::ZERO));
        assert_eq!(read("soon"), None);
        assert_eq!(read("31536000"), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn server_messages_are_kept_to_one_short_line() {
        assert_eq!(short("first\nsecond".into()), "first");
        let long = "x".repeat(500);
        assert_eq!(short(long).chars().count(), MAX_MESSAGE_CHARS + 1);
    }
}
