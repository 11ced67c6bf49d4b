//! What an operator sees: health, metrics, the admin commands and their exit codes,
//! and the database's schema (a format that outlives the process, pinned by a
//! snapshot).

use crate::support::{BIN, CASEWORKER, Server};

#[test]
fn health_and_metrics() {
    let server = Server::start_with(&["--metrics-listen", "127.0.0.1:0"]);
    let health = server.get("/healthz");
    assert_eq!((health.status, health.text().as_str()), (200, "ok"));
    let case = server.case();
    let talent = server.talent(&case);
    talent.sync(&server);
    assert_eq!(server.sync_raw("wrong", b"\x01").status, 401);

    // Metrics are on their own listener, not the one devices reach.
    assert_eq!(server.get("/metrics").status, 404);
    let metrics_addr = server.metrics_addr.clone().expect("a metrics listener");
    let metrics = crate::support::request(&metrics_addr, "GET", "/metrics", &[], &[]);
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .header("content-type")
            .unwrap()
            .contains("openmetrics-text")
    );
    let text = metrics.text();
    for expected in [
        "passage_syncs_total{status=\"complete\"} 1",
        "passage_syncs_total{status=\"rejected\"} 1",
        "passage_rejections_total{reason=\"unauthorized\"} 1",
        "passage_enrolments_total{result=\"enrolled\"} 1",
        "passage_sync_duration_seconds_count 2",
        "passage_sync_duration_seconds_bucket{le=\"0.001\"}",
        "# TYPE passage_sync_bytes_in counter",
        "# TYPE passage_sync_bytes_out counter",
    ] {
        assert!(text.contains(expected), "{expected} not in\n{text}");
    }
    // No case, device or document appears in a label.
    assert!(!text.contains(case.as_str()));

    // One log line per sync, without payloads.
    let log = std::fs::read_to_string(server.data().join("server.log")).unwrap();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(" sync ")).collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(
        lines[0].contains("role=\"talent\"") && lines[0].contains("status=\"complete\""),
        "{log}"
    );
    assert!(!log.contains(&talent.token));
}

#[test]
fn admin_commands_list_and_refuse_clearly() {
    let server = Server::start();
    let case = server.case();
    let cases = server.admin_ok(&["cases"]);
    assert!(cases.starts_with("CASE"), "{cases}");
    let line = cases.lines().nth(1).unwrap();
    assert!(
        line.contains(case.as_str()) && line.contains("Rana Haddad") && line.contains("BE"),
        "{line}"
    );
    assert!(line.contains(CASEWORKER) && line.ends_with('-'), "{line}");
    let talent = server.talent(&case);
    talent.sync(&server);
    let cases = server.admin_ok(&["cases"]);
    assert!(
        !cases.lines().nth(1).unwrap().ends_with('-'),
        "last sync shown: {cases}"
    );

    // QR codes hold the code, or a link with the server.
    let out = server.admin_ok(&[
        "enrol",
        "talent",
        case.as_str(),
        "--server",
        "https://sync.example.org",
    ]);
    assert!(out.contains("passage://enrol?code="), "{out}");
    assert!(out.contains("&server=https%3A%2F%2Fsync.example.org"), "{out}");
    assert!(
        out.contains('▀') || out.contains('▄') || out.contains('█'),
        "{out}"
    );

    let exit = |args: &[&str]| server.admin(args).status.code();
    assert_eq!(
        exit(&["case", "assign", &"0".repeat(32), "--caseworker", CASEWORKER]),
        Some(4)
    );
    assert_eq!(
        exit(&["case", "assign", "not-a-case", "--caseworker", CASEWORKER]),
        Some(2)
    );
    assert_eq!(
        exit(&["case", "assign", case.as_str(), "--caseworker", "Nobody"]),
        Some(4)
    );
    assert_eq!(
        exit(&["enrol", "family", case.as_str(), "--expires-in", "soon"]),
        Some(2)
    );
    assert_eq!(exit(&["enrol", "caseworker", "Nobody"]), Some(4));
    assert_eq!(exit(&["caseworker", "add", CASEWORKER]), Some(2));
    assert_eq!(exit(&["token", "revoke", "9999"]), Some(4));
    assert_eq!(
        exit(&[
            "case",
            "create",
            "--template",
            "zz",
            "--talent",
            "A",
            "--employer",
            "B",
            "--job",
            "C",
            "--caseworker",
            CASEWORKER
        ]),
        Some(4)
    );
    assert_eq!(exit(&["cases", "--no-such-flag"]), Some(2));
    let refused = server.admin(&["enrol", "caseworker", "Nobody"]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no caseworker \"Nobody\""));
}

#[test]
fn serve_refuses_a_bad_address() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(BIN)
        .arg("--data")
        .arg(dir.path())
        .args(["serve", "--listen", "localhost"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn database_schema() {
    let server = Server::start();
    server.case();
    let conn = rusqlite::Connection::open(server.db()).unwrap();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    let mut stmt = conn
        .prepare("SELECT type, name, coalesce(sql, '') FROM sqlite_master ORDER BY name")
        .unwrap();
    let rows: Vec<String> = stmt
        .query_map([], |r| {
            Ok(format!(
                "{} {}: {}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    insta::assert_snapshot!(
        "server_schema",
        format!("user_version {version}\njournal_mode {mode}\n{}", rows.join("\n"))
    );
}
