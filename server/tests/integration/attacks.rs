//! The attacks of a malicious client, against the real server process: each finding of
//! the security review reproduced, and shown refused, bounded or fixed.
//!
//! Memory is read from the server's `/proc/<pid>/status` (VmRSS) while an attack runs,
//! every few milliseconds, and must stay within [`MEMORY_BOUND_KIB`] of what it was
//! idle; meanwhile a bystander (another case's talent) edits and syncs, and must be
//! answered within [`BYSTANDER_BOUND`].

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use passage_core::model::TaskStatus;
use passage_core::sync::wire::{self, DocHeads, RejectCode, SyncRequest};
use passage_core::{CaseId, DocKind, Edit};

use crate::support::{Device, Reply, Server, push, request, sync_request};

/// How far the server's resident memory may rise during an attack.
const MEMORY_BOUND_KIB: u64 = 64 << 10;
/// How long a bystander's one-edit sync may take while an attack runs (a debug build
/// of the server on a loaded 2-core machine; it takes tens of milliseconds idle).
const BYSTANDER_BOUND: Duration = Duration::from_secs(5);

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The server's peak resident memory while `attack` runs, next to what it was before.
struct MemoryWatch {
    idle: u64,
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MemoryWatch {
    fn start(pid: u32) -> MemoryWatch {
        let idle = rss_kib(pid);
        assert!(
            idle > 0,
            "the server's resident memory cannot be read from /proc/{pid}/status"
        );
        let peak = Arc::new(AtomicU64::new(idle));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (Arc::clone(&peak), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                p.fetch_max(rss_kib(pid), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        MemoryWatch {
            idle,
            peak,
            stop,
            thread: Some(thread),
        }
    }

    /// Stops watching; checks the rise against the bound and returns it (KiB).
    fn finish(mut self, what: &str) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the memory watch");
        }
        let rise = self.peak.load(Ordering::SeqCst).saturating_sub(self.idle);
        eprintln!("{what}: idle {} KiB, peak rise {rise} KiB", self.idle);
        assert!(
            rise <= MEMORY_BOUND_KIB,
            "{what}: the server's memory rose by {rise} KiB (bound {MEMORY_BOUND_KIB} KiB)"
        );
        rise
    }
}

/// A second case whose talent edits and syncs while an attack runs.
struct Bystander {
    case: CaseId,
    device: Device,
}

impl Bystander {
    fn new(server: &Server) -> Bystander {
        let case = server.case();
        let device = server.talent(&case);
        device.sync(server);
        Bystander { case, device }
    }

