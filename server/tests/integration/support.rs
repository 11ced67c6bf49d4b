//! Shared helpers: the real `passage-server` process on a free loopback port with a
//! temporary data directory, its admin commands, a small HTTP/1.1 client on a plain
//! socket (so tests can send exactly the bytes they mean, broken ones included), and
//! devices: passage-core stores on disk, synced the way a device syncs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use automerge::ChangeHash;
use passage_core::chunk::Chunk;
use passage_core::sync::wire::{self, Rejection, SyncRequest, SyncResponse, SyncStatus};
use passage_core::sync::{Backoff, ClientOptions, SyncClient, SyncReport};
use passage_core::{CaseId, DocId, ErrorKind, Identity, Role, Store};
use serde_json::Value;
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_passage-server");
pub const CASEWORKER: &str = "Amira Khoury";
pub const TALENT: &str = "Rana Haddad";

/// A running server, stopped when dropped; its data directory lives as long.
pub struct Server {
    pub dir: TempDir,
    pub addr: String,
    /// Where `GET /metrics` is served, when `serve` was given `--metrics-listen`.
    pub metrics_addr: Option<String>,
    /// The pin of the server's key, when it serves HTTPS.
    pub tls_pin: Option<String>,
    /// Options given to `serve`.
    options: Vec<String>,
    /// Environment variables set for `serve` (the server's key, say).
    pub env: Vec<(String, String)>,
    /// Arguments put before every admin command (`--key-file FILE`, say).
    pub admin_args: Vec<String>,
    child: Option<Child>,
}

impl Server {
    /// A new data directory and a server on it.
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// A server on a data directory made beforehand.
    pub fn start_in(dir: TempDir) -> Server {
        let mut server = Server {
            dir,
            addr: String::new(),
            metrics_addr: None,
            tls_pin: None,
            options: Vec::new(),
            env: Vec::new(),
            admin_args: Vec::new(),
            child: None,
        };
        server.launch();
        server
    }

    /// The same, with options for `serve`.
    pub fn start_with(options: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = Server {
            dir,
            addr: String::new(),
            metrics_addr: None,
            tls_pin: None,
            options: options.iter().map(|o| (*o).to_owned()).collect(),
            env: Vec::new(),
            admin_args: Vec::new(),
            child: None,
        };
        server.launch();
        server
    }

    pub fn data(&self) -> &Path {
        self.dir.path()
    }

    pub fn db(&self) -> PathBuf {
        self.data().join("passage-server.db")
    }

    /// Starts the process and reads the port it bound from its first line.
    fn launch(&mut self) {
        if let Err(failed) = self.try_launch("127.0.0.1:0") {
            panic!("{}", failed.why);
        }
    }

    /// Starts the process listening on `listen` and waits (reading its stdout, no
    /// timer) for its `listening on` line; a process that exits instead is an error,
    /// with what it logged.
    fn try_launch(&mut self, listen: &str) -> Result<(), LaunchFailed> {
        let log_path = self.data().join("server.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("log file");
        let logged_before = log.metadata().map_or(0, |m| m.len());
        let mut child = Command::new(BIN)
            .args([
                "--data",
                &self.data().to_string_lossy(),
                "serve",
                "--listen",
                listen,
            ])
            .args(&self.options)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("server starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("first line");
        let Some(addr) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            let bytes = std::fs::read(&log_path).unwrap_or_default();
            let logged = String::from_utf8_lossy(bytes.get(logged_before as usize..).unwrap_or_default());
            return Err(LaunchFailed {
                why: format!("unexpected first line {line:?}; the server logged: {logged}"),
                address_in_use: logged.contains("in use"),
            });
        };
        self.addr = addr.to_owned();
        if self.options.iter().any(|o| o == "--tls-cert") {
            let mut line = String::new();
            stdout.read_line(&mut line).expect("the pin line");
            self.tls_pin = line.trim().strip_prefix("tls pin ").map(str::to_owned);
        }
        if self.options.iter().any(|o| o == "--metrics-listen") {
            let mut line = String::new();
            stdout.read_line(&mut line).expect("the metrics line");
            self.metrics_addr = line.trim().strip_prefix("metrics on ").map(str::to_owned);
        }
        self.child = Some(child);
        Ok(())
    }

    /// The server process's id, while it runs.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server runs").id()
    }

