//! Devices and the real `passage-server` over loopback: enrolment with codes from the
//! server's admin commands, offline edits on a talent's phone and a caseworker's
//! laptop that converge through sync, a caseworker device holding several cases, a
//! family member's device that receives the arrival plan and nothing medical, and a
//! server that stops (killed, not asked) and comes back without losing anything.
//!
//! `cargo test --workspace` builds `passage-server` into the same directory as
//! `passage`; each test starts its own server on a free port with its own data
//! directory, and kills it when done.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use crate::cli::{Device, assert_has, run_plain};

const FLIGHT: &str =
    "RJ131 Royal Jordanian AMM 2027-03-28T09:40[Asia/Amman] BRU 2027-03-28T12:55[Europe/Brussels]";
/// Medical words that must never reach a family device, in any form.
const MEDICAL: &[&str] = &["Hepatitis B", "MHAC", "chest X-ray", "Tuberculosis screening"];

fn server_binary() -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_passage")).with_file_name("passage-server");
    assert!(
        path.exists(),
        "{} is missing: these tests run the real sync server, which `cargo test --workspace` \
         (or `cargo build -p passage-server`) builds next to `passage`",
        path.display()
    );
    path
}

/// A sync server: its data directory, and the running process once started.
struct Server {
    dir: TempDir,
    process: Option<Child>,
    addr: String,
}

