//! The sync client against a scripted HTTP server on loopback: what it sends, how it
//! reads each kind of answer, when it retries, and what it records. The real server
//! is exercised end to end by the terminal device's tests (cli/tests/integration/
//! sync.rs); here every answer, including broken ones, is chosen by the test.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use passage_core::sync::wire::{self, Pull, RejectCode, Rejection, SyncRequest, SyncResponse, SyncStatus};
use passage_core::sync::{Backoff, ClientOptions, SyncClient, SyncServer};
use passage_core::{CaseId, DocKind, Edit, ErrorKind, Role, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{Dir, belgian_case, daughter};

/// One scripted answer.
enum Reply {
    Http {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
    /// Read the request, then close the connection without a word.
    Cut,
    /// Promise a body, send half of it, close.
    Truncated,
}

impl Reply {
    fn sync(response: &SyncResponse) -> Reply {
        Reply::Http {
            status: 200,
            headers: vec![("Content-Type", wire::CONTENT_TYPE.into())],
            body: wire::encode(response),
        }
    }

    fn rejection(status: u16, rejection: &Rejection, headers: Vec<(&'static str, String)>) -> Reply {
        let mut headers = headers;
        headers.push(("Content-Type", wire::CONTENT_TYPE.into()));
        Reply::Http {
            status,
            headers,
            body: wire::encode(rejection),
        }
    }

    fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply::Http {
            status,
            headers: vec![("Content-Type", "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }
}

/// A request as the server saw it.
struct Seen {
    line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn sync_request(&self) -> SyncRequest {
        wire::decode(&self.body).expect("the client sends a valid sync body")
    }
}

/// A server on a loopback port that answers each connection with the next reply,
/// then stops listening (later connections are refused, like a stopped server).
struct Scripted {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Scripted {
    async fn start(replies: Vec<Reply>) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("bound"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        tokio::spawn(async move {
            for reply in replies {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let request = read_request(&mut socket).await;
                log.lock().expect("log").push(request);
                answer(&mut socket, reply).await;
            }
        });
        Scripted { url, seen }
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Vec<Seen>> {
        self.seen.lock().expect("log")
    }
}

async fn read_request(socket: &mut TcpStream) -> Seen {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        let n = socket.read(&mut buf).await.expect("request readable");
        assert!(n > 0, "the client closed before sending a request");
        bytes.extend_from_slice(&buf[..n]);
        if let Some(at) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8(bytes[..head_end].to_vec()).expect("ASCII head");
    let mut lines = head.split("\r\n");
    let line = lines.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().expect("a length"));
    let mut body = bytes[head_end..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut buf).await.expect("body readable");
        assert!(n > 0, "the client closed mid-body");
        body.extend_from_slice(&buf[..n]);
    }
    Seen { line, headers, body }
}

async fn answer(socket: &mut TcpStream, reply: Reply) {
    let (status, headers, body, cut_at) = match reply {
        Reply::Cut => return,
        Reply::Http {
            status,
            headers,
            body,
        } => (status, headers, body, None),
        Reply::Truncated => {
            let body = wire::encode(&SyncResponse {
                status: SyncStatus::Complete,
                docs: vec![],
                erased: vec![],
            });
            let half = body.len() / 2;
            let headers = vec![("Content-Type", wire::CONTENT_TYPE.into())];
            (200, headers, body, Some(half))
        }
    };
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(&body[..cut_at.unwrap_or(body.len())]);
    let _ = socket.write_all(&out).await;
    let _ = socket.shutdown().await;
}

/// Quick retries, so that tests of the retry path take milliseconds.
fn fast() -> ClientOptions {
    ClientOptions {
        backoff: Backoff {
            initial: Duration::from_millis(5),
            max: Duration::from_millis(20),
        },
        request_timeout: Duration::from_secs(5),
        ..ClientOptions::default()
    }
}

fn client() -> SyncClient {
    SyncClient::new(fast()).expect("client builds")
}

fn enrolled(store: &Store, url: &str, role: Role) {
    store
        .set_sync_server(&SyncServer {
            url: url.into(),
            token: "device-token".into(),
            role: Some(role),
            expires_at: None,
            person: None,
        })
        .expect("server recorded");
}

/// A complete answer that acknowledges every document of the device as it stands.
fn in_step(store: &Store, cases: &[&CaseId]) -> SyncResponse {
    let docs = cases
        .iter()
        .flat_map(|c| [c.doc(DocKind::Journey), c.doc(DocKind::Medical)])
        .map(|doc| Pull {
            heads: store.heads(&doc).expect("heads"),
            doc,
            changes: vec![],
            missing: vec![],
            authors: vec![],
        })
        .collect();
    SyncResponse {
        status: SyncStatus::Complete,
        docs,
        erased: vec![],
    }
}

/// What a server holding `source`'s cases sends a device that has none of them.
fn everything(source: &Store, cases: &[&CaseId]) -> SyncResponse {
    let docs = cases
        .iter()
        .flat_map(|c| [c.doc(DocKind::Journey), c.doc(DocKind::Medical)])
        .map(|doc| Pull {
            heads: source.heads(&doc).expect("heads"),
            changes: source.changes_since(&doc, &[]).expect("changes"),
            doc,
            missing: vec![],
            authors: vec![],
        })
        .collect();
    SyncResponse {
        status: SyncStatus::Complete,
        docs,
        erased: vec![],
    }
}

#[tokio::test]
async fn enrolment_records_the_server_the_token_and_the_role() {
    let dir = Dir::new();
    let store = Arc::new(dir.open("talent.db", Role::Talent));
    let case = CaseId::random();
    // The first answer is lost (a 503 stands for it); the retry must prove it comes
    // from the same device.
    let server = Scripted::start(vec![
        Reply::json(503, serde_json::json!({"error": "try again"})),
        Reply::json(
            200,
            serde_json::json!({"token": "t-123", "role": "talent", "cases": [case.to_string()], "expires_at": null}),
        ),
    ])
    .await;

    let enrolment = client()
        .enrol(
            Arc::clone(&store),
            &format!("{}/", server.url),
            " K7QF-M2XD ",
            "Rana's phone",
        )
        .await
        .expect("enrolled");

    assert_eq!(enrolment.role, Role::Talent);
    assert_eq!(enrolment.cases, vec![case]);
    assert_eq!(enrolment.server, server.url);
    let recorded = store.sync_server().expect("readable").expect("recorded");
    assert_eq!(
        (recorded.url.as_str(), recorded.token.as_str()),
        (server.url.as_str(), "t-123")
    );
    assert_eq!(recorded.role, Some(Role::Talent));
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen[0].line.starts_with("POST /v1/enrol "), "{}", seen[0].line);
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    let sent: Vec<serde_json::Value> = seen
        .iter()
        .map(|s| serde_json::from_slice(&s.body).expect("JSON"))
        .collect();
    let proof = sent[0]["proof"].as_str().expect("a proof").to_owned();
    assert_eq!(proof.len(), 64, "{proof}");
    assert_eq!(
        sent[0],
        serde_json::json!({"code": "K7QF-M2XD", "device": "Rana's phone", "proof": proof})
    );
    assert_eq!(sent[1], sent[0], "the retry sends the same proof");
    // Enrolled, the device forgets the proof: a later code gets a new one.
    assert_ne!(store.enrolment_proof("K7QF-M2XD").expect("a proof"), proof);
}

#[test]
fn an_enrolment_proof_survives_a_restart_until_enrolment_succeeds() {
    let dir = Dir::new();
    let first = dir.open("talent.db", Role::Talent);
    let proof = first.enrolment_proof("k7qf-m2xd 9tra").expect("a proof");
    drop(first);
    let again = dir.open("talent.db", Role::Talent);
    // The same code as typed differently: the same proof; another code: another.
    assert_eq!(again.enrolment_proof("K7QF-M2XD-9TRA").expect("a proof"), proof);
    assert_ne!(again.enrolment_proof("K7QF-M2XD-9TRB").expect("a proof"), proof);
}

#[tokio::test]
async fn a_refused_code_asks_for_a_new_one_and_records_nothing() {
    let dir = Dir::new();
    let store = Arc::new(dir.open("talent.db", Role::Talent));
    let server = Scripted::start(vec![Reply::json(
        401,
        serde_json::json!({"error": "code already used"}),
    )])
    .await;

    let e = client()
        .enrol(Arc::clone(&store), &server.url, "K7QF-M2XD", "phone")
        .await
        .expect_err("refused");

    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("code already used"), "{e}");
    assert!(store.sync_server().expect("readable").is_none());
}

#[tokio::test]
async fn a_caseworker_device_receives_every_case_in_one_round() {
    let dir = Dir::new();
    let (office, first) = belgian_case(&dir, "office.db");
    let second = office
        .create_journey(&crate::support::new_journey("ie"))
        .expect("second case");
    let device = Arc::new(dir.open("laptop.db", Role::Caseworker));
    let server = Scripted::start(vec![Reply::sync(&everything(&office, &[&first, &second]))]).await;
    enrolled(&device, &server.url, Role::Caseworker);

    let report = client().sync(Arc::clone(&device)).await.expect("synced");

    assert_eq!(
        (report.rounds, report.retries, report.documents_pushed),
        (1, 0, 0)
    );
    assert!(report.complete && report.changes_received >= 4, "{report:?}");
    assert!(
        report.bytes_up > 0 && report.bytes_down > report.bytes_up,
        "{report:?}"
    );
    let mut cases: Vec<CaseId> = device
        .cases()
        .expect("cases")
        .into_iter()
        .map(|c| c.case)
        .collect();
    let mut expected = vec![first.clone(), second.clone()];
    cases.sort_by_key(ToString::to_string);
    expected.sort_by_key(ToString::to_string);
    assert_eq!(cases, expected);
    assert_eq!(device.journey(&second).expect("readable").destination, "IE");

    let seen = server.seen();
    let request = seen[0].sync_request();
    // A first sync: no digest, and the (empty) list of server heads.
    assert_eq!((request.known, request.full), (None, Some(vec![])));
    assert!(seen[0].line.starts_with("POST /v1/sync "));
    assert_eq!(seen[0].header("authorization"), Some("Bearer device-token"));
    assert_eq!(seen[0].header("content-type"), Some(wire::CONTENT_TYPE));
    let state = device.sync_state().expect("state");
    assert!(
        state.last_success.is_some() && state.last_error.is_none(),
        "{state:?}"
    );
    assert_eq!((state.pending_documents, state.next_attempt_after), (0, None));
}

#[tokio::test]
async fn need_full_and_missing_dependencies_take_another_round() {
    let dir = Dir::new();
    let (device, case) = belgian_case(&dir, "laptop.db");
    let device = Arc::new(device);
    let journey = case.doc(DocKind::Journey);
    device
        .apply(&case, &Edit::AddFamilyMember { member: daughter() })
        .expect("edit");
    let some_hash = device.heads(&journey).expect("heads")[0];
    let first = SyncResponse {
        status: SyncStatus::NeedFull,
        docs: vec![Pull {
            doc: journey.clone(),
            heads: vec![],
            changes: vec![],
            missing: vec![some_hash],
            authors: vec![],
        }],
        erased: vec![],
    };
    let second = in_step(&device, &[&case]);
    let server = Scripted::start(vec![Reply::sync(&first), Reply::sync(&second)]).await;
    enrolled(&device, &server.url, Role::Caseworker);

    let report = client().sync(Arc::clone(&device)).await.expect("synced");

    assert_eq!((report.rounds, report.documents_pushed), (2, 2));
    assert!(report.complete);
    let seen = server.seen();
    let again = seen[1].sync_request();
    assert!(again.full.is_some(), "the server asked for the full list");
    let whole = device.changes_since(&journey, &[]).expect("changes");
    let repushed = again
        .pushes
        .iter()
        .find(|p| p.doc == journey)
        .expect("journey pushed again");
    assert_eq!(
        repushed.changes.len(),
        whole.len(),
        "the whole history is pushed again"
    );
    assert_eq!(device.sync_state().expect("state").pending_documents, 0);
}

#[tokio::test]
async fn cut_connections_and_an_unavailable_server_are_retried() {
    let dir = Dir::new();
    let (device, case) = belgian_case(&dir, "laptop.db");
    let device = Arc::new(device);
    let unavailable = Rejection {
        code: RejectCode::Unavailable,
        message: "stopping".into(),
        doc: None,
        path: None,
    };
    let server = Scripted::start(vec![
        Reply::Cut,
        Reply::rejection(503, &unavailable, vec![("Retry-After", "0".into())]),
        Reply::Truncated,
        Reply::sync(&in_step(&device, &[&case])),
    ])
    .await;
    enrolled(&device, &server.url, Role::Caseworker);

    let report = client()
        .sync(Arc::clone(&device))
        .await
        .expect("synced at the fourth try");

    assert_eq!((report.rounds, report.retries), (1, 3));
    {
        let seen = server.seen();
        assert_eq!(seen.len(), 4);
        // The same request each time: replaying it is harmless by design.
        assert!(seen.iter().all(|s| s.body == seen[0].body));
    }
    let state = device.sync_state().expect("state");
    assert!(
        state.last_error.is_none() && state.pending_documents == 0,
        "{state:?}"
    );
}

/// A port nothing listens on: a stopped server.
async fn stopped_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    drop(listener);
    url
}

#[tokio::test]
async fn a_server_that_stays_away_leaves_the_error_a_next_attempt_and_every_change() {
    let dir = Dir::new();
    let (device, case) = belgian_case(&dir, "laptop.db");
    let device = Arc::new(device);
    enrolled(&device, &stopped_server().await, Role::Caseworker);
    let client = client();

    let before = Utc::now();
    let e = client
        .sync(Arc::clone(&device))
        .await
        .expect_err("nobody answers");

    assert_eq!(e.kind(), ErrorKind::RetryLater, "{e}");
    let wait = e.retry_after().expect("a wait is announced");
    let state = device.sync_state().expect("state");
    let error = state.last_error.clone().expect("error recorded");
    assert!(error.contains("could not be reached"), "{error}");
    assert!(state.last_success.is_none());
    let next = state.next_attempt_after.expect("next attempt recorded");
    assert!(
        next >= before + chrono::Duration::from_std(wait / 2).expect("small"),
        "{next} {wait:?}"
    );
    assert_eq!((state.pending_documents, state.consecutive_failures), (2, 1));

    // Failing again waits longer (a higher ceiling), and still keeps everything.
    let e = client.sync(Arc::clone(&device)).await.expect_err("still nobody");
    assert!(e.retry_after().expect("wait") >= fast().backoff.ceiling(6) / 2);
    assert_eq!(device.sync_state().expect("state").consecutive_failures, 2);

    // The server is back: the same changes go up, and the record is clean again.
    let server = Scripted::start(vec![Reply::sync(&in_step(&device, &[&case]))]).await;
    enrolled(&device, &server.url, Role::Caseworker);
    let report = client.sync(Arc::clone(&device)).await.expect("synced");
    assert_eq!(report.documents_pushed, 2);
    let pushed = server.seen()[0].sync_request();
    assert_eq!(
        pushed.pushes.len(),
        2,
        "journey and medical, never acknowledged before"
    );
    let state = device.sync_state().expect("state");
    assert!(
        state.last_error.is_none() && state.last_success.is_some(),
        "{state:?}"
    );
    assert_eq!((state.consecutive_failures, state.pending_documents), (0, 0));
}

#[tokio::test]
async fn a_retry_after_longer_than_the_backoff_is_left_to_the_next_sync() {
    let dir = Dir::new();
    let (device, _case) = belgian_case(&dir, "laptop.db");
    let device = Arc::new(device);
    let busy = Rejection {
        code: RejectCode::Unavailable,
        message: "maintenance".into(),
        doc: None,
        path: None,
    };
    let server = Scripted::start(vec![Reply::rejection(
        503,
        &busy,
        vec![("Retry-After", "3600".into())],
    )])
    .await;
    enrolled(&device, &server.url, Role::Caseworker);

    let before = Utc::now();
    let e = client().sync(Arc::clone(&device)).await.expect_err("unavailable");

    assert_eq!(server.seen().len(), 1, "no retry inside this sync");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3600)));
    let next = device
        .sync_state()
        .expect("state")
        .next_attempt_after
        .expect("recorded");
    assert!(next >= before + chrono::Duration::hours(1), "{next}");
}