    /// The address devices enrol with.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Kills the process (SIGKILL, if it still runs) and starts it again on the same
    /// data directory and the same address, as a supervisor restarts a crashed server:
    /// devices keep the address they enrolled with. Waits until it listens; if the
    /// port is not free yet, tries again (polling) for a few seconds.
    pub fn restart_in_place(&mut self) {
        self.stop();
        let listen = self.addr.clone();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.try_launch(&listen) {
                Ok(()) => return,
                Err(failed) if failed.address_in_use && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(failed) => panic!("the server did not start again on {listen}: {}", failed.why),
            }
        }
    }

    /// Stops the process (as a crash would: SIGKILL).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// Starts the process again with other `serve` options and environment; what it
    /// printed and logged if it did not start listening.
    pub fn relaunch(&mut self, options: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
        self.stop();
        self.options = options.iter().map(|o| (*o).to_owned()).collect();
        self.env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.try_launch("127.0.0.1:0").map_err(|failed| failed.why)
    }

    /// Runs an admin command on this server's data directory.
    pub fn admin(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .arg("--data")
            .arg(self.data())
            .args(&self.admin_args)
            .args(args)
            .output()
            .expect("admin command runs")
    }

    /// Runs an admin command that must succeed; its stdout.
    pub fn admin_ok(&self, args: &[&str]) -> String {
        let out = self.admin(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// Runs an enrolment command; the code it printed.
    pub fn code(&self, args: &[&str]) -> String {
        code_in(&self.admin_ok(args))
    }

    /// A caseworker and a Belgian case assigned to them.
    pub fn case(&self) -> CaseId {
        if !self.admin_ok(&["cases"]).contains(CASEWORKER) {
            self.admin_ok(&["caseworker", "add", CASEWORKER]);
        }
        let out = self.admin_ok(&[
            "case",
            "create",
            "--template",
            "be",
            "--talent",
            TALENT,
            "--employer",
            "AZ Sint-Jan Brugge",
            "--job",
            "Registered nurse",
            "--start",
            "2026-11-02",
            "--caseworker",
            CASEWORKER,
        ]);
        out.trim().parse().expect("case id")
    }

    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        request(&self.addr, "POST", path, headers, body)
    }

    pub fn get(&self, path: &str) -> Reply {
        request(&self.addr, "GET", path, &[], &[])
    }

    /// `POST /v1/enrol` with a new proof; the status and the JSON answer.
    pub fn enrol(&self, code: &str, device: &str) -> (u16, Value) {
        static ATTEMPTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let attempt = ATTEMPTS.fetch_add(1, Ordering::SeqCst);
        let proof = format!("proof-{:016x}", XorShift::new(nanos ^ attempt).next_u64());
        self.enrol_with_proof(code, device, &proof)
    }

    /// `POST /v1/enrol` with the proof given (a retry sends the first one again).
    pub fn enrol_with_proof(&self, code: &str, device: &str, proof: &str) -> (u16, Value) {
        let body = serde_json::json!({ "code": code, "device": device, "proof": proof }).to_string();
        let reply = self.post(
            "/v1/enrol",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        let json = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
        (reply.status, json)
    }

    /// `POST /v1/sync` with a token.
    pub fn sync_raw(&self, token: &str, body: &[u8]) -> Reply {
        let auth = format!("Bearer {token}");
        self.post(
            "/v1/sync",
            &[("Authorization", &auth), ("Content-Type", wire::CONTENT_TYPE)],
            body,
        )
    }

    /// Enrols a new device with `code` and opens its store.
    pub fn device(&self, role: Role, name: &str, code: &str) -> Device {
        let (status, answer) = self.enrol(code, &format!("{name}'s phone"));
        assert_eq!(status, 200, "enrolment: {answer}");
        assert_eq!(answer["role"], role.as_str());
        let token = answer["token"].as_str().expect("token").to_owned();
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("device.db");
        let key = passage_core::SecretKey::generate().expect("a key");
        let store = open_sealed(&path, Identity::new(role, name), &key);
        Device {
            _dir: dir,
            store,
            token,
            path,
            key,
        }
    }

    pub fn talent(&self, case: &CaseId) -> Device {
        let code = self.code(&["enrol", "talent", case.as_str()]);
        self.device(Role::Talent, TALENT, &code)
    }

    pub fn caseworker(&self) -> Device {
        let code = self.code(&["enrol", "caseworker", CASEWORKER]);
        self.device(Role::Caseworker, CASEWORKER, &code)
    }

    pub fn family(&self, case: &CaseId) -> Device {
        let code = self.code(&["enrol", "family", case.as_str(), "--expires-in", "30d"]);
        self.device(Role::Family, "Samir Haddad", &code)
    }
}

/// The Belgian journey every test case has.
pub fn new_journey() -> passage_core::doc::journey::NewJourney {
    passage_core::doc::journey::NewJourney {
        template: "be".into(),
        version: None,
        talent_name: TALENT.into(),
        employer: "AZ Sint-Jan Brugge".into(),
        job_title: "Registered nurse".into(),
        start_date: "2026-11-02".parse().expect("a date"),
    }
}

/// Why the server process did not start listening.
#[derive(Debug)]
struct LaunchFailed {
    why: String,
    address_in_use: bool,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The code on an `enrolment code: ` line.
pub fn code_in(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("enrolment code: "))
        .unwrap_or_else(|| panic!("no code in {out:?}"))
        .trim()
        .to_owned()
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn rejection(&self) -> Rejection {
        wire::decode(&self.body).unwrap_or_else(|e| panic!("{} is not a Rejection: {e}", self.status))
    }
}

/// One HTTP/1.1 request on a new connection (`Connection: close`).
pub fn request(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut socket = TcpStream::connect(addr).expect("connect");
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    socket.write_all(head.as_bytes()).expect("send head");
    // The server may answer (413) before it read everything; the answer still counts.
    let _ = socket.write_all(body);
    let mut raw = Vec::new();
    let _ = socket.read_to_end(&mut raw);
    parse(&raw)
}

fn parse(raw: &[u8]) -> Reply {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked { dechunk(rest) } else { rest.to_vec() };
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = eol + 2;
        out.extend_from_slice(&rest[start..start + size]);
        rest = &rest[start + size + 2..];
    }
}

