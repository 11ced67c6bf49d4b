//! Property: replicas that edit concurrently and merge in any order reach identical
//! state and heads.
//!
//! Each case starts from one Belgian journey (with a flight, an appointment and a
//! family member, so that every kind of edit has a target), copies it to 2-4 device
//! stores, applies a random sequence of typed edits on random replicas with random
//! partial exchanges in between (so histories branch and rejoin), then merges
//! everything in a random order. All replicas must then have the same heads, the same
//! journey and medical record, the same conflicts and the same history, also after
//! reloading from disk. 1,000 cases per run: enough random merge orders to find an
//! order-dependent result in CI, fast enough for every run.

use passage_core::model::{ModuleStatus, PdoDayStatus, PermitDecision, TaskStatus};
use passage_core::{CaseId, DocKind, Durability, Edit, Role, Store, StoreOptions};
use proptest::prelude::*;

use std::sync::OnceLock;

use crate::support::{self, Dir, appointment, daughter, exchange, flight, housing, push};

const TASKS: [&str; 4] = [
    "attend_medical_exam",
    "complete_talent_profile",
    "board_flight",
    "print_documents",
];
const WORDS: [&str; 3] = ["بانتظار الرد", "call back", "urgent"];
const ADDRESSES: [&str; 3] = [
    "Sint-Jorisstraat 12, Brugge",
    "Langestraat 40, Brugge",
    "Ezelstraat 3, Brugge",
];
const TIMES: [&str; 3] = [
    "2027-03-28T09:40[Asia/Amman]",
    "2027-03-28T11:05[Asia/Amman]",
    "2027-03-29T02:15[Asia/Amman]",
];
const STATUSES: [TaskStatus; 4] = [
    TaskStatus::Todo,
    TaskStatus::InProgress,
    TaskStatus::Done,
    TaskStatus::Blocked,
];

/// An edit with its targets chosen from small sets, so that replicas collide often.
#[derive(Clone, Debug)]
enum Op {
    Status(usize, usize),
    Notes(usize, usize),
    Permit(usize),
    Housing(usize),
    Departs(usize),
    Appointment(usize),
    Attendance(u8, usize),
    Module(usize),
    AddMember(usize),
    RemoveMember,
    /// Replica `a` sends everything it has to replica `b` (one direction only).
    Push(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..TASKS.len(), 0..STATUSES.len()).prop_map(|(t, s)| Op::Status(t, s)),
        2 => (0..TASKS.len(), 0..WORDS.len()).prop_map(|(t, w)| Op::Notes(t, w)),
        2 => (0..3usize).prop_map(Op::Permit),
        2 => (0..ADDRESSES.len()).prop_map(Op::Housing),
        2 => (0..TIMES.len()).prop_map(Op::Departs),
        2 => (0..TIMES.len()).prop_map(Op::Appointment),
        1 => (1..=3u8, 0..4usize).prop_map(|(d, s)| Op::Attendance(d, s)),
        1 => (0..3usize).prop_map(Op::Module),
        1 => (0..WORDS.len()).prop_map(Op::AddMember),
        1 => Just(Op::RemoveMember),
        2 => (0..4usize, 0..4usize).prop_map(|(a, b)| Op::Push(a, b)),
    ]
}

/// The shared starting point, and the ids of the entities every replica has.
struct Base {
    case: CaseId,
    booking: String,
    visit: String,
    member: String,
}

fn edit(op: &Op, base: &Base) -> Option<Edit> {
    Some(match *op {
        Op::Status(t, s) => Edit::SetTaskStatus {
            task: TASKS[t].into(),
            status: STATUSES[s],
        },
        Op::Notes(t, w) => Edit::SetTaskNotes {
            task: TASKS[t].into(),
            notes: WORDS[w].into(),
        },
        Op::Permit(d) => Edit::SetPermitDecision {
            decision: PermitDecision::ALL[d],
            decided_on: None,
        },
        Op::Housing(a) => {
            let mut h = housing();
            h.address = ADDRESSES[a].into();
            Edit::SetHousing { housing: h }
        }
        Op::Departs(t) => Edit::ChangeFlightTimes {
            booking: base.booking.clone(),
            segment: 0,
            departs: Some(TIMES[t].parse().expect("time")),
            arrives: None,
        },
        Op::Appointment(t) => Edit::RescheduleAppointment {
            appointment: base.visit.clone(),
            at: TIMES[t].parse().expect("time"),
        },
        Op::Attendance(d, s) => Edit::MarkPdoAttendance {
            day: d,
            status: PdoDayStatus::ALL[s],
        },
        Op::Module(s) => Edit::SetPdoModuleStatus {
            module: "exploring".into(),
            status: ModuleStatus::ALL[s],
        },
        Op::AddMember(w) => {
            let mut m = daughter();
            m.name = WORDS[w].into();
            Edit::AddFamilyMember { member: m }
        }
        Op::RemoveMember => Edit::RemoveFamilyMember {
            member: base.member.clone(),
        },
        Op::Push(..) => return None,
    })
}