#[tokio::test]
async fn a_refused_document_is_held_and_the_others_sync() {
    let dir = Dir::new();
    let (device, case) = belgian_case(&dir, "talent.db");
    let device = Arc::new(device);
    let journey = case.doc(DocKind::Journey);
    let medical = case.doc(DocKind::Medical);
    let write = Rejection {
        code: RejectCode::ForbiddenWrite,
        message: "a talent may not set the permit decision".into(),
        doc: Some(journey.clone()),
        path: Some("/permit/decision".into()),
    };
    let token = Rejection {
        code: RejectCode::Unauthorized,
        message: "unknown token".into(),
        doc: None,
        path: None,
    };
    let medical_taken = SyncResponse {
        status: SyncStatus::Complete,
        docs: vec![Pull {
            doc: medical.clone(),
            heads: vec![],
            changes: vec![],
            missing: vec![],
            authors: vec![],
        }],
        erased: vec![],
    };
    let nothing_new = SyncResponse {
        status: SyncStatus::Complete,
        docs: vec![],
        erased: vec![],
    };
    let server = Scripted::start(vec![
        // First sync: the journey's push is refused; the medical record goes alone.
        Reply::rejection(403, &write, vec![]),
        Reply::sync(&medical_taken),
        // Second sync: nothing new, then the held journey is offered again, alone,
        // and refused again.
        Reply::sync(&nothing_new),
        Reply::rejection(403, &write, vec![]),
        // Third: the token is refused; that stops the sync.
        Reply::rejection(401, &token, vec![]),
    ])
    .await;
    enrolled(&device, &server.url, Role::Talent);
    let client = client();

    let report = client
        .sync(Arc::clone(&device))
        .await
        .expect("the medical record synced");
    assert_eq!(report.held, vec![journey.clone()]);
    let state = device.sync_state().expect("state");
    assert_eq!(state.pending_documents, 0, "held documents are not pending");
    assert_eq!(state.last_error, None);
    assert_eq!(state.held.len(), 1);
    assert!(
        state.held[0].reason.contains("/permit/decision"),
        "{:?}",
        state.held
    );
    let second: SyncRequest = wire::decode(&server.seen()[1].body).expect("a sync body");
    assert_eq!(
        second.pushes.iter().map(|p| p.doc.clone()).collect::<Vec<_>>(),
        vec![medical.clone()]
    );

    let report = client.sync(Arc::clone(&device)).await.expect("nothing new");
    assert_eq!(
        report.held,
        vec![journey.clone()],
        "offered again and refused again"
    );
    let offered: SyncRequest = wire::decode(&server.seen()[3].body).expect("a sync body");
    assert_eq!(
        offered.pushes.iter().map(|p| p.doc.clone()).collect::<Vec<_>>(),
        vec![journey.clone()]
    );

    let e = client.sync(Arc::clone(&device)).await.expect_err("token refused");
    assert_eq!(e.kind(), ErrorKind::EnrolAgain, "{e}");
    assert_eq!(e.retry_after(), None);
    assert_eq!(server.seen().len(), 5, "one request each, no retries");
    assert_eq!(
        device.sync_state().expect("state").held.len(),
        1,
        "the change stays on the device"
    );
}

