//! Trust between devices: an Automerge actor belongs to the device that first used it,
//! history shows what the server vouched for, a task's completion names its real
//! completer, and an erased medical record is gone from every device and the server,
//! its old chunks undecryptable with any key left.

use std::path::Path;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit};
use passage_core::crypt::{self, SecretKey};
use passage_core::history::Trust;
use passage_core::sync::wire::{self, Push, RejectCode};
use passage_core::{DocId, DocKind, Edit, ErrorKind, Role};

use crate::support::{
    CASEWORKER, Device, Server, TALENT, data, last_change, obj_at, push, raw_doc, sync_request,
};

/// The actor of the last change this device's store made to the document.
fn last_actor_of(device: &Device, doc: &DocId, by: &str) -> ActorId {
    let saved = device.store.save_document(doc).expect("saved");
    let mut copy = AutoCommit::load(&saved).expect("loads");
    copy.get_changes(&[])
        .into_iter()
        .rev()
        .find(|c| c.message().is_some_and(|m| m.contains(by)))
        .map(|c| c.actor_id().clone())
        .expect("a change of theirs")
}

fn push_one(server: &Server, device: &Device, pushes: Vec<Push>) -> crate::support::Reply {
    let request = sync_request(pushes, None);
    server.sync_raw(&device.token, &wire::encode(&request))
}

fn push_of(doc: &DocId, change: Vec<u8>) -> Push {
    let hash = automerge::Change::try_from(change.as_slice())
        .expect("a change")
        .hash();
    push(doc.clone(), vec![hash], vec![change])
}

#[test]
fn a_change_under_another_devices_actor_is_refused_and_wedges_nothing() {
    let server = Server::start();
    let case = server.case();
    let journey = case.doc(DocKind::Journey);
    let medical = case.doc(DocKind::Medical);
    let talent = server.talent(&case);
    let caseworker = server.caseworker();
    talent.sync(&server);
    caseworker.sync(&server);
    // The caseworker's laptop edits and syncs: its actor is now its own.
    let notes = Edit::SetTaskNotes {
        task: "confirm_match".into(),
        notes: "called the employer".into(),
    };
    caseworker.store.apply(&case, &notes).expect("an edit");
    caseworker.sync(&server);
    talent.sync(&server);
    let actor = last_actor_of(&caseworker, &journey, CASEWORKER);

    // The talent's device sends the next change of that actor, on a path it may write.
    let mut forged = raw_doc(&talent, &journey, Some(&actor));
    let task = obj_at(&forged, &["stages", "matching", "tasks", "confirm_match"]);
    forged
        .put(&task, "notes", "forged under the caseworker's actor")
        .expect("put");
    let forged = last_change(&mut forged);
    let reply = push_one(&server, &talent, vec![push_of(&journey, forged)]);
    assert_eq!(reply.status, 403);
    let rejection = reply.rejection();
    assert_eq!(rejection.code, RejectCode::ForbiddenWrite);
    assert!(
        rejection.message.contains("actor of another device"),
        "{}",
        rejection.message
    );

    // The caseworker's real next change under that actor (a client that keeps its
    // actor), with a medical edit in the same request: both are taken.
    let mut real = raw_doc(&caseworker, &journey, Some(&actor));
    let permit = obj_at(&real, &["permit"]);
    real.put(&permit, "decision", "granted").expect("put");
    let real = last_change(&mut real);
    let heads = caseworker.store.heads(&medical).expect("heads");
    caseworker
        .store
        .apply(
            &case,
            &Edit::AddAppointment {
                appointment: data::appointment(),
            },
        )
        .expect("an appointment");
    let appointment = caseworker
        .store
        .changes_since(&medical, &heads)
        .expect("the change");
    let reply = push_one(
        &server,
        &caseworker,
        vec![
            push_of(&journey, real),
            push(
                medical.clone(),
                caseworker.store.heads(&medical).expect("heads"),
                appointment,
            ),
        ],
    );
    assert_eq!(
        reply.status,
        200,
        "{:?}",
        (reply.status != 200).then(|| reply.rejection())
    );
    talent.sync(&server);
    assert_eq!(
        talent.store.medical(&case).expect("medical").appointments.len(),
        1
    );
    assert_eq!(
        talent.store.journey(&case).expect("journey").permit.decision,
        passage_core::model::PermitDecision::Granted
    );
}

