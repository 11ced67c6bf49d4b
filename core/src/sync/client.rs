//! The device's HTTP client for the sync protocol (docs/protocol.md): enrolment, and
//! [`SyncClient::sync`], which brings every document on the device in step with the
//! server.
//!
//! The protocol's logic lives elsewhere and is sans-I/O: the store builds requests and
//! applies answers ([`Store::sync_request`], [`Store::sync_apply`]) and [`wire`] makes
//! the bytes. This module carries them, and decides what to do when carrying fails:
//! retry with backoff ([`super::backoff`]), or stop with the typed error the answer
//! means ([`super::answer`]), which says what the caller does next.
//!
//! Losing nothing does not depend on this loop being clever. The store records a
//! document's server heads only after committing the changes that came with them, and
//! every request is idempotent, so whatever is cut (the request, the answer, the
//! process between two rounds) the next request or the next sync starts from what the
//! disk says. The loop keeps that property by holding no state of its own between
//! rounds beyond the server's two requests for the next one (`full`, and documents to
//! push whole); dropping the future at any await loses nothing either.
//!
//! Store calls commit to SQLite with an fsync, so they run on tokio's blocking pool,
//! never on the threads that drive the network.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde::{Deserialize, Serialize};

use super::answer::{
    Answer, answer_not_applicable, enrol_answer, media_type, retry_after, sync_answer, with_retry_after,
};
use super::backoff::Backoff;
use super::wire::{self, SyncResponse, SyncStatus};
use crate::access::Role;
use crate::error::{Error, ErrorKind, Result};
use crate::ids::{CaseId, DocId};
use crate::store::{Store, SyncServer};
use crate::time::{SharedClock, SystemClock};

/// Records a hold on a document, with the server's reason.
async fn hold(store: &Arc<Store>, doc: &DocId, path: Option<&str>, message: &str) -> Result<()> {
    let reason = match path {
        Some(path) => format!("{message} ({path})"),
        None => message.to_owned(),
    };
    let doc = doc.clone();
    tracing::info!(doc = %doc, "the server refused this document's changes; holding them on the device");
    blocking(store, move |s| s.hold_document(&doc, &reason)).await
}

/// Enrolment answers are a token and a few case ids; anything longer is not one.
const MAX_ENROL_ANSWER_BYTES: usize = 64 << 10;

/// How the client talks to the server.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// The longest one request may take, from sending to the last byte of the answer.
    pub request_timeout: Duration,
    /// The longest a connection may take to open.
    pub connect_timeout: Duration,
    /// Retries of one round trip after a network failure or an unavailable server.
    pub retries: u32,
    pub backoff: Backoff,
    /// Round trips one sync makes at most; a device with more to send than that
    /// continues at the next sync (its "next attempt after" is then now).
    pub max_rounds: u32,
    /// Where "now" comes from, for the recorded results.
    pub clock: SharedClock,
    /// The server keys this device trusts, instead of certificate authorities (see
    /// [`super::SpkiPin`]); empty: the usual authorities (Mozilla's roots).
    pub pins: Vec<super::SpkiPin>,
    /// Allow `http://` to a server that is not on this machine. Tokens and health data
    /// would cross the network in the clear: only for tests on a private network.
    pub allow_plain_http: bool,
}

impl Default for ClientOptions {
    /// 30 s per request and 10 s to connect (a phone on a weak signal in Amman is slow
    /// but should not hang a sync), 3 retries per round with backoff from 1 s to 60 s,
    /// and 16 rounds: 16 × 4 MiB of pushes, more than a device gathers in months.
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retries: 3,
            backoff: Backoff::default(),
            max_rounds: 16,
            clock: Arc::new(SystemClock),
            pins: Vec::new(),
            allow_plain_http: false,
        }
    }
}

/// What enrolment gave the device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enrolment {
    /// The server's address, as recorded.
    pub server: String,
    /// The role the token was issued for.
    pub role: Role,
    /// The cases the token gives access to when it was issued.
    pub cases: Vec<CaseId>,
    /// When the token stops being accepted, for tokens that expire (family).
    pub expires_at: Option<DateTime<Utc>>,
}

