//! `passage` as a person uses it: each test runs the real binary on its own store file,
//! as caseworker, talent or family, and checks the text, the JSON and the exit codes
//! (2 invalid input, 3 not allowed, 4 not found).
//!
//! Every edit fsyncs, so the tests keep the number of process launches moderate and
//! check several things per launch.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use passage_core::model::PermitDecision;
use passage_core::{CaseId, DocKind, Edit, Identity, Role, Store};
use serde_json::Value;
use tempfile::TempDir;

/// Where the device run on `store` keeps its keys: a directory beside the store, so
/// that each test's keys live and go with its temporary directory.
pub(crate) fn key_dir(store: &Path) -> PathBuf {
    store.parent().expect("a store in a directory").join("keys")
}

/// Opens a store file the way `passage` does, with its key from the key directory
/// beside it (made there if the store has none yet).
pub(crate) fn open_store(path: &Path, identity: Identity) -> Store {
    let dir = key_dir(path);
    let keys = |id: &passage_core::StoreId| -> passage_core::Result<passage_core::SecretKey> {
        let file = dir.join(format!("{id}.key"));
        match std::fs::read_to_string(&file) {
            Ok(text) => {
                let text = text.trim();
                let bytes: Vec<u8> = (0..32)
                    .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex"))
                    .collect();
                passage_core::SecretKey::from_bytes(&bytes)
            }
            Err(_) => {
                let key = passage_core::SecretKey::generate()?;
                std::fs::create_dir_all(&dir).expect("key dir");
                let text: String = key.expose().iter().map(|b| format!("{b:02x}")).collect();
                std::fs::write(&file, text).expect("key file");
                Ok(key)
            }
        }
    };
    Store::open_with_key(path, identity, passage_core::StoreOptions::default(), &keys).expect("store")
}

/// A device: a temporary directory holding one store file.
pub(crate) struct Device {
    _dir: TempDir,
    pub(crate) store: PathBuf,
}

impl Device {
    pub(crate) fn new() -> Device {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = dir.path().join("passage.db");
        Device { _dir: dir, store }
    }
}

/// Runs `passage` on `store` as `role` with `args`; returns the exit code, stdout and
/// stderr. The environment's PASSAGE_* variables are cleared so that only the
/// arguments count.
pub(crate) fn run(store: &Path, role: &str, args: &[&str]) -> (i32, String, String) {
    let name = match role {
        "talent" => "Rana Haddad",
        "family" => "Samir Haddad",
        _ => "Amira Khoury",
    };
    let mut all = vec!["--role", role, "--name", name];
    all.extend_from_slice(args);
    run_plain(store, &all)
}

/// Runs `passage` on `store` with exactly `args`: no role or name added, so that the
/// device's own defaults (the role it was enrolled as) apply.
pub(crate) fn run_plain(store: &Path, args: &[&str]) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_passage"))
        .env_remove("PASSAGE_STORE")
        .env_remove("PASSAGE_ROLE")
        .env_remove("PASSAGE_NAME")
        .env_remove("PASSAGE_LANG")
        .env_remove("PASSAGE_CASE")
        .env_remove("PASSAGE_SERVER")
        .env("PASSAGE_KEY_DIR", key_dir(store))
        .arg("--store")
        .arg(store)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("passage starts");
    // Read both pipes while waiting (an export is larger than a pipe's buffer), and
    // give up after a deadline: a hung command (a lock taken twice) must fail the
    // test, not stall the suite.
    let stdout = read_all(child.stdout.take());
    let stderr = read_all(child.stderr.take());
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("passage can be waited for") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("passage {args:?} did not finish in {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    (
        status.code().unwrap_or(-1),
        stdout.join().expect("stdout reader"),
        stderr.join().expect("stderr reader"),
    )
}

const TIMEOUT: Duration = Duration::from_secs(30);

fn read_all(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            pipe.read_to_end(&mut bytes).expect("pipe readable");
        }
        String::from_utf8(bytes).expect("output is UTF-8")
    })
}

