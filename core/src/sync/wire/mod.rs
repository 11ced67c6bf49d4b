//! The sync protocol's messages and their bytes: what `POST /v1/sync` carries.
//!
//! This is the executable form of docs/protocol.md; the two must say the same thing.
//! A body is a one-byte envelope (plain or deflate-compressed) around a CBOR array;
//! changes inside are Automerge's standard binary change encoding. Everything here is
//! sans-I/O: the device's HTTP client and the server both call [`encode`] and
//! [`decode`], and neither trusts the other's bytes: sizes are checked before
//! inflating and before decoding, and every field is validated on the way in.

mod cbor;

use std::io::Read;

use automerge::ChangeHash;
use sha2::{Digest as _, Sha256};

pub use self::cbor::doc_bytes;
use super::census::{CensusError, CensusLimits, census};
use crate::access::Role;
use crate::ids::DocId;
use crate::store::shape::{MAX_CHANGE_OPERATIONS, ShapeError, measure};

/// Version of the messages below. A peer that receives another version answers with
/// [`RejectCode::UnsupportedVersion`].
pub const PROTOCOL_VERSION: u8 = 2;
/// The `Content-Type` of sync bodies, requests and responses alike.
pub const CONTENT_TYPE: &str = "application/vnd.passage.sync";
/// Largest body on the wire (after compression). Larger requests get HTTP 413.
pub const MAX_BODY_BYTES: usize = 8 << 20;
/// Largest message once inflated; a body that inflates past this is refused (413)
/// instead of filling memory. A sender limits itself to less
/// ([`crate::sync::PUSH_BUDGET_BYTES`] of changes per request), and a server may allow
/// a sender less still ([`DecodeLimits`]).
pub const MAX_MESSAGE_BYTES: usize = 16 << 20;
/// Messages shorter than this are sent uncompressed: deflate cannot shrink a few
/// hashes, and its header would cost more than it saves.
const COMPRESS_FROM: usize = 256;

const PLAIN: u8 = 0x01;
const DEFLATE: u8 = 0x02;

/// A document on the wire: the case id's 16 bytes and a kind byte.
pub type DocRef = DocId;

/// What a device sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncRequest {
    /// Digest of the server heads the device holds ([`known_digest`]); `None` when it
    /// holds none.
    pub known: Option<[u8; 16]>,
    /// Documents with changes the server may lack.
    pub pushes: Vec<Push>,
    /// Every document the device has server heads for, and those heads: sent on the
    /// first sync and when the server answered [`SyncStatus::NeedFull`].
    pub full: Option<Vec<DocHeads>>,
    /// Documents the device erased (crypto-shredded), for the server to erase too and
    /// tell every device that holds them.
    pub erase: Vec<DocId>,
}

/// Changes of one document the server may lack, and the device's heads once they are
/// applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Push {
    pub doc: DocId,
    pub heads: Vec<ChangeHash>,
    pub changes: Vec<Vec<u8>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocHeads {
    pub doc: DocId,
    pub heads: Vec<ChangeHash>,
}

/// What the server answers (HTTP 200).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncResponse {
    pub status: SyncStatus,
    pub docs: Vec<Pull>,
    /// Documents erased: the device destroys its copy, and never gets them back.
    pub erased: Vec<DocId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncStatus {
    /// The device now has everything it may read.
    Complete,
    /// The server could not match the device's digest (a lost response, a server
    /// restored from backup): the pushes were processed, and the device should send
    /// again at once with `full`.
    NeedFull,
    /// The response reached its size budget: the device should send again for the rest.
    Partial,
}

/// One document as the server has it after the request: its heads, the changes the
/// device lacks, and the dependencies the server lacked to accept the device's push
/// (the device then pushes that document's whole history).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pull {
    pub doc: DocId,
    pub heads: Vec<ChangeHash>,
    pub changes: Vec<Vec<u8>>,
    pub missing: Vec<ChangeHash>,
    /// Who the server received each change from, in the order of `changes` (`None`
    /// where it has no record); empty when `changes` is.
    pub authors: Vec<Option<Author>>,
}

/// What the server vouches for about a change: the person of the device it received
/// it from, that device's role, and when. A device's own word (the change's note) is
/// only a claim; this is the server's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Author {
    /// `None`: the server made the change itself (a case it created, an arrival plan).
    pub role: Option<Role>,
    /// The person as the server knows them: the case's talent, the caseworker.
    pub name: String,
    /// Seconds since the Unix epoch, UTC.
    pub received_at: i64,
}

/// Why the server refused a request (any non-200 answer carries one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub code: RejectCode,
    pub message: String,
    /// The document concerned, for forbidden writes.
    pub doc: Option<DocId>,
    /// The path that may not be written, e.g. `/permit/decision`.
    pub path: Option<String>,
}

