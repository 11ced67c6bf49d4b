//! Faults between devices and the server: the server killed (SIGKILL) in the middle of
//! syncs and started again on the same data and address, and connections cut at
//! random bytes either way. Real processes, real stores on disk, the real sync client
//! (`SyncClient`) with short backoff.
//!
//! The check is a set check (reliability anchors, net_drop / server_restart): every
//! edit a device reported as done (`Store::apply` returned Ok) is on the server
//! afterwards, exactly once, with nothing else from these devices; a device that made
//! no edit reads all of it from the server; all devices end with identical documents
//! and heads; the server's database is sound and its stored documents load to the
//! same heads.
//!
//! Runs are random from a seed printed at the start; `PASSAGE_FAULT_SEED=<seed>`
//! replays a run's choices (the edits, where each fault falls). Timing still varies
//! from machine to machine, so a replay hits the same kinds of places, not always the
//! same instants.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use passage_core::doc::journey::FamilyMember;
use passage_core::doc::medical::{Appointment, MedicalTest};
use passage_core::model::{FamilyTravel, Relation, TaskStatus};
use passage_core::sync::wire::{self, SyncRequest, SyncResponse};
use passage_core::{CaseId, DocKind, Edit, ErrorKind, Role};

use crate::support::{
    CASEWORKER, CuttingProxy, Phone, Server, TALENT, Way, XorShift, fault_seed, integrity_check, runtime,
    stored_doc,
};

/// Kills that land while a sync is under way, at least (20 or more);
/// `PASSAGE_FAULT_KILLS` sets more for a soak run.
const KILLS: usize = 40;
/// Connections cut, at least (100 or more); `PASSAGE_FAULT_CUTS` sets more.
const CUTS: usize = 200;

/// A count from the environment, for longer runs; never below the default.
fn count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .map_or(default, |n: usize| n.max(default))
}

/// Tasks the talent's device moves and annotates: the template gives them to the talent.
const TALENT_TASKS: [&str; 8] = [
    "complete_talent_profile",
    "attend_job_interview",
    "sign_employment_contract",
    "gather_identity_documents",
    "send_permit_documents",
    "book_visa_appointment",
    "apply_long_stay_visa",
    "collect_visa",
];

/// Tasks the caseworker's device moves and annotates. The two sets are apart, so
/// that no field is written concurrently and "as last set" has one meaning.
const STAFF_TASKS: [&str; 8] = [
    "confirm_match",
    "check_passport_validity",
    "record_permit_decision",
    "check_residency_status",
    "obtain_exit_clearance",
    "confirm_itinerary",
    "enrol_in_pdo",
    "check_departure_documents",
];

const STATUSES: [TaskStatus; 5] = [
    TaskStatus::Todo,
    TaskStatus::InProgress,
    TaskStatus::Done,
    TaskStatus::Blocked,
    TaskStatus::NotApplicable,
];

const RELATIONS: [Relation; 5] = [
    Relation::Spouse,
    Relation::Child,
    Relation::Parent,
    Relation::Sibling,
    Relation::Other,
];

/// Prints how to replay a run that failed, and the end of the server's log.
struct Replay {
    test: &'static str,
    seed: u64,
    log: PathBuf,
}

impl Drop for Replay {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = std::fs::read(&self.log).unwrap_or_default();
            let log = String::from_utf8_lossy(&log);
            let lines: Vec<&str> = log.lines().collect();
            eprintln!(
                "{}: FAILED with seed {}; replay: PASSAGE_FAULT_SEED={} cargo test -p passage-server --test integration {}\nthe server's log ends:\n{}",
                self.test,
                self.seed,
                self.seed,
                self.test,
                lines[lines.len().saturating_sub(40)..].join("\n")
            );
        }
    }
}

