//! Every limit a client can push on, in one place, each with its reason and default.
//!
//! A request is bounded in bytes, items, time and memory before the server does work
//! on it, whatever its token: an enrolled phone is a client like any other, and a
//! stolen or malicious one must not be able to slow down or exhaust the server for the
//! other devices. The order in which the limits apply (cheapest first) is in
//! [`crate::http`]; what each default means for an operator is in docs/server.md and
//! docs/security.md, and every one is a flag of `passage-server serve`.

use std::time::Duration;

use passage_core::Role;
use passage_core::sync::wire::{DecodeLimits, MAX_BODY_BYTES, MAX_MESSAGE_BYTES};

use crate::ratelimit::Rate;
use crate::sync::RESPONSE_BUDGET_BYTES;

/// A family device's body: a digest and the one arrival plan's heads, never changes.
pub const FAMILY_BODY_BYTES: usize = 16 << 10;
/// How far a body may inflate, as a multiple of its size on the wire. Sync messages
/// are mostly Automerge changes and hashes, which deflate 2 to 5 times; deflate's own
/// best is about 1,000 times, which is what a compression bomb uses.
pub const MAX_INFLATE_RATIO: usize = 64;
/// What any body may inflate to, whatever its size.
pub const MIN_MESSAGE_BYTES: usize = 64 << 10;
/// Bytes of a body read, and dropped, before a request without a valid token is
/// answered: enough for a client that sent a small body to see the answer, too little
/// to cost anything.
pub const UNAUTHENTICATED_DRAIN_BYTES: usize = 16 << 10;

/// The limits of one server; see each field. [`Limits::default`] is what `serve`
/// uses without flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Change bytes one sync answer carries at most; past it the answer is `partial`.
    pub response_budget: usize,
    /// Estimated bytes of documents kept in memory between syncs (`crate::cache`).
    pub cache_bytes: usize,
    /// Time for a client to send a request's head, from the first byte or, on a kept-
    /// alive connection, from the previous answer; then the connection is closed.
    pub header_timeout: Duration,
    /// Time for a whole body to arrive once the request is admitted (408 after it).
    pub body_timeout: Duration,
    /// Open connections; more are closed as soon as they are accepted.
    pub max_connections: usize,
    /// Sync requests admitted at once (reading their body, waiting for or holding the
    /// database); more get 503 with `Retry-After`.
    pub max_pending_syncs: usize,
    /// Sync requests of one device at once; more get 429. A device runs one sync at a
    /// time; the second allows a retry to overlap a request the server still holds.
    pub syncs_per_device: usize,
    /// Bytes of request bodies and their inflated messages in memory, over all
    /// requests; a request that would go past it gets 503.
    pub request_memory: usize,
    /// Body bytes of one sync request of a talent or caseworker (on the wire).
    pub request_bytes: usize,
    /// Changes in one sync request. A device sends more in several requests; this
    /// bounds the Automerge work one request does under the write lock.
    pub request_changes: usize,
    /// Operations the changes of one sync request declare together: with
    /// `request_changes`, what bounds the Automerge work of one request. A change's
    /// operations are counted from its bytes before Automerge reads it.
    pub request_operations: usize,
    /// Bytes a document may hold on the server (its stored changes and snapshots).
    pub doc_quota: u64,
    /// Bytes the documents of one case may hold together.
    pub case_quota: u64,
    /// Sync requests per device token.
    pub sync_rate: Rate,
    /// Enrolment attempts per client address (an IPv6 address counts by its /64: one
    /// machine may have any address in it).
    pub enrol_rate_per_address: Rate,
    /// Whether a connection from loopback (the operator's reverse proxy) is counted
    /// by the client address in its `X-Forwarded-For`, rather than as loopback.
    pub trust_forwarded_for: bool,
    /// Enrolment attempts per code (a right code with a wrong proof, say).
    pub enrol_rate_per_code: Rate,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            response_budget: RESPONSE_BUDGET_BYTES,
            cache_bytes: crate::cache::DEFAULT_CACHE_BYTES,
            // A phone on a weak signal sends a head in well under a second; ten is
            // generous, and bounds how long a silent connection holds a slot.
            header_timeout: Duration::from_secs(10),
            // The largest body (8 MiB) at 2.5 Mbit/s takes about 27 s.
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_pending_syncs: 64,
            syncs_per_device: 2,
            request_memory: 256 << 20,
            request_bytes: MAX_BODY_BYTES,
            // Measured: 2,000 changes apply and check in well under half a second on
            // the 2-core CI machine; a device pushes at most 1,000 per request.
            request_changes: 2_000,
            // Measured (the attacks test, debug build): 50,000 operations are parsed,
            // applied and checked in about 0.1 s, and take about 25 MiB while they
            // are. A device pushes at most half that per request.
            request_operations: 50_000,
            // A journey of 5,000 changes is about 600 KB before compaction and
            // 100 KB after; a medical record is smaller. Sixteen times that.
            doc_quota: 8 << 20,
            case_quota: 16 << 20,
            // A sync is at most 16 rounds, retried 3 times each: 60 requests at once
            // and one a second after that is more than any device sends.
            sync_rate: Rate::per_minute(60, 60),
            // A person types a code a few times; a script guessing codes is stopped
            // after 20 tries, then gets one every 3 seconds.
            enrol_rate_per_address: Rate::per_minute(20, 20),
            trust_forwarded_for: false,
            enrol_rate_per_code: Rate::per_minute(5, 5),
        }
    }
}

