//! The CBOR shapes of the messages, positional (arrays) to keep small messages small,
//! and their [`Message`] implementations. Byte strings go through `ByteBuf` so that
//! CBOR carries them as byte strings, not arrays of numbers.

use automerge::ChangeHash;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use super::{
    Author, DecodeLimits, DocHeads, Message, PROTOCOL_VERSION, Pull, Push, RejectCode, Rejection,
    SyncRequest, SyncResponse, SyncStatus, WireError, check_count, check_operations, malformed,
};
use crate::access::Role;
use crate::ids::{CaseId, DocId, DocKind};

#[derive(Serialize, Deserialize)]
struct RequestWire(
    u64,
    Option<ByteBuf>,
    Vec<PushWire>,
    Option<Vec<HeadsWire>>,
    Vec<ByteBuf>,
);
#[derive(Serialize, Deserialize)]
struct PushWire(ByteBuf, Vec<ByteBuf>, Vec<ByteBuf>);
#[derive(Serialize, Deserialize)]
struct HeadsWire(ByteBuf, Vec<ByteBuf>);
#[derive(Serialize, Deserialize)]
struct ResponseWire(u64, u64, Vec<PullWire>, Vec<ByteBuf>);
#[derive(Serialize, Deserialize)]
struct PullWire(
    ByteBuf,
    Vec<ByteBuf>,
    Vec<ByteBuf>,
    Vec<ByteBuf>,
    Vec<Option<AuthorWire>>,
);
#[derive(Serialize, Deserialize)]
struct AuthorWire(u64, String, u64);
#[derive(Serialize, Deserialize)]
struct RejectionWire(u64, u64, String, Option<ByteBuf>, Option<String>);

/// The 17 bytes of a document reference.
pub fn doc_bytes(doc: &DocId) -> Vec<u8> {
    let mut out = Vec::with_capacity(17);
    // Case ids are 32 hex characters when made by Passage; the wire carries 16 bytes.
    out.extend(hex::decode(doc.case.as_str()).unwrap_or_default());
    out.resize(16, 0);
    out.push(match doc.kind {
        DocKind::Journey => 0,
        DocKind::Medical => 1,
        DocKind::ArrivalPlan => 2,
    });
    out
}

fn doc_from(bytes: &[u8]) -> Result<DocId, WireError> {
    if bytes.len() != 17 {
        return Err(malformed(format!(
            "a document reference has {} bytes, not 17",
            bytes.len()
        )));
    }
    let kind = match bytes[16] {
        0 => DocKind::Journey,
        1 => DocKind::Medical,
        2 => DocKind::ArrivalPlan,
        k => return Err(malformed(format!("unknown document kind {k}"))),
    };
    let case: CaseId = hex::encode(&bytes[..16])
        .parse()
        .map_err(|_| malformed("bad case id"))?;
    Ok(case.doc(kind))
}

fn hashes_to(hashes: &[ChangeHash]) -> Vec<ByteBuf> {
    hashes
        .iter()
        .map(|h| ByteBuf::from(h.as_ref().to_vec()))
        .collect()
}

fn hashes_from(raw: Vec<ByteBuf>) -> Result<Vec<ChangeHash>, WireError> {
    raw.iter()
        .map(|b| ChangeHash::try_from(b.as_slice()).map_err(|_| malformed("a change hash is not 32 bytes")))
        .collect()
}

/// Where a push's changes end: the hashes of those no other pushed change depends on,
/// sorted. `None` when a change does not parse; the sender then writes the heads in
/// full, and a receiver that needed them refuses the push. The changes are untrusted,
/// so they are measured before Automerge parses them, with its panics caught.
fn tips(changes: &[Vec<u8>]) -> Option<Vec<ChangeHash>> {
    let parsed = changes
        .iter()
        .map(|c| crate::store::loaded::parse_change(c).ok())
        .collect::<Option<Vec<_>>>()?;
    let deps: std::collections::HashSet<ChangeHash> =
        parsed.iter().flat_map(|c| c.deps().iter().copied()).collect();
    let mut tips: Vec<ChangeHash> = parsed
        .iter()
        .map(automerge::Change::hash)
        .filter(|h| !deps.contains(h))
        .collect();
    tips.sort();
    tips.dedup();
    Some(tips)
}

fn bytes_to(chunks: &[Vec<u8>]) -> Vec<ByteBuf> {
    chunks.iter().map(|c| ByteBuf::from(c.clone())).collect()
}

fn bytes_from(raw: Vec<ByteBuf>) -> Vec<Vec<u8>> {
    raw.into_iter().map(ByteBuf::into_vec).collect()
}

fn docs_to(docs: &[DocId]) -> Vec<ByteBuf> {
    docs.iter().map(|d| ByteBuf::from(doc_bytes(d))).collect()
}