/// The message of a sync body, inflated: what a test searches for words.
pub fn inflated(body: &[u8]) -> Vec<u8> {
    match body.split_first() {
        Some((0x02, packed)) => {
            let mut out = Vec::new();
            flate2::read::DeflateDecoder::new(packed)
                .read_to_end(&mut out)
                .expect("inflate");
            out
        }
        Some((_, plain)) => plain.to_vec(),
        None => vec![],
    }
}

/// Opens a device's store sealed under `key`, as the apps open theirs.
pub fn open_sealed(path: &Path, identity: Identity, key: &passage_core::SecretKey) -> Store {
    Store::open_with_key(
        path,
        identity,
        passage_core::StoreOptions::default(),
        &|_: &passage_core::StoreId| Ok(key.clone()),
    )
    .expect("the device's store opens")
}

/// A device: a store on disk, sealed under its key, and its token.
pub struct Device {
    _dir: TempDir,
    pub store: Store,
    pub token: String,
    /// The store's file and key, for tests that look at what is on disk.
    pub path: PathBuf,
    pub key: passage_core::SecretKey,
}

/// What one sync (all its round trips) did.
#[derive(Debug, Default)]
pub struct SyncRun {
    pub statuses: Vec<SyncStatus>,
    /// Every response body, as received.
    pub bodies: Vec<Vec<u8>>,
    /// Whether the server asked for a whole history (missing dependencies).
    pub repushed: bool,
}

impl SyncRun {
    pub fn rounds(&self) -> usize {
        self.statuses.len()
    }
}

impl Device {
    /// One exchange: the request's bytes to the server, the answer decoded.
    pub fn exchange(
        &self,
        server: &Server,
        request: &SyncRequest,
    ) -> Result<(SyncResponse, Vec<u8>), Rejection> {
        let reply = server.sync_raw(&self.token, &wire::encode(request));
        if reply.status != 200 {
            return Err(reply.rejection());
        }
        let response = wire::decode(&reply.body).expect("a valid response");
        Ok((response, reply.body))
    }

    /// Syncs the way a device does: request, answer, apply, until the server says
    /// complete.
    pub fn try_sync(&self, server: &Server) -> Result<SyncRun, Rejection> {
        let mut run = SyncRun::default();
        let mut full = false;
        let mut repush = Vec::new();
        loop {
            let request = self.store.sync_request(full, &repush).expect("sync request");
            let (response, body) = self.exchange(server, &request)?;
            let applied = self.store.sync_apply(&request, &response).expect("sync apply");
            run.statuses.push(applied.status);
            run.bodies.push(body);
            run.repushed |= !applied.repush.is_empty();
            if !applied.needs_another_round() {
                return Ok(run);
            }
            assert!(run.rounds() < 20, "sync does not finish: {:?}", run.statuses);
            full = applied.status == SyncStatus::NeedFull;
            repush = applied.repush;
        }
    }

