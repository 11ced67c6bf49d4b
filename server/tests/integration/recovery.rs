//! Sync survives what goes wrong between devices and server: a replayed request
//! changes nothing, and a server restored from a backup gets back what it lost from
//! the devices that still have it.

use passage_core::model::TaskStatus;
use passage_core::sync::wire::{self, SyncResponse, SyncStatus};
use passage_core::{DocKind, Edit};

use crate::support::Server;

fn done(task: &str) -> Edit {
    Edit::SetTaskStatus {
        task: task.into(),
        status: TaskStatus::Done,
    }
}

#[test]
fn a_replayed_request_changes_nothing() {
    let server = Server::start();
    let case = server.case();
    let talent = server.talent(&case);
    let caseworker = server.caseworker();
    talent.sync(&server);
    caseworker.sync(&server);
    talent
        .store
        .apply(&case, &done("complete_talent_profile"))
        .unwrap();

    let request = talent.store.sync_request(false, &[]).unwrap();
    let body = wire::encode(&request);
    let first = server.sync_raw(&talent.token, &body);
    assert_eq!(first.status, 200);
    // The answer was lost; the device sends the same bytes again.
    let again = server.sync_raw(&talent.token, &body);
    assert_eq!(again.status, 200);
    let first: SyncResponse = wire::decode(&first.body).unwrap();
    let again: SyncResponse = wire::decode(&again.body).unwrap();
    assert_eq!(first.status, SyncStatus::Complete);
    // The digest it sent no longer matches what the server recorded: at most a
    // `need full` round trip, and the same heads.
    assert!(matches!(
        again.status,
        SyncStatus::Complete | SyncStatus::NeedFull
    ));
    assert_eq!(first.docs[0].heads, again.docs[0].heads);
    talent.store.sync_apply(&request, &again).unwrap();
    talent.sync(&server);

    let journey = case.doc(DocKind::Journey);
    caseworker.sync(&server);
    assert_eq!(
        caseworker.store.heads(&journey).unwrap(),
        talent.store.heads(&journey).unwrap()
    );
    // Stored once: the history has the edit once.
    let history = caseworker.store.history(&case).unwrap();
    assert_eq!(history.iter().filter(|h| h.edit == "task.status").count(), 1);
}

#[test]
fn a_server_restored_from_backup_gets_lost_changes_back() {
    let mut server = Server::start();
    let case = server.case();
    let talent = server.talent(&case);
    let caseworker = server.caseworker();
    talent.sync(&server);
    caseworker.sync(&server);
    let backup = server.data().join("backup.db");
    server.admin_ok(&["backup", &backup.to_string_lossy()]);

    // After the backup: one edit reaches the server.
    talent
        .store
        .apply(&case, &done("complete_talent_profile"))
        .unwrap();
    talent.sync(&server);

    // The disk dies; the server comes back from last night's backup.
    server.stop();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", server.db().display()));
    }
    std::fs::copy(&backup, server.db()).unwrap();
    server.restart();

    // The next edit depends on the one the server lost: the server asks, the device
    // sends its whole history, nothing is lost.
    talent.store.apply(&case, &done("attend_job_interview")).unwrap();
    let run = talent.sync(&server);
    assert!(
        run.repushed,
        "the server should have listed missing dependencies: {:?}",
        run.statuses
    );
    assert!(run.rounds() <= 4, "{:?}", run.statuses);

    // The whole history went again, others' changes with it: the talent's history
    // still credits to this device only what its talent wrote.
    let history = talent.store.history(&case).unwrap();
    for entry in &history {
        if entry.vouched.as_ref().is_some_and(|v| v.own) {
            assert_eq!(entry.role, Some(passage_core::Role::Talent), "{entry:?}");
        }
    }
    assert!(history.iter().any(|e| e.vouched.as_ref().is_some_and(|v| v.own)));

    caseworker.sync(&server);
    let journey = caseworker.store.journey(&case).unwrap();
    for task in ["complete_talent_profile", "attend_job_interview"] {
        assert_eq!(journey.task(task).unwrap().1.status, TaskStatus::Done, "{task}");
    }
    let doc = case.doc(DocKind::Journey);
    assert_eq!(
        caseworker.store.heads(&doc).unwrap(),
        talent.store.heads(&doc).unwrap()
    );
}
