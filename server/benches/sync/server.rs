//! The server side of the benchmarks: the real `passage-server` binary on a loopback
//! port, the data it serves (put in place through the server's own library, as the
//! admin commands do), and a small HTTP/1.1 client that keeps its connection open.
//!
//! The binary is the one Cargo builds next to this benchmark (`CARGO_BIN_EXE_*`: Cargo
//! builds a package's binaries, with the same profile, whenever it builds one of its
//! benchmarks), so what is measured is the release server a deployment runs: its own
//! process, its tokio runtime, axum, its SQLite connections with `synchronous=FULL`.
//!
//! Cases, caseworkers and device tokens are written with `passage_server::docs` and
//! `passage_server::enrol` in one transaction per batch: exactly what `case create` and
//! an enrolment do, without starting a process and committing once per case (1,000
//! `case create` commands take minutes). WAL lets this happen while a server runs, as
//! the admin commands do.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::NaiveDate;
use passage_core::CaseId;
use passage_core::doc::journey::NewJourney;
use passage_core::sync::wire;
use passage_server::enrol::{self, Grant};
use passage_server::run::DB_FILE;
use passage_server::storage::Storage;
use passage_server::storage::sqlite::SqliteStorage;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_passage-server");

pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A running `passage-server serve`, killed when dropped.
pub(crate) struct Server {
    pub(crate) addr: String,
    /// The metrics listener's address.
    metrics: String,
    pub(crate) pid: u32,
    child: Child,
}

/// What the server's document cache held at the end of a run.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CacheFigures {
    pub(crate) documents: u64,
    /// Estimated bytes, as the cache weighs its documents against its budget.
    pub(crate) bytes: u64,
    pub(crate) hits: u64,
    pub(crate) misses: u64,
    /// Commits of sync exchanges, and the exchanges they held, since the start.
    pub(crate) commits: u64,
    pub(crate) committed: u64,
}