    pub fn sync(&self, server: &Server) -> SyncRun {
        self.try_sync(server)
            .unwrap_or_else(|r| panic!("sync refused: {r:?}"))
    }
}

// Fault injection: devices running the real sync client, a seeded random source, a
// proxy that cuts connections at chosen bytes, and what the server left on disk.

/// The seed of a fault test: `PASSAGE_FAULT_SEED` (decimal, or hex after `0x`) replays
/// a run; without it, a new seed from the clock.
pub fn fault_seed() -> u64 {
    match std::env::var("PASSAGE_FAULT_SEED") {
        Ok(text) => {
            let text = text.trim();
            let parsed = match text.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => text.parse(),
            };
            parsed.unwrap_or_else(|e| panic!("PASSAGE_FAULT_SEED={text:?} is not a number: {e}"))
        }
        Err(_) => {
            let since = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .expect("a clock after 1970");
            // Nanoseconds alone: a seed short enough to type.
            since.as_nanos() as u64 % 1_000_000_000_000
        }
    }
}

/// xorshift64*: small, fast, and the same numbers from the same seed everywhere.
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> XorShift {
        // splitmix64 of the seed, so that near seeds start far apart (and none is 0).
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        XorShift((z ^ (z >> 31)).max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "below(0)");
        (self.next_u64() % n as u64) as usize
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// Uniform between zero and `max`, to the microsecond.
    pub fn duration(&mut self, max: Duration) -> Duration {
        let micros = max.as_micros().min(u128::from(u32::MAX)) as usize;
        Duration::from_micros(self.below(micros + 1) as u64)
    }
}

/// A runtime for the sync client, as the app has one.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The client's options with short waits, so that a fault test is quick: retries
/// after a few milliseconds rather than seconds. Timeouts stay generous (nothing in
/// these tests should hang; if it does, the timeout says so).
pub fn quick_client_options() -> ClientOptions {
    ClientOptions {
        request_timeout: Duration::from_secs(20),
        connect_timeout: Duration::from_secs(5),
        retries: 3,
        backoff: Backoff {
            initial: Duration::from_millis(2),
            max: Duration::from_millis(20),
        },
        ..ClientOptions::default()
    }
}

/// A device as the app runs one: a store on disk, shared with the real sync client
/// (`SyncClient`, reqwest over loopback), enrolled through `POST /v1/enrol`.
pub struct Phone {
    _dir: TempDir,
    pub name: String,
    pub store: Arc<Store>,
    pub client: Arc<SyncClient>,
}

impl std::fmt::Debug for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Phone")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// What a sync on a thread of its own answers: its outcome and how long it took.
pub type SyncOnThread = std::thread::JoinHandle<(passage_core::Result<SyncReport>, Duration)>;

impl Phone {
    /// A new store on disk for `name`, not enrolled yet.
    pub fn new(role: Role, name: &str) -> Phone {
        Phone::with_options(role, name, quick_client_options())
    }

    /// The same, with the sync client's options given.
    pub fn with_options(role: Role, name: &str, options: ClientOptions) -> Phone {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = passage_core::SecretKey::generate().expect("a key");
        let store = open_sealed(&dir.path().join("device.db"), Identity::new(role, name), &key);
        Phone {
            _dir: dir,
            name: name.to_owned(),
            store: Arc::new(store),
            client: Arc::new(SyncClient::new(options).expect("sync client")),
        }
    }

    /// Enrols with `code` at `url` (the server, or a proxy in front of it).
    pub fn enrol(&self, rt: &tokio::runtime::Handle, url: &str, code: &str) {
        self.try_enrol(rt, url, code)
            .unwrap_or_else(|e| panic!("{} could not enrol at {url}: {e}", self.name));
    }

    pub fn try_enrol(
        &self,
        rt: &tokio::runtime::Handle,
        url: &str,
        code: &str,
    ) -> passage_core::Result<passage_core::sync::Enrolment> {
        let device = format!("{}'s phone", self.name);
        rt.block_on(self.client.enrol(Arc::clone(&self.store), url, code, &device))
    }

    /// One sync, as the app starts one.
    pub fn sync(&self, rt: &tokio::runtime::Handle) -> passage_core::Result<SyncReport> {
        rt.block_on(self.client.sync(Arc::clone(&self.store)))
    }