/// What the devices reported as done: the expectations of the set check.
#[derive(Debug, Default)]
struct Ledger {
    /// Edits `Store::apply` returned Ok for.
    edits: usize,
    /// The changes those edits made (hex hashes), by author.
    changes: BTreeMap<String, BTreeSet<String>>,
    /// Names of the family members added and not removed.
    members: BTreeSet<String>,
    /// Each author's members still there: id and name.
    own_members: BTreeMap<String, Vec<(String, String)>>,
    statuses: BTreeMap<&'static str, TaskStatus>,
    notes: BTreeMap<&'static str, String>,
    /// Purposes of the appointments added (the talent's).
    appointments: BTreeSet<String>,
    /// Names of the medical tests recorded (the caseworker's).
    tests: BTreeSet<String>,
}

impl Ledger {
    /// Makes one random edit on `phone`, as its person would, and records it once
    /// `apply` returned Ok: from then on the edit is "reported as done".
    fn edit(&mut self, phone: &Phone, case: &CaseId, rng: &mut XorShift) {
        let n = self.edits;
        let talent = phone.name == TALENT;
        let tasks = if talent { &TALENT_TASKS } else { &STAFF_TASKS };
        let task = tasks[rng.below(tasks.len())];
        let own = self.own_members.entry(phone.name.clone()).or_default();
        let edit = match rng.below(100) {
            0..40 => Edit::AddFamilyMember {
                member: FamilyMember {
                    name: format!("{} relative {n}", phone.name),
                    relation: RELATIONS[rng.below(RELATIONS.len())],
                    travel: if rng.chance(50) {
                        FamilyTravel::WithTalent
                    } else {
                        FamilyTravel::JoiningLater
                    },
                },
            },
            40..60 => Edit::SetTaskStatus {
                task: task.into(),
                status: STATUSES[rng.below(STATUSES.len())],
            },
            60..80 => Edit::SetTaskNotes {
                task: task.into(),
                notes: format!("Note {n} from {}", phone.name),
            },
            80..90 if !own.is_empty() => Edit::RemoveFamilyMember {
                member: own[rng.below(own.len())].0.clone(),
            },
            _ if talent => Edit::AddAppointment {
                appointment: Appointment {
                    clinic: "IOM Migration Health Assessment Centre, Amman".into(),
                    at: "2027-01-12T10:30[Asia/Amman]".parse().expect("time"),
                    purpose: format!("Follow-up {n}"),
                },
            },
            _ => Edit::RecordMedicalTest {
                test: MedicalTest {
                    name: format!("Blood test {n}"),
                    date: "2027-01-12".parse().expect("date"),
                    result: "normal".into(),
                },
            },
        };
        let applied = phone
            .store
            .apply(case, &edit)
            .unwrap_or_else(|e| panic!("{}: {edit:?} was refused: {e}", phone.name));
        self.edits += 1;
        if let Some(change) = applied.change {
            self.changes.entry(phone.name.clone()).or_default().insert(change);
        }
        match edit {
            Edit::AddFamilyMember { member } => {
                let id = applied.created.expect("a new member's id");
                own.push((id, member.name.clone()));
                self.members.insert(member.name);
            }
            Edit::RemoveFamilyMember { member } => {
                let at = own
                    .iter()
                    .position(|(id, _)| *id == member)
                    .expect("an own member");
                let (_, name) = own.remove(at);
                self.members.remove(&name);
            }
            Edit::SetTaskStatus { status, .. } => {
                self.statuses.insert(task, status);
            }
            Edit::SetTaskNotes { notes, .. } => {
                self.notes.insert(task, notes);
            }
            Edit::AddAppointment { appointment } => {
                self.appointments.insert(appointment.purpose);
            }
            Edit::RecordMedicalTest { test } => {
                self.tests.insert(test.name);
            }
            _ => unreachable!("only the edits above are made"),
        }
    }