    /// One edit and its sync; fails the test if it takes longer than the bound.
    fn edit_and_sync(&self, server: &Server, status: TaskStatus) -> Duration {
        let started = Instant::now();
        self.device
            .store
            .apply(
                &self.case,
                &Edit::SetTaskStatus {
                    task: "complete_talent_profile".into(),
                    status,
                },
            )
            .expect("the bystander's edit");
        self.device.sync(server);
        let took = started.elapsed();
        assert!(
            took <= BYSTANDER_BOUND,
            "the bystander's sync took {took:?} during the attack"
        );
        took
    }
}

/// A compressed sync request whose one push lists `n` empty changes: a few kilobytes
/// that inflate to `n` bytes of CBOR, each byte one item for a naive decoder to
/// allocate.
fn deflate_bomb(case: &CaseId, n: u32) -> Vec<u8> {
    let mut bomb = flate2::write::DeflateEncoder::new(vec![0x02], flate2::Compression::best());
    let mut head = vec![0x84, 0x01, 0xf6, 0x81, 0x83, 0x51];
    head.extend(wire::doc_bytes(&case.doc(DocKind::Journey)));
    head.extend([0x80, 0x9a]);
    head.extend(n.to_be_bytes());
    bomb.write_all(&head).expect("deflate");
    let empties = vec![0x40u8; 1 << 20];
    let mut left = n as usize;
    while left > 0 {
        let now = left.min(empties.len());
        bomb.write_all(&empties[..now]).expect("deflate");
        left -= now;
    }
    bomb.write_all(&[0xf6]).expect("deflate");
    bomb.finish().expect("deflate")
}

/// Finding 1: a small compressed body that would make a naive decoder allocate
/// gigabytes, sent eight at a time with each role's token.
#[test]
fn compression_bombs_are_refused_in_bounded_memory() {
    let server = Server::start();
    let bystander = Bystander::new(&server);
    let case = server.case();
    let talent = server.talent(&case);
    let caseworker = server.caseworker();
    let family = server.family(&case);
    // 16 MiB of one-byte items, deflated.
    let bomb = deflate_bomb(&case, 16 << 20);
    assert!(bomb.len() < 20 << 10, "the bomb is {} bytes", bomb.len());
    // An uncompressed message of a million items: no inflating, only counting.
    let mut items = vec![0x01, 0x84, 0x01, 0xf6, 0x80, 0x9a];
    items.extend((1u32 << 20).to_be_bytes());
    items.extend(std::iter::repeat_n(0x80, 1 << 20));

    let watch = MemoryWatch::start(server.pid());
    for (token, body) in [
        (&family.token, &bomb),
        (&talent.token, &bomb),
        (&caseworker.token, &bomb),
        (&caseworker.token, &items),
    ] {
        let replies: Vec<Reply> = std::thread::scope(|s| {
            let sent: Vec<_> = (0..8).map(|_| s.spawn(|| server.sync_raw(token, body))).collect();
            bystander.edit_and_sync(&server, TaskStatus::Done);
            bystander.edit_and_sync(&server, TaskStatus::Todo);
            sent.into_iter().map(|t| t.join().expect("a sender")).collect()
        });
        for reply in &replies {
            // Each is refused as too large; those over the device's two syncs at once
            // are turned away before being read.
            let code = reply.rejection().code;
            assert!(
                matches!(
                    (reply.status, code),
                    (413, RejectCode::TooLarge) | (429, RejectCode::RateLimited)
                ),
                "{} {code:?}: {}",
                reply.status,
                reply.rejection().message
            );
        }
        assert!(replies.iter().any(|r| r.status == 413));
    }
    watch.finish("compression bombs");
    // The server still serves everyone.
    talent.sync(&server);
}

/// An Automerge change chunk of `n` operations by `actor` that each set the root's
/// key "k" to null, built by hand: five columns of one run each, about eighty bytes whatever `n`.
fn declared_operations(n: u64, actor: u8) -> Vec<u8> {
    declared_sets(n, actor, b"k")
}

/// Like [`declared_operations`], with the key `key` for every operation (Automerge
/// copies the key for each).
fn declared_sets(n: u64, actor: u8, key: &[u8]) -> Vec<u8> {
    let uleb = |out: &mut Vec<u8>, v: u64| drop(leb128::write::unsigned(out, v));
    let mut key_value = Vec::new();
    uleb(&mut key_value, key.len() as u64);
    key_value.extend(key);
    let run = |value: &[u8]| {
        let mut out = Vec::new();
        drop(leb128::write::signed(&mut out, i64::try_from(n).expect("n fits")));
        out.extend(value);
        out
    };
    let mut insert = Vec::new();
    uleb(&mut insert, n);
    let columns = [
        (1 << 4 | 5, run(&key_value)),
        (3 << 4 | 4, insert),
        (4 << 4 | 2, run(&[1])),
        (5 << 4 | 6, run(&[0])),
        (7 << 4, run(&[0])),
    ];
    let mut body = vec![0, 16];
    body.extend([actor; 16]);
    body.extend([1, 1, 0, 0, 0]);
    uleb(&mut body, columns.len() as u64);
    for (spec, data) in &columns {
        uleb(&mut body, *spec);
        uleb(&mut body, data.len() as u64);
    }
    for (_, data) in &columns {
        body.extend(data);
    }
    // The checksum: the first four bytes of the SHA-256 of type, length and body.
    let mut hashed = vec![1];
    uleb(&mut hashed, body.len() as u64);
    hashed.extend(body);
    let digest = <sha2::Sha256 as sha2::Digest>::digest(&hashed);
    let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83];
    chunk.extend(&digest[..4]);
    chunk.extend(hashed);
    chunk
}

/// A compressed change chunk (type 2) whose deflated body is `mib` MiB of zeros: what
/// Automerge would inflate in full before parsing it.
fn compressed_change(mib: usize) -> Vec<u8> {
    let mut deflated = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..mib {
        deflated.write_all(&zeros).expect("deflate");
    }
    let deflated = deflated.finish().expect("deflate");
    let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 2];
    drop(leb128::write::unsigned(&mut chunk, deflated.len() as u64));
    chunk.extend(deflated);
    chunk
}