/// Rejection codes, with the HTTP status each travels with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectCode {
    /// 400: the body is not a valid message.
    Malformed = 1,
    /// 400: a protocol version the server does not speak.
    UnsupportedVersion = 2,
    /// 401: no token, or a token the server does not know.
    Unauthorized = 3,
    /// 403: a revoked or expired token, or a document outside the token's cases.
    Forbidden = 4,
    /// 403: a change writes a field the role may not write; nothing was stored.
    ForbiddenWrite = 5,
    /// 413: the body or the inflated message is too large.
    TooLarge = 6,
    /// 503: try again after the `Retry-After` header's delay.
    Unavailable = 7,
    /// 429: this device (or address) sent too many requests; try again after the
    /// `Retry-After` header's delay.
    RateLimited = 8,
    /// 413: the document named, or its case, would grow past the server's size quota;
    /// nothing was stored. The device holds that document's changes.
    QuotaExceeded = 9,
    /// 408: the body did not arrive in time; send it again.
    Timeout = 10,
}

impl RejectCode {
    pub fn http_status(self) -> u16 {
        match self {
            RejectCode::Malformed | RejectCode::UnsupportedVersion => 400,
            RejectCode::Unauthorized => 401,
            RejectCode::Forbidden | RejectCode::ForbiddenWrite => 403,
            RejectCode::TooLarge | RejectCode::QuotaExceeded => 413,
            RejectCode::Unavailable => 503,
            RejectCode::RateLimited => 429,
            RejectCode::Timeout => 408,
        }
    }

    fn from_u8(v: u8) -> Option<RejectCode> {
        use RejectCode::*;
        [
            Malformed,
            UnsupportedVersion,
            Unauthorized,
            Forbidden,
            ForbiddenWrite,
            TooLarge,
            Unavailable,
            RateLimited,
            QuotaExceeded,
            Timeout,
        ]
        .into_iter()
        .find(|c| *c as u8 == v)
    }
}

/// A message that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("the message is too large: {0}")]
    TooLarge(String),
    #[error("protocol version {0} is not supported (this side speaks {PROTOCOL_VERSION})")]
    UnsupportedVersion(u64),
    #[error("malformed message: {0}")]
    Malformed(String),
}

impl WireError {
    /// The rejection a server answers this with.
    pub fn rejection(&self) -> Rejection {
        let code = match self {
            WireError::TooLarge(_) => RejectCode::TooLarge,
            WireError::UnsupportedVersion(_) => RejectCode::UnsupportedVersion,
            WireError::Malformed(_) => RejectCode::Malformed,
        };
        Rejection {
            code,
            message: self.to_string(),
            doc: None,
            path: None,
        }
    }
}

pub(super) fn malformed(why: impl Into<String>) -> WireError {
    WireError::Malformed(why.into())
}

/// What one decoded message may hold. Checked in two steps: a census of the CBOR
/// counts its items before anything is allocated (so memory stays proportional to
/// the limits, not to what a few kilobytes of deflate can expand to), and the decoded
/// message is then checked field by field. A message over a limit is
/// [`WireError::TooLarge`], whatever its token: a server gives each role its own
/// limits, a device uses [`DecodeLimits::DEFAULT`] for the server's answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Bytes of CBOR once inflated.
    pub message_bytes: usize,
    /// CBOR items in the whole message: the bound on the decoder's allocations.
    pub items: usize,
    /// Documents with changes: pushes in a request, pulls in a response.
    pub docs: usize,
    /// Changes in all those documents together.
    pub changes: usize,
    /// Operations the changes declare, all together: what Automerge walks and applies
    /// for them (a change's bytes may declare far more than they hold).
    pub operations: usize,
    /// Heads (or missing dependencies) of one document.
    pub heads: usize,
    /// Entries of a request's `full` list.
    pub full: usize,
}

impl DecodeLimits {
    /// Limits wide enough for any message a Passage peer sends: a caseworker's first
    /// sync of thousands of cases, a 4 MiB answer of small changes.
    pub const DEFAULT: DecodeLimits = DecodeLimits {
        message_bytes: MAX_MESSAGE_BYTES,
        items: 400_000,
        docs: 30_000,
        changes: 100_000,
        // Legitimate changes hold about one operation per byte at most (a pasted
        // note), so a message's size bounds them.
        operations: MAX_MESSAGE_BYTES,
        heads: 256,
        full: 30_000,
    };
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits::DEFAULT
    }
}

/// The deepest nesting of arrays any message of the protocol has, with room for one
/// more level.
const MAX_DEPTH: usize = 6;

fn too_large(what: &str, limit: usize) -> WireError {
    WireError::TooLarge(format!("more {what} than the {limit} allowed"))
}

pub(super) fn check_count(what: &str, count: usize, limit: usize) -> Result<(), WireError> {
    if count > limit {
        Err(too_large(what, limit))
    } else {
        Ok(())
    }
}