impl Server {
    fn new() -> Server {
        Server {
            dir: tempfile::tempdir().expect("temp dir"),
            process: None,
            addr: String::new(),
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Runs an admin command on the data directory; returns its output.
    fn admin(&self, args: &[&str]) -> String {
        let out = Command::new(server_binary())
            .arg("--data")
            .arg(self.data())
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .output()
            .expect("passage-server runs");
        let stdout = String::from_utf8(out.stdout).expect("UTF-8");
        assert!(
            out.status.success(),
            "passage-server {args:?} failed: {}\n{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// The code an enrolment admin command printed.
    fn code(&self, args: &[&str]) -> String {
        self.issue(args).0
    }

    /// The code and the device id an enrolment admin command printed.
    fn issue(&self, args: &[&str]) -> (String, String) {
        let out = self.admin(args);
        let field = |name: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap_or_else(|| panic!("no {name:?} in:\n{out}"))
                .trim()
                .to_owned()
        };
        (field("enrolment code: "), field("device id: "))
    }

    /// A caseworker and one case assigned to them; returns the caseworker's device
    /// code and the case id.
    fn caseworker_with_case(&self, caseworker: &str, talent: &str) -> (String, String) {
        let code = self.code(&["caseworker", "add", caseworker]);
        let case = self.case(caseworker, talent, "be");
        (code, case)
    }

    fn case(&self, caseworker: &str, talent: &str, template: &str) -> String {
        let out = self.admin(&[
            "case",
            "create",
            "--template",
            template,
            "--talent",
            talent,
            "--employer",
            "AZ Sint-Jan Brugge",
            "--job",
            "Registered nurse",
            "--start",
            "2026-11-02",
            "--caseworker",
            caseworker,
        ]);
        out.trim().to_owned()
    }

    /// Starts serving, on `addr` (a free port when it ends in `:0`), and waits for the
    /// server to say where it listens.
    fn start_on(&mut self, addr: &str) {
        let mut child = Command::new(server_binary())
            .arg("--data")
            .arg(self.data())
            .args(["serve", "--listen", addr])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("passage-server starts");
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_default();
        let Some(bound) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("passage-server did not start on {addr}: {line:?}");
        };
        self.addr = bound.to_owned();
        self.process = Some(child);
    }

    fn start(&mut self) {
        self.start_on("127.0.0.1:0");
    }

    /// Kills the server (SIGKILL: no goodbye, as in a crash or a power cut).
    fn kill(&mut self) {
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again on the same port, as after a restart.
    fn restart(&mut self) {
        let addr = self.addr.clone();
        self.start_on(&addr);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `passage` as the device's enrolled role (no `--role`), with `name` in the
/// history; the command must succeed.
fn on(device: &Device, name: &str, args: &[&str]) -> String {
    let mut all = vec!["--name", name];
    all.extend_from_slice(args);
    let (code, out, err) = run_plain(&device.store, &all);
    assert_eq!(code, 0, "passage {args:?} failed:\n{err}\n{out}");
    out
}

/// Runs `passage` as the enrolled role; the command must fail with `code`. Returns
/// stderr.
fn failing(device: &Device, args: &[&str], code: i32) -> String {
    let (got, out, err) = run_plain(&device.store, args);
    assert_eq!(got, code, "passage {args:?}: exit {got}\n{err}\n{out}");
    assert!(err.starts_with("error: "), "{err}");
    err
}

fn enrol(device: &Device, name: &str, server: &Server, code: &str) -> String {
    on(device, name, &["enrol", code, "--server", &server.url()])
}

fn sync(device: &Device, name: &str) -> String {
    let out = on(device, name, &["sync"]);
    assert!(out.starts_with("synced: "), "{out}");
    out
}

fn json(device: &Device, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&on(device, "reader", &all)).expect("JSON output")
}

const RANA: &str = "Rana Haddad";
const AMIRA: &str = "Amira Khoury";

#[test]
fn a_talent_and_a_caseworker_converge_through_the_server() {
    let mut server = Server::new();
    let (laptop_code, case) = server.caseworker_with_case(AMIRA, RANA);
    let phone_code = server.code(&["enrol", "talent", &case]);
    server.start();
    let (laptop, phone) = (Device::new(), Device::new());

    let enrolled = enrol(&phone, RANA, &server, &phone_code);
    assert_has(&enrolled, &["device enrolled", "Talent", &case]);
    enrol(&laptop, AMIRA, &server, &laptop_code);
    sync(&phone, RANA);
    sync(&laptop, AMIRA);

    // Offline on both sides: the talent ticks a task, adds a daughter and books a
    // clinic visit; the caseworker records the permit, the flight and the housing.
    on(&phone, RANA, &["task", "done", "complete_talent_profile"]);
    on(
        &phone,
        RANA,
        &[
            "family",
            "add",
            "--name",
            "Lina Haddad",
            "--relation",
            "child",
            "--travel",
            "with_talent",
        ],
    );
    on(
        &phone,
        RANA,
        &[
            "medical",
            "appointment",
            "--clinic",
            "IOM MHAC Amman",
            "--at",
            "2027-01-12T10:30[Asia/Amman]",
        ],
    );
    on(&laptop, AMIRA, &["permit", "granted", "--on", "2027-02-01"]);
    on(
        &laptop,
        AMIRA,
        &["flight", "add", "--ref", "X7K2QP", "--segment", FLIGHT],
    );
    on(
        &laptop,
        AMIRA,
        &[
            "housing",
            "--address",
            "Sint-Jorisstraat 12, 8000 Brugge",
            "--city",
            "Brugge",
        ],
    );

    for _ in 0..2 {
        sync(&phone, RANA);
        sync(&laptop, AMIRA);
    }

    let journey = json(&phone, &["show"]);
    assert_eq!(journey, json(&laptop, &["show"]), "the journeys differ");
    assert_eq!(
        json(&phone, &["medical", "show"]),
        json(&laptop, &["medical", "show"])
    );
    let text = serde_json::to_string(&journey).expect("JSON");
    assert_has(&text, &["Lina Haddad", "RJ131", "Sint-Jorisstraat 12", "granted"]);
    for device in [&phone, &laptop] {
        let status = on(device, "reader", &["sync", "--status"]);
        assert_has(&status, &["Documents waiting to be sent: 0", &server.url()]);
        assert!(!status.contains("Last error"), "{status}");
    }

    // History names who the server received each change from; all of it synced, so
    // the server vouched for every line.
    let history = on(&laptop, AMIRA, &["history"]);
    assert_has(
        &history,
        &[
            "Rana Haddad",
            "appointment.add",
            "Amira Khoury",
            "permit.decision",
        ],
    );
    assert!(
        !history.contains("not vouched") && !history.contains("claimed"),
        "{history}"
    );

    // Erasing the medical record: asked twice, then gone on both devices.
    failing(&laptop, &["medical", "erase"], 2);
    failing(&phone, &["medical", "erase", "--yes"], 3);
    let erased = on(&laptop, AMIRA, &["medical", "erase", "--yes"]);
    assert_has(&erased, &["medical record erased"]);
    sync(&laptop, AMIRA);
    sync(&phone, RANA);
    for device in [&phone, &laptop] {
        let e = failing(device, &["medical", "show"], 4);
        assert!(e.contains("erased"), "{e}");
    }
    assert_eq!(
        json(&phone, &["show"]),
        json(&laptop, &["show"]),
        "the journeys stay"
    );
}

#[test]
fn a_caseworker_device_holds_every_case_assigned_to_the_caseworker() {
    let mut server = Server::new();
    let (code, first) = server.caseworker_with_case(AMIRA, RANA);
    let second = server.case(AMIRA, "Omar Khalil", "ie");
    // A colleague's case never reaches this device.
    server.admin(&["caseworker", "add", "Joris Peeters"]);
    let other = server.case("Joris Peeters", "Yara Saleh", "pt");
    server.start();
    let laptop = Device::new();
    enrol(&laptop, AMIRA, &server, &code);
    sync(&laptop, AMIRA);

    let cases = json(&laptop, &["cases"]);
    let mut ids: Vec<&str> = cases
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|c| c["case"].as_str())
        .collect();
    ids.sort_unstable();
    let mut expected = vec![first.as_str(), second.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected, "not the caseworker's cases: {cases}");
    assert!(!ids.contains(&other.as_str()));

    // --case picks one; without it the device asks which.
    assert_has(
        &on(&laptop, AMIRA, &["--case", &second, "show"]),
        &["Omar Khalil", "Ireland"],
    );
    assert_has(
        &on(&laptop, AMIRA, &["--case", &first, "show"]),
        &[RANA, "Belgium"],
    );
    let asked = failing(&laptop, &["show"], 2);
    assert_has(&asked, &["2 cases", &first, &second]);

    // An edit to one case goes up with the next sync, and only that case changes.
    on(
        &laptop,
        AMIRA,
        &["--case", &second, "permit", "granted", "--on", "2027-02-01"],
    );
    let synced = sync(&laptop, AMIRA);
    assert_has(&synced, &["Documents sent: 1"]);
}

#[test]
fn a_family_device_shows_the_arrival_plan_and_nothing_medical() {
    let mut server = Server::new();
    let (code, case) = server.caseworker_with_case(AMIRA, RANA);
    server.start();
    let laptop = Device::new();
    enrol(&laptop, AMIRA, &server, &code);
    sync(&laptop, AMIRA);
    on(
        &laptop,
        AMIRA,
        &["flight", "add", "--ref", "X7K2QP", "--segment", FLIGHT],
    );
    on(
        &laptop,
        AMIRA,
        &[
            "medical",
            "appointment",
            "--clinic",
            "IOM MHAC Amman",
            "--at",
            "2027-01-12T10:30[Asia/Amman]",
            "--purpose",
            "Tuberculosis screening",
        ],
    );
    on(
        &laptop,
        AMIRA,
        &[
            "medical",
            "test",
            "--name",
            "chest X-ray",
            "--date",
            "2027-01-12",
            "--result",
            "clear",
        ],
    );
    on(
        &laptop,
        AMIRA,
        &[
            "medical",
            "vaccination",
            "--name",
            "Hepatitis B",
            "--date",
            "2027-01-12",
        ],
    );
    sync(&laptop, AMIRA);

    let family_code = server.code(&["enrol", "family", &case, "--expires-in", "30d"]);
    let phone = Device::new();
    let enrolled = enrol(&phone, "Samir Haddad", &server, &family_code);
    assert_has(&enrolled, &["Family member", "Access expires"]);
    sync(&phone, "Samir Haddad");

    // No --role: the device acts as the family member it was enrolled as.
    let plan = on(&phone, "Samir Haddad", &["arrival-plan"]);
    assert_has(
        &plan,
        &["Arrival plan", RANA, "RJ131", "AMM 2027-03-28 09:40 Asia/Amman"],
    );
    let plan_json = on(&phone, "Samir Haddad", &["--json", "arrival-plan"]);
    let arabic = on(&phone, "Samir Haddad", &["--lang", "ar", "arrival-plan"]);
    for text in [&plan, &plan_json, &arabic] {
        for word in MEDICAL {
            assert!(!text.contains(word), "{word:?} shown to family:\n{text}");
        }
    }
    failing(&phone, &["show"], 3);
    failing(&phone, &["medical", "show"], 3);
    // Not even in the store's bytes: the server never sent them.
    for file in ["passage.db", "passage.db-wal"] {
        let path = phone.store.with_file_name(file);
        let bytes = std::fs::read(&path).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        for word in MEDICAL {
            assert!(!text.contains(word), "{word:?} in {}", path.display());
        }
    }
}

#[test]
fn a_sync_against_a_stopped_server_loses_nothing_and_the_next_one_completes() {
    let mut server = Server::new();
    let (laptop_code, case) = server.caseworker_with_case(AMIRA, RANA);
    let phone_code = server.code(&["enrol", "talent", &case]);
    server.start();
    let (laptop, phone) = (Device::new(), Device::new());
    enrol(&phone, RANA, &server, &phone_code);
    enrol(&laptop, AMIRA, &server, &laptop_code);
    sync(&phone, RANA);
    sync(&laptop, AMIRA);
    on(
        &laptop,
        AMIRA,
        &["flight", "add", "--ref", "X7K2QP", "--segment", FLIGHT],
    );
    sync(&laptop, AMIRA);

    server.kill();
    on(
        &phone,
        RANA,
        &[
            "task",
            "note",
            "complete_talent_profile",
            "CV uploaded, in English",
        ],
    );
    let err = failing(&phone, &["sync"], 7);
    assert_has(&err, &["could not be reached", "next attempt after"]);
    let status = on(&phone, RANA, &["sync", "--status"]);
    assert_has(
        &status,
        &[
            "Last error: the sync server could not be reached",
            "Next attempt after:",
            "Documents waiting to be sent: 1",
        ],
    );
    let json_status = json(&phone, &["sync", "--status"]);
    assert_eq!(json_status["state"]["consecutive_failures"], 1);

    server.restart();
    let synced = sync(&phone, RANA);
    assert_has(&synced, &["Documents sent: 1"]);
    let status = on(&phone, RANA, &["sync", "--status"]);
    assert!(!status.contains("Last error"), "{status}");
    assert_has(&status, &["Documents waiting to be sent: 0"]);
    // What the server had before it was killed, and what came after, both arrive.
    sync(&laptop, AMIRA);
    let tasks = on(&laptop, AMIRA, &["show"]);
    assert_has(&tasks, &["CV uploaded, in English", "RJ131"]);
    assert_eq!(json(&phone, &["show"]), json(&laptop, &["show"]));
}

#[test]
fn refusals_say_what_to_do_next() {
    let mut server = Server::new();
    let (_, case) = server.caseworker_with_case(AMIRA, RANA);
    let (phone_code, phone_id) = server.issue(&["enrol", "talent", &case]);
    server.start();
    let phone = Device::new();

    // A code that was never issued: ask for a new one (invalid input).
    let err = failing(&phone, &["enrol", "AAAA-BBBB-CCCC", "--server", &server.url()], 2);
    assert_has(&err, &["enrolment code was refused"]);
    // Not enrolled yet: enrol first.
    failing(&phone, &["sync"], 8);

    enrol(&phone, RANA, &server, &phone_code);
    sync(&phone, RANA);
    // The talent's device, told it is a caseworker, writes what only staff may: the
    // device lets it, the server does not, and the change stays on the device.
    let (code, _, err) = run_plain(&phone.store, &["--role", "caseworker", "permit", "granted"]);
    assert_eq!(code, 0, "{err}");
    // The refusal holds that document on the device and does not stop the sync: the
    // other document (the medical record) is in step, and the change is still here.
    let (code, out, err) = run_plain(&phone.store, &["sync"]);
    assert_eq!(code, 3, "{out}{err}");
    assert_has(&err, &["refused changes, kept on this device", "/permit"]);
    let status = on(&phone, RANA, &["sync", "--status"]);
    assert_has(
        &status,
        &[
            "Documents waiting to be sent: 0",
            "Refused by the server, kept on this device",
            "/permit",
        ],
    );
    assert!(!status.contains("Last error"), "{status}");
    assert_has(
        &on(&phone, RANA, &["--role", "caseworker", "show"]),
        &["  Granted"],
    );
    // The next sync offers the held change again, alone, and it is refused again.
    let (code, _, err) = run_plain(&phone.store, &["sync"]);
    assert_eq!(code, 3, "{err}");

    // A revoked device is told to enrol again.
    server.admin(&["token", "revoke", &phone_id]);
    let err = failing(&phone, &["sync"], 8);
    assert_has(&err, &["refused this device's token"]);
}