impl Server {
    /// Starts the binary on `data` and waits for its `listening on` line, at its
    /// defaults but for the per-device rate. Logs at the default level (`info`: one
    /// line per sync) go to `server.log` in `data`.
    pub(crate) fn start(data: &Path) -> Server {
        let log = std::fs::File::create(data.join("server.log")).expect("the log file");
        let mut child = Command::new(BIN)
            .arg("--data")
            .arg(data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            // Each device here syncs several times a second, far more than a phone
            // does; the per-device rate limit (60 a minute) would refuse the load.
            .args(["--sync-rate", "1000000"])
            // For the cache's figures (documents, bytes, hits) at the end of a run.
            .args(["--metrics-listen", "127.0.0.1:0"])
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("passage-server starts");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = || {
            let mut line = String::new();
            out.read_line(&mut line).expect("a line of the server's");
            line.trim().to_owned()
        };
        let first = line();
        let addr = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_owned();
        let second = line();
        let metrics = second
            .strip_prefix("metrics on ")
            .unwrap_or_else(|| panic!("unexpected second line {second:?}"))
            .to_owned();
        let pid = child.id();
        Server {
            addr,
            metrics,
            pid,
            child,
        }
    }

    /// The document cache's figures, from the server's metrics.
    pub(crate) fn cache(&self) -> CacheFigures {
        let reply = Connection::new(&self.metrics).get("/metrics");
        assert_eq!(reply.status, 200, "the metrics answer");
        let text = String::from_utf8(reply.body).expect("metrics are text");
        let value = |name: &str| -> u64 {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {name} in the metrics"))
        };
        CacheFigures {
            documents: value("passage_cache_documents"),
            bytes: value("passage_cache_bytes"),
            hits: value("passage_cache_hits"),
            misses: value("passage_cache_misses"),
            commits: value("passage_sync_commits"),
            committed: value("passage_sync_committed_exchanges"),
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A data directory, written through the server's library.
pub(crate) struct Data {
    pub(crate) dir: PathBuf,
    pub(crate) storage: SqliteStorage,
}

pub(crate) fn new_journey(i: usize) -> NewJourney {
    NewJourney {
        template: "be".into(),
        version: None,
        talent_name: format!("Talent {i:04}"),
        employer: "AZ Sint-Jan Brugge".into(),
        job_title: "Registered nurse".into(),
        start_date: NaiveDate::from_ymd_opt(2026, 11, 2).expect("a date"),
    }
}

impl Data {
    pub(crate) fn open(dir: PathBuf) -> Data {
        std::fs::create_dir_all(&dir).expect("the data directory");
        // Sealed under the data directory's own key file, which the server started on
        // this directory then reads too.
        let storage = passage_server::run::open_storage(&dir, None).expect("the server's database opens");
        Data { dir, storage }
    }

    /// Adds a caseworker; its id.
    pub(crate) fn caseworker(&self, name: &str) -> i64 {
        let mut tx = self.storage.begin().expect("a transaction");
        let id = tx
            .add_caseworker(name, now())
            .expect("the caseworker is added")
            .id;
        tx.commit().expect("commit");
        id
    }

    /// Creates `count` Belgian cases assigned to the caseworker, numbered from `first`,
    /// in one transaction, as `case create` makes each.
    pub(crate) fn cases(&self, caseworker: i64, first: usize, count: usize) -> Vec<CaseId> {
        let now = now();
        let mut tx = self.storage.begin().expect("a transaction");
        let cache = std::sync::Arc::new(passage_server::cache::DocCache::new(0));
        let mut docs = passage_server::docs::Docs::new(cache);
        let cases = (first..first + count)
            .map(|i| {
                passage_server::docs::create_case(&mut *tx, &mut docs, &new_journey(i), Some(caseworker), now)
                    .expect("the case is created")
            })
            .collect();
        tx.commit().expect("commit");
        cases
    }

    /// A device token for the talent of each case: a code issued and redeemed, as
    /// `enrol talent` and `POST /v1/enrol` do, in one transaction.
    pub(crate) fn talent_tokens(&self, cases: &[CaseId]) -> Vec<String> {
        let now = now();
        let mut tx = self.storage.begin().expect("a transaction");
        let tokens = cases
            .iter()
            .map(|case| {
                let issued = enrol::issue(&mut *tx, Grant::Talent(case), now).expect("a code");
                let code = enrol::normalize_code(&issued.code).expect("a valid code");
                let token = enrol::new_token().expect("a token");
                tx.redeem_code(
                    &enrol::code_hash(&code),
                    &enrol::token_hash(&token),
                    &[7; 32],
                    "phone",
                    now,
                )
                .expect("the code redeems")
                .expect("the code is valid");
                token
            })
            .collect();
        tx.commit().expect("commit");
        tokens
    }

    /// An enrolment code for a device of the caseworker (`enrol caseworker`).
    pub(crate) fn caseworker_code(&self, caseworker: i64) -> String {
        let mut tx = self.storage.begin().expect("a transaction");
        let issued = enrol::issue(&mut *tx, Grant::Caseworker(caseworker), now()).expect("a code");
        tx.commit().expect("commit");
        issued.code
    }

    /// An enrolment code for the talent of a case (`enrol talent`).
    pub(crate) fn talent_code(&self, case: &CaseId) -> String {
        let mut tx = self.storage.begin().expect("a transaction");
        let issued = enrol::issue(&mut *tx, Grant::Talent(case), now()).expect("a code");
        tx.commit().expect("commit");
        issued.code
    }

    /// The database file and its WAL, in bytes.
    pub(crate) fn bytes(&self) -> u64 {
        let file = |name: &str| std::fs::metadata(self.dir.join(name)).map_or(0, |m| m.len());
        file(DB_FILE) + file(&format!("{DB_FILE}-wal"))
    }
}

/// One HTTP/1.1 connection kept open between requests, as a phone's HTTP client keeps
/// it (reconnecting once if the server closed it). Requests and answers are read with
/// `Content-Length`, which is how the server sends its bodies.
pub(crate) struct Connection {
    addr: String,
    stream: Option<BufReader<TcpStream>>,
}

/// An answer's status and body.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

impl Connection {
    pub(crate) fn new(addr: &str) -> Connection {
        Connection {
            addr: addr.to_owned(),
            stream: None,
        }
    }

    /// `GET` of a path, without a token.
    pub(crate) fn get(&mut self, path: &str) -> Reply {
        let head = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.addr);
        self.request(head.as_bytes(), &[])
    }

    /// `POST /v1/sync` with the device's token.
    pub(crate) fn sync(&mut self, token: &str, body: &[u8]) -> Reply {
        let head = format!(
            "POST /v1/sync HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: {ct}\r\nAccept: {ct}\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len(),
            ct = wire::CONTENT_TYPE,
        );
        self.request(head.as_bytes(), body)
    }

    fn request(&mut self, head: &[u8], body: &[u8]) -> Reply {
        for attempt in 0..2 {
            if self.stream.is_none() {
                let socket = TcpStream::connect(&self.addr).expect("the server accepts connections");
                socket.set_nodelay(true).expect("nodelay");
                socket
                    .set_read_timeout(Some(Duration::from_secs(60)))
                    .expect("a timeout");
                self.stream = Some(BufReader::new(socket));
            }
            match self.exchange(head, body) {
                Ok(reply) => return reply,
                Err(e) if attempt == 0 => {
                    // The server closed an idle connection: open another, once.
                    self.stream = None;
                    let _ = e;
                }
                Err(e) => panic!("the request failed twice: {e}"),
            }
        }
        unreachable!("two attempts at most")
    }

    fn exchange(&mut self, head: &[u8], body: &[u8]) -> std::io::Result<Reply> {
        let stream = self.stream.as_mut().expect("connected");
        let socket = stream.get_mut();
        let mut out = Vec::with_capacity(head.len() + body.len());
        out.extend_from_slice(head);
        out.extend_from_slice(body);
        socket.write_all(&out)?;
        let mut line = String::new();
        if stream.read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed"));
        }
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("a status line, not {line:?}"));
        let mut length = None;
        let mut close = false;
        loop {
            line.clear();
            stream.read_line(&mut line)?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').expect("a header");
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.parse::<usize>().expect("a length"));
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                panic!("the server sent a {value} body; this client reads Content-Length only");
            } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close") {
                close = true;
            }
        }
        let mut body = vec![0; length.expect("Content-Length")];
        stream.read_exact(&mut body)?;
        if close {
            self.stream = None;
        }
        Ok(Reply { status, body })
    }
}
