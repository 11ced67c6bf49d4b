//! The HTTP face of the server: `/v1/sync`, `/v1/enrol` and `/healthz` on the public
//! listener (HTTPS with [`tls`], or plain on loopback), `/metrics` on a listener of its
//! own (off unless asked for).
//!
//! Connections are served by hyper directly rather than through `axum::serve`, for
//! what a server facing phones needs and that does not give: a cap on open
//! connections, a time limit on each request's head, and the client's address for
//! rate limits. Handlers are in [`sync`] and [`enrol`]; they admit a request through
//! the checks of [`crate::limits`], cheapest first, before the body is read, and do
//! the blocking work (SQLite, Automerge) on the blocking pool.

mod body;
mod enrol;
mod sync;
pub mod tls;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt as _;

use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;
use crate::storage::Storage;
use crate::sync::Exchanges;

/// How long connections still open at shutdown get to finish their request.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// What every handler shares.
#[derive(Clone, Debug)]
pub struct AppState {
    pub storage: Arc<dyn Storage>,
    pub metrics: Arc<Metrics>,
    pub limits: Limits,
    /// What sync exchanges share: the document cache, the group commit.
    pub exchanges: Arc<Exchanges>,
    /// Sync requests admitted at once.
    pending: Arc<Semaphore>,
    /// KiB of request bodies and messages in memory, over all requests.
    memory: Arc<Semaphore>,
    /// Sync requests in progress per device.
    in_flight: Arc<InFlight>,
    sync_rate: Arc<RateLimiter<i64>>,
    enrol_by_address: Arc<RateLimiter<IpAddr>>,
    enrol_by_code: Arc<RateLimiter<[u8; 32]>>,
}

impl AppState {
    pub fn new(storage: Arc<dyn Storage>, metrics: Arc<Metrics>, limits: Limits) -> AppState {
        AppState {
            storage,
            metrics,
            limits,
            exchanges: Arc::new(Exchanges::new(limits.cache_bytes)),
            pending: Arc::new(Semaphore::new(limits.max_pending_syncs)),
            memory: Arc::new(Semaphore::new(kib(limits.request_memory).max(1))),
            in_flight: Arc::new(InFlight::default()),
            sync_rate: Arc::new(RateLimiter::new(limits.sync_rate)),
            enrol_by_address: Arc::new(RateLimiter::new(limits.enrol_rate_per_address)),
            enrol_by_code: Arc::new(RateLimiter::new(limits.enrol_rate_per_code)),
        }
    }
}

/// The time now, as the server stores it (seconds since the epoch).
fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Bytes as whole KiB, rounded up: the unit of the memory budget's permits.
fn kib(bytes: usize) -> usize {
    bytes.div_ceil(1024)
}

/// Requests in progress per device; a slot is given back when its guard drops.
#[derive(Debug, Default)]
struct InFlight {
    counts: Mutex<HashMap<i64, usize>>,
}

struct Slot {
    owner: Arc<InFlight>,
    device: i64,
}

impl InFlight {
    fn enter(self: &Arc<Self>, device: i64, max: usize) -> Option<Slot> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let count = counts.entry(device).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Slot {
            owner: Arc::clone(self),
            device,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.owner.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = counts.get_mut(&self.device) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.device);
            }
        }
    }
}

/// The public routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/sync", post(sync::sync_handler))
        .route("/v1/enrol", post(enrol::enrol_handler))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
}

/// The metrics route, for the metrics listener only: what it shows (request counts,
/// rejection reasons) is for the operator's monitoring, not for the internet.
fn metrics_router(metrics: Arc<Metrics>, exchanges: Arc<Exchanges>) -> Router {
    Router::new().route(
        "/metrics",
        get(move || async move {
            let mut response = metrics
                .render(&exchanges.cache().stats(), exchanges.commits())
                .into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            );
            response
        }),
    )
}

/// Serves one connection until it closes: hyper's HTTP/1.1, with the time limit on
/// each request's head, and the client's address put in each request.
async fn serve_connection<I>(
    io: I,
    peer: std::net::SocketAddr,
    router: Router,
    limits: Limits,
    watcher: Watcher,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let router = router.clone();
        async move { Ok::<_, Infallible>(router.oneshot(request).await.into_response()) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(64 << 10)
        .serve_connection(TokioIo::new(io), service);
    if let Err(error) = watcher.watch(connection).await {
        tracing::debug!(%error, %peer, "a connection ended with an error");
    }
}

/// Serves `router` on `listener` (over TLS with `tls`) until `shutdown` turns true,
/// then lets the requests in flight end (for at most [`SHUTDOWN_GRACE`]).
async fn serve_listener(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    router: Router,
    limits: Limits,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let graceful = GracefulShutdown::new();
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors, say: wait a little rather than spin.
                tracing::warn!(%error, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            metrics.connection_refused();
            drop(stream);
            continue;
        };
        let router = router.clone();
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match acceptor {
                None => serve_connection(stream, peer, router, limits, watcher).await,
                // The handshake has the same time limit as a request's head.
                Some(acceptor) => {
                    match tokio::time::timeout(limits.header_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => serve_connection(tls, peer, router, limits, watcher).await,
                        Ok(Err(error)) => tracing::debug!(%error, %peer, "a TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "a TLS handshake took too long"),
                    }
                }
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace period were closed");
    }
}

/// Serves the public routes on `listener` (over TLS with `tls`) and, if given, the
/// metrics on `metrics_listener`, until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    metrics_listener: Option<TcpListener>,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopping) = watch::channel(false);
    let limits = state.limits;
    let metrics = Arc::clone(&state.metrics);
    let metrics_task = metrics_listener.map(|listener| {
        tokio::spawn(serve_listener(
            listener,
            None,
            metrics_router(Arc::clone(&metrics), Arc::clone(&state.exchanges)),
            limits,
            Arc::clone(&metrics),
            stopping.clone(),
        ))
    });
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    serve_listener(listener, tls, router(state), limits, metrics, stopping).await;
    if let Some(task) = metrics_task {
        let _ = task.await;
    }
    Ok(())
}
