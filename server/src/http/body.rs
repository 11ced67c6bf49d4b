//! Reading request bodies: never more than a limit into memory, never longer than a
//! deadline, and only as much as the server's memory budget grants as the bytes
//! arrive.

use std::pin::Pin;
use std::sync::Arc;

use axum::body::{Body, HttpBody as _};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
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
    /// The memory budget has no room for the bytes that arrived.
    NoMemory,
}

/// A body read within the memory budget, and the budget it holds until dropped.
pub(super) struct Budgeted {
    pub bytes: Vec<u8>,
    pub memory: OwnedSemaphorePermit,
}

/// Reads a body of at most `limit` bytes before `deadline`, taking from `budget` (one
/// permit per KiB) as the body's buffer grows. Only what has arrived is held: a client
/// that announces a large body and sends it slowly, or never, holds next to nothing.
pub(super) async fn read(
    body: Body,
    limit: usize,
    deadline: Instant,
    budget: &Arc<Semaphore>,
) -> Result<Budgeted, BodyError> {
    match tokio::time::timeout_at(deadline, read_all(body, limit, budget)).await {
        Ok(result) => result,
        Err(_) => Err(BodyError::TimedOut),
    }
}

/// The next piece of a body's data; `None` at its end.
async fn next_data(body: &mut Body) -> Result<Option<axum::body::Bytes>, BodyError> {
    loop {
        match std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await {
            None => return Ok(None),
            Some(Err(e)) => return Err(BodyError::Broken(e.to_string())),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    return Ok(Some(data));
                }
            }
        }
    }
}

async fn read_all(mut body: Body, limit: usize, budget: &Arc<Semaphore>) -> Result<Budgeted, BodyError> {
    let drain = limit.saturating_mul(2);
    let mut out = Vec::new();
    let mut seen = 0usize;
    // One permit at least (an empty body holds one KiB), more as the buffer grows.
    let mut memory = budget
        .clone()
        .try_acquire_owned()
        .map_err(|_| BodyError::NoMemory)?;
    while let Some(data) = next_data(&mut body).await? {
        seen = seen.saturating_add(data.len());
        if seen > drain {
            return Err(BodyError::TooLarge);
        }
        if seen > limit {
            continue;
        }
        let needed = out.len() + data.len();
        if needed > out.capacity() {
            // Grown here, by doubling, within the budget first: the buffer never holds
            // more than the permits taken.
            let grown = needed.max(out.capacity().saturating_mul(2)).min(limit);
            let (want, have) = (super::kib(grown), memory.num_permits());
            if want > have {
                let more = u32::try_from(want - have).map_err(|_| BodyError::NoMemory)?;
                let extra = budget
                    .clone()
                    .try_acquire_many_owned(more)
                    .map_err(|_| BodyError::NoMemory)?;
                memory.merge(extra);
            }
            out.reserve_exact(grown - out.len());
        }
        out.extend_from_slice(&data);
    }
    if seen > limit {
        return Err(BodyError::TooLarge);
    }
    Ok(Budgeted { bytes: out, memory })
}

/// Reads and drops up to `limit` bytes before `deadline`, keeping none of them, so
/// that a client whose request is refused before its body was read (a wrong token)
/// has usually finished sending when the answer comes; beyond that, the connection is
/// simply closed.
pub(super) async fn drain(mut body: Body, limit: usize, deadline: Instant) {
    let _ = tokio::time::timeout_at(deadline, async {
        let mut seen = 0usize;
        while let Ok(Some(data)) = next_data(&mut body).await {
            seen = seen.saturating_add(data.len());
            if seen > limit {
                break;
            }
        }
    })
    .await;
}