/// Checks the operations `changes` declare, each within
/// the operations one change may declare and all within `limit`, in time
/// proportional to their bytes. A change that does not parse counts for nothing here:
/// its document is refused, with its own reason, when it is applied.
pub(super) fn check_operations<'a>(
    changes: impl Iterator<Item = &'a Vec<u8>>,
    limit: usize,
) -> Result<(), WireError> {
    let mut total: u64 = 0;
    for change in changes {
        match measure(change, MAX_CHANGE_OPERATIONS) {
            Ok(n) => total = total.saturating_add(n),
            Err(ShapeError::TooManyOperations { limit }) => {
                return Err(WireError::TooLarge(format!(
                    "a change declares more than the {limit} operations one change may hold"
                )));
            }
            Err(ShapeError::Malformed(_)) => {}
        }
        if total > limit as u64 {
            return Err(too_large("operations in the changes", limit));
        }
    }
    Ok(())
}

/// A message that can travel in a sync body.
pub trait Message: Sized {
    #[doc(hidden)]
    fn to_cbor(&self) -> Vec<u8>;
    #[doc(hidden)]
    fn from_cbor(bytes: &[u8]) -> Result<Self, WireError>;
    /// Whether the decoded message is within `limits` (its census already was).
    #[doc(hidden)]
    fn check(&self, limits: &DecodeLimits) -> Result<(), WireError>;
    /// Work left until the message is within its limits (parsing changes, say).
    #[doc(hidden)]
    fn complete(&mut self, _limits: &DecodeLimits) -> Result<(), WireError> {
        Ok(())
    }
}

/// The body bytes of a message: the envelope byte, then CBOR, deflated when that
/// pays.
pub fn encode<M: Message>(message: &M) -> Vec<u8> {
    let plain = message.to_cbor();
    if plain.len() >= COMPRESS_FROM {
        let mut encoder = flate2::read::DeflateEncoder::new(plain.as_slice(), flate2::Compression::default());
        let mut packed = vec![DEFLATE];
        if encoder.read_to_end(&mut packed).is_ok() && packed.len() < plain.len() + 1 {
            return packed;
        }
    }
    let mut out = Vec::with_capacity(plain.len() + 1);
    out.push(PLAIN);
    out.extend(plain);
    out
}

/// Reads a body within [`DecodeLimits::DEFAULT`]; see [`decode_with`].
pub fn decode<M: Message>(body: &[u8]) -> Result<M, WireError> {
    decode_with(body, &DecodeLimits::DEFAULT)
}

/// Reads a body: checks its size, inflates it (never past `limits.message_bytes`),
/// counts its items (never past `limits.items`), then decodes the message and checks
/// it against the other limits.
pub fn decode_with<M: Message>(body: &[u8], limits: &DecodeLimits) -> Result<M, WireError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(WireError::TooLarge(format!(
            "{} bytes; the limit is {MAX_BODY_BYTES}",
            body.len()
        )));
    }
    let max_message = limits.message_bytes.min(MAX_MESSAGE_BYTES);
    let (&format, payload) = body.split_first().ok_or_else(|| malformed("empty body"))?;
    let inflated;
    let message = match format {
        PLAIN => payload,
        DEFLATE => {
            let mut out = Vec::new();
            flate2::read::DeflateDecoder::new(payload)
                .take(max_message as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| malformed(format!("the deflate stream is broken: {e}")))?;
            inflated = out;
            &inflated[..]
        }
        other => return Err(malformed(format!("unknown envelope byte {other:#04x}"))),
    };
    if message.len() > max_message {
        return Err(WireError::TooLarge(format!(
            "the message is over {max_message} bytes"
        )));
    }
    let census_limits = CensusLimits {
        max_items: limits.items,
        max_depth: MAX_DEPTH,
    };
    census(message, census_limits).map_err(|e| match e {
        CensusError::TooManyItems(limit) => too_large("CBOR items", limit),
        CensusError::Malformed(why) => malformed(why),
    })?;
    let mut decoded = M::from_cbor(message)?;
    decoded.check(limits)?;
    decoded.complete(limits)?;
    Ok(decoded)
}

/// The digest of a set of (document, heads): XOR of SHA-256(doc reference ‖ heads in
/// ascending order) over the documents, first 16 bytes. XOR makes it order-free and
/// lets the server update it one document at a time.
pub fn known_digest<'a>(docs: impl IntoIterator<Item = (&'a DocId, &'a [ChangeHash])>) -> [u8; 16] {
    let mut digest = [0u8; 16];
    for (doc, heads) in docs {
        let part = doc_digest(doc, heads);
        for (d, p) in digest.iter_mut().zip(part) {
            *d ^= p;
        }
    }
    digest
}

/// One document's share of [`known_digest`].
pub fn doc_digest(doc: &DocId, heads: &[ChangeHash]) -> [u8; 16] {
    let mut sorted = heads.to_vec();
    sorted.sort();
    let mut hasher = Sha256::new();
    hasher.update(doc_bytes(doc));
    for head in &sorted {
        hasher.update(head.as_ref());
    }
    let full = hasher.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

/// XOR-combines two digests (adding or removing one document's share).
pub fn xor(a: [u8; 16], b: [u8; 16]) -> [u8; 16] {
    let mut out = a;
    for (o, x) in out.iter_mut().zip(b) {
        *o ^= x;
    }
    out
}