/// Four device stores on disk, shared by all cases of the property (each case makes a
/// new journey, so cases do not see each other). Creating fresh SQLite files for each
/// of a thousand cases would measure file creation, not merging.
fn devices() -> &'static (Dir, Vec<Store>) {
    static DEVICES: OnceLock<(Dir, Vec<Store>)> = OnceLock::new();
    DEVICES.get_or_init(|| {
        let dir = Dir::new();
        let stores = (0..4)
            .map(|i| quick_store(&dir, &format!("device-{i}.db")))
            .collect();
        (dir, stores)
    })
}

fn quick_store(dir: &Dir, name: &str) -> Store {
    // WAL with synchronous=NORMAL: the property is about merging, not fsync, and a
    // thousand cases with FULL would spend minutes waiting for the disk.
    let options = StoreOptions {
        durability: Durability::Normal,
        ..support::options()
    };
    Store::open_with(dir.path(name), support::identity(Role::Caseworker), options).expect("store")
}

fn state(store: &Store, case: &CaseId) -> impl PartialEq + std::fmt::Debug {
    let heads: Vec<_> = [DocKind::Journey, DocKind::Medical]
        .iter()
        .map(|k| store.heads(&case.doc(*k)).expect("heads"))
        .collect();
    let mut history: Vec<String> = store
        .history(case)
        .expect("history")
        .into_iter()
        .map(|h| h.change)
        .collect();
    history.sort();
    (
        heads,
        store.journey(case).expect("journey"),
        store.medical(case).expect("medical"),
        store.conflicts(case).expect("conflicts"),
        history,
    )
}

fn run(replica_count: usize, ops: &[(usize, Op)], merge_order: &[usize]) -> Result<(), TestCaseError> {
    let replicas = &devices().1[..replica_count];
    let origin = &replicas[0];
    let mut new = support::new_journey("be");
    new.version = Some(1);
    let case = origin.create_journey(&new).expect("journey");
    let created = |e: Edit| origin.apply(&case, &e).expect("setup edit").created.expect("id");
    let base = Base {
        booking: created(Edit::AddFlight { booking: flight() }),
        visit: created(Edit::AddAppointment {
            appointment: appointment(),
        }),
        member: created(Edit::AddFamilyMember { member: daughter() }),
        case,
    };
    for replica in &replicas[1..] {
        push(origin, replica, &base.case);
    }

    for (who, op) in ops {
        let who = who % replica_count;
        match op {
            Op::Push(a, b) => {
                let (a, b) = (a % replica_count, b % replica_count);
                if a != b {
                    push(&replicas[a], &replicas[b], &base.case);
                }
            }
            // An edit may be refused for a legitimate reason (removing a member twice
            // on one replica); a refused edit changes nothing, which is what matters.
            other => {
                let _ = replicas[who].apply(&base.case, &edit(other, &base).expect("an edit"));
            }
        }
    }

    // Merge in the given order: along the order, then back, so everyone has all.
    let order: Vec<usize> = merge_order
        .iter()
        .copied()
        .filter(|i| *i < replica_count)
        .collect();
    for pair in order.windows(2) {
        exchange(&replicas[pair[0]], &replicas[pair[1]], &base.case);
    }
    for pair in order.windows(2).rev() {
        exchange(&replicas[pair[1]], &replicas[pair[0]], &base.case);
    }

    let expected = state(&replicas[0], &base.case);
    for (i, replica) in replicas.iter().enumerate().skip(1) {
        prop_assert_eq!(&state(replica, &base.case), &expected, "replica {} differs", i);
    }
    // And the same once reloaded from disk.
    replicas[1 % replica_count].evict_all();
    prop_assert_eq!(
        &state(&replicas[1 % replica_count], &base.case),
        &expected,
        "after reload"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_whatever_the_merge_order(
        replica_count in 2usize..=4,
        ops in prop::collection::vec((0usize..4, op()), 1..14),
        merge_order in Just(vec![0usize, 1, 2, 3]).prop_shuffle(),
    ) {
        run(replica_count, &ops, &merge_order)?;
    }
}
