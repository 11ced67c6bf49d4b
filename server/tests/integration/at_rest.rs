//! The server at rest: what a copy of its data directory or of a backup gives away.
//! Documents are sealed under data keys wrapped by the server's key, which is never in
//! the database; the files are owner-only.

use std::path::{Path, PathBuf};

use passage_core::{DocKind, Edit};

use crate::support::{Server, data};

/// The database's files, and any other files given.
fn files(server: &Server, more: &[PathBuf]) -> Vec<PathBuf> {
    let db = server.db();
    let mut out: Vec<PathBuf> = ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|s| PathBuf::from(format!("{}{s}", db.display())))
        .filter(|p| p.exists())
        .collect();
    out.extend(more.iter().cloned());
    out
}

fn holding(files: &[PathBuf], needle: &str) -> Vec<String> {
    files
        .iter()
        .filter(|f| {
            let bytes = std::fs::read(f).expect("a server file");
            bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        })
        .map(|f| f.display().to_string())
        .collect()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).expect("a file").permissions().mode() & 0o777
}

#[test]
fn the_servers_files_and_backups_hold_nothing_plain_and_are_owner_only() {
    let mut server = Server::start();
    let case = server.case();
    let talent = server.talent(&case);
    let caseworker = server.caseworker();
    talent.sync(&server);
    talent
        .store
        .apply(
            &case,
            &Edit::AddAppointment {
                appointment: data::appointment(),
            },
        )
        .expect("an appointment");
    talent.sync(&server);
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
    let backup = server.data().join("backup.db");
    server.admin_ok(&["backup", backup.to_str().expect("utf-8")]);

    let secrets = [
        data::CLINIC,
        data::PURPOSE,
        talent.token.as_str(),
        caseworker.token.as_str(),
    ];
    for check in ["serving", "stopped"] {
        let all = files(&server, std::slice::from_ref(&backup));
        assert!(all.len() >= 2, "{all:?}");
        for secret in secrets {
            let found = holding(&all, secret);
            assert!(found.is_empty(), "{check}: {secret:?} is in {found:?}");
        }
        #[cfg(unix)]
        for file in &all {
            assert_eq!(mode(file), 0o600, "{check}: {}", file.display());
        }
        server.stop();
    }
    #[cfg(unix)]
    assert_eq!(mode(&server.data().join("server.key")), 0o600);
    // The backup alone, without the key, opens no document: its chunks are sealed.
    let copy = tempfile::tempdir().expect("a directory without the key");
    std::fs::copy(&backup, copy.path().join("passage-server.db")).expect("the backup copies");
    let out = std::process::Command::new(crate::support::BIN)
        .arg("--data")
        .arg(copy.path())
        .args(["cases"])
        .env_remove("PASSAGE_SERVER_KEY")
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no key"));
}

#[test]
fn a_wrong_key_is_refused_and_rekeying_retires_the_old_one() {
    let mut server = Server::start();
    let case = server.case();
    let talent = server.talent(&case);
    talent.sync(&server);
    let wrong = "ab".repeat(32);
    let refused = server
        .relaunch(&[], &[("PASSAGE_SERVER_KEY", wrong.as_str())])
        .expect_err("a wrong key");
    assert!(refused.contains("not the server's key"), "{refused}");
    assert!(server.relaunch(&[], &[("PASSAGE_SERVER_KEY", "12")]).is_err());

    // Stopped, re-keyed, started with the new key: everything is there.
    let new_key = server.data().join("new.key");
    let out = server.admin_ok(&["rekey", "--new-key-file", new_key.to_str().expect("utf-8")]);
    assert!(out.contains("re-keyed: 3 document keys"), "{out}");
    let key = new_key.to_str().expect("utf-8").to_owned();
    server
        .relaunch(&["--key-file", &key], &[])
        .expect("the new key starts the server");
    talent
        .store
        .apply(
            &case,
            &Edit::SetTaskNotes {
                task: "confirm_match".into(),
                notes: "after the new key".into(),
            },
        )
        .expect("an edit");
    talent.sync(&server);
    server.admin_args = vec!["--key-file".into(), key.clone()];
    let caseworker = server.caseworker();
    caseworker.sync(&server);
    assert_eq!(
        caseworker
            .store
            .heads(&case.doc(DocKind::Journey))
            .expect("heads"),
        talent.store.heads(&case.doc(DocKind::Journey)).expect("heads")
    );
    // The old key (the data directory's server.key) opens nothing any more.
    let refused = server.relaunch(&[], &[]).expect_err("the old key");
    assert!(refused.contains("not the server's key"), "{refused}");
    let audit = server.admin_ok(&["audit"]);
    assert!(audit.contains("rekey"), "{audit}");
}

