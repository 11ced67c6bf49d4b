//! Prometheus metrics, served as text at `GET /metrics` on the metrics listener (off
//! unless `serve --metrics-listen` gives one).
//!
//! Counts and sizes only: no device, case or document appears in a label, so the
//! metrics can go to any monitoring system without carrying personal data, and their
//! number of series stays fixed whatever the number of cases.

use passage_core::sync::wire::{RejectCode, SyncStatus};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::sync::Report;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

/// The server's metrics and the registry that renders them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    syncs: Family<StatusLabel, Counter>,
    bytes_in: Counter,
    bytes_out: Counter,
    rejections: Family<ReasonLabel, Counter>,
    duration: Histogram,
    enrolments: Family<ResultLabel, Counter>,
    connections_refused: Counter,
    cache_bytes: Gauge,
    cache_documents: Gauge,
    cache_hits: Gauge,
    cache_misses: Gauge,
    commits: Gauge,
    committed_exchanges: Gauge,
}

/// The label of a rejection reason.
pub fn reason(code: RejectCode) -> &'static str {
    match code {
        RejectCode::Malformed => "malformed",
        RejectCode::UnsupportedVersion => "unsupported_version",
        RejectCode::Unauthorized => "unauthorized",
        RejectCode::Forbidden => "forbidden",
        RejectCode::ForbiddenWrite => "forbidden_write",
        RejectCode::TooLarge => "too_large",
        RejectCode::Unavailable => "unavailable",
        RejectCode::RateLimited => "rate_limited",
        RejectCode::QuotaExceeded => "quota_exceeded",
        RejectCode::Timeout => "timeout",
    }
}

fn status(status: SyncStatus) -> &'static str {
    match status {
        SyncStatus::Complete => "complete",
        SyncStatus::NeedFull => "need_full",
        SyncStatus::Partial => "partial",
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let syncs = Family::<StatusLabel, Counter>::default();
        let bytes_in = Counter::default();
        let bytes_out = Counter::default();
        let rejections = Family::<ReasonLabel, Counter>::default();
        // 1 ms to about 30 s.
        let duration = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        let enrolments = Family::<ResultLabel, Counter>::default();
        let connections_refused = Counter::default();
        registry.register(
            "passage_syncs",
            "Sync exchanges answered, by status (rejected: see passage_rejections)",
            syncs.clone(),
        );
        registry.register(
            "passage_sync_bytes_in",
            "Bytes of sync request bodies received",
            bytes_in.clone(),
        );
        registry.register(
            "passage_sync_bytes_out",
            "Bytes of sync response bodies sent",
            bytes_out.clone(),
        );
        registry.register(
            "passage_rejections",
            "Sync requests refused, by reason",
            rejections.clone(),
        );
        registry.register(
            "passage_sync_duration_seconds",
            "Time to answer a sync request",
            duration.clone(),
        );
        registry.register(
            "passage_enrolments",
            "Enrolment attempts, by result",
            enrolments.clone(),
        );
        registry.register(
            "passage_connections_refused",
            "Connections closed at once because the server had its maximum open",
            connections_refused.clone(),
        );
        let [
            cache_bytes,
            cache_documents,
            cache_hits,
            cache_misses,
            commits,
            committed_exchanges,
        ] = [
            (
                "passage_cache_bytes",
                "Estimated bytes of the documents kept in memory between syncs",
            ),
            (
                "passage_cache_documents",
                "Documents kept in memory between syncs",
            ),
            (
                "passage_cache_hits",
                "Document loads answered from memory since the start",
            ),
            (
                "passage_cache_misses",
                "Document loads read from the database since the start",
            ),
            (
                "passage_sync_commits",
                "Transactions sync exchanges committed since the start",
            ),
            (
                "passage_sync_committed_exchanges",
                "Sync exchanges those transactions held (several share a commit under load)",
            ),
        ]
        .map(|(name, help)| {
            let gauge = Gauge::default();
            registry.register(name, help, gauge.clone());
            gauge
        });
        Metrics {
            registry,
            cache_bytes,
            cache_documents,
            cache_hits,
            cache_misses,
            commits,
            committed_exchanges,
            syncs,
            bytes_in,
            bytes_out,
            rejections,
            duration,
            enrolments,
            connections_refused,
        }
    }

    /// Counts one sync request.
    pub fn sync(&self, report: &Report, bytes_in: usize, bytes_out: usize, seconds: f64) {
        self.bytes_in.inc_by(bytes_in as u64);
        self.bytes_out.inc_by(bytes_out as u64);
        self.duration.observe(seconds);
        match (report.rejected, report.status) {
            (Some(code), _) => {
                self.syncs
                    .get_or_create(&StatusLabel { status: "rejected" })
                    .inc();
                self.rejections
                    .get_or_create(&ReasonLabel { reason: reason(code) })
                    .inc();
            }
            (None, Some(s)) => {
                self.syncs.get_or_create(&StatusLabel { status: status(s) }).inc();
            }
            (None, None) => {}
        }
    }

    pub fn connection_refused(&self) {
        self.connections_refused.inc();
    }

    pub fn enrolment(&self, result: &'static str) {
        self.enrolments.get_or_create(&ResultLabel { result }).inc();
    }

    /// The metrics in the OpenMetrics text format, with the cache's figures as they
    /// are now.
    pub fn render(&self, cache: &crate::cache::CacheStats, commits: (u64, u64)) -> String {
        let gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.cache_bytes.set(gauge(cache.bytes as u64));
        self.cache_documents.set(gauge(cache.documents as u64));
        self.cache_hits.set(gauge(cache.hits));
        self.cache_misses.set(gauge(cache.misses));
        self.commits.set(gauge(commits.0));
        self.committed_exchanges.set(gauge(commits.1));
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