#[tokio::test]
async fn answers_that_are_not_sync_bodies_are_told_apart() {
    let dir = Dir::new();
    let (device, _case) = belgian_case(&dir, "laptop.db");
    let device = Arc::new(device);
    let server = Scripted::start(vec![
        // A hotel Wi-Fi login page: the server was not reached.
        Reply::Http {
            status: 200,
            headers: vec![("Content-Type", "text/html; charset=utf-8".into())],
            body: b"<html>Log in to the Wi-Fi</html>".to_vec(),
        },
        // A Passage content type with garbage in it: a broken server.
        Reply::Http {
            status: 200,
            headers: vec![("Content-Type", wire::CONTENT_TYPE.into())],
            body: vec![0x01, 0xff, 0x00],
        },
    ])
    .await;
    enrolled(&device, &server.url, Role::Caseworker);
    let client = SyncClient::new(ClientOptions { retries: 0, ..fast() }).expect("client");

    let e = client.sync(Arc::clone(&device)).await.expect_err("login page");
    assert_eq!(e.kind(), ErrorKind::RetryLater, "{e}");
    let e = client.sync(Arc::clone(&device)).await.expect_err("garbage");
    assert_eq!(e.kind(), ErrorKind::CorruptData, "{e}");
    assert_eq!(device.sync_state().expect("state").pending_documents, 2);
}