    /// The set check, on `witness`, a device that made no edit and synced last; and
    /// convergence of `devices` with it.
    fn check(&self, case: &CaseId, witness: &Phone, devices: &[&Phone]) {
        let journey = witness.store.journey(case).expect("journey");
        let names: Vec<&str> = journey.family.values().map(|m| m.name.as_str()).collect();
        let present: BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(present.len(), names.len(), "duplicate family members: {names:?}");
        let expected: BTreeSet<&str> = self.members.iter().map(String::as_str).collect();
        let lost: Vec<_> = expected.difference(&present).collect();
        let extra: Vec<_> = present.difference(&expected).collect();
        assert!(
            lost.is_empty() && extra.is_empty(),
            "family members lost: {lost:?}; there but removed or never added: {extra:?}"
        );
        for (task, status) in &self.statuses {
            let (_, found) = journey.task(task).expect("task");
            assert_eq!(found.status, *status, "status of {task}");
        }
        for (task, notes) in &self.notes {
            let (_, found) = journey.task(task).expect("task");
            assert_eq!(&found.notes, notes, "notes of {task}");
        }
        let medical = witness.store.medical(case).expect("medical");
        let purposes: Vec<&str> = medical
            .appointments
            .values()
            .map(|a| a.purpose.as_str())
            .collect();
        assert_eq!(
            purposes.iter().copied().collect::<BTreeSet<_>>(),
            self.appointments.iter().map(String::as_str).collect(),
            "appointments"
        );
        assert_eq!(purposes.len(), self.appointments.len(), "duplicate appointments");
        let tests: Vec<&str> = medical.tests.values().map(|t| t.name.as_str()).collect();
        assert_eq!(
            tests.iter().copied().collect::<BTreeSet<_>>(),
            self.tests.iter().map(String::as_str).collect(),
            "medical tests"
        );
        assert_eq!(tests.len(), self.tests.len(), "duplicate medical tests");

        // Change by change: each one an edit made is there once, and these devices
        // made no other (a retried request that stored an edit twice would show here).
        let history = witness.store.history(case).expect("history");
        let hashes: BTreeSet<&str> = history.iter().map(|h| h.change.as_str()).collect();
        assert_eq!(hashes.len(), history.len(), "a change listed twice");
        for (author, acknowledged) in &self.changes {
            let found: BTreeSet<String> = history
                .iter()
                .filter(|h| &h.by == author)
                .map(|h| h.change.clone())
                .collect();
            let lost: Vec<_> = acknowledged.difference(&found).collect();
            let extra: Vec<_> = found.difference(acknowledged).collect();
            assert!(
                lost.is_empty() && extra.is_empty(),
                "{author}: {} acknowledged changes not on the server: {lost:?}; {} unexpected: {extra:?}",
                lost.len(),
                extra.len()
            );
        }

        for device in devices {
            for kind in [DocKind::Journey, DocKind::Medical] {
                let doc = case.doc(kind);
                assert_eq!(
                    device.store.heads(&doc).expect("heads"),
                    witness.store.heads(&doc).expect("heads"),
                    "{}: heads of the {kind}",
                    device.name
                );
            }
            assert_eq!(
                device.store.journey(case).expect("journey"),
                journey,
                "{}",
                device.name
            );
            assert_eq!(
                device.store.medical(case).expect("medical"),
                medical,
                "{}",
                device.name
            );
            let state = device.store.sync_state().expect("sync state");
            assert_eq!(state.pending_documents, 0, "{}", device.name);
            assert_eq!(state.last_error, None, "{}", device.name);
            assert_eq!(state.consecutive_failures, 0, "{}", device.name);
        }
    }

    fn acknowledged_changes(&self) -> usize {
        self.changes.values().map(BTreeSet::len).sum()
    }
}

/// After the server stopped: its database is sound, and each document of the case
/// loads from its rows to the heads the devices have, with nothing missing. Returns
/// what it found: snapshots (compactions) and change rows.
fn check_server_disk(server: &Server, case: &CaseId, witness: &Phone) -> String {
    assert_eq!(
        integrity_check(&server.db()),
        ["ok"],
        "integrity_check of the server's database"
    );
    let mut found = Vec::new();
    for kind in [DocKind::Journey, DocKind::Medical] {
        let doc = case.doc(kind);
        let stored = stored_doc(&server.db(), &doc);
        let mut heads = witness.store.heads(&doc).expect("heads");
        heads.sort();
        assert_eq!(stored.heads, heads, "the {kind} as stored on the server");
        assert_eq!(stored.recorded_heads, heads, "the {kind}'s recorded heads");
        assert!(stored.missing.is_empty(), "the {kind} lacks {:?}", stored.missing);
        found.push(format!(
            "{kind}: {} snapshot(s) + {} change rows",
            stored.snapshots, stored.change_rows
        ));
    }
    found.join(", ")
}

