//! The sync protocol's bytes (docs/protocol.md): messages round-trip, the example in
//! the document is what the code writes, and bad bodies get typed errors, never a
//! panic or an unbounded allocation.

use automerge::ChangeHash;
use passage_core::sync::wire::{
    self, DocHeads, MAX_BODY_BYTES, Pull, Push, RejectCode, Rejection, SyncRequest, SyncResponse, SyncStatus,
    WireError,
};
use passage_core::{CaseId, DocKind};

fn case() -> CaseId {
    "3f2a9c1e5b7d4a6f8e0c2b4d6f8a1c3e".parse().expect("case id")
}

fn hash(n: u8) -> ChangeHash {
    ChangeHash::try_from(&[n; 32][..]).expect("32 bytes")
}

fn request() -> SyncRequest {
    SyncRequest {
        known: Some([7; 16]),
        pushes: vec![Push {
            doc: case().doc(DocKind::Journey),
            heads: vec![hash(1)],
            changes: vec![vec![0x85, 0x6f, 0x4a, 0x83, 1, 2, 3]],
        }],
        full: Some(vec![DocHeads {
            doc: case().doc(DocKind::Medical),
            heads: vec![hash(2), hash(3)],
        }]),
        erase: vec![],
    }
}

#[test]
fn messages_round_trip() {
    let req = request();
    assert_eq!(wire::decode::<SyncRequest>(&wire::encode(&req)), Ok(req));
    let res = SyncResponse {
        status: SyncStatus::Partial,
        docs: vec![Pull {
            doc: case().doc(DocKind::ArrivalPlan),
            heads: vec![hash(4)],
            changes: vec![vec![9; 600]],
            missing: vec![hash(5)],
            authors: vec![],
        }],
        erased: vec![],
    };
    let body = wire::encode(&res);
    assert_eq!(body[0], 0x02, "a 600-byte change is worth deflating");
    assert!(body.len() < 200, "{} bytes", body.len());
    assert_eq!(wire::decode::<SyncResponse>(&body), Ok(res));
    let rejection = Rejection {
        code: RejectCode::ForbiddenWrite,
        message: "a talent may not set the permit decision".into(),
        doc: Some(case().doc(DocKind::Journey)),
        path: Some("/permit/decision".into()),
    };
    assert_eq!(
        wire::decode::<Rejection>(&wire::encode(&rejection)),
        Ok(rejection)
    );
}

/// Real Automerge changes, made deterministically: `first`, then `count - 1` more on
/// top of it, each with a message of `message_len` bytes.
fn chain(count: usize, message_len: usize) -> Vec<automerge::Change> {
    use automerge::transaction::{CommitOptions, Transactable};
    let mut doc = automerge::AutoCommit::new().with_actor(automerge::ActorId::from([7u8; 16]));
    (0..count)
        .map(|i| {
            doc.put(
                automerge::ROOT,
                "status",
                if i % 2 == 0 { "done" } else { "todo" },
            )
            .expect("put");
            doc.commit_with(
                CommitOptions::default()
                    .with_message("m".repeat(message_len))
                    .with_time(1_795_000_000),
            );
            doc.get_last_local_change().expect("the change")
        })
        .collect()
}

/// One real change of exactly `len` bytes (the message pads it).
fn change_of(len: usize) -> automerge::Change {
    (0..len)
        .map(|m| chain(1, m).remove(0))
        .find(|c| c.raw_bytes().len() == len)
        .expect("a message length gives the size")
}

