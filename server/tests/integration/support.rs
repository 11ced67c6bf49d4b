//! Shared helpers: the real `passage-server` process on a free loopback port with a
//! temporary data directory, its admin commands, a small HTTP/1.1 client on a plain
//! socket (so tests can send exactly the bytes they mean, broken ones included), and
//! devices: passage-core stores on disk, synced the way a device syncs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use passage_core::sync::wire::{self, Rejection, SyncRequest, SyncResponse, SyncStatus};
use passage_core::{CaseId, Identity, Role, Store};
use serde_json::Value;
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_passage-server");
pub const CASEWORKER: &str = "Amira Khoury";
pub const TALENT: &str = "Rana Haddad";

/// A running server, stopped when dropped; its data directory lives as long.
pub struct Server {
    pub dir: TempDir,
    pub addr: String,
    /// Options given to `serve`.
    options: Vec<String>,
    child: Option<Child>,
}

impl Server {
    /// A new data directory and a server on it.
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// The same, with options for `serve`.
    pub fn start_with(options: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = Server {
            dir,
            addr: String::new(),
            options: options.iter().map(|o| (*o).to_owned()).collect(),
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
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data().join("server.log"))
            .expect("log file");
        let mut child = Command::new(BIN)
            .args([
                "--data",
                &self.data().to_string_lossy(),
                "serve",
                "--listen",
                "127.0.0.1:0",
            ])
            .args(&self.options)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("server starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("first line");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        self.addr = addr.to_owned();
        self.child = Some(child);
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

    /// Runs an admin command on this server's data directory.
    pub fn admin(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .arg("--data")
            .arg(self.data())
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

    /// `POST /v1/enrol`; the status and the JSON answer.
    pub fn enrol(&self, code: &str, device: &str) -> (u16, Value) {
        let body = serde_json::json!({ "code": code, "device": device }).to_string();
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
        let store = Store::open(dir.path().join("device.db"), Identity::new(role, name)).expect("store");
        Device {
            _dir: dir,
            store,
            token,
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

/// A device: a store on disk and its token.
pub struct Device {
    _dir: TempDir,
    pub store: Store,
    pub token: String,
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