/// The arrival plan family reads from the server is the projection of the final
/// journey: the server wrote it with every journey change it accepted, in the same
/// transaction, so no kill or cut leaves it behind.
fn check_arrival_plan(server: &Server, rt: &tokio::runtime::Handle, case: &CaseId, witness: &Phone) {
    let family = Phone::new(Role::Family, "Samir Haddad");
    let code = server.code(&["enrol", "family", case.as_str(), "--expires-in", "30d"]);
    family.enrol(rt, &server.url(), &code);
    family.sync_until_complete(rt);
    let journey = witness.store.journey(case).expect("journey");
    assert_eq!(
        family.store.arrival_plan(case).expect("the arrival plan"),
        passage_core::arrival_plan::project(&journey),
        "the arrival plan on the server is not the final journey's"
    );
}

/// A device that makes no edit: enrolled last, it reads what the server has.
fn witness(server: &Server, rt: &tokio::runtime::Handle) -> Phone {
    let phone = Phone::new(Role::Caseworker, CASEWORKER);
    phone.enrol(
        rt,
        &server.url(),
        &server.code(&["enrol", "caseworker", CASEWORKER]),
    );
    phone.sync_until_complete(rt);
    phone
}

#[test]
fn the_server_killed_mid_sync_loses_nothing() {
    let started = Instant::now();
    let seed = fault_seed();
    eprintln!("server kills: seed {seed} (PASSAGE_FAULT_SEED={seed} replays it)");
    let mut rng = XorShift::new(seed);
    let rt = runtime();
    let rt = rt.handle();
    // A small response budget: syncs after a while offline take several rounds, so
    // kills also fall between the rounds of one sync.
    // Devices here retry at once, many times a second: the rate limit is not what
    // this test is about.
    let mut server = Server::start_with(&["--response-budget", "2048", "--sync-rate", "1000000"]);
    let _replay = Replay {
        test: "the_server_killed_mid_sync_loses_nothing",
        seed,
        log: server.data().join("server.log"),
    };
    let case = server.case();
    let talent = Phone::new(Role::Talent, TALENT);
    talent.enrol(
        rt,
        &server.url(),
        &server.code(&["enrol", "talent", case.as_str()]),
    );
    let caseworker = Phone::new(Role::Caseworker, CASEWORKER);
    caseworker.enrol(
        rt,
        &server.url(),
        &server.code(&["enrol", "caseworker", CASEWORKER]),
    );
    let phones = [&talent, &caseworker];
    let mut ledger = Ledger::default();
    // A first sync brings the case to both; then a while offline.
    let mut took = Duration::ZERO;
    for phone in phones {
        let t = Instant::now();
        phone.sync_until_complete(rt);
        took = took.max(t.elapsed());
    }
    // Enough edits that the server compacts the journey (every 256 change rows)
    // during the kills.
    for _ in 0..200 {
        ledger.edit(phones[rng.below(2)], &case, &mut rng);
    }

    // Kills fall uniformly over a window about as long as a sync: the running mean
    // of syncs that nothing interrupted, and a half more.
    let mut mean_sync = took;
    let window = |mean: Duration| (mean.mul_f64(1.5)).clamp(Duration::from_millis(2), Duration::from_secs(1));
    let target = count("PASSAGE_FAULT_KILLS", KILLS);
    let (mut kills, mut mid_sync, mut felt, mut rounds, mut failed_syncs, mut syncs_after) =
        (0, 0, 0, 0, 0, 0u32);
    while mid_sync < target {
        rounds += 1;
        assert!(
            rounds <= 10 * target,
            "only {mid_sync} of {kills} kills fell during a sync"
        );
        for _ in 0..rng.below(6) {
            ledger.edit(phones[rng.below(2)], &case, &mut rng);
        }
        let syncing: Vec<&Phone> = match rng.below(3) {
            0 => vec![&talent],
            1 => vec![&caseworker],
            _ => vec![&talent, &caseworker],
        };
        let delay = rng.duration(window(mean_sync));
        let edit_meanwhile = rng.chance(50).then(|| phones[rng.below(2)]);
        let sync_started = Instant::now();
        let threads: Vec<_> = syncing.iter().map(|p| p.sync_on_thread(rt)).collect();
        if let Some(phone) = edit_meanwhile {
            // Someone edits while the sync is under way.
            ledger.edit(phone, &case, &mut rng);
        }
        if let Some(rest) = (sync_started + delay).checked_duration_since(Instant::now()) {
            std::thread::sleep(rest);
        }
        let running = threads.iter().filter(|t| !t.is_finished()).count();
        server.stop(); // SIGKILL
        kills += 1;
        if running > 0 {
            mid_sync += 1;
        }
        // Offline edits while the server is down.
        for _ in 0..rng.below(3) {
            ledger.edit(phones[rng.below(2)], &case, &mut rng);
        }
        server.restart_in_place();
        let mut noticed = false;
        for thread in threads {
            let (outcome, took) = thread.join().expect("the sync thread");
            match outcome {
                Ok(_) if running == 0 => mean_sync = (mean_sync * 3 + took) / 4,
                // The kill cut a round trip, which the client sent again to the new
                // server.
                Ok(report) => noticed |= report.retries > 0,
                Err(e) if e.kind() == ErrorKind::RetryLater => {
                    failed_syncs += 1;
                    noticed = true;
                }
                Err(e) => panic!("a sync cut by the kill failed for good ({:?}): {e}", e.kind()),
            }
        }
        felt += usize::from(noticed);
        for phone in phones {
            let t = Instant::now();
            let tries = phone.sync_until_complete(rt);
            syncs_after += tries;
            if tries == 1 {
                mean_sync = (mean_sync * 3 + t.elapsed()) / 4;
            }
        }
    }

    // Everyone syncs once more, so that each has what the others sent; then a device
    // that made no edit reads it all from the server.
    for phone in [&talent, &caseworker, &talent] {
        phone.sync_until_complete(rt);
    }
    let witness = witness(&server, rt);
    ledger.check(&case, &witness, &phones);
    check_arrival_plan(&server, rt, &case, &witness);
    server.stop();
    let on_disk = check_server_disk(&server, &case, &witness);
    eprintln!(
        "server kills: seed {seed}: {kills} kills in {rounds} rounds, {mid_sync} during a sync \
         (window ~{:?}), {felt} cut a round trip ({failed_syncs} syncs failed, the others retried \
         into the new server), {syncs_after} syncs to recover; \
         {} edits acknowledged ({} changes), all on the server once; on disk {on_disk}; {:.1} s",
        window(mean_sync),
        ledger.edits,
        ledger.acknowledged_changes(),
        started.elapsed().as_secs_f64()
    );
}