/// Runs a command that must succeed; returns its stdout.
pub(crate) fn ok(store: &Path, role: &str, args: &[&str]) -> String {
    let (code, out, err) = run(store, role, args);
    assert_eq!(code, 0, "passage {args:?} as {role} failed:\n{err}\n{out}");
    assert!(err.is_empty(), "passage {args:?} wrote to stderr: {err}");
    out
}

/// Runs a command that must fail with `code`; returns its stderr, checked to start
/// with `error: ` and to leave stdout empty.
pub(crate) fn fails(store: &Path, role: &str, args: &[&str], code: i32) -> String {
    let (got, out, err) = run(store, role, args);
    assert_eq!(
        got, code,
        "passage {args:?} as {role}: exit {got}, stderr:\n{err}\nstdout:\n{out}"
    );
    assert!(out.is_empty(), "passage {args:?} printed on failure: {out}");
    assert!(err.starts_with("error: "), "passage {args:?}: {err}");
    err
}

pub(crate) fn assert_has(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "missing {part:?} in:\n{text}");
    }
}

/// The id at the end of a confirmation such as `family member added: 1a2b3c4d5e6f`.
fn created_id(confirmation: &str) -> String {
    confirmation
        .split_whitespace()
        .last()
        .expect("a confirmation with an id")
        .to_owned()
}

/// Creates Rana Haddad's Belgian journey; returns the case id and what `new` printed.
pub(crate) fn new_case(store: &Path, extra: &[&str]) -> (String, String) {
    let mut args = vec![
        "new",
        "--template",
        "be",
        "--talent",
        "Rana Haddad",
        "--employer",
        "AZ Sint-Jan Brugge",
        "--job",
        "Registered nurse",
        "--start",
        "2026-11-02",
    ];
    args.extend_from_slice(extra);
    let shown = ok(store, "caseworker", &args);
    let case = shown
        .lines()
        .find_map(|l| l.trim().strip_prefix("Case: "))
        .expect("the journey shows its case id")
        .to_owned();
    (case, shown)
}

#[test]
fn new_shows_a_belgian_journey_in_english_arabic_and_french() {
    let device = Device::new();
    let (case, en) = new_case(&device.store, &[]);
    assert_has(
        &en,
        &[
            "Journey: Rana Haddad",
            "Destination: Belgium (BE)",
            "Employer: AZ Sint-Jan Brugge",
            "Job title: Registered nurse",
            "Template: be v2",
            "== Tasks (0/50) ==",
            "Matching with an employer",
            "  [ ] confirm_match: Confirm the match with the employer and explain the next steps",
            "single_permit_filed: File the single permit application (combined residence and work permit) with the regional authority",
            "To do · Employer · Due: 2026-12-02",
            "Pending",
            "Module exploring: Exploring Belgium · Not started",
        ],
    );
    // Stages come in pathway order, not in the documents' alphabetical key order.
    let order = [
        "Matching with an employer",
        "Job offer",
        "Work permit",
        "Visa",
        "Medical check",
        "Arrival",
        "Follow-up",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|s| en.find(&format!("\n{s}\n")).expect("stage shown"))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "stages out of order: {at:?}");

    let ar = ok(
        &device.store,
        "caseworker",
        &["show", "--lang", "ar", "--case", &case],
    );
    assert_has(
        &ar,
        &[
            "مسار الرحلة: Rana Haddad",
            "بلد الوجهة: بلجيكا (BE)",
            "المطابقة مع صاحب عمل",
            "تصريح العمل",
            "single_permit_filed: تقديم طلب التصريح الموحّد (إقامة وعمل معًا) إلى السلطة الإقليمية المختصة",
            "للتنفيذ · صاحب العمل",
            "استكشاف بلجيكا",
        ],
    );

    let fr = ok(&device.store, "caseworker", &["--lang", "fr", "tasks"]);
    assert_has(
        &fr,
        &[
            "== Tâches (0/50) ==",
            "Mise en relation avec un employeur",
            "Autorisation de travail",
            "single_permit_filed: Déposer la demande de permis unique (séjour et travail) auprès de la région compétente",
            "À faire · Employeur · Échéance: 2026-12-02",
        ],
    );

    let templates = ok(&device.store, "caseworker", &["templates", "--lang", "fr"]);
    assert_has(
        &templates,
        &[
            "be   v1   BE  Belgique\n",
            "be   v2   BE  Belgique (la plus récente)",
            "Royaume-Uni",
        ],
    );
    assert!(!templates.contains("newest"), "English in French:\n{templates}");
}

