//! Reading request bodies: never more than a limit into memory, never longer than a
//! deadline.

use std::pin::Pin;

use axum::body::{Body, HttpBody as _};
use tokio::time::Instant;

/// Why a body could not be read whole.
#[derive(Debug)]
pub(super) enum BodyError {
    /// Over the limit. What followed was read and dropped, up to twice the limit and
    /// until the deadline, so that a client still sending gets the 413 rather than a
    /// reset connection.
    TooLarge,
    /// Not all there by the deadline.
    TimedOut,
    /// The connection broke.
    Broken(String),
}

/// Reads a body of at most `limit` bytes before `deadline`.
pub(super) async fn read(body: Body, limit: usize, deadline: Instant) -> Result<Vec<u8>, BodyError> {
    match tokio::time::timeout_at(deadline, read_all(body, limit)).await {
        Ok(result) => result,
        Err(_) => Err(BodyError::TimedOut),
    }
}

async fn read_all(mut body: Body, limit: usize) -> Result<Vec<u8>, BodyError> {
    let drain = limit.saturating_mul(2);
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
        if seen > drain {
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

/// Reads and drops up to `limit` bytes before `deadline`, so that a client whose
/// request is refused before its body was read (a wrong token) has usually finished
/// sending when the answer comes; beyond that, the connection is simply closed.
pub(super) async fn drain(body: Body, limit: usize, deadline: Instant) {
    let _ = read(body, limit, deadline).await;
}