#[test]
fn history_shows_who_the_server_received_each_change_from() {
    let server = Server::start();
    let case = server.case();
    let journey = case.doc(DocKind::Journey);
    let talent = server.talent(&case);
    let caseworker = server.caseworker();
    talent.sync(&server);
    caseworker.sync(&server);

    // An honest edit of the talent's.
    talent
        .store
        .apply(
            &case,
            &Edit::SetTaskNotes {
                task: "confirm_match".into(),
                notes: "interview went well".into(),
            },
        )
        .expect("an edit");
    talent.sync(&server);
    // A change whose note claims the caseworker granted the permit in 2020, on a path
    // the talent may write.
    let mut forged = raw_doc(&talent, &journey, Some(&ActorId::random()));
    let task = obj_at(&forged, &["stages", "matching", "tasks", "confirm_match"]);
    forged
        .put(&task, "notes", "permit granted, see history")
        .expect("put");
    let claim =
        r#"{"v":1,"by":"Amira Khoury","role":"caseworker","edit":"permit.decision","target":"granted"}"#;
    forged.commit_with(
        CommitOptions::default()
            .with_message(claim)
            .with_time(1_577_836_800),
    );
    let forged = forged.get_last_local_change().expect("a change");
    let forged_hash = forged.hash().to_string();
    let reply = push_one(
        &server,
        &talent,
        vec![push_of(&journey, forged.raw_bytes().to_vec())],
    );
    assert_eq!(reply.status, 200, "the path is the talent's to write");

    caseworker.sync(&server);
    let history = caseworker.store.history(&case).expect("history");
    let entry = history
        .iter()
        .find(|e| e.change == forged_hash)
        .expect("the forged entry");
    assert_eq!(
        (entry.by.as_str(), entry.role),
        (CASEWORKER, Some(Role::Caseworker)),
        "the claim"
    );
    assert_eq!(entry.trust, Trust::Disputed);
    let vouched = entry.vouched.as_ref().expect("vouched");
    assert_eq!(
        (vouched.name.as_str(), vouched.role),
        (TALENT, Some(Role::Talent))
    );
    assert!(
        vouched.received_at.timestamp() > 1_700_000_000,
        "received now, not in 2020"
    );
    let honest = history
        .iter()
        .find(|e| e.target.as_deref() == Some("confirm_match") && e.by == TALENT)
        .expect("the honest edit");
    assert_eq!(honest.trust, Trust::Vouched, "{honest:?}");
    // The server's own changes (the case it created) are vouched as the server's.
    let created: Vec<_> = history.iter().filter(|e| e.edit == "journey.create").collect();
    assert!(!created.is_empty(), "{history:?}");
    assert!(
        created
            .iter()
            .all(|e| e.trust == Trust::Vouched && e.vouched.as_ref().is_some_and(|v| v.role.is_none())),
        "{history:?}"
    );
    // The talent's device sees its own delivered edits as vouched for too.
    let own = talent.store.history(&case).expect("history");
    let own = own
        .iter()
        .find(|e| e.target.as_deref() == Some("confirm_match") && e.by == TALENT)
        .expect("its edit");
    assert_eq!(own.trust, Trust::Vouched);
    assert!(own.vouched.as_ref().is_some_and(|v| v.own));

    // A completion in the caseworker's name, sent by the talent: refused.
    let mut completion = raw_doc(&talent, &journey, Some(&ActorId::random()));
    let task = obj_at(
        &completion,
        &["stages", "matching", "tasks", "complete_talent_profile"],
    );
    completion.put(&task, "status", "done").expect("put");
    completion
        .put(&task, "completed_at", "2026-11-30T10:00:00Z")
        .expect("put");
    completion.put(&task, "completed_by", CASEWORKER).expect("put");
    let completion = last_change(&mut completion);
    let reply = push_one(&server, &talent, vec![push_of(&journey, completion)]);
    assert_eq!(reply.status, 403);
    let rejection = reply.rejection();
    assert_eq!(rejection.code, RejectCode::ForbiddenWrite);
    assert_eq!(
        rejection.path.as_deref(),
        Some("/stages/matching/tasks/complete_talent_profile/completed_by")
    );
    // Two concurrent completions in one batch, the talent's own name winning and the
    // caseworker's losing: the loser would live on as a conflict, so it is refused too.
    let concurrent = |actor: u8, by: &str| {
        let mut copy = raw_doc(&talent, &journey, Some(&ActorId::from([actor; 16])));
        let task = obj_at(&copy, &["stages", "matching", "tasks", "complete_talent_profile"]);
        copy.put(&task, "completed_by", by).expect("put");
        last_change(&mut copy)
    };
    let (wins, loses) = (concurrent(0xfe, TALENT), concurrent(0x02, CASEWORKER));
    let mut both = push_of(&journey, wins);
    let losing = push_of(&journey, loses);
    both.heads.extend(losing.heads);
    both.heads.sort();
    both.changes.extend(losing.changes);
    let reply = push_one(&server, &talent, vec![both]);
    assert_eq!(reply.status, 403, "{:?}", reply.rejection());
    assert_eq!(
        reply.rejection().path.as_deref(),
        Some("/stages/matching/tasks/complete_talent_profile/completed_by")
    );
    // In the talent's own name it goes through, as every device's completions do.
    talent
        .store
        .apply(
            &case,
            &Edit::SetTaskStatus {
                task: "complete_talent_profile".into(),
                status: passage_core::model::TaskStatus::Done,
            },
        )
        .expect("done");
    talent.sync(&server);
}