fn docs_from(raw: Vec<ByteBuf>) -> Result<Vec<DocId>, WireError> {
    raw.iter().map(|d| doc_from(d)).collect()
}

/// The roles of authors on the wire; 3 is the server itself.
fn role_code(role: Option<Role>) -> u64 {
    match role {
        Some(Role::Talent) => 0,
        Some(Role::Caseworker) => 1,
        Some(Role::Family) => 2,
        None => 3,
    }
}

fn role_from(code: u64) -> Result<Option<Role>, WireError> {
    match code {
        0 => Ok(Some(Role::Talent)),
        1 => Ok(Some(Role::Caseworker)),
        2 => Ok(Some(Role::Family)),
        3 => Ok(None),
        other => Err(malformed(format!("unknown author role {other}"))),
    }
}

fn author_to(author: &Author) -> AuthorWire {
    AuthorWire(
        role_code(author.role),
        author.name.clone(),
        u64::try_from(author.received_at).unwrap_or(0),
    )
}

fn author_from(AuthorWire(role, name, at): AuthorWire) -> Result<Author, WireError> {
    Ok(Author {
        role: role_from(role)?,
        name,
        received_at: i64::try_from(at).map_err(|_| malformed("an author's time is out of range"))?,
    })
}

/// A message's version, read before its shape: a peer speaking another version gets
/// [`WireError::UnsupportedVersion`], not a complaint about a shape it never sent.
/// The census has checked the message's grammar already.
fn check_version_first(bytes: &[u8]) -> Result<(), WireError> {
    let version = match bytes {
        [array, rest @ ..] if array >> 5 == 4 => match rest {
            [v, ..] if *v < 24 => u64::from(*v),
            [24, v, ..] => u64::from(*v),
            _ => return Err(malformed("a message starts with its version")),
        },
        _ => return Err(malformed("a message is an array")),
    };
    if version == u64::from(PROTOCOL_VERSION) {
        Ok(())
    } else {
        Err(WireError::UnsupportedVersion(version))
    }
}

fn cbor<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing CBOR into a Vec fails only on a serializer bug; an empty body is then
    // refused by the peer as malformed rather than crashing this side.
    let _ = ciborium::ser::into_writer(value, &mut out);
    out
}

fn from_cbor<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    ciborium::de::from_reader(bytes).map_err(|e| malformed(e.to_string()))
}

impl Message for SyncRequest {
    fn to_cbor(&self) -> Vec<u8> {
        cbor(&RequestWire(
            u64::from(PROTOCOL_VERSION),
            self.known.map(|k| ByteBuf::from(k.to_vec())),
            self.pushes
                .iter()
                .map(|p| {
                    // The common push, a device's new changes on top of what the
                    // server has, ends exactly at the device's heads: they go as `[]`
                    // (32 bytes saved per head) and the receiver finds them again.
                    let implied = !p.changes.is_empty() && tips(&p.changes).as_deref() == Some(&p.heads[..]);
                    PushWire(
                        ByteBuf::from(doc_bytes(&p.doc)),
                        if implied { vec![] } else { hashes_to(&p.heads) },
                        bytes_to(&p.changes),
                    )
                })
                .collect(),
            self.full.as_ref().map(|full| {
                full.iter()
                    .map(|d| HeadsWire(ByteBuf::from(doc_bytes(&d.doc)), hashes_to(&d.heads)))
                    .collect()
            }),
            docs_to(&self.erase),
        ))
    }

    fn from_cbor(bytes: &[u8]) -> Result<Self, WireError> {
        check_version_first(bytes)?;
        let RequestWire(_, known, pushes, full, erase) = from_cbor(bytes)?;
        let known = match known {
            Some(k) => Some(
                <[u8; 16]>::try_from(k.as_slice()).map_err(|_| malformed("the digest is not 16 bytes"))?,
            ),
            None => None,
        };
        let pushes = pushes
            .into_iter()
            .map(|PushWire(doc, heads, changes)| {
                // Heads left out (implied by the changes) are worked out in
                // `complete`, once the changes were counted against the limits.
                let changes = bytes_from(changes);
                let heads = hashes_from(heads)?;
                Ok(Push {
                    doc: doc_from(&doc)?,
                    heads,
                    changes,
                })
            })
            .collect::<Result<_, WireError>>()?;
        let full = match full {
            Some(list) => Some(
                list.into_iter()
                    .map(|HeadsWire(doc, heads)| {
                        Ok(DocHeads {
                            doc: doc_from(&doc)?,
                            heads: hashes_from(heads)?,
                        })
                    })
                    .collect::<Result<_, WireError>>()?,
            ),
            None => None,
        };
        Ok(SyncRequest {
            known,
            pushes,
            full,
            erase: docs_from(erase)?,
        })
    }