#[test]
fn a_push_that_ends_at_the_device_heads_sends_them_as_empty() {
    let changes = chain(3, 20);
    let bytes: Vec<Vec<u8>> = changes.iter().map(|c| c.raw_bytes().to_vec()).collect();
    let tip = changes[2].hash();
    let push = |heads: Vec<ChangeHash>, changes: Vec<Vec<u8>>| SyncRequest {
        known: None,
        pushes: vec![Push {
            doc: case().doc(DocKind::Journey),
            heads,
            changes,
        }],
        full: Some(vec![]),
        erase: vec![],
    };
    // The device's heads are the last pushed change: they travel as [] and come back.
    let implied = push(vec![tip], bytes.clone());
    let body = plain(&implied);
    assert!(
        hex(&body).contains(&format!(
            "{}80",
            hex(&wire::doc_bytes(&case().doc(DocKind::Journey)))
        )),
        "heads written as an empty array: {}",
        hex(&body)
    );
    assert_eq!(
        wire::decode::<SyncRequest>(&wire::encode(&implied)),
        Ok(implied.clone())
    );
    // Heads that are not where the pushed changes end (a head the server already has,
    // say) are written in full, 32 bytes more.
    let mut other = vec![tip, hash(9)];
    other.sort();
    let explicit = push(other, bytes.clone());
    // Two hashes of `58 20` and 32 bytes each; the array's header stays one byte.
    assert_eq!(plain(&explicit).len(), body.len() + 2 * 34);
    assert_eq!(
        wire::decode::<SyncRequest>(&wire::encode(&explicit)),
        Ok(explicit)
    );
    // Only the changes since the server's heads: the tips are still the device's heads.
    let tail = push(vec![tip], bytes[1..].to_vec());
    // One change fewer: its bytes and its `58 nn` header.
    assert_eq!(plain(&tail).len(), body.len() - bytes[0].len() - 2);
    assert_eq!(wire::decode::<SyncRequest>(&wire::encode(&tail)), Ok(tail));
}

#[test]
fn the_documented_example_is_what_the_code_writes() {
    // docs/protocol.md, "Example": a request with one push of one 276-byte change, the
    // device's heads being that change (so they travel as []), and its response.
    let doc = case().doc(DocKind::Journey);
    let change = change_of(276);
    let req = SyncRequest {
        known: Some([0xab; 16]),
        pushes: vec![Push {
            doc: doc.clone(),
            heads: vec![change.hash()],
            changes: vec![change.raw_bytes().to_vec()],
        }],
        full: None,
        erase: vec![],
    };
    let body = wire::encode(&SyncRequest {
        pushes: vec![],
        ..req.clone()
    });
    assert_eq!(
        body.len(),
        1 + 1 + 1 + 1 + 16 + 1 + 1 + 1,
        "an empty request: {}",
        hex(&body)
    );
    let mut expected = vec![0x01, 0x85, 0x02, 0x50];
    expected.extend([0xab; 16]);
    expected.extend([0x81, 0x83, 0x51]);
    expected.extend(wire::doc_bytes(&doc));
    expected.push(0x80);
    expected.extend([0x81, 0x59, 0x01, 0x14]);
    expected.extend(change.raw_bytes());
    expected.extend([0xf6, 0x80]);
    let plain = plain(&req);
    assert_eq!(hex(&plain), hex(&expected));
    assert_eq!(wire::decode::<SyncRequest>(&wire::encode(&req)), Ok(req));

    let res = SyncResponse {
        status: SyncStatus::Complete,
        docs: vec![Pull {
            doc: doc.clone(),
            // Empty: "the heads you sent", the common answer to one pushed edit.
            heads: vec![],
            changes: vec![],
            missing: vec![],
            authors: vec![],
        }],
        erased: vec![],
    };
    let mut expected = vec![0x01, 0x84, 0x02, 0x00, 0x81, 0x85, 0x51];
    expected.extend(wire::doc_bytes(&doc));
    expected.extend([0x80, 0x80, 0x80, 0x80, 0x80]);
    assert_eq!(hex(&wire::encode(&res)), hex(&expected));
}