/// What one successful sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Round trips made.
    pub rounds: u32,
    /// Round trips sent again after a network failure or an unavailable server.
    pub retries: u32,
    /// Documents whose changes were sent (each counted once).
    pub documents_pushed: usize,
    /// Changes that were new to this device.
    pub changes_received: usize,
    /// The documents those changes went to, each once, for apps to refresh.
    pub documents_changed: Vec<DocId>,
    /// Request and response bodies, as sent on the wire.
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub duration: Duration,
    /// Whether the device and the server are in step; false when the rounds ran out
    /// with more to send.
    pub complete: bool,
    /// Documents whose changes the server refused in this sync, now held on the
    /// device (see [`crate::sync::HeldDocument`]); the other documents synced.
    pub held: Vec<DocId>,
    /// Documents erased on this device that the server refused to erase.
    pub erasures_refused: Vec<DocId>,
}

impl SyncReport {
    fn note_changed(&mut self, docs: &[DocId]) {
        for doc in docs {
            if !self.documents_changed.contains(doc) {
                self.documents_changed.push(doc.clone());
            }
        }
    }
}

/// The sync client. One per app: it holds the connection pool, and runs one sync at a
/// time (a second call waits for the first, which usually leaves it nothing to do).
#[derive(Debug)]
pub struct SyncClient {
    http: reqwest::Client,
    options: ClientOptions,
    running: tokio::sync::Mutex<()>,
}

#[derive(Serialize)]
struct EnrolRequest<'a> {
    code: &'a str,
    device: &'a str,
    proof: &'a str,
}

#[derive(Deserialize)]
struct EnrolAnswer {
    token: String,
    role: String,
    #[serde(default)]
    cases: Vec<String>,
    #[serde(default)]
    expires_at: Option<String>,
    /// The person the server knows this device by.
    #[serde(default)]
    person: Option<String>,
}

impl SyncClient {
    /// Refuses to reach the server for a store that trusts only its pinned keys
    /// ([`Store::set_pins`]) unless this client trusts nothing else: a client built
    /// without those pins would trust certificate authorities, which the store's
    /// owner ruled out.
    async fn check_pins(&self, store: &Arc<Store>) -> Result<()> {
        let pinned = blocking(store, |s| s.pins()).await?;
        let mine = &self.options.pins;
        if pinned.is_empty() || (!mine.is_empty() && mine.iter().all(|p| pinned.contains(p))) {
            return Ok(());
        }
        Err(Error::InvalidInput(
            "this store trusts only its pinned server keys, and this sync client was built to trust others; \
             build it with the store's pins"
                .into(),
        ))
    }