/// Whether a request body carries changes for the server.
fn pushes_changes(body: &[u8]) -> bool {
    wire::decode::<SyncRequest>(body).is_ok_and(|r| r.pushes.iter().any(|p| !p.changes.is_empty()))
}

/// Whether a response body carries changes for the device.
fn pulls_changes(body: &[u8]) -> bool {
    wire::decode::<SyncResponse>(body).is_ok_and(|r| r.docs.iter().any(|d| !d.changes.is_empty()))
}

#[test]
fn connections_cut_at_random_points_lose_nothing() {
    let started = Instant::now();
    let seed = fault_seed();
    eprintln!("connection cuts: seed {seed} (PASSAGE_FAULT_SEED={seed} replays it)");
    let mut rng = XorShift::new(seed);
    let rt = runtime();
    let rt = rt.handle();
    // Devices here retry at once, many times a second: the rate limit is not what
    // this test is about.
    let mut server = Server::start_with(&["--sync-rate", "1000000"]);
    let _replay = Replay {
        test: "connections_cut_at_random_points_lose_nothing",
        seed,
        log: server.data().join("server.log"),
    };
    let case = server.case();
    let proxy = CuttingProxy::start(&server.addr, rng.next_u64(), 60);
    // The talent's phone reaches the server only through the proxy; the caseworker's
    // laptop directly, so that what it adds comes down to the talent through cuts.
    let talent = Phone::new(Role::Talent, TALENT);
    talent.enrol(
        rt,
        &proxy.url(),
        &server.code(&["enrol", "talent", case.as_str()]),
    );
    let caseworker = Phone::new(Role::Caseworker, CASEWORKER);
    caseworker.enrol(
        rt,
        &server.url(),
        &server.code(&["enrol", "caseworker", CASEWORKER]),
    );
    talent.sync_until_complete(rt);
    caseworker.sync_until_complete(rt);
    let mut ledger = Ledger::default();
    for _ in 0..10 {
        ledger.edit(&talent, &case, &mut rng);
    }

    proxy.set_cutting(true);
    let (mut attempts, mut complete, mut incomplete, mut failed) = (0, 0, 0, 0);
    let target = count("PASSAGE_FAULT_CUTS", CUTS);
    while proxy.cut_count() < target {
        attempts += 1;
        assert!(
            attempts <= 10 * target,
            "only {} cuts in {attempts} syncs",
            proxy.cut_count()
        );
        for _ in 0..rng.below(3) {
            ledger.edit(&talent, &case, &mut rng);
        }
        if rng.chance(50) {
            ledger.edit(&caseworker, &case, &mut rng);
            caseworker.sync_until_complete(rt);
        }
        match talent.sync(rt) {
            Ok(report) if report.complete => complete += 1,
            Ok(_) => incomplete += 1,
            Err(e) if e.kind() == ErrorKind::RetryLater => failed += 1,
            Err(e) => panic!(
                "a sync through cut connections failed for good ({:?}): {e}",
                e.kind()
            ),
        }
    }

    // The line heals: the same address, nothing cut any more.
    proxy.set_cutting(false);
    talent.sync_until_complete(rt);
    caseworker.sync_until_complete(rt);
    let witness = witness(&server, rt);
    ledger.check(&case, &witness, &[&talent, &caseworker]);
    check_arrival_plan(&server, rt, &case, &witness);

    let cuts = proxy.cuts();
    let mut places: BTreeMap<(String, &str), usize> = BTreeMap::new();
    for cut in &cuts {
        *places.entry((format!("{:?}", cut.way), cut.place())).or_default() += 1;
    }
    let up_with_changes = cuts
        .iter()
        .filter(|c| c.way == Way::Up && c.in_body() && c.request.starts_with("POST /v1/sync"))
        .filter(|c| pushes_changes(&c.body))
        .count();
    let down_with_changes = cuts
        .iter()
        .filter(|c| c.way == Way::Down && c.in_body() && c.request.starts_with("POST /v1/sync"))
        .filter(|c| pulls_changes(&c.body))
        .count();
    assert!(cuts.len() >= target);
    assert!(
        up_with_changes >= 3,
        "only {up_with_changes} cuts fell in a request body that pushed changes"
    );
    assert!(
        down_with_changes >= 3,
        "only {down_with_changes} cuts fell in a response body that brought changes"
    );
    for place in ["before the first byte", "in the head", "in the body"] {
        for way in [Way::Up, Way::Down] {
            assert!(
                places.contains_key(&(format!("{way:?}"), place)),
                "no cut {place} going {way:?}: {places:?}"
            );
        }
    }
    assert!(
        places.contains_key(&("Up".to_owned(), "after the last byte")),
        "no request cut after its last byte: {places:?}"
    );

    server.stop();
    let on_disk = check_server_disk(&server, &case, &witness);
    eprintln!(
        "connection cuts: seed {seed}: {} cuts in {} exchanges over {attempts} syncs through the proxy \
         ({complete} complete, {incomplete} incomplete, {failed} failed); {up_with_changes} cut a request \
         body with changes, {down_with_changes} a response body with changes; places {places:?}; \
         {} proxy errors; {} edits acknowledged ({} changes), all on the server once; \
         on disk {on_disk}; {:.1} s",
        cuts.len(),
        proxy.exchanges(),
        proxy.errors().len(),
        ledger.edits,
        ledger.acknowledged_changes(),
        started.elapsed().as_secs_f64()
    );
}
