//! What the server refuses, and how: a forbidden write stores nothing, tokens are
//! checked, bodies are bounded and malformed ones answered with 400 while the server
//! keeps serving.

use std::io::Write;

use automerge::transaction::Transactable;
use automerge::{ROOT, ReadDoc};
use passage_core::sync::wire::{self, MAX_BODY_BYTES, MAX_MESSAGE_BYTES, RejectCode};
use passage_core::{DocKind, Edit};

use crate::support::{Server, data, push, put_at, raw_change, sync_request};

#[test]
fn a_forbidden_write_is_refused_whole_and_nothing_is_stored() {
    let server = Server::start();
    let case = server.case();
    let talent = server.talent(&case);
    let caseworker = server.caseworker();
    talent.sync(&server);
    caseworker.sync(&server);
    let journey = case.doc(DocKind::Journey);
    let medical = case.doc(DocKind::Medical);
    let journey_heads = talent.store.heads(&journey).unwrap();
    let medical_heads = talent.store.heads(&medical).unwrap();

    // An allowed edit and the forbidden one, in one request, with a medical change.
    let notes = raw_change(&talent, &journey, |d| {
        put_at(
            d,
            &["stages", "matching", "tasks", "confirm_match"],
            "notes",
            "fine",
        )
    });
    let permit = raw_change(&talent, &journey, |d| {
        put_at(d, &["permit"], "decision", "granted")
    });
    talent
        .store
        .apply(
            &case,
            &Edit::AddAppointment {
                appointment: data::appointment(),
            },
        )
        .unwrap();
    let appointment = talent.store.changes_since(&medical, &medical_heads).unwrap();
    let request = sync_request(
        vec![
            push(
                medical.clone(),
                talent.store.heads(&medical).unwrap(),
                appointment,
            ),
            push(journey.clone(), journey_heads.clone(), vec![notes, permit]),
        ],
        Some(vec![]),
    );
    let reply = server.sync_raw(&talent.token, &wire::encode(&request));
    assert_eq!(reply.status, 403);
    let rejection = reply.rejection();
    assert_eq!(rejection.code, RejectCode::ForbiddenWrite);
    assert_eq!(rejection.doc, Some(journey.clone()));
    assert_eq!(rejection.path.as_deref(), Some("/permit/decision"));

    // Nothing of it reached the server: the caseworker sees the old heads, both docs.
    let run = caseworker.sync(&server);
    assert!(
        run.bodies
            .iter()
            .all(|b| wire::decode::<wire::SyncResponse>(b).unwrap().docs.is_empty())
    );
    assert_eq!(caseworker.store.heads(&journey).unwrap(), journey_heads);
    assert_eq!(caseworker.store.heads(&medical).unwrap(), medical_heads);
    // One denial in the audit log, naming the path and no value.
    let audit = server.admin_ok(&["audit", "--case", case.as_str()]);
    let denied: Vec<&str> = audit.lines().filter(|l| l.contains("denied")).collect();
    assert_eq!(denied.len(), 1, "{audit}");
    assert!(
        denied[0].contains("/permit/decision") && denied[0].contains("talent"),
        "{audit}"
    );
    assert!(!audit.contains("granted"));

    // The talent's own edits still sync, on their own.
    talent.sync(&server);
    caseworker.sync(&server);
    assert_eq!(caseworker.store.medical(&case).unwrap().appointments.len(), 1);
}

#[test]
fn tokens_are_checked() {
    let server = Server::start();
    let case = server.case();
    let talent = server.talent(&case);
    talent.sync(&server);
    let body = wire::encode(&talent.store.sync_request(true, &[]).unwrap());

    let reply = server.sync_raw("not-a-token", &body);
    assert_eq!(
        (reply.status, reply.rejection().code),
        (401, RejectCode::Unauthorized)
    );
    let reply = server.post("/v1/sync", &[], &body);
    assert_eq!(
        (reply.status, reply.rejection().code),
        (401, RejectCode::Unauthorized)
    );

    // Revoked: 403, and listed so.
    let tokens = server.admin_ok(&["tokens", "--case", case.as_str()]);
    let id = tokens
        .lines()
        .find(|l| l.contains("talent") && l.contains("active"))
        .and_then(|l| l.split_whitespace().next())
        .expect("talent token listed")
        .to_owned();
    server.admin_ok(&["token", "revoke", &id]);
    let reply = server.sync_raw(&talent.token, &body);
    assert_eq!(
        (reply.status, reply.rejection().code),
        (403, RejectCode::Forbidden)
    );
    assert!(server.admin_ok(&["tokens"]).contains("revoked"));

    // An expired family share: 403.
    let family = server.family(&case);
    family.sync(&server);
    let db = rusqlite::Connection::open(server.db()).unwrap();
    db.execute("UPDATE devices SET expires_at = 1 WHERE role = 'family'", [])
        .unwrap();
    let refused = family.try_sync(&server).unwrap_err();
    assert_eq!(refused.code, RejectCode::Forbidden);
    assert!(refused.message.contains("expired"), "{}", refused.message);
}