/// What one sync request of a role may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoleLimits {
    /// Body bytes on the wire.
    pub body_bytes: usize,
    /// The message, its items and fields; `message_bytes` is lowered further for a
    /// small body by [`MAX_INFLATE_RATIO`].
    pub decode: DecodeLimits,
}

impl Limits {
    /// The limits of one role's sync requests.
    pub fn for_role(&self, role: Role) -> RoleLimits {
        let body_bytes = self.request_bytes.min(MAX_BODY_BYTES);
        match role {
            // A family device pushes nothing and reads one arrival plan.
            Role::Family => RoleLimits {
                body_bytes: FAMILY_BODY_BYTES,
                decode: DecodeLimits {
                    message_bytes: 64 << 10,
                    items: 1_000,
                    docs: 4,
                    changes: 16,
                    operations: 1_000,
                    heads: 64,
                    full: 8,
                },
            },
            // A talent's device holds one case: a journey and a medical record (and
            // may still list an arrival plan it once had).
            Role::Talent => RoleLimits {
                body_bytes,
                decode: DecodeLimits {
                    message_bytes: MAX_MESSAGE_BYTES,
                    items: 50_000,
                    docs: 8,
                    changes: self.request_changes,
                    operations: self.request_operations,
                    heads: 256,
                    full: 16,
                },
            },
            Role::Caseworker => RoleLimits {
                body_bytes,
                decode: DecodeLimits {
                    message_bytes: MAX_MESSAGE_BYTES,
                    items: 200_000,
                    docs: 30_000,
                    changes: self.request_changes,
                    operations: self.request_operations,
                    heads: 256,
                    full: 30_000,
                },
            },
        }
    }
}

impl RoleLimits {
    /// The decode limits for a body of `len` bytes: its message may inflate to
    /// [`MAX_INFLATE_RATIO`] times its size (and to [`MIN_MESSAGE_BYTES`] whatever its
    /// size: a small message of repetitive text is no threat), never past the role's
    /// limit.
    pub fn decode_for(&self, len: usize) -> DecodeLimits {
        let mut decode = self.decode;
        decode.message_bytes = decode
            .message_bytes
            .min(len.saturating_mul(MAX_INFLATE_RATIO).max(MIN_MESSAGE_BYTES));
        decode
    }
}