    fn complete(&mut self, limits: &DecodeLimits) -> Result<(), WireError> {
        for push in &mut self.pushes {
            if push.heads.is_empty() && !push.changes.is_empty() {
                push.heads = tips(&push.changes).ok_or_else(|| {
                    malformed(
                        "a push without heads has a change that does not parse, so its heads are unknown",
                    )
                })?;
                check_count("heads of one document", push.heads.len(), limits.heads)?;
            }
        }
        Ok(())
    }

    fn check(&self, limits: &DecodeLimits) -> Result<(), WireError> {
        check_count("pushed documents", self.pushes.len(), limits.docs)?;
        check_count(
            "pushed changes",
            self.pushes.iter().map(|p| p.changes.len()).sum(),
            limits.changes,
        )?;
        check_operations(self.pushes.iter().flat_map(|p| &p.changes), limits.operations)?;
        check_count(
            "heads of one document",
            self.pushes.iter().map(|p| p.heads.len()).max().unwrap_or(0),
            limits.heads,
        )?;
        check_count("documents to erase", self.erase.len(), limits.docs)?;
        if let Some(full) = &self.full {
            check_count("documents in the full list", full.len(), limits.full)?;
            check_count(
                "heads of one document",
                full.iter().map(|d| d.heads.len()).max().unwrap_or(0),
                limits.heads,
            )?;
        }
        Ok(())
    }
}

impl Message for SyncResponse {
    fn to_cbor(&self) -> Vec<u8> {
        let status = match self.status {
            SyncStatus::Complete => 0,
            SyncStatus::NeedFull => 1,
            SyncStatus::Partial => 2,
        };
        cbor(&ResponseWire(
            u64::from(PROTOCOL_VERSION),
            status,
            self.docs
                .iter()
                .map(|p| {
                    PullWire(
                        ByteBuf::from(doc_bytes(&p.doc)),
                        hashes_to(&p.heads),
                        bytes_to(&p.changes),
                        hashes_to(&p.missing),
                        p.authors.iter().map(|a| a.as_ref().map(author_to)).collect(),
                    )
                })
                .collect(),
            docs_to(&self.erased),
        ))
    }

    fn from_cbor(bytes: &[u8]) -> Result<Self, WireError> {
        check_version_first(bytes)?;
        let ResponseWire(_, status, docs, erased) = from_cbor(bytes)?;
        let status = match status {
            0 => SyncStatus::Complete,
            1 => SyncStatus::NeedFull,
            2 => SyncStatus::Partial,
            s => return Err(malformed(format!("unknown status {s}"))),
        };
        let docs = docs
            .into_iter()
            .map(|PullWire(doc, heads, changes, missing, authors)| {
                if !authors.is_empty() && authors.len() != changes.len() {
                    return Err(malformed(format!(
                        "{} authors for {} changes",
                        authors.len(),
                        changes.len()
                    )));
                }
                Ok(Pull {
                    doc: doc_from(&doc)?,
                    heads: hashes_from(heads)?,
                    changes: bytes_from(changes),
                    missing: hashes_from(missing)?,
                    authors: authors
                        .into_iter()
                        .map(|a| a.map(author_from).transpose())
                        .collect::<Result<_, WireError>>()?,
                })
            })
            .collect::<Result<_, WireError>>()?;
        Ok(SyncResponse {
            status,
            docs,
            erased: docs_from(erased)?,
        })
    }

    fn check(&self, limits: &DecodeLimits) -> Result<(), WireError> {
        check_count("documents", self.docs.len(), limits.docs)?;
        check_count("erased documents", self.erased.len(), limits.docs)?;
        check_count(
            "changes",
            self.docs.iter().map(|p| p.changes.len()).sum(),
            limits.changes,
        )?;
        check_operations(self.docs.iter().flat_map(|p| &p.changes), limits.operations)?;
        check_count(
            "heads of one document",
            self.docs
                .iter()
                .map(|p| p.heads.len().max(p.missing.len()))
                .max()
                .unwrap_or(0),
            limits.heads,
        )
    }
}

impl Message for Rejection {
    fn to_cbor(&self) -> Vec<u8> {
        cbor(&RejectionWire(
            u64::from(PROTOCOL_VERSION),
            self.code as u64,
            self.message.clone(),
            self.doc.as_ref().map(|d| ByteBuf::from(doc_bytes(d))),
            self.path.clone(),
        ))
    }

    fn from_cbor(bytes: &[u8]) -> Result<Self, WireError> {
        check_version_first(bytes)?;
        let RejectionWire(_, code, message, doc, path) = from_cbor(bytes)?;
        let code = u8::try_from(code)
            .ok()
            .and_then(RejectCode::from_u8)
            .ok_or_else(|| malformed(format!("unknown rejection code {code}")))?;
        let doc = doc.map(|d| doc_from(&d)).transpose()?;
        Ok(Rejection {
            code,
            message,
            doc,
            path,
        })
    }

    fn check(&self, _limits: &DecodeLimits) -> Result<(), WireError> {
        Ok(())
    }
}