/// A request's body without the envelope's compression, as a client may send it.
fn plain(request: &SyncRequest) -> Vec<u8> {
    let body = wire::encode(request);
    match body.split_first() {
        Some((0x02, deflated)) => {
            let mut out = vec![0x01];
            flate2::read::DeflateDecoder::new(deflated)
                .read_to_end(&mut out)
                .expect("inflate");
            out
        }
        _ => body,
    }
}

/// Finding 1, inside the changes: a change whose runs declare a trillion operations
/// (Automerge would walk them all), and a compressed change that would inflate to
/// 256 MiB. Each is refused from its bytes, before Automerge reads it.
#[test]
fn changes_that_declare_more_than_they_hold_are_refused_before_automerge_reads_them() {
    let server = Server::start();
    let bystander = Bystander::new(&server);
    let case = server.case();
    let talent = server.talent(&case);
    // The hand-built change is one Automerge accepts: with a thousand operations it
    // reaches the server's checks of what a talent may write.
    let journey_push = |changes: Vec<Vec<u8>>| {
        sync_request(
            vec![push(
                case.doc(DocKind::Journey),
                vec![automerge::ChangeHash([9; 32])],
                changes,
            )],
            None,
        )
    };
    let small = server.sync_raw(
        &talent.token,
        &wire::encode(&journey_push(vec![declared_operations(1_000, 1)])),
    );
    assert_ne!(
        small.rejection().code,
        RejectCode::TooLarge,
        "{}",
        small.rejection().message
    );
    let watch = MemoryWatch::start(server.pid());
    // The most one request may declare is parsed, applied and checked (then refused:
    // a talent may not write there) while another case's sync waits its turn.
    let started = Instant::now();
    let body = plain(&journey_push(vec![
        declared_operations(25_000, 2),
        declared_operations(25_000, 3),
    ]));
    let most = std::thread::scope(|s| {
        let sent = s.spawn(|| server.sync_raw(&talent.token, &body));
        let waited = bystander.edit_and_sync(&server, TaskStatus::Done);
        (sent.join().expect("the sender"), waited)
    });
    eprintln!(
        "50,000 operations: {} {:?} after {:?}; the bystander's sync took {:?}",
        most.0.status,
        most.0.rejection().code,
        started.elapsed(),
        most.1
    );
    assert_eq!(
        most.0.rejection().code,
        RejectCode::ForbiddenWrite,
        "{}",
        most.0.rejection().message
    );

    let bomb = compressed_change(256);
    assert!(
        bomb.len() < 1 << 20,
        "the compressed change is {} bytes",
        bomb.len()
    );
    for (what, changes, expected) in [
        (
            "a trillion operations",
            vec![declared_operations(1 << 40, 4)],
            (413, RejectCode::TooLarge),
        ),
        (
            "a hundred changes of 20,000 operations",
            (5..105).map(|a| declared_operations(20_000, a)).collect(),
            (413, RejectCode::TooLarge),
        ),
        ("a compressed change", vec![bomb], (400, RejectCode::Malformed)),
        (
            "20,000 operations on one 64 KiB key (1.3 GB of copies)",
            vec![declared_sets(20_000, 200, &[b'k'; 64 << 10])],
            (413, RejectCode::TooLarge),
        ),
    ] {
        let started = Instant::now();
        let reply = std::thread::scope(|s| {
            let sent = s.spawn(|| server.sync_raw(&talent.token, &plain(&journey_push(changes))));
            bystander.edit_and_sync(&server, TaskStatus::Done);
            bystander.edit_and_sync(&server, TaskStatus::Todo);
            sent.join().expect("the sender")
        });
        let rejection = reply.rejection();
        assert_eq!(
            (reply.status, rejection.code),
            expected,
            "{what}: {}",
            rejection.message
        );
        assert!(
            started.elapsed() < BYSTANDER_BOUND,
            "{what}: answered after {:?}",
            started.elapsed()
        );
    }
    watch.finish("changes that declare more than they hold");
    talent.sync(&server);
}