    /// One sync on a thread of its own.
    pub fn sync_on_thread(&self, rt: &tokio::runtime::Handle) -> SyncOnThread {
        let (rt, client, store) = (rt.clone(), Arc::clone(&self.client), Arc::clone(&self.store));
        std::thread::spawn(move || {
            let started = Instant::now();
            let outcome = rt.block_on(client.sync(store));
            (outcome, started.elapsed())
        })
    }

    /// Syncs until a sync completes. Failures that mean "later" (no server, a cut
    /// connection) are tried again at once; any other failure fails the test.
    /// Returns how many syncs it took.
    pub fn sync_until_complete(&self, rt: &tokio::runtime::Handle) -> u32 {
        let mut last = None;
        for attempt in 1..=50 {
            match self.sync(rt) {
                Ok(report) if report.complete => return attempt,
                Ok(report) => last = Some(format!("incomplete: {report:?}")),
                Err(e) if e.kind() == ErrorKind::RetryLater => last = Some(e.to_string()),
                Err(e) => panic!("{}: the sync failed for good ({:?}): {e}", self.name, e.kind()),
            }
        }
        panic!("{}: no sync completed in 50 tries; the last: {last:?}", self.name)
    }
}

/// Which way bytes go through the proxy: up from the device, down from the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Way {
    Up,
    Down,
}

/// A connection the proxy cut: in the middle of one HTTP message (a request going up
/// or a response coming down), after `at` of its `len` bytes.
#[derive(Clone, Debug)]
pub struct Cut {
    pub way: Way,
    /// The request line of the exchange.
    pub request: String,
    /// Bytes of the message that got through.
    pub at: usize,
    /// Bytes of the message's head (up to and with the blank line).
    pub head_len: usize,
    pub len: usize,
    /// The message's whole body, as the sender sent it.
    pub body: Vec<u8>,
}

impl Cut {
    /// Where in the message the cut fell.
    pub fn place(&self) -> &'static str {
        if self.at == 0 {
            "before the first byte"
        } else if self.at < self.head_len {
            "in the head"
        } else if self.at < self.len {
            "in the body"
        } else {
            "after the last byte"
        }
    }

    /// Whether the cut fell in the body (after the head, before its last byte).
    pub fn in_body(&self) -> bool {
        self.head_len <= self.at && self.at < self.len
    }
}

/// A TCP proxy between devices and the server that forwards HTTP/1.1 exchanges and,
/// while cutting is on, cuts some: it reads a whole message (request or response),
/// forwards its first `at` bytes, and closes both connections. `at` is drawn uniformly
/// over the message's size (0 to all of it for a request, whose whole arrival may
/// still go unanswered; 0 to all but the last byte for a response), and every fourth
/// cut each way falls in turn on a boundary instead (nothing, the head alone, and for
/// a request the whole message), so that each is hit whatever the draws. Decisions
/// come from a seeded [`XorShift`], in the order exchanges arrive.
#[derive(Debug)]
pub struct CuttingProxy {
    pub addr: String,
    shared: Arc<ProxyShared>,
    acceptor: Option<std::thread::JoinHandle<()>>,
}

#[derive(Debug)]
struct ProxyShared {
    upstream: String,
    /// Exchanges cut, in a hundred, while cutting is on.
    percent: usize,
    cutting: AtomicBool,
    closing: AtomicBool,
    state: Mutex<ProxyState>,
}

#[derive(Debug)]
struct ProxyState {
    rng: XorShift,
    exchanges: usize,
    /// Cuts made each way so far, for the boundary turns.
    made: [usize; 2],
    cuts: Vec<Cut>,
    /// Connections that failed in a way the proxy did not choose.
    errors: Vec<String>,
}

/// What the proxy does with one exchange.
enum Plan {
    Through,
    Cut(Way),
}

/// One HTTP/1.1 message as read off a connection.
struct Message {
    bytes: Vec<u8>,
    head_len: usize,
    first_line: String,
}