#[test]
fn a_full_edit_flow_shows_in_journey_medical_history_and_export() {
    let device = Device::new();
    let store = device.store.as_path();
    new_case(store, &[]);
    let cw = |args: &[&str]| ok(store, "caseworker", args);

    assert_eq!(cw(&["task", "done", "confirm_match"]), "confirm_match: Done\n");
    cw(&[
        "task",
        "note",
        "attend_job_interview",
        "Interview on Teams, 10:00 Amman time",
    ]);
    cw(&["task", "due", "collect_visa", "none"]);
    cw(&["permit", "granted", "--on", "2027-04-30"]);
    let booking = created_id(&cw(&[
        "flight",
        "add",
        "--ref",
        "X7K2QP",
        "--traveller",
        "Rana Haddad",
        "--traveller",
        "Lina Haddad",
        "--segment",
        "RJ131 Royal Jordanian AMM 2027-03-28T09:40[Asia/Amman] IST 2027-03-28T11:40[Europe/Istanbul]",
        "--segment",
        "TK1937 Turkish Airlines IST 2027-03-28T13:30[Europe/Istanbul] BRU 2027-03-28T15:55[Europe/Brussels]",
    ]));
    cw(&[
        "flight",
        "times",
        &booking,
        "2",
        "--arrives",
        "2027-03-28T16:05[Europe/Brussels]",
    ]);
    cw(&["flight", "allow-self-booking", "true"]);
    cw(&[
        "housing",
        "--address",
        "Sint-Jorisstraat 12, 8000 Brugge",
        "--city",
        "Brugge",
        "--from",
        "2027-03-28",
        "--until",
        "2027-06-27",
    ]);
    cw(&[
        "meeting",
        "--name",
        "Joris Peeters",
        "--organisation",
        "AZ Sint-Jan HR",
        "--phone",
        "+32 50 45 21 11",
        "--place",
        "Brussels Airport, arrivals hall, meeting point",
    ]);
    cw(&["pdo", "schedule", "2027-02-15", "2027-02-16", "2027-02-17"]);
    assert_eq!(cw(&["pdo", "attend", "1", "attended"]), "Day 1: Attended\n");
    cw(&["pdo", "module", "exploring", "completed"]);
    let lina = created_id(&cw(&[
        "family",
        "add",
        "--name",
        "Lina Haddad",
        "--relation",
        "child",
        "--travel",
        "with_talent",
    ]));
    let added = cw(&[
        "--lang",
        "ar",
        "family",
        "add",
        "--name",
        "Karim Haddad",
        "--relation",
        "other",
        "--travel",
        "joining_later",
    ]);
    assert!(added.starts_with("تمت إضافة فرد من العائلة: "), "{added}");
    let cousin = created_id(&added);
    assert_eq!(
        cw(&["family", "remove", &cousin, "--lang", "fr"]),
        format!("membre de la famille retiré: {cousin}\n")
    );
    let appointment = created_id(&cw(&[
        "medical",
        "appointment",
        "--clinic",
        "IOM Migration Health Assessment Centre, Amman",
        "--at",
        "2027-01-12T10:30[Asia/Amman]",
        "--purpose",
        "Pre-departure health assessment",
    ]));
    cw(&[
        "medical",
        "reschedule",
        &appointment,
        "--at",
        "2027-01-14 09:00 Asia/Amman",
    ]);
    cw(&[
        "medical",
        "test",
        "--name",
        "Chest X-ray",
        "--date",
        "2027-01-14",
        "--result",
        "No active tuberculosis",
    ]);
    cw(&["medical", "vaccination", "--name", "MMR", "--date", "2027-01-14"]);
    cw(&[
        "medical",
        "fitness",
        "fit",
        "--on",
        "2027-01-20",
        "--valid-until",
        "2027-07-20",
    ]);

    let show = cw(&["show"]);
    assert_has(
        &show,
        &[
            "== Tasks (1/50) ==",
            "  [✓] confirm_match: ",
            "Done · Caseworker · Amira Khoury, ",
            "Notes: Interview on Teams, 10:00 Amman time",
            "Granted (2027-04-30)",
            "Self-booking by the talent: Allowed",
            "Template: be v2",
            "Start: 2026-11-02",
            &format!("{booking}: Booking reference: X7K2QP"),
            "Travellers: Rana Haddad, Lina Haddad",
            "1. RJ131 Royal Jordanian",
            "Departs: AMM 2027-03-28 09:40 Asia/Amman (UTC+03:00)",
            "Arrives: IST 2027-03-28 11:40 Europe/Istanbul (UTC+03:00)",
            "2. TK1937 Turkish Airlines",
            "Arrives: BRU 2027-03-28 16:05 Europe/Brussels (UTC+02:00)",
            "Address: Sint-Jorisstraat 12, 8000 Brugge",
            "Dates: 2027-03-28 – 2027-06-27",
            "Met by: Joris Peeters (AZ Sint-Jan HR) · +32 50 45 21 11",
            "Day 1: 2027-02-15 · Attended",
            "Day 3: 2027-02-17 · Scheduled",
            "Module exploring: Exploring Belgium · Completed",
            &format!("{lina}: Lina Haddad · Child · Travels with the talent"),
        ],
    );
    assert!(
        !show.contains("Karim"),
        "a removed member is still shown:\n{show}"
    );
    assert!(!show.contains("X-ray"), "the journey shows medical data:\n{show}");
    let collect_visa = show
        .lines()
        .skip_while(|l| !l.contains("collect_visa:"))
        .nth(1)
        .expect("collect_visa shown");
    assert!(
        !collect_visa.contains("Due"),
        "due date not cleared: {collect_visa}"
    );

    // The same journey in Arabic: every caption from the catalogue, none in English.
    let ar = cw(&["show", "--lang", "ar"]);
    assert_has(
        &ar,
        &[
            "النموذج: be v2",
            "تاريخ البدء: 2026-11-02",
            "ملف الحالة: ",
            "حجز المرشّح لرحلاته بنفسه: مسموح",
            "مكان اللقاء: Brussels Airport, arrivals hall, meeting point",
            "في الاستقبال: Joris Peeters",
        ],
    );
    for english in ["Template", "Start:", "Case:", "Self-booking", "allowed", "Place:"] {
        assert!(!ar.contains(english), "{english:?} in Arabic:\n{ar}");
    }

    let medical = cw(&["medical", "show"]);
    assert_has(
        &medical,
        &[
            "Fitness to travel: Fit to travel · 2027-01-20 · Valid until: 2027-07-20",
            &format!("{appointment}: 2027-01-14 09:00 Asia/Amman (UTC+03:00)"),
            "Clinic: IOM Migration Health Assessment Centre, Amman",
            "2027-01-14 · Chest X-ray · No active tuberculosis",
            "2027-01-14 · MMR",
        ],
    );

    let history = cw(&["history"]);
    assert_has(
        &history,
        &[
            "Amira Khoury  Caseworker  journey  journey.create  be v2",
            "task.status  confirm_match=done",
            "flight.add",
            &format!("flight.times  {booking}#1"),
            &format!("family.remove  {cousin}"),
            &format!("medical  appointment.reschedule  {appointment}"),
            "medical  fitness.set",
        ],
    );
    assert!(!history.contains("X-ray"), "the history names a medical value");
    let medical_ar = cw(&["medical", "show", "--lang", "ar"]);
    assert_has(
        &medical_ar,
        &["== الفحوصات ==", "== اللقاحات ==", "2027-01-14 · MMR"],
    );
    for english in ["Tests", "Vaccinations"] {
        assert!(
            !medical_ar.contains(english),
            "{english:?} in Arabic:\n{medical_ar}"
        );
    }

    let export_path = store.with_file_name("export.json");
    let export_arg = export_path.to_str().expect("UTF-8 path");
    let confirmation = cw(&["export", "--output", export_arg]);
    assert!(confirmation.contains("exported"), "{confirmation}");
    let text = std::fs::read_to_string(&export_path).expect("export written");
    let export: Value = serde_json::from_str(&text).expect("export is JSON");
    assert_eq!(export["format"], "passage.case-export");
    assert_eq!(export["version"], 1);
    assert_eq!(export["journey"]["talent_name"], "Rana Haddad");
    assert_eq!(export["journey"]["permit"]["decision"], "granted");
    assert_eq!(
        export["journey"]["travel"]["flights"][&booking]["segments"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(export["medical"]["fitness"]["decision"], "fit");
    assert_eq!(export["arrival_plan"]["travelling_with"][0], "Lina Haddad");
    assert!(
        export["history"].as_array().is_some_and(|h| h.len() >= 20),
        "{}",
        export["history"]
    );
    // Without --output the same document goes to stdout.
    let stdout: Value = serde_json::from_str(&cw(&["export"])).expect("export is JSON");
    assert_eq!(stdout["journey"], export["journey"]);

    let plan = ok(store, "talent", &["arrival-plan", "--lang", "ar"]);
    assert_has(
        &plan,
        &[
            "خطة الوصول: Rana Haddad",
            "Brugge",
            "Lina Haddad",
            "المطابقة مع صاحب عمل · جارية",
            "مدينة الوصول: ",
            "المرافقون في السفر: Lina Haddad",
            "مكان اللقاء: Brussels Airport",
        ],
    );
    for english in ["Arrival city", "Travelling with", "Place:"] {
        assert!(!plan.contains(english), "{english:?} in Arabic:\n{plan}");
    }
    assert!(
        !plan.contains("الفحص الطبي"),
        "the arrival plan names the medical check:\n{plan}"
    );
}

#[test]
fn family_reads_nothing_but_the_arrival_plan() {
    let device = Device::new();
    let store = device.store.as_path();
    let (case, _) = new_case(store, &[]);

    let err = fails(store, "family", &["show"], 3);
    assert_has(&err, &["a family may not read the journey"]);
    let err = fails(store, "family", &["medical", "show"], 3);
    assert_has(&err, &["a family may not read the medical record"]);
    fails(
        store,
        "family",
        &[
            "medical",
            "appointment",
            "--clinic",
            "Clinic",
            "--at",
            "2027-01-12T10:30[Asia/Amman]",
        ],
        3,
    );
    fails(store, "family", &["history", "--case", &case], 3);
    fails(store, "family", &["task", "done", "complete_talent_profile"], 3);
    // Family devices read the arrival plan from a synced document; this store has
    // none, so there is nothing to show yet.
    let err = fails(store, "family", &["arrival-plan"], 4);
    assert_has(&err, &["no arrival plan on this device"]);
    fails(store, "family", &["arrival-plan", "--case", &case], 4);
}

#[test]
fn the_talent_does_their_own_tasks_and_nothing_reserved_for_staff() {
    let device = Device::new();
    let store = device.store.as_path();
    new_case(store, &[]);

    assert_eq!(
        ok(
            store,
            "talent",
            &["--lang", "ar", "task", "done", "complete_talent_profile"]
        ),
        "complete_talent_profile: منجز\n"
    );
    let tasks = ok(store, "talent", &["tasks"]);
    assert_has(
        &tasks,
        &["[✓] complete_talent_profile", "Done · Talent · Rana Haddad, "],
    );
    let open = ok(store, "talent", &["tasks", "--open"]);
    assert!(
        !open.contains("complete_talent_profile"),
        "--open shows a done task:\n{open}"
    );
    assert!(open.contains("attend_job_interview"));

    let err = fails(store, "talent", &["permit", "granted"], 3);
    assert_has(&err, &["a talent may not set the permit decision"]);
    fails(store, "talent", &["task", "done", "confirm_match"], 3);
    fails(
        store,
        "talent",
        &[
            "new",
            "--template",
            "be",
            "--talent",
            "X",
            "--employer",
            "Y",
            "--job",
            "Z",
        ],
        3,
    );
}

#[test]
fn bad_input_is_refused_with_a_message_naming_the_problem() {
    let device = Device::new();
    let store = device.store.as_path();
    new_case(store, &[]);
    let segment =
        "RJ131 Royal Jordanian AMM 2027-03-28T09:40[Asia/Amman] BRUX 2027-03-28T12:55[Europe/Brussels]";
    let table: &[(&[&str], i32, &str)] = &[
        (
            &[
                "medical",
                "appointment",
                "--clinic",
                "C",
                "--at",
                "2027-01-12T10:30[Asia/Amann]",
            ],
            2,
            "unknown IANA time zone",
        ),
        (
            &[
                "medical",
                "appointment",
                "--clinic",
                "C",
                "--at",
                "12/01/2027 10:30",
            ],
            2,
            "12/01/2027 10:30",
        ),
        (
            &["flight", "add", "--ref", "X", "--segment", segment],
            2,
            "arrival airport \"BRUX\"",
        ),
        (
            &["flight", "add", "--ref", "X", "--segment", "RJ131 AMM BRU"],
            2,
            "FLIGHT CARRIER FROM DEPARTS TO ARRIVES",
        ),
        (&["task", "done", "no_such_task"], 4, "task no_such_task"),
        (&["task", "status", "confirm_match", "finished"], 2, "finished"),
        (&["task", "due", "collect_visa", "2027-02-30"], 2, "not a date"),
        (&["pdo", "attend", "7", "attended"], 2, "PDO day 7"),
        (
            &["pdo", "module", "swimming", "completed"],
            4,
            "PDO module swimming",
        ),
        (
            &["family", "remove", "0123456789ab"],
            4,
            "family member 0123456789ab",
        ),
        (
            &[
                "flight",
                "times",
                "0123456789ab",
                "1",
                "--departs",
                "2027-03-28T10:00[Asia/Amman]",
            ],
            4,
            "flight 0123456789ab",
        ),
        (
            &["conflicts", "resolve", "journey:/permit/decision", "1"],
            4,
            "open conflict",
        ),
        (&["upgrade"], 2, "already uses template be version 2"),
        (&["show", "--case", "not-a-case"], 2, "not-a-case"),
    ];
    for (args, code, message) in table {
        let err = fails(store, "caseworker", args, *code);
        assert!(
            err.contains(message),
            "passage {args:?}: expected {message:?} in {err}"
        );
    }
    // A file that is not a store is a storage error, not a crash.
    let garbage = store.with_file_name("garbage.db");
    std::fs::write(&garbage, "not a database").expect("file written");
    let err = fails(&garbage, "caseworker", &["cases"], 6);
    assert!(err.contains("storage error"), "{err}");

    let help = ok(store, "caseworker", &["flight", "add", "--help"]);
    assert_has(
        &help,
        &[
            "FLIGHT CARRIER FROM DEPARTS TO ARRIVES",
            "YYYY-MM-DDTHH:MM[Area/City]",
        ],
    );
}

#[test]
fn two_cases_need_case_to_choose() {
    let device = Device::new();
    let store = device.store.as_path();
    let (rana, _) = new_case(store, &[]);
    let omar = ok(
        store,
        "caseworker",
        &[
            "--json",
            "new",
            "--template",
            "ie",
            "--talent",
            "Omar Khalil",
            "--employer",
            "St James's Hospital",
            "--job",
            "Staff nurse",
        ],
    );
    let omar: Value = serde_json::from_str(&omar).expect("new --json prints the journey");
    let omar = omar["case_id"].as_str().expect("a case id").to_owned();

    let err = fails(store, "caseworker", &["show"], 2);
    assert_has(
        &err,
        &[
            "choose one with --case",
            &rana,
            "Rana Haddad  Belgium (BE)",
            &omar,
            "Omar Khalil  Ireland (IE)",
        ],
    );
    let shown = ok(store, "caseworker", &["show", "--case", &omar]);
    assert_has(&shown, &["Journey: Omar Khalil", "Destination: Ireland (IE)"]);
    let err = fails(
        store,
        "caseworker",
        &["show", "--case", "0123456789abcdef0123456789abcdef"],
        4,
    );
    assert_has(
        &err,
        &["no case 0123456789abcdef0123456789abcdef", "passage cases"],
    );

    let cases = ok(store, "caseworker", &["cases"]);
    assert_has(
        &cases,
        &[
            &format!("{rana}  Rana Haddad · Belgium (BE) · be v2 · 0/50 tasks"),
            "Omar Khalil · Ireland (IE)",
        ],
    );
}

#[test]
fn debug_churn_acknowledges_each_committed_member() {
    let device = Device::new();
    let store = device.store.as_path();
    let (case, _) = new_case(store, &[]);
    let out = ok(
        store,
        "caseworker",
        &["debug", "churn", "--case", &case, "--count", "5", "--label", "t"],
    );
    assert_eq!(out, "ok t-0\nok t-1\nok t-2\nok t-3\nok t-4\n");
    let journey: Value = serde_json::from_str(&ok(store, "caseworker", &["show", "--json"])).expect("JSON");
    let mut names: Vec<&str> = journey["family"]
        .as_object()
        .expect("a family map")
        .values()
        .filter_map(|m| m["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["t-0", "t-1", "t-2", "t-3", "t-4"]);
}

#[test]
fn upgrade_keeps_progress_and_shows_retired_tasks_that_have_it() {
    let device = Device::new();
    let store = device.store.as_path();
    let (_, v1) = new_case(store, &["--version", "1"]);
    assert_has(
        &v1,
        &[
            "Template: be v1",
            "print_documents: Print copies of your travel documents",
        ],
    );
    ok(
        store,
        "caseworker",
        &["task", "status", "print_documents", "in_progress"],
    );

    let report = ok(store, "caseworker", &["upgrade"]);
    assert_has(
        &report,
        &[
            "Template: be v1 → v2",
            "added task open_bank_account: Open a bank account",
            "retired task print_documents: Print copies of your travel documents",
        ],
    );
    let tasks = ok(store, "caseworker", &["--lang", "fr", "tasks"]);
    assert_has(
        &tasks,
        &[
            "print_documents: Imprimer des copies de vos documents de voyage (retirée)",
            "En cours · Talent",
            "open_bank_account: Ouvrir un compte bancaire",
        ],
    );

    let compact = ok(store, "caseworker", &["compact"]);
    assert_has(
        &compact,
        &["journey, medical", "Change rows: 4 → 0 (", "Snapshot rows: 0 → "],
    );
    // Compaction changes how the case is stored, not what it says.
    assert_eq!(ok(store, "caseworker", &["--lang", "fr", "tasks"]), tasks);
}

#[test]
fn conflicts_list_who_set_each_value_and_resolve_by_number() {
    let device = Device::new();
    let store = device.store.as_path();
    let (case, _) = new_case(store, &[]);

    // A second device gets the journey, and both set the permit decision offline.
    let other = store.with_file_name("other.db");
    {
        let here = open_store(store, Identity::new(Role::Caseworker, "Amira Khoury"));
        let there = open_store(&other, Identity::new(Role::Caseworker, "Youssef Nasser"));
        let case: CaseId = case.parse().expect("case id");
        let doc = case.doc(DocKind::Journey);
        let sent = here.changes_since(&doc, &[]).expect("changes");
        there.receive_changes(&doc, &sent).expect("received");
        let decide = |store: &Store, decision| {
            let edit = Edit::SetPermitDecision {
                decision,
                decided_on: None,
            };
            store.apply(&case, &edit).expect("decision set");
        };
        decide(&here, PermitDecision::Granted);
        decide(&there, PermitDecision::Refused);
        let back = there.changes_since(&doc, &[]).expect("changes");
        here.receive_changes(&doc, &back).expect("received");
    }

    let listed = ok(store, "caseworker", &["conflicts"]);
    let id = "journey:/permit/decision";
    assert_has(
        &listed,
        &[
            id,
            "1. ",
            "2. ",
            "Amira Khoury",
            "Youssef Nasser",
            "(shown until resolved)",
        ],
    );
    let fr = ok(store, "caseworker", &["conflicts", "--lang", "fr"]);
    assert_has(
        &fr,
        &[
            "Conflits\n",
            &format!("{id} (Décision sur le permis)"),
            "(affichée jusqu'à la résolution)",
        ],
    );
    for english in ["permit decision", "Permit decision", "shown until resolved"] {
        assert!(!fr.contains(english), "{english:?} in French:\n{fr}");
    }
    let refused = listed
        .lines()
        .find(|l| l.contains("refused"))
        .and_then(|l| l.trim().split('.').next())
        .expect("the refused value is listed")
        .to_owned();
    assert_eq!(
        ok(store, "caseworker", &["conflicts", "resolve", id, &refused]),
        format!("conflict resolved: {id} · Value kept: {refused}\n")
    );
    let after: Value =
        serde_json::from_str(&ok(store, "caseworker", &["--json", "conflicts"])).expect("JSON");
    assert_eq!(after, serde_json::json!([]));
    assert!(ok(store, "caseworker", &["show"]).contains("== Permit ==\n  Refused\n"));
}

#[test]
fn the_store_is_sealed_under_a_key_kept_apart_from_it() {
    let device = Device::new();
    let store = device.store.as_path();
    new_case(store, &[]);
    ok(
        store,
        "caseworker",
        &[
            "medical",
            "appointment",
            "--clinic",
            "IOM Migration Health Assessment Centre, Amman",
            "--at",
            "2027-01-12T10:30[Asia/Amman]",
        ],
    );
    // One key file, owner-only, named by the store's id; the store has no plain text.
    let keys: Vec<PathBuf> = std::fs::read_dir(key_dir(store))
        .expect("the key directory")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&keys[0])
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    for file in [
        store.to_path_buf(),
        PathBuf::from(format!("{}-wal", store.display())),
    ] {
        if let Ok(bytes) = std::fs::read(&file) {
            assert!(
                !bytes.windows(13).any(|w| w == b"IOM Migration"),
                "{} holds the clinic in plain text",
                file.display()
            );
        }
    }
    // Without its key the store does not open: exit 6, and the key file is not
    // silently replaced by a new one.
    let saved = keys[0].with_extension("saved");
    std::fs::rename(&keys[0], &saved).expect("key moved away");
    let (code, _, err) = run(store, "caseworker", &["show"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("key"), "{err}");
    assert!(!keys[0].exists(), "a wrong key was left behind");
    std::fs::rename(&saved, &keys[0]).expect("key restored");
    let shown = ok(store, "caseworker", &["medical", "show"]);
    assert!(
        shown.contains("IOM Migration Health Assessment Centre"),
        "{shown}"
    );
}