#[tokio::test]
async fn a_device_that_was_never_enrolled_is_told_to_enrol() {
    let dir = Dir::new();
    let (device, _case) = belgian_case(&dir, "laptop.db");
    let device = Arc::new(device);

    let e = client()
        .sync(Arc::clone(&device))
        .await
        .expect_err("not enrolled");

    assert_eq!(e.kind(), ErrorKind::EnrolAgain);
    let state = device.sync_state().expect("state");
    assert!(
        state.last_error.is_none() && state.next_attempt_after.is_none(),
        "{state:?}"
    );
}

#[tokio::test]
async fn enrolling_with_another_server_forgets_what_the_previous_one_had() {
    let dir = Dir::new();
    let (device, case) = belgian_case(&dir, "laptop.db");
    let device = Arc::new(device);
    let first = Scripted::start(vec![Reply::sync(&in_step(&device, &[&case]))]).await;
    enrolled(&device, &first.url, Role::Caseworker);
    client().sync(Arc::clone(&device)).await.expect("synced");
    assert!(device.sync_request(false, &[]).expect("request").known.is_some());

    // A new token from the same server keeps the heads it sent.
    enrolled(&device, &first.url, Role::Caseworker);
    let again = device.sync_request(false, &[]).expect("request");
    assert!(again.known.is_some() && again.pushes.is_empty());

    // Another server has none of it: everything is pushed as on a first sync.
    enrolled(&device, "http://127.0.0.1:9", Role::Caseworker);
    let fresh = device.sync_request(false, &[]).expect("request");
    assert_eq!((fresh.known, fresh.full), (None, Some(vec![])));
    assert_eq!(fresh.pushes.len(), 2);
    let state = device.sync_state().expect("state");
    assert!(
        state.last_success.is_none() && state.last_error.is_none(),
        "{state:?}"
    );
}