    pub fn new(options: ClientOptions) -> Result<SyncClient> {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config(&options.pins)?)
            .timeout(options.request_timeout)
            .connect_timeout(options.connect_timeout)
            // A redirect would carry the bearer token to another address, and turn a
            // POST into a GET: the protocol has none, so one is an error.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("passage-core/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::InvalidInput(format!("the HTTP client cannot be built: {e}")))?;
        Ok(SyncClient {
            http,
            options,
            running: tokio::sync::Mutex::new(()),
        })
    }

    /// Exchanges an enrolment code for a device token (`POST /v1/enrol`) and records
    /// the server, the token and its role in the store. Enrolling again (a revoked
    /// token, a new phone number) replaces them.
    pub async fn enrol(
        &self,
        store: Arc<Store>,
        server_url: &str,
        code: &str,
        device_name: &str,
    ) -> Result<Enrolment> {
        let server = normalise_url(server_url)?;
        check_transport(&server, self.options.allow_plain_http)?;
        self.check_pins(&store).await?;
        let url = endpoint(&server, "v1/enrol")?;
        let code = code.trim();
        if code.is_empty() {
            return Err(Error::InvalidInput("the enrolment code is empty".into()));
        }
        let typed = code.to_owned();
        let proof = blocking(&store, move |s| s.enrolment_proof(&typed)).await?;
        let body = serde_json::to_vec(&EnrolRequest {
            code,
            device: device_name.trim(),
            proof: &proof,
        })
        .map_err(|e| Error::InvalidInput(format!("the enrolment request cannot be written: {e}")))?;
        let mut rng = fastrand::Rng::new();
        let build = || {
            self.http
                .post(url.clone())
                .header(CONTENT_TYPE, "application/json")
                .header(ACCEPT, "application/json")
                .body(body.clone())
        };
        let (answer, _) = self
            .send(build, MAX_ENROL_ANSWER_BYTES, enrol_answer, &mut rng)
            .await?;
        let answer: EnrolAnswer = serde_json::from_slice(&answer)
            .map_err(|e| Error::Protocol(format!("the enrolment answer cannot be read: {e}")))?;
        let role: Role = answer.role.parse().map_err(|_| {
            Error::Protocol(format!(
                "the enrolment answer has an unknown role {:?}",
                answer.role
            ))
        })?;
        let cases = answer
            .cases
            .iter()
            .map(|c| c.parse())
            .collect::<Result<Vec<CaseId>>>()
            .map_err(|e| Error::Protocol(format!("the enrolment answer has a bad case id: {e}")))?;
        let expires_at = answer
            .expires_at
            .as_deref()
            .map(crate::time::parse_instant)
            .transpose()
            .map_err(|e| Error::Protocol(format!("the enrolment answer has a bad expiry: {e}")))?;
        if answer.token.trim().is_empty() {
            return Err(Error::Protocol("the enrolment answer has an empty token".into()));
        }
        let record = SyncServer {
            url: server.clone(),
            token: answer.token,
            role: Some(role),
            expires_at,
            person: answer.person.filter(|p| !p.trim().is_empty()),
        };
        blocking(&store, move |s| s.set_sync_server(&record)).await?;
        Ok(Enrolment {
            server,
            role,
            cases,
            expires_at,
        })
    }

    /// Brings every document on the device in step with the server: pushes what the
    /// server lacks, takes in what the device lacks, in as many round trips as the
    /// server asks for (at most [`ClientOptions::max_rounds`]). The outcome is recorded
    /// in the store ([`Store::sync_state`]): a success clears the last error; a failure
    /// records it with a "next attempt after" time, which the error also carries as
    /// [`Error::retry_after`] when retrying is what to do.
    pub async fn sync(&self, store: Arc<Store>) -> Result<SyncReport> {
        self.check_pins(&store).await?;
        let _one_at_a_time = self.running.lock().await;
        let started = Instant::now();
        let mut rng = fastrand::Rng::new();
        let mut report = SyncReport::default();
        let outcome = self.rounds(&store, &mut report, &mut rng).await;
        report.duration = started.elapsed();
        let now = self.options.clock.now();
        match outcome {
            Ok(()) => {
                // Rounds ran out with more to send: the next sync may start at once.
                let next = (!report.complete).then_some(now);
                blocking(&store, move |s| s.record_sync_result(now, None, next)).await?;
                Ok(report)
            }
            // Nothing to record: there is no server to have failed.
            Err(Error::NotEnrolled) => Err(Error::NotEnrolled),
            Err(e) => {
                let failures = blocking(&store, |s| s.sync_state())
                    .await
                    .map_or(0, |state| state.consecutive_failures);
                let attempts = self.options.retries.saturating_add(1).saturating_add(failures);
                let wait = self.options.backoff.hint(attempts, e.retry_after(), &mut rng);
                let next = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
                let text = e.to_string();
                let recorded = blocking(&store, move |s| {
                    s.record_sync_result(now, Some(&text), Some(next))
                })
                .await;
                if let Err(failed) = recorded {
                    // The sync's own error says more than the bookkeeping's.
                    tracing::warn!(error = %failed, "the sync result could not be recorded");
                }
                Err(with_retry_after(e, wait))
            }
        }
    }

    async fn rounds(
        &self,
        store: &Arc<Store>,
        report: &mut SyncReport,
        rng: &mut fastrand::Rng,
    ) -> Result<()> {
        let server = blocking(store, |s| s.sync_server())
            .await?
            .ok_or(Error::NotEnrolled)?;
        check_transport(&server.url, self.options.allow_plain_http)?;
        let url = endpoint(&server.url, "v1/sync")?;
        let mut full = false;
        let mut repush = Vec::new();
        let mut pushed = HashSet::new();
        while report.rounds < self.options.max_rounds {
            // Built from the store each round, so that a later round never sends what
            // an earlier answer covered; a retry sends the same bytes again, which is
            // harmless (requests are idempotent).
            let round_repush = repush.clone();
            let request = blocking(store, move |s| s.sync_request(full, &round_repush)).await?;
            let body = wire::encode(&request);
            let build = || {
                self.http
                    .post(url.clone())
                    .bearer_auth(&server.token)
                    .header(CONTENT_TYPE, wire::CONTENT_TYPE)
                    .header(ACCEPT, wire::CONTENT_TYPE)
                    .body(body.clone())
            };
            let sent: Vec<DocId> = request.pushes.iter().map(|p| p.doc.clone()).collect();
            let erasing = request.erase.clone();
            let (answer, retries) = match self.send(build, wire::MAX_BODY_BYTES, sync_answer, rng).await {
                Ok(answer) => answer,
                // One document's refused change must not stop every other document:
                // hold it (its changes stay on the device) and send the rest.
                Err(Error::ForbiddenWrite {
                    doc: Some(doc),
                    path,
                    message,
                }) if sent.contains(&doc) => {
                    report.rounds += 1;
                    hold(store, &doc, path.as_deref(), &message).await?;
                    report.held.push(doc);
                    continue;
                }
                // The server will not erase a document this device erased (the case
                // moved to another caseworker, say): it stays erased here, and the
                // device stops asking; the rest syncs.
                Err(Error::ForbiddenWrite {
                    doc: Some(doc),
                    message,
                    ..
                }) if erasing.contains(&doc) => {
                    report.rounds += 1;
                    tracing::info!(doc = %doc, reason = %message, "the server refused an erasure");
                    let refused = doc.clone();
                    blocking(store, move |s| s.erasure_refused(&refused)).await?;
                    report.erasures_refused.push(doc);
                    continue;
                }
                Err(e) => return Err(e),
            };
            report.rounds += 1;
            report.retries += retries;
            report.bytes_up += body.len() as u64;
            report.bytes_down += answer.len() as u64;
            let response: SyncResponse = wire::decode(&answer)
                .map_err(|e| Error::Protocol(format!("the server's answer cannot be read: {e}")))?;
            pushed.extend(request.pushes.iter().map(|p| p.doc.clone()));
            let applied = blocking(store, move |s| s.sync_apply(&request, &response))
                .await
                .map_err(answer_not_applicable)?;
            report.changes_received += applied.received;
            report.note_changed(&applied.changed);
            if applied.needs_another_round() {
                full = applied.status == SyncStatus::NeedFull;
                repush = applied.repush;
                continue;
            }
            full = false;
            repush = Vec::new();
            // Complete for what was sent; documents beyond one request's push budget,
            // or edited while the request was in flight, go in the next round.
            if blocking(store, |s| s.sync_state()).await?.pending_documents == 0 {
                report.complete = true;
                break;
            }
        }
        if report.complete {
            self.offer_held(store, &server, &url, report, rng).await?;
        }
        report.documents_pushed = pushed.len();
        Ok(())
    }

    /// Offers each held document's changes again, alone, once per sync: accepted, the
    /// hold ends; refused, it stays (with the server's latest reason); any other failure
    /// leaves it for the next sync without failing this one.
    async fn offer_held(
        &self,
        store: &Arc<Store>,
        server: &SyncServer,
        url: &reqwest::Url,
        report: &mut SyncReport,
        rng: &mut fastrand::Rng,
    ) -> Result<()> {
        let held = blocking(store, |s| s.sync_state()).await?.held;
        let offered_now: Vec<DocId> = held
            .into_iter()
            .map(|h| h.doc)
            .filter(|d| !report.held.contains(d))
            .collect();
        for doc in offered_now {
            let offered = doc.clone();
            let Some(request) = blocking(store, move |s| s.sync_request_held(&offered)).await? else {
                continue;
            };
            let body = wire::encode(&request);
            let build = || {
                self.http
                    .post(url.clone())
                    .bearer_auth(&server.token)
                    .header(CONTENT_TYPE, wire::CONTENT_TYPE)
                    .header(ACCEPT, wire::CONTENT_TYPE)
                    .body(body.clone())
            };
            report.rounds += 1;
            report.bytes_up += body.len() as u64;
            match self.send(build, wire::MAX_BODY_BYTES, sync_answer, rng).await {
                Ok((answer, _)) => {
                    report.bytes_down += answer.len() as u64;
                    let response: SyncResponse = wire::decode(&answer)
                        .map_err(|e| Error::Protocol(format!("the server's answer cannot be read: {e}")))?;
                    let applied = blocking(store, move |s| s.sync_apply(&request, &response))
                        .await
                        .map_err(answer_not_applicable)?;
                    report.changes_received += applied.received;
                    report.note_changed(&applied.changed);
                }
                Err(Error::ForbiddenWrite {
                    doc: Some(refused),
                    path,
                    message,
                }) if refused == doc => {
                    hold(store, &doc, path.as_deref(), &message).await?;
                    report.held.push(doc);
                }
                Err(e) => {
                    tracing::debug!(doc = %doc, error = %e, "a held document could not be offered again")
                }
            }
        }
        Ok(())
    }

    /// Sends a request (made again by `build` for each try) and reads the answer, up
    /// to `limit` bytes; `check` turns it into the body or an error. Errors of kind
    /// [`ErrorKind::RetryLater`] are retried after a backoff, unless the server asked
    /// for a longer wait than the backoff's maximum: that wait is left to the next
    /// sync. Returns the body and the number of retries.
    async fn send(
        &self,
        build: impl Fn() -> reqwest::RequestBuilder,
        limit: usize,
        check: fn(Answer) -> Result<Vec<u8>>,
        rng: &mut fastrand::Rng,
    ) -> Result<(Vec<u8>, u32)> {
        let mut retries = 0;
        loop {
            let outcome = match self.send_once(build(), limit).await {
                Ok(answer) => check(answer),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(body) => return Ok((body, retries)),
                Err(e) if e.kind() == ErrorKind::RetryLater && retries < self.options.retries => {
                    retries += 1;
                    let wait = self.options.backoff.delay(retries, e.retry_after(), rng);
                    if wait > self.options.backoff.max {
                        return Err(e);
                    }
                    tracing::debug!(error = %e, retry = retries, wait_ms = wait.as_millis() as u64, "retrying");
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn send_once(&self, request: reqwest::RequestBuilder, limit: usize) -> Result<Answer> {
        let mut response = request.send().await.map_err(|e| self.network(&e))?;
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers(), self.options.clock.now());
        let content_type = media_type(response.headers());
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(Error::Protocol(format!(
                "the answer is larger than {limit} bytes"
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.network(&e))? {
            if body.len() + chunk.len() > limit {
                return Err(Error::Protocol(format!(
                    "the answer is larger than {limit} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            retry_after,
            content_type,
            body,
        })
    }

    /// A failure to get an answer, in words a person can act on: where, and the
    /// innermost cause (reqwest's own message names only the URL).
    fn network(&self, e: &reqwest::Error) -> Error {
        let at = e.url().map(|u| format!(" {u}")).unwrap_or_default();
        let reason = if e.is_timeout() {
            format!(
                "no answer from{at} within {} s",
                self.options.request_timeout.as_secs()
            )
        } else if e.is_connect() {
            format!("cannot connect to{at}: {}", root_cause(e))
        } else if e.is_builder() {
            return Error::InvalidInput(format!("the request cannot be made: {}", root_cause(e)));
        } else {
            format!("the connection to{at} failed: {}", root_cause(e))
        };
        Error::Network {
            reason,
            retry_after: None,
        }
    }
}

/// TLS with rustls on the ring provider: no C build, no JNI on Android. Without pins,
/// Mozilla's root certificates (authorities installed on the phone, by an MDM, are not
/// trusted; an organisation that needs them supplies its own transport); with pins,
/// exactly the pinned keys.
fn tls_config(pins: &[super::SpkiPin]) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::InvalidInput(format!("TLS cannot be set up: {e}")))?;
    let mut config = if pins.is_empty() {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(super::pinning::PinnedVerifier::new(
                pins.to_vec(),
                provider,
            )))
            .with_no_client_auth()
    };
    // reqwest leaves ALPN to a preconfigured client: offer HTTP/2, then HTTP/1.1.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Runs a store call on the blocking pool.
async fn blocking<T, F>(store: &Arc<Store>, call: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> Result<T> + Send + 'static,
{
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || call(&store))
        .await
        .map_err(|e| Error::Io(std::io::Error::other(format!("a store call did not finish: {e}"))))?
}

/// The server's address as recorded: `http` or `https`, no trailing slash.
pub(crate) fn normalise_url(url: &str) -> Result<String> {
    let parsed = reqwest::Url::parse(url.trim())
        .map_err(|e| Error::InvalidInput(format!("{url:?} is not a server address: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.cannot_be_a_base() || parsed.host().is_none() {
        return Err(Error::InvalidInput(format!(
            "{url:?} is not a server address: it must start with https:// (or http:// on a private network)"
        )));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() || !parsed.username().is_empty() {
        return Err(Error::InvalidInput(format!(
            "{url:?} is not a server address: no query, fragment or user name"
        )));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// Refuses `http://` to a server elsewhere than on this machine, unless allowed: the
/// token and every body would cross the network in the clear.
pub(crate) fn check_transport(url: &str, allow_plain_http: bool) -> Result<()> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| Error::InvalidInput(format!("{url:?} is not a server address: {e}")))?;
    if parsed.scheme() == "https" || allow_plain_http {
        return Ok(());
    }
    let host = parsed.host_str().unwrap_or_default();
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{url} is plain http:// to another machine: the token and the case would cross the network \
             in the clear; use https://"
        )))
    }
}

/// An endpoint under the server's address, which may have a path of its own
/// (`https://example.org/passage` + `v1/sync`).
fn endpoint(server: &str, path: &str) -> Result<reqwest::Url> {
    reqwest::Url::parse(&format!("{}/", server.trim_end_matches('/')))
        .and_then(|base| base.join(path))
        .map_err(|e| Error::InvalidInput(format!("{server:?} is not a server address: {e}")))
}

/// The innermost cause of an error, which names what actually went wrong
/// ("Connection refused", "connection reset by peer").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses_are_checked_and_endpoints_keep_their_path() {
        assert_eq!(
            normalise_url(" https://sync.example.org/ ").ok().as_deref(),
            Some("https://sync.example.org")
        );
        let base = normalise_url("https://example.org/passage/").unwrap_or_default();
        assert_eq!(
            endpoint(&base, "v1/sync").map(|u| u.to_string()).ok().as_deref(),
            Some("https://example.org/passage/v1/sync")
        );
        assert_eq!(
            endpoint("http://127.0.0.1:8080", "v1/enrol")
                .map(|u| u.to_string())
                .ok()
                .as_deref(),
            Some("http://127.0.0.1:8080/v1/enrol")
        );
        for bad in [
            "",
            "sync.example.org",
            "ftp://example.org",
            "https://example.org/?x=1",
            "mailto:a@b",
        ] {
            let e = normalise_url(bad).err();
            assert_eq!(e.map(|e| e.kind()), Some(ErrorKind::InvalidInput), "{bad:?}");
        }
    }

    #[test]
    fn the_http_client_builds_with_rustls_on_ring() {
        // reqwest refuses, at build time, a preconfigured TLS config of a rustls version
        // it does not link: this catches a version skew between the two pins.
        assert!(SyncClient::new(ClientOptions::default()).is_ok());
    }
}