#[test]
fn a_database_from_before_sealing_is_sealed_on_its_first_start() {
    let dir = tempfile::tempdir().expect("data");
    let path = dir.path().join("passage-server.db");
    {
        use passage_server::storage::Storage as _;
        let storage =
            passage_server::storage::sqlite::SqliteStorage::open(&path, None).expect("a plain database");
        let mut tx = storage.begin().expect("tx");
        let caseworker = tx
            .add_caseworker(crate::support::CASEWORKER, 0)
            .expect("caseworker");
        let cache = std::sync::Arc::new(passage_server::cache::DocCache::new(0));
        let mut docs = passage_server::docs::Docs::new(cache);
        passage_server::docs::create_case(
            &mut *tx,
            &mut docs,
            &crate::support::new_journey(),
            Some(caseworker.id),
            0,
        )
        .expect("a case");
        tx.commit().expect("commit");
    }
    let before = std::fs::read(&path).expect("db");
    assert!(
        before.windows(16).any(|w| w == b"Registered nurse"),
        "the plain database holds the journey in plain text"
    );
    let server = Server::start_in(dir);
    let case = server.admin_ok(&["cases"]);
    assert!(case.contains("Rana Haddad"), "{case}");
    let all = files(&server, &[]);
    let found = holding(&all, "Registered nurse");
    assert!(found.is_empty(), "the job title is still plain in {found:?}");
    let case_id = case
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .expect("a case id");
    let talent = server.talent(&case_id.parse().expect("case id"));
    talent.sync(&server);
    assert_eq!(
        talent
            .store
            .journey(&case_id.parse().expect("case id"))
            .expect("the journey")
            .job_title,
        "Registered nurse"
    );
}

/// A data key made in a transaction that rolled back is never used: the case a
/// caseworker created offline is refused once (its medical record is over quota), the
/// device holds that record and sends the rest, and after a restart (which empties
/// the server's key cache) every document of the case still opens.
#[test]
fn a_key_made_in_a_refused_request_is_not_used_after_it() {
    let mut server = Server::start_with(&["--doc-quota", "65536", "--case-quota", "1048576"]);
    server.admin_ok(&["caseworker", "add", crate::support::CASEWORKER]);
    let laptop = server.caseworker();
    let case = laptop
        .store
        .create_journey(&crate::support::new_journey())
        .expect("a case made offline");
    let medical = case.doc(DocKind::Medical);
    // 100 KB of random hex in the medical record: over its 64 KiB quota.
    let big = crate::support::random_hex(100_000);
    let forged = crate::support::raw_change(&laptop, &medical, |d| {
        crate::support::put_at(d, &["fitness"], "notes", &big)
    });
    laptop
        .store
        .receive_changes(&medical, &[forged])
        .expect("stored on the laptop");
    // The first request carries the journey and the record and is refused whole; the
    // next carries the rest, the record held back.
    let store = std::sync::Arc::new(laptop.store);
    let rt = crate::support::runtime();
    let client = passage_core::sync::SyncClient::new(crate::support::quick_client_options()).expect("client");
    let point_at = |server: &Server| {
        store
            .set_sync_server(&passage_core::sync::SyncServer {
                url: server.url(),
                token: laptop.token.clone(),
                role: Some(passage_core::Role::Caseworker),
                expires_at: None,
                person: Some(crate::support::CASEWORKER.into()),
            })
            .expect("the server");
    };
    point_at(&server);
    let report = rt
        .block_on(client.sync(std::sync::Arc::clone(&store)))
        .expect("the sync completes");
    assert_eq!(report.held, vec![medical]);

    server.restart();
    let phone = server.talent(&case);
    phone.sync(&server);
    assert_eq!(
        phone.store.journey(&case).expect("the journey opens"),
        store.journey(&case).expect("the laptop's journey"),
    );
    phone
        .store
        .apply(
            &case,
            &Edit::SetTaskStatus {
                task: "complete_talent_profile".into(),
                status: passage_core::model::TaskStatus::Done,
            },
        )
        .expect("an edit");
    phone.sync(&server);
    point_at(&server);
    rt.block_on(client.sync(std::sync::Arc::clone(&store)))
        .expect("the laptop syncs after the restart");
    assert_eq!(
        store.heads(&case.doc(DocKind::Journey)).expect("heads"),
        phone.store.heads(&case.doc(DocKind::Journey)).expect("heads")
    );
}

/// A server left running on the old key after a re-key wraps no new data key under
/// it (nobody would hold that key): a new case is refused with "try again later"
/// until the server is restarted with the new key, and then arrives whole.
#[test]
fn a_server_left_running_on_the_old_key_seals_nothing_new() {
    let mut server = Server::start();
    server.admin_ok(&["caseworker", "add", crate::support::CASEWORKER]);
    let laptop = server.caseworker();
    laptop.sync(&server);
    let new_key = server.data().join("new.key");
    let key = new_key.to_str().expect("utf-8").to_owned();
    server.admin_ok(&["rekey", "--new-key-file", &key]);
    let case = laptop
        .store
        .create_journey(&crate::support::new_journey())
        .expect("a case made offline");
    let refused = laptop
        .try_sync(&server)
        .expect_err("no key to seal the new case under");
    assert_eq!(
        refused.code,
        passage_core::sync::wire::RejectCode::Unavailable,
        "{}",
        refused.message
    );
    server
        .relaunch(&["--key-file", &key], &[])
        .expect("the new key starts the server");
    server.admin_args = vec!["--key-file".into(), key];
    laptop.sync(&server);
    assert!(server.admin_ok(&["cases"]).contains(case.as_str()));
}