#[test]
fn bodies_are_bounded_and_garbage_is_refused() {
    let server = Server::start();
    let case = server.case();
    let talent = server.talent(&case);

    // Over 8 MiB on the wire: 413, with a Rejection.
    let reply = server.sync_raw(&talent.token, &vec![0x01; MAX_BODY_BYTES + 1]);
    assert_eq!(reply.status, 413);
    assert_eq!(reply.rejection().code, RejectCode::TooLarge);
    // A small body that inflates past the largest message (16 MiB): 413 too.
    let mut bomb = flate2::write::DeflateEncoder::new(vec![0x02], flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..=(MAX_MESSAGE_BYTES >> 20) {
        bomb.write_all(&zeros).unwrap();
    }
    let bomb = bomb.finish().unwrap();
    assert!(bomb.len() < MAX_BODY_BYTES);
    let reply = server.sync_raw(&talent.token, &bomb);
    assert_eq!(
        (reply.status, reply.rejection().code),
        (413, RejectCode::TooLarge)
    );

    // Garbage: 400, code 1; another version: 400, code 2.
    for body in [
        vec![],
        vec![0x01],
        vec![0x01, 0xff, 0x00, 0x13],
        vec![0x07, 1, 2, 3],
        vec![0x02, 0xde, 0xad, 0xbe, 0xef],
        b"GET / HTTP/1.1".to_vec(),
    ] {
        let reply = server.sync_raw(&talent.token, &body);
        assert_eq!(
            (reply.status, reply.rejection().code),
            (400, RejectCode::Malformed),
            "{body:?}"
        );
    }
    let mut future = wire::encode(&talent.store.sync_request(false, &[]).unwrap());
    assert_eq!(
        &future[..3],
        &[0x01, 0x85, 0x02],
        "plain CBOR, array(5), version 2"
    );
    future[2] = 0x03;
    let reply = server.sync_raw(&talent.token, &future);
    assert_eq!(
        (reply.status, reply.rejection().code),
        (400, RejectCode::UnsupportedVersion)
    );
    // A change that does not decode, in a well-formed request.
    let request = sync_request(
        vec![push(
            case.doc(DocKind::Journey),
            vec![],
            vec![b"\x85\x6f\x4a\x83 not a change".to_vec()],
        )],
        Some(vec![]),
    );
    let reply = server.sync_raw(&talent.token, &wire::encode(&request));
    assert_eq!(
        (reply.status, reply.rejection().code),
        (400, RejectCode::Malformed)
    );

    // The server is still serving.
    assert_eq!(server.get("/healthz").text(), "ok");
    talent.sync(&server);
    assert!(talent.store.journey(&case).is_ok());
}

/// A write the talent may not make, concurrent with the caseworker's: refused whether
/// Automerge would let it win the conflict or keep it as the losing value.
#[test]
fn a_concurrent_forbidden_write_is_refused_whether_it_wins_or_loses() {
    let server = Server::start();
    let case = server.case();
    let talent = server.talent(&case);
    let caseworker = server.caseworker();
    talent.sync(&server);
    caseworker.sync(&server);
    let journey = case.doc(DocKind::Journey);
    let before = talent.store.heads(&journey).unwrap();
    let decision = Edit::SetPermitDecision {
        decision: passage_core::model::PermitDecision::Refused,
        decided_on: None,
    };
    caseworker.store.apply(&case, &decision).unwrap();
    caseworker.sync(&server);

    // The talent's copy never saw the decision. `extra` allowed writes first raise the
    // counter of the forbidden one above the caseworker's, so that it wins.
    for (extra, actor) in [(0, [0x00; 16]), (40, [0xff; 16])] {
        let change = raw_change(&talent, &journey, |d| {
            d.set_actor(automerge::ActorId::from(actor));
            for i in 0..extra {
                put_at(
                    d,
                    &["stages", "matching", "tasks", "confirm_match"],
                    "notes",
                    &format!("{i}"),
                );
            }
            put_at(d, &["permit"], "decision", "granted");
        });
        let request = sync_request(
            vec![push(journey.clone(), before.clone(), vec![change])],
            Some(vec![]),
        );
        let rejection = talent.exchange(&server, &request).unwrap_err();
        assert_eq!(rejection.code, RejectCode::ForbiddenWrite, "{extra} extra writes");
        assert_eq!(rejection.path.as_deref(), Some("/permit/decision"));
    }
    talent.sync(&server);
    let journey = talent.store.journey(&case).unwrap();
    assert_eq!(
        journey.permit.decision,
        passage_core::model::PermitDecision::Refused
    );
    assert!(talent.store.conflicts(&case).unwrap().is_empty());
}

/// A crafted change nesting maps thousands deep under a path the talent may write: it
/// is refused by depth before anything reads it, and the server keeps serving.
#[test]
fn a_deeply_nested_write_is_refused_and_the_server_stays_up() {
    const DEPTH: usize = 20_000;
    let server = Server::start();
    let case = server.case();
    let talent = server.talent(&case);
    talent.sync(&server);
    let journey = case.doc(DocKind::Journey);
    let change = raw_change(&talent, &journey, |d| {
        let family = match d.get(ROOT, "family").expect("get") {
            Some((automerge::Value::Object(_), id)) => id,
            other => panic!("no family map: {other:?}"),
        };
        let mut obj = d
            .put_object(&family, "m1", automerge::ObjType::Map)
            .expect("member");
        for _ in 0..DEPTH {
            obj = d.put_object(&obj, "a", automerge::ObjType::Map).expect("nest");
        }
    });
    let request = sync_request(
        vec![push(
            journey.clone(),
            talent.store.heads(&journey).expect("heads"),
            vec![change],
        )],
        Some(vec![]),
    );
    let started = std::time::Instant::now();
    let rejection = talent.exchange(&server, &request).unwrap_err();
    assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
    assert_eq!(rejection.code, RejectCode::ForbiddenWrite);
    assert_eq!(rejection.path.as_deref(), Some("/family/m1/a/a/a/a/a"));
    assert_eq!(server.get("/healthz").text(), "ok");
}