/// Finding 2: connections that announce a large body and stall, with no token, or
/// that never finish their head.
#[test]
fn stalled_uploads_are_answered_or_closed_in_bounded_memory() {
    let server = Server::start_with(&["--header-timeout", "2", "--body-timeout", "2"]);
    let bystander = Bystander::new(&server);
    let watch = MemoryWatch::start(server.pid());
    let started = Instant::now();
    let mut stalled: Vec<TcpStream> = (0..100)
        .map(|i| {
            let mut socket = TcpStream::connect(&server.addr).expect("connect");
            socket
                .set_read_timeout(Some(Duration::from_secs(15)))
                .expect("timeout");
            let head = if i % 2 == 0 {
                // No token, 8 MiB announced, 1 KiB sent.
                format!(
                    "POST /v1/sync HTTP/1.1\r\nHost: {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n",
                    server.addr,
                    wire::CONTENT_TYPE,
                    8 << 20
                )
            } else {
                // A head that never ends.
                format!("POST /v1/sync HTTP/1.1\r\nHost: {}\r\n", server.addr)
            };
            socket.write_all(head.as_bytes()).expect("head");
            if i % 2 == 0 {
                socket.write_all(&[0x01; 1024]).expect("some body");
            }
            socket
        })
        .collect();
    bystander.edit_and_sync(&server, TaskStatus::Done);
    // Every connection is answered (401, for those with a whole head) or closed, long
    // before the 15 s the finding saw them all still open.
    for (i, socket) in stalled.iter_mut().enumerate() {
        let mut answer = Vec::new();
        let _ = socket.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer);
        if i % 2 == 0 {
            assert!(text.starts_with("HTTP/1.1 401"), "connection {i}: {text:?}");
        } else {
            assert!(!text.starts_with("HTTP/1.1 2"), "connection {i}: {text:?}");
        }
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "all answered or closed after {took:?}"
    );
    bystander.edit_and_sync(&server, TaskStatus::Todo);
    watch.finish("stalled uploads");

    // With a token: two uploads of one device stall and get 408 after the body
    // timeout; a third at the same time is turned away at once.
    let case = server.case();
    let talent = server.talent(&case);
    let stall = |token: &str| {
        let mut socket = TcpStream::connect(&server.addr).expect("connect");
        let head = format!(
            "POST /v1/sync HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: {}\r\nContent-Length: 4096\r\n\r\n",
            server.addr,
            wire::CONTENT_TYPE
        );
        socket.write_all(head.as_bytes()).expect("head");
        socket.write_all(&[0x01; 100]).expect("some body");
        socket
    };
    let mut two = [stall(&talent.token), stall(&talent.token)];
    std::thread::sleep(Duration::from_millis(300));
    let third = server.sync_raw(&talent.token, &wire::encode(&empty_request()));
    assert_eq!(
        (third.status, third.rejection().code),
        (429, RejectCode::RateLimited)
    );
    for socket in &mut two {
        let mut answer = Vec::new();
        let _ = socket.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 408"), "{text:?}");
    }
    // And once they are gone, the device syncs.
    talent.sync(&server);
}