/// The chunk rows of a document in a store or server database, as sealed on disk.
fn sealed_rows(db: &Path, doc: &DocId) -> Vec<(Vec<u8>, Vec<u8>)> {
    let conn = rusqlite::Connection::open(db).expect("the database");
    let mut stmt = conn
        .prepare("SELECT hash, bytes FROM chunks WHERE doc_id = ?1")
        .expect("chunks");
    stmt.query_map([doc.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<rusqlite::Result<_>>()
        .expect("rows")
}

/// Whether any data key the database holds now (unwrapped with `key`) opens any of
/// `rows` as a chunk of `doc`.
fn any_key_opens(db: &Path, key: &SecretKey, doc: &DocId, rows: &[(Vec<u8>, Vec<u8>)]) -> bool {
    let conn = rusqlite::Connection::open(db).expect("the database");
    let mut stmt = conn
        .prepare("SELECT doc_id, wrapped FROM doc_keys")
        .expect("keys");
    let keys: Vec<(String, Vec<u8>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    keys.iter()
        .filter_map(|(id, wrapped)| SecretKey::unwrap(wrapped, key, &crypt::doc_key_aad(id)))
        .any(|data| {
            rows.iter().any(|(hash, sealed)| {
                data.open(sealed, &crypt::chunk_aad(&doc.to_string(), hash))
                    .is_some()
            })
        })
}

fn server_key(server: &Server) -> SecretKey {
    passage_server::keys::read_key_file(&server.data().join("server.key")).expect("the server's key")
}

#[test]
fn an_erased_medical_record_is_gone_everywhere_and_undecryptable() {
    let server = Server::start();
    let case = server.case();
    let medical = case.doc(DocKind::Medical);
    let talent = server.talent(&case);
    let laptop = server.caseworker();
    let phone = server.caseworker();
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
    laptop.sync(&server);
    phone.sync(&server);
    assert_eq!(phone.store.medical(&case).expect("medical").appointments.len(), 1);

    // Copies of the sealed chunks as they are now: what a backup would hold.
    let talent_copy = sealed_rows(&talent.path, &medical);
    let server_copy = sealed_rows(&server.db(), &medical);
    assert!(!talent_copy.is_empty() && !server_copy.is_empty());
    assert!(
        any_key_opens(&talent.path, &talent.key, &medical, &talent_copy),
        "opens before"
    );
    assert!(
        any_key_opens(&server.db(), &server_key(&server), &medical, &server_copy),
        "opens before"
    );

    // The talent, offline, adds another appointment; the caseworker erases the record.
    talent
        .store
        .apply(
            &case,
            &Edit::AddAppointment {
                appointment: data::appointment(),
            },
        )
        .expect("an appointment");
    laptop.store.erase_medical(&case).expect("erased");
    assert_eq!(
        laptop.store.medical(&case).expect_err("gone").kind(),
        ErrorKind::NotFound
    );
    let e = talent
        .store
        .erase_medical(&case)
        .expect_err("talents may not erase");
    assert_eq!(e.kind(), ErrorKind::NotAllowed);
    laptop.sync(&server);
    phone.sync(&server);
    talent.sync(&server);

    for (who, device) in [("laptop", &laptop), ("phone", &phone), ("talent", &talent)] {
        let e = device.store.medical(&case).expect_err("erased");
        assert_eq!(e.kind(), ErrorKind::NotFound, "{who}: {e}");
        assert!(
            sealed_rows(&device.path, &medical).is_empty(),
            "{who} keeps chunks"
        );
        device.store.journey(&case).expect("the journey stays");
        assert!(device.store.sync_state().expect("state").held.is_empty(), "{who}");
    }
    assert!(
        !any_key_opens(&talent.path, &talent.key, &medical, &talent_copy),
        "the talent's copy"
    );
    assert!(
        sealed_rows(&server.db(), &medical).is_empty(),
        "the server keeps chunks"
    );
    assert!(
        !any_key_opens(&server.db(), &server_key(&server), &medical, &server_copy),
        "the server's copy"
    );
    // It never comes back: a later sync, a medical edit, a full resync.
    talent.sync(&server);
    let e = talent
        .store
        .apply(
            &case,
            &Edit::AddAppointment {
                appointment: data::appointment(),
            },
        )
        .expect_err("no record to edit");
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let fresh = server.talent(&case);
    fresh.sync(&server);
    assert_eq!(
        fresh.store.medical(&case).expect_err("never synced").kind(),
        ErrorKind::NotFound
    );
    // The audit log has the erasure, no data.
    let audit = server.admin_ok(&["audit", "--case", case.as_str()]);
    assert!(
        audit
            .lines()
            .any(|l| l.contains("erase") && l.contains("allowed")),
        "{audit}"
    );
    assert!(!audit.contains(data::CLINIC));
}