impl CuttingProxy {
    /// A proxy on a free loopback port in front of `upstream`, cutting `percent` of
    /// exchanges once cutting is on (it starts off).
    pub fn start(upstream: &str, seed: u64, percent: usize) -> CuttingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy binds");
        let addr = listener.local_addr().expect("proxy address").to_string();
        let shared = Arc::new(ProxyShared {
            upstream: upstream.to_owned(),
            percent,
            cutting: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            state: Mutex::new(ProxyState {
                rng: XorShift::new(seed),
                exchanges: 0,
                made: [0, 0],
                cuts: Vec::new(),
                errors: Vec::new(),
            }),
        });
        let accepting = Arc::clone(&shared);
        let acceptor = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accepting.closing.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let shared = Arc::clone(&accepting);
                std::thread::spawn(move || {
                    if let Err(e) = relay(&shared, stream) {
                        shared.lock().errors.push(e.to_string());
                    }
                });
            }
        });
        CuttingProxy {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_cutting(&self, on: bool) {
        self.shared.cutting.store(on, Ordering::SeqCst);
    }

    pub fn cuts(&self) -> Vec<Cut> {
        self.shared.lock().cuts.clone()
    }

    pub fn cut_count(&self) -> usize {
        self.shared.lock().cuts.len()
    }

    /// Exchanges (requests) seen, cut or not.
    pub fn exchanges(&self) -> usize {
        self.shared.lock().exchanges
    }

    pub fn errors(&self) -> Vec<String> {
        self.shared.lock().errors.clone()
    }
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.shared.closing.store(true, Ordering::SeqCst);
        // Wakes the accepting thread, which then sees `closing`.
        let _ = TcpStream::connect(&self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

impl ProxyShared {
    fn lock(&self) -> std::sync::MutexGuard<'_, ProxyState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn plan(&self) -> Plan {
        let mut state = self.lock();
        state.exchanges += 1;
        if !self.cutting.load(Ordering::SeqCst) || !state.rng.chance(self.percent) {
            return Plan::Through;
        }
        Plan::Cut(if state.rng.below(2) == 0 {
            Way::Up
        } else {
            Way::Down
        })
    }

    /// Where to cut a message of `len` bytes with a head of `head_len`, and records the
    /// cut (before the connection closes, so that a device that sees the cut finds it
    /// counted).
    fn cut(&self, way: Way, request: &str, message: &Message) -> usize {
        let mut state = self.lock();
        let len = message.bytes.len();
        // A request may be cut after its last byte (sent whole, never answered); a
        // response is always missing at least its last byte.
        let last = match way {
            Way::Up => len,
            Way::Down => len - 1,
        };
        let turn = {
            let made = &mut state.made[way as usize];
            *made += 1;
            *made
        };
        let at = if turn.is_multiple_of(4) {
            let boundaries = match way {
                Way::Up => vec![0, message.head_len, len],
                Way::Down => vec![0, message.head_len.min(last)],
            };
            boundaries[(turn / 4) % boundaries.len()]
        } else {
            state.rng.below(last + 1)
        };
        state.cuts.push(Cut {
            way,
            request: request.to_owned(),
            at,
            head_len: message.head_len,
            len,
            body: message.bytes[message.head_len..].to_vec(),
        });
        at
    }
}

/// Relays one connection, exchange by exchange.
fn relay(shared: &ProxyShared, mut client: TcpStream) -> std::io::Result<()> {
    if shared.closing.load(Ordering::SeqCst) {
        return Ok(());
    }
    let mut server = TcpStream::connect(&shared.upstream)?;
    for stream in [&client, &server] {
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.set_nodelay(true)?;
    }
    let (mut from_client, mut from_server) = (Vec::new(), Vec::new());
    let close = |client: &TcpStream, server: &TcpStream| {
        let _ = client.shutdown(Shutdown::Both);
        let _ = server.shutdown(Shutdown::Both);
    };
    loop {
        let Some(request) = read_message(&mut client, &mut from_client)? else {
            // The device closed an idle connection.
            close(&client, &server);
            return Ok(());
        };
        let plan = shared.plan();
        if let Plan::Cut(Way::Up) = plan {
            let at = shared.cut(Way::Up, &request.first_line, &request);
            server.write_all(&request.bytes[..at])?;
            close(&client, &server);
            return Ok(());
        }
        server.write_all(&request.bytes)?;
        let Some(response) = read_message(&mut server, &mut from_server)? else {
            close(&client, &server);
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "the server closed the connection without answering {:?}",
                    request.first_line
                ),
            ));
        };
        if let Plan::Cut(Way::Down) = plan {
            let at = shared.cut(Way::Down, &request.first_line, &response);
            client.write_all(&response.bytes[..at])?;
            close(&client, &server);
            return Ok(());
        }
        client.write_all(&response.bytes)?;
    }
}