/// Finding 2, with tokens: enrolled devices that start uploads without a declared
/// length and stall. Each holds the memory of what it sent, not of the most a body may
/// be, so the budget (48 MiB here: two maximal bodies and their messages) is not
/// taken from the devices that do sync.
#[test]
fn stalled_uploads_of_enrolled_devices_hold_only_what_they_sent() {
    let server = Server::start_with(&["--request-memory", "50331648", "--body-timeout", "3"]);
    let bystander = Bystander::new(&server);
    let devices: Vec<_> = (0..3).map(|_| server.talent(&server.case())).collect();
    let mut stalled: Vec<TcpStream> = devices
        .iter()
        .flat_map(|device| [device, device])
        .map(|device| {
            let mut socket = TcpStream::connect(&server.addr).expect("connect");
            let head = format!(
                "POST /v1/sync HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
                server.addr,
                device.token,
                wire::CONTENT_TYPE
            );
            socket.write_all(head.as_bytes()).expect("head");
            socket.write_all(b"400\r\n").expect("a chunk's size");
            socket.write_all(&[0x01; 1024]).expect("a chunk");
            socket.write_all(b"\r\n").expect("the chunk's end");
            socket
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    bystander.edit_and_sync(&server, TaskStatus::Done);
    bystander.edit_and_sync(&server, TaskStatus::Todo);
    for socket in &mut stalled {
        let mut answer = Vec::new();
        let _ = socket.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 408"), "{text:?}");
    }
}

fn empty_request() -> SyncRequest {
    sync_request(vec![], Some(vec![]))
}

fn peer_rows(server: &Server, device_token: &str) -> i64 {
    let db = rusqlite::Connection::open(server.db()).expect("the database");
    let hash = passage_server::enrol::token_hash(device_token);
    db.query_row(
        "SELECT count(*) FROM peer_heads p JOIN devices d ON d.id = p.device_id WHERE d.token_hash = ?1",
        [hash.as_slice()],
        |r| r.get(0),
    )
    .expect("peer heads")
}

/// Finding 5: a `full` list of invented documents.
#[test]
fn a_full_list_outside_the_tokens_scope_stores_nothing() {
    let server = Server::start();
    let bystander = Bystander::new(&server);
    let case = server.case();
    let family = server.family(&case);
    let caseworker = server.caseworker();
    let invented = |n: usize| -> Vec<DocHeads> {
        (0..n)
            .map(|_| DocHeads {
                doc: CaseId::random().doc(DocKind::Medical),
                heads: vec![],
            })
            .collect()
    };
    // A million from a family device: refused by its size, unread.
    let million = sync_request(vec![], Some(invented(1_000_000)));
    let reply = server.sync_raw(&family.token, &wire::encode(&million));
    assert_eq!(
        (reply.status, reply.rejection().code),
        (413, RejectCode::TooLarge)
    );
    // Within the limits of a caseworker's list: answered, and none of it recorded.
    let mut full = invented(20_000);
    full.push(DocHeads {
        doc: case.doc(DocKind::ArrivalPlan),
        heads: vec![],
    });
    let request = sync_request(vec![], Some(full));
    let before = std::fs::metadata(server.db()).expect("db").len();
    let watch = MemoryWatch::start(server.pid());
    std::thread::scope(|s| {
        let attack = s.spawn(|| server.sync_raw(&caseworker.token, &wire::encode(&request)));
        bystander.edit_and_sync(&server, TaskStatus::Done);
        assert_eq!(attack.join().expect("the attack").status, 200);
    });
    watch.finish("an invented full list");
    // Only what the caseworker may read: the two cases' journeys and medical records.
    assert_eq!(peer_rows(&server, &caseworker.token), 4);
    let grown = std::fs::metadata(server.db())
        .expect("db")
        .len()
        .saturating_sub(before);
    assert!(grown < 1 << 20, "the database grew by {grown} bytes");
    // The family device's own list, with invented documents: only its plan is kept.
    let mut full = invented(7);
    full.push(DocHeads {
        doc: case.doc(DocKind::ArrivalPlan),
        heads: vec![],
    });
    let request = sync_request(vec![], Some(full));
    assert_eq!(
        server.sync_raw(&family.token, &wire::encode(&request)).status,
        200
    );
    assert_eq!(peer_rows(&server, &family.token), 1);
}

/// Finding 6: pushes of more changes, or more bytes, than a request or a document
/// may hold.
#[test]
fn pushes_are_bounded_in_changes_and_documents_in_bytes() {
    // Quotas well above what 2,000 toggles take (about 500 KB sealed), below the note.
    let server = Server::start_with(&["--doc-quota", "1048576", "--case-quota", "2097152"]);
    let bystander = Bystander::new(&server);
    let case = server.case();
    let journey = case.doc(DocKind::Journey);
    let talent = server.talent(&case);
    talent.sync(&server);

    let watch = MemoryWatch::start(server.pid());
    // 80,000 changes in one push, and 2,001: refused before any is applied. (Each
    // different, so that the body does not deflate past what a body may inflate to.)
    let mut rng = crate::support::XorShift::new(80_000);
    for (count, names) in [(80_000, "items"), (2_001, "2000")] {
        let request = sync_request(
            vec![push(
                journey.clone(),
                talent.store.heads(&journey).expect("heads"),
                (0..count)
                    .map(|_| rng.next_u64().to_le_bytes().to_vec())
                    .collect(),
            )],
            None,
        );
        let started = Instant::now();
        let reply = server.sync_raw(&talent.token, &wire::encode(&request));
        assert_eq!(
            (reply.status, reply.rejection().code),
            (413, RejectCode::TooLarge)
        );
        let message = reply.rejection().message;
        assert!(message.contains(names), "{count}: {message}");
        eprintln!("{count} changes refused in {:?}: {message}", started.elapsed());
    }

    // The most a request may carry, 2,000 real changes, holds up another case's sync
    // for less than the bystander's bound.
    let heads = talent.store.heads(&journey).expect("heads");
    for i in 0..2_000 {
        let status = if i % 2 == 0 {
            TaskStatus::Done
        } else {
            TaskStatus::Todo
        };
        talent
            .store
            .apply(
                &case,
                &Edit::SetTaskStatus {
                    task: "complete_talent_profile".into(),
                    status,
                },
            )
            .expect("an edit");
    }
    let changes = talent.store.changes_since(&journey, &heads).expect("changes");
    assert_eq!(changes.len(), 2_000);
    let request = sync_request(
        vec![push(
            journey.clone(),
            talent.store.heads(&journey).expect("heads"),
            changes,
        )],
        None,
    );
    std::thread::scope(|s| {
        let push = s.spawn(|| {
            let started = Instant::now();
            let reply = server.sync_raw(&talent.token, &wire::encode(&request));
            if reply.status != 200 {
                eprintln!("{:?}", reply.rejection());
            }
            (reply.status, started.elapsed())
        });
        std::thread::sleep(Duration::from_millis(20));
        let took = bystander.edit_and_sync(&server, TaskStatus::Done);
        let (status, push_took) = push.join().expect("the push");
        assert_eq!(status, 200);
        eprintln!("2,000 changes applied in {push_took:?}; the bystander waited {took:?}");
    });
    watch.finish("oversized pushes");

    // A note of 3 MB of random hex (a client that ignores the app's 4,000 characters;
    // random, so that Automerge's own compression of the change leaves it at about
    // 1.5 MB): over the document's quota. The device holds the journey and shows why;
    // its medical edit in the same sync still reaches the server.
    let big = crate::support::random_hex(3_000_000);
    let forged = crate::support::raw_change(&talent, &journey, |d| {
        crate::support::put_at(
            d,
            &["stages", "matching", "tasks", "confirm_match"],
            "notes",
            &big,
        )
    });
    assert!(
        forged.len() > 1 << 20,
        "the note's change is {} bytes",
        forged.len()
    );
    talent
        .store
        .receive_changes(&journey, &[forged])
        .expect("stored on the device");
    talent
        .store
        .apply(
            &case,
            &Edit::AddAppointment {
                appointment: crate::support::data::appointment(),
            },
        )
        .expect("a medical edit");
    let rt = crate::support::runtime();
    let client = passage_core::sync::SyncClient::new(crate::support::quick_client_options()).expect("client");
    let store = Arc::new(talent.store);
    rt.block_on(async {
        store
            .set_sync_server(&passage_core::sync::SyncServer {
                url: server.url(),
                token: talent.token.clone(),
                role: Some(passage_core::Role::Talent),
                expires_at: None,
                person: None,
            })
            .expect("the server");
        let report = client.sync(Arc::clone(&store)).await.expect("the sync completes");
        assert_eq!(report.held, vec![journey.clone()]);
    });
    let state = store.sync_state().expect("state");
    assert_eq!(state.held.len(), 1);
    assert!(state.held[0].reason.contains("quota"), "{}", state.held[0].reason);
    let caseworker = server.caseworker();
    caseworker.sync(&server);
    assert_eq!(
        caseworker
            .store
            .medical(&case)
            .expect("medical")
            .appointments
            .len(),
        1
    );
    let stored = crate::support::stored_doc_bytes(&server, &journey);
    assert!(
        stored < 1_048_576,
        "the journey holds {stored} bytes on the server"
    );
}

/// Finding 7: a redeemed code, and guessing.
#[test]
fn enrolment_codes_cannot_be_taken_over_or_guessed() {
    let server = Server::start();
    let case = server.case();
    let code = server.code(&["enrol", "talent", case.as_str()]);
    let (status, first) = server.enrol_with_proof(&code, "Rana's phone", "the phone's own secret 1");
    assert_eq!(status, 200);
    let token = first["token"].as_str().expect("token").to_owned();
    // Within the ten minutes and before the phone synced, the same (guessable) name
    // with another secret: refused, and the phone's token still works.
    let (status, _) = server.enrol_with_proof(&code, "Rana's phone", "an attacker's guess 12");
    assert_eq!(status, 401);
    assert_eq!(
        server.sync_raw(&token, &wire::encode(&empty_request())).status,
        200
    );

    // The same code tried again and again: limited per code.
    let other = server.code(&["enrol", "talent", case.as_str()]);
    let statuses: Vec<u16> = (0..7)
        .map(|i| {
            server
                .enrol_with_proof(&other, "x", &format!("guess number {i:08}"))
                .0
        })
        .collect();
    assert_eq!(statuses[0], 200, "{statuses:?}");
    assert!(statuses[1..5].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(statuses[5..], [429, 429], "{statuses:?}");

    // Guessing codes from one address: limited, with a time to come back.
    let mut limited = None;
    for i in 0..40 {
        let guess = format!("K7QF-M2XD-{:04}", 1000 + i);
        let body = serde_json::json!({ "code": guess, "device": "g", "proof": "0123456789abcdef" });
        let reply = server.post(
            "/v1/enrol",
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        );
        if reply.status == 429 {
            limited = Some((i, reply));
            break;
        }
        assert_eq!(reply.status, 401);
    }
    let (tries, reply) = limited.expect("guessing is limited");
    assert!(tries <= 20, "limited after {tries} guesses");
    let wait: u64 = reply
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
}

/// Finding 8: client text with control characters, on the operator's terminal.
#[test]
fn client_text_cannot_forge_rows_on_the_operators_terminal() {
    let server = Server::start();
    let case = server.case();
    let code = server.code(&["enrol", "talent", case.as_str()]);
    let forged = "Rana's phone\r\n99  talent  x  admin-laptop  active\u{1b}[2K";
    let (status, answer) = server.enrol(&code, forged);
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"].as_str().unwrap_or_default().contains("control"));
    // A name stored before names were checked is shown escaped.
    let talent = server.talent(&case);
    let db = rusqlite::Connection::open(server.db()).expect("the database");
    db.execute("UPDATE devices SET name = ?1 WHERE role = 'talent'", [forged])
        .expect("an old row");
    let tokens = server.admin_ok(&["tokens"]);
    assert!(!tokens.contains('\u{1b}') && !tokens.contains('\r'), "{tokens:?}");
    assert!(
        tokens.contains("\\u{1b}[2K") && tokens.contains("\\u{d}\\u{a}99"),
        "{tokens}"
    );
    assert_eq!(tokens.lines().count(), 1 + 3, "{tokens}");
    // A refused path with a newline in a key, in the audit log.
    talent.sync(&server);
    let journey = case.doc(DocKind::Journey);
    let change = crate::support::raw_change(&talent, &journey, |d| {
        crate::support::put_at(d, &["permit"], "decision\n2026-01-01 allowed", "granted")
    });
    let request = sync_request(vec![push(journey, vec![], vec![change])], None);
    assert_eq!(
        server.sync_raw(&talent.token, &wire::encode(&request)).status,
        403
    );
    let audit = server.admin_ok(&["audit"]);
    assert!(audit.contains("decision\\u{a}2026-01-01 allowed"), "{audit}");
    assert!(!audit.lines().any(|l| l.starts_with("2026-01-01")), "{audit}");
}

/// Finding 10: what a web page could reach.
#[test]
fn metrics_are_private_and_enrolment_takes_only_json() {
    let server = Server::start();
    assert_eq!(server.get("/metrics").status, 404);
    let case = server.case();
    let code = server.code(&["enrol", "talent", case.as_str()]);
    let body =
        serde_json::json!({ "code": code, "device": "a page", "proof": "0123456789abcdef" }).to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
    ] {
        let headers: Vec<(&str, &str)> = content_type.iter().map(|t| ("Content-Type", *t)).collect();
        let reply = request(&server.addr, "POST", "/v1/enrol", &headers, body.as_bytes());
        assert_eq!(reply.status, 415, "{content_type:?}");
    }
    // The code was not used by any of them.
    let (status, _) = server.enrol(&code, "Rana's phone");
    assert_eq!(status, 200);
}