/// The request in its plain (uncompressed) form, whatever `encode` would choose.
fn plain(req: &SyncRequest) -> Vec<u8> {
    let body = wire::encode(req);
    if body[0] == 0x01 {
        return body;
    }
    let mut out = vec![0x01];
    let mut inflater = flate2::read::DeflateDecoder::new(&body[1..]);
    std::io::Read::read_to_end(&mut inflater, &mut out).expect("inflates");
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Data-driven: each bad body and the error it must get.
#[test]
fn bad_bodies_get_typed_errors() {
    let good = wire::encode(&request());
    let mut wrong_version = plain(&request());
    wrong_version[2] = 0x03;
    let mut short_digest = plain(&request());
    short_digest[3] = 0x4f; // bstr(15) where 16 are due: a malformed or truncated body
    let bomb = {
        // Deflate of 80 MiB of zeros: small on the wire, too large once inflated.
        use std::io::Write;
        let mut enc = flate2::write::DeflateEncoder::new(vec![0x02], flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..80 {
            enc.write_all(&zeros).expect("deflate");
        }
        enc.finish().expect("deflate")
    };
    let unparseable_without_heads = plain(&SyncRequest {
        known: None,
        pushes: vec![Push {
            doc: case().doc(DocKind::Journey),
            heads: vec![],
            changes: vec![vec![0x85, 0x6f, 0x4a, 0x83, 1, 2, 3]],
        }],
        full: None,
        erase: vec![],
    });
    let huge_bstr = {
        // A CBOR byte string that claims 2^62 bytes.
        let mut b = vec![0x01, 0x84, 0x01, 0x5b];
        b.extend((1u64 << 62).to_be_bytes());
        b
    };
    type Case = (&'static str, Vec<u8>, fn(&WireError) -> bool);
    let cases: Vec<Case> = vec![
        ("empty", vec![], |e| matches!(e, WireError::Malformed(_))),
        ("unknown envelope", vec![0x7f, 1, 2], |e| {
            matches!(e, WireError::Malformed(_))
        }),
        ("not cbor", vec![0x01, 0xff, 0xff], |e| {
            matches!(e, WireError::Malformed(_))
        }),
        ("truncated", good[..good.len() / 2].to_vec(), |e| {
            matches!(e, WireError::Malformed(_))
        }),
        ("wrong version", wrong_version, |e| {
            matches!(e, WireError::UnsupportedVersion(3))
        }),
        ("bad digest length", short_digest, |e| {
            matches!(e, WireError::Malformed(_))
        }),
        ("broken deflate", vec![0x02, 0xde, 0xad, 0xbe, 0xef], |e| {
            matches!(e, WireError::Malformed(_))
        }),
        ("deflate bomb", bomb, |e| matches!(e, WireError::TooLarge(_))),
        ("oversized body", vec![0x01; MAX_BODY_BYTES + 1], |e| {
            matches!(e, WireError::TooLarge(_))
        }),
        ("huge byte string", huge_bstr, |e| {
            matches!(e, WireError::Malformed(_))
        }),
        (
            "no heads and a change that does not parse",
            unparseable_without_heads,
            |e| matches!(e, WireError::Malformed(m) if m.contains("heads are unknown")),
        ),
    ];
    for (what, body, expected) in cases {
        match wire::decode::<SyncRequest>(&body) {
            Err(e) => {
                assert!(expected(&e), "{what}: got {e:?}");
                let code = e.rejection().code;
                assert!(matches!(code.http_status(), 400 | 413), "{what}: {code:?}");
            }
            Ok(m) => panic!("{what}: decoded {m:?}"),
        }
    }
}

#[test]
fn the_digest_is_order_free_and_incremental() {
    let a = (case().doc(DocKind::Journey), vec![hash(1), hash(2)]);
    let b = (case().doc(DocKind::Medical), vec![hash(3)]);
    let both = wire::known_digest([(&a.0, &a.1[..]), (&b.0, &b.1[..])]);
    let swapped = wire::known_digest([(&b.0, &b.1[..]), (&a.0, &[hash(2), hash(1)][..])]);
    assert_eq!(both, swapped, "neither document order nor head order matters");
    let only_a = wire::known_digest([(&a.0, &a.1[..])]);
    assert_eq!(wire::xor(only_a, wire::doc_digest(&b.0, &b.1)), both);
    assert_ne!(
        both,
        wire::known_digest([(&a.0, &a.1[..]), (&b.0, &[hash(4)][..])])
    );
    assert_eq!(wire::known_digest(std::iter::empty()), [0; 16]);
}

#[test]
fn decode_limits_refuse_each_field_over_its_count() {
    let tight = wire::DecodeLimits {
        message_bytes: 4096,
        items: 64,
        docs: 2,
        changes: 3,
        heads: 2,
        full: 2,
        operations: 1_000,
    };
    let push = |n_changes: usize, n_heads: u8| Push {
        doc: case().doc(DocKind::Journey),
        heads: (0..n_heads).map(hash).collect(),
        changes: vec![vec![1, 2, 3]; n_changes],
    };
    let full = |n: usize| {
        Some(
            (0..n)
                .map(|_| DocHeads {
                    doc: CaseId::random().doc(DocKind::Medical),
                    heads: vec![hash(9)],
                })
                .collect::<Vec<_>>(),
        )
    };
    let request = |pushes: Vec<Push>, full: Option<Vec<DocHeads>>| SyncRequest {
        known: None,
        pushes,
        full,
        erase: vec![],
    };
    let cases: Vec<(&str, SyncRequest, Option<&str>)> = vec![
        ("within every limit", request(vec![push(3, 2)], full(2)), None),
        (
            "three pushed documents",
            request(vec![push(1, 1), push(1, 1), push(1, 1)], None),
            Some("pushed documents"),
        ),
        (
            "four changes",
            request(vec![push(2, 1), push(2, 1)], None),
            Some("pushed changes"),
        ),
        ("three heads", request(vec![push(1, 3)], None), Some("heads")),
        ("three full entries", request(vec![], full(3)), Some("full list")),
    ];
    for (what, req, refused) in cases {
        let decoded = wire::decode_with::<SyncRequest>(&wire::encode(&req), &tight);
        match refused {
            None => assert_eq!(decoded.as_ref(), Ok(&req), "{what}"),
            Some(field) => match decoded {
                Err(WireError::TooLarge(message)) => assert!(message.contains(field), "{what}: {message}"),
                other => panic!("{what}: {other:?}"),
            },
        }
    }
    // Operations are counted from the changes' bytes, all pushes together, and a
    // change holding more than one change may is refused whatever the request's limit.
    let note_change = |chars: usize| {
        use automerge::transaction::Transactable;
        let mut doc = automerge::AutoCommit::new();
        let note = doc
            .put_object(automerge::ROOT, "note", automerge::ObjType::Text)
            .expect("text");
        doc.splice_text(&note, 0, 0, &"x".repeat(chars)).expect("splice");
        doc.commit();
        doc.get_last_local_change().expect("change").raw_bytes().to_vec()
    };
    let notes = |chars: usize| Push {
        doc: case().doc(DocKind::Journey),
        heads: vec![hash(1)],
        changes: vec![note_change(chars)],
    };
    let fits = request(vec![notes(490), notes(490)], None);
    assert_eq!(
        wire::decode_with::<SyncRequest>(&wire::encode(&fits), &tight).as_ref(),
        Ok(&fits)
    );
    for (what, req, refused) in [
        (
            "1,020 operations in two pushes",
            request(vec![notes(500), notes(500)], None),
            "operations in the changes",
        ),
        (
            "one change of 30,000 operations",
            request(vec![notes(30_000)], None),
            "one change may hold",
        ),
    ] {
        let limits = wire::DecodeLimits {
            message_bytes: 1 << 20,
            items: 1_000,
            ..tight
        };
        match wire::decode_with::<SyncRequest>(&wire::encode(&req), &limits) {
            Err(WireError::TooLarge(message)) => assert!(message.contains(refused), "{what}: {message}"),
            other => panic!("{what}: {other:?}"),
        }
    }
    // The census counts CBOR items before decoding: a million empty byte strings in
    // 1 MiB are refused without a million allocations.
    let mut items = vec![0x01, 0x84, 0x01, 0xf6, 0x80, 0x9a];
    items.extend((1u32 << 20).to_be_bytes());
    items.extend(std::iter::repeat_n(0x40, 1 << 20));
    let limits = wire::DecodeLimits {
        items: 1_000,
        ..wire::DecodeLimits::DEFAULT
    };
    match wire::decode_with::<SyncRequest>(&items, &limits) {
        Err(WireError::TooLarge(message)) => assert!(message.contains("CBOR items"), "{message}"),
        other => panic!("{other:?}"),
    }
    // A body that inflates past the message limit stops inflating there.
    let mut packed = flate2::write::DeflateEncoder::new(vec![0x02], flate2::Compression::best());
    std::io::Write::write_all(&mut packed, &vec![0u8; 8192]).expect("deflate");
    let packed = packed.finish().expect("deflate");
    assert!(matches!(
        wire::decode_with::<SyncRequest>(&packed, &tight),
        Err(WireError::TooLarge(_))
    ));
    // Parts of CBOR the protocol never writes are malformed, not decoded.
    for (what, body) in [
        ("a map", vec![0x01, 0xa0]),
        ("an indefinite array", vec![0x01, 0x9f, 0x01, 0xff]),
        ("a tag", vec![0x01, 0xc2, 0x41, 0x00]),
        ("a float", vec![0x01, 0xfa, 0, 0, 0, 0]),
    ] {
        assert!(
            matches!(wire::decode::<SyncRequest>(&body), Err(WireError::Malformed(_))),
            "{what}"
        );
    }
}