/// Reads one HTTP/1.1 message whose body, if any, has a `Content-Length` (what
/// reqwest sends and axum answers here). `carry` holds bytes read past the previous
/// message. `None` when the stream ends before a message starts.
fn read_message(stream: &mut TcpStream, carry: &mut Vec<u8>) -> std::io::Result<Option<Message>> {
    let mut bytes = std::mem::take(carry);
    let mut chunk = vec![0u8; 64 << 10];
    let mut fill = |bytes: &mut Vec<u8>| -> std::io::Result<bool> {
        let n = stream.read(&mut chunk)?;
        bytes.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    };
    let head_len = loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if !fill(&mut bytes)? {
            if bytes.is_empty() {
                return Ok(None);
            }
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    };
    let head = String::from_utf8_lossy(&bytes[..head_len]).into_owned();
    let mut lines = head.split("\r\n");
    let first_line = lines.next().unwrap_or_default().to_owned();
    let mut body_len = 0;
    for (name, value) in lines.filter_map(|l| l.split_once(':')) {
        if name.trim().eq_ignore_ascii_case("transfer-encoding") {
            return Err(std::io::Error::other(format!(
                "the test proxy reads only Content-Length bodies, not {value:?}"
            )));
        }
        if name.trim().eq_ignore_ascii_case("content-length") {
            body_len = value.trim().parse().map_err(std::io::Error::other)?;
        }
    }
    let len = head_len + body_len;
    while bytes.len() < len {
        if !fill(&mut bytes)? {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
    *carry = bytes.split_off(len);
    Ok(Some(Message {
        bytes,
        head_len,
        first_line,
    }))
}

/// `PRAGMA integrity_check` of a database file (of a stopped server): `["ok"]` when
/// sound, else SQLite's findings.
pub fn integrity_check(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).expect("the database opens");
    let mut stmt = conn.prepare("PRAGMA integrity_check").expect("integrity_check");
    stmt.query_map([], |r| r.get::<_, String>(0))
        .expect("integrity_check runs")
        .collect::<rusqlite::Result<_>>()
        .expect("integrity_check rows")
}

/// The bytes the server records for a document (its quota's measure).
pub fn stored_doc_bytes(server: &Server, doc: &DocId) -> u64 {
    let db = rusqlite::Connection::open(server.db()).expect("the database opens");
    db.query_row(
        "SELECT bytes FROM documents WHERE doc_id = ?1",
        [doc.to_string()],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as u64)
    .unwrap_or_else(|e| panic!("no documents row for {doc}: {e}"))
}

/// A document as a stopped server left it on disk.
#[derive(Debug)]
pub struct StoredDoc {
    /// Heads of what its rows load into, sorted.
    pub heads: Vec<ChangeHash>,
    /// Heads recorded in its `documents` row.
    pub recorded_heads: Vec<ChangeHash>,
    pub change_rows: usize,
    pub snapshots: usize,
    /// Changes that stored changes depend on and no row holds.
    pub missing: Vec<ChangeHash>,
}

/// Reads a document from a stopped server's database, as the server loads it: through
/// its storage, with the data directory's key.
pub fn stored_doc(db: &Path, doc: &DocId) -> StoredDoc {
    use passage_server::storage::Storage as _;
    let data = db.parent().expect("the data directory");
    let storage = passage_server::run::open_storage(data, None).expect("the database opens with its key");
    let mut tx = storage.read().expect("a read transaction");
    let state = tx
        .document(doc)
        .expect("the documents row")
        .unwrap_or_else(|| panic!("no documents row for {doc}"));
    let chunks: Vec<Chunk> = tx.chunks(doc).expect("its chunks open");
    let snapshots = chunks.iter().filter(|c| c.snapshot).count();
    let change_rows = chunks.len() - snapshots;
    let mut loaded = passage_core::chunk::load_document(doc, chunks, automerge::ActorId::random())
        .unwrap_or_else(|e| panic!("{doc} as stored does not load: {e}"));
    let mut heads = loaded.get_heads();
    heads.sort();
    let missing = loaded.get_missing_deps(&[]);
    StoredDoc {
        heads,
        recorded_heads: state.heads,
        change_rows,
        snapshots,
        missing,
    }
}

pub mod data {
    //! Realistic values for edits.

    use passage_core::doc::journey::{ArrivalMeeting, FlightBooking, FlightSegment, Housing};
    use passage_core::doc::medical::Appointment;

    pub fn flight() -> FlightBooking {
        FlightBooking {
            booking_reference: "X7K2QP".into(),
            travellers: vec!["Rana Haddad".into()],
            segments: vec![FlightSegment {
                carrier: "Royal Jordanian".into(),
                flight_number: "RJ131".into(),
                from: "AMM".into(),
                to: "BRU".into(),
                departs: "2027-03-28T09:40[Asia/Amman]".parse().expect("time"),
                arrives: "2027-03-28T12:55[Europe/Brussels]".parse().expect("time"),
            }],
        }
    }

    pub fn housing() -> Housing {
        Housing {
            address: "Sint-Jorisstraat 12, 8000 Brugge".into(),
            city: "Brugge".into(),
            from: Some("2027-03-28".parse().expect("date")),
            until: Some("2027-06-27".parse().expect("date")),
        }
    }

    pub fn meeting() -> ArrivalMeeting {
        ArrivalMeeting {
            name: "Joris Peeters".into(),
            organisation: "AZ Sint-Jan HR".into(),
            phone: "+32 50 45 21 11".into(),
            place: "Brussels Airport, arrivals hall".into(),
        }
    }

    /// Words and values of the medical record that must never reach family.
    pub const CLINIC: &str = "IOM Migration Health Assessment Centre, Amman";
    pub const PURPOSE: &str = "Pre-departure tuberculosis screening";

    pub fn appointment() -> Appointment {
        Appointment {
            clinic: CLINIC.into(),
            at: "2027-01-12T10:30[Asia/Amman]".parse().expect("time"),
            purpose: PURPOSE.into(),
        }
    }
}

/// A request without a digest or erasures, as a client builds one by hand: `pushes`
/// and, if given, the `full` list.
pub fn sync_request(pushes: Vec<wire::Push>, full: Option<Vec<wire::DocHeads>>) -> SyncRequest {
    SyncRequest {
        known: None,
        pushes,
        full,
        erase: vec![],
    }
}

/// One document's push.
pub fn push(doc: DocId, heads: Vec<ChangeHash>, changes: Vec<Vec<u8>>) -> wire::Push {
    wire::Push { doc, heads, changes }
}

/// The object at `path` of a raw document (maps all the way down).
pub fn obj_at(doc: &automerge::AutoCommit, path: &[&str]) -> automerge::ObjId {
    use automerge::ReadDoc as _;
    path.iter().fold(automerge::ROOT, |obj, key| {
        match doc.get(&obj, *key).expect("get") {
            Some((automerge::Value::Object(_), id)) => id,
            other => panic!("no map at {key}: {other:?}"),
        }
    })
}

/// A copy of the device's document as raw Automerge, acting as `actor` if given: what
/// a malicious or buggy client edits.
pub fn raw_doc(device: &Device, doc: &DocId, actor: Option<&automerge::ActorId>) -> automerge::AutoCommit {
    let saved = device.store.save_document(doc).expect("saved");
    let copy = automerge::AutoCommit::load(&saved).expect("loads");
    match actor {
        Some(actor) => copy.with_actor(actor.clone()),
        None => copy,
    }
}

/// Commits a raw document and returns its last change's bytes.
pub fn last_change(doc: &mut automerge::AutoCommit) -> Vec<u8> {
    doc.commit();
    doc.get_last_local_change()
        .expect("a change")
        .raw_bytes()
        .to_vec()
}

/// A change made with raw Automerge on a copy of the device's document.
pub fn raw_change(device: &Device, doc: &DocId, write: impl FnOnce(&mut automerge::AutoCommit)) -> Vec<u8> {
    let mut copy = raw_doc(device, doc, None);
    write(&mut copy);
    last_change(&mut copy)
}

/// Puts `value` at `key` of the map at `path`.
pub fn put_at(doc: &mut automerge::AutoCommit, path: &[&str], key: &str, value: &str) {
    use automerge::transaction::Transactable as _;
    let obj = obj_at(doc, path);
    doc.put(&obj, key, value).expect("put");
}

/// `bytes` of hex text that Automerge's compression cannot shrink (SHA-256 of a
/// counter): a note too big for a quota whatever the change's encoding.
pub fn random_hex(bytes: usize) -> String {
    use sha2::Digest as _;
    (0..bytes as u64 / 64)
        .map(|i| hex::encode(sha2::Sha256::digest(i.to_le_bytes())))
        .collect()
}
