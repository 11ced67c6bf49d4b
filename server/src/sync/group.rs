//! Group commit: sync exchanges that arrive together share one durable commit.
//!
//! An acknowledged change must be on disk before its answer leaves, so every exchange
//! that stores something ends in a commit, and with `synchronous=FULL` in an `fsync`.
//! Under load that `fsync`, not the work of the exchange, would set the pace. So an
//! exchange that finds the writer busy queues its work and waits; the thread that holds
//! the writer (the leader) runs every queued exchange in one transaction, each inside
//! a savepoint of its own, then commits once and hands each its result. A refused
//! exchange rolls back its own savepoint (and writes its audit entry there), and the
//! others go on; a failed commit fails them all, with nothing stored, so no device is
//! told the server has what it does not.
//!
//! The leader is whichever waiting exchange takes the writer first: there is no
//! thread of its own to start, stop or lose. A panic in one exchange is caught and
//! becomes that exchange's failure, so the others are still answered.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::Failure;
use crate::storage::{Storage, Tx};

/// One exchange's work inside the shared transaction, and what it returns once the
/// transaction committed.
pub(super) trait Work: Send {
    /// What the exchange holds between its run and the commit.
    type Pending;
    type Done: Send;
    /// Runs inside the batch's transaction (within a savepoint). An `Err` rolls the
    /// savepoint back; the refusal's audit entry is then written by the batch.
    fn run(self, tx: &mut dyn Tx) -> Result<Self::Pending, Failure>;
    /// After the batch committed: what the exchange answers.
    fn committed(pending: Self::Pending) -> Self::Done;
}

/// A queued exchange and, once its batch ended, its result.
struct Slot<W: Work> {
    state: Mutex<SlotState<W>>,
    ready: Condvar,
}

enum SlotState<W: Work> {
    Queued(W),
    Running,
    Done(Result<W::Done, Failure>),
    Taken,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded values are a queue and slots, consistent after any panic of a holder
    // (exchanges themselves run under `catch_unwind`).
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The queue of exchanges waiting for the writer.
pub(super) struct GroupCommit<W: Work> {
    queue: Mutex<VecDeque<Arc<Slot<W>>>>,
    leader: Mutex<()>,
    /// The most exchanges one transaction holds: a batch is answered when its last
    /// exchange is done, so it must not grow without end under load.
    max_batch: usize,
    /// Transactions committed, and the exchanges they held.
    commits: AtomicU64,
    exchanges: AtomicU64,
}

impl<W: Work> std::fmt::Debug for GroupCommit<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("queued", &lock(&self.queue).len())
            .field("max_batch", &self.max_batch)
            .finish()
    }
}

/// How long a waiting exchange sleeps before it checks whether the writer is free
/// (a leader that took the writer just before this exchange was queued will not see
/// it, so nobody else would run it).
const RECHECK: Duration = Duration::from_millis(2);

impl<W: Work> GroupCommit<W> {
    pub(super) fn new(max_batch: usize) -> GroupCommit<W> {
        GroupCommit {
            queue: Mutex::new(VecDeque::new()),
            leader: Mutex::new(()),
            max_batch: max_batch.max(1),
            commits: AtomicU64::new(0),
            exchanges: AtomicU64::new(0),
        }
    }

    /// Transactions committed so far, and the exchanges they held.
    pub(super) fn committed(&self) -> (u64, u64) {
        (
            self.commits.load(Ordering::Relaxed),
            self.exchanges.load(Ordering::Relaxed),
        )
    }

    /// Runs `work` in a transaction shared with the exchanges queued at the same time,
    /// and returns once that transaction committed (or failed).
    pub(super) fn run(&self, storage: &dyn Storage, work: W) -> Result<W::Done, Failure> {
        if !storage.groups_commits() {
            self.commits.fetch_add(1, Ordering::Relaxed);
            self.exchanges.fetch_add(1, Ordering::Relaxed);
            return run_batch(storage, vec![work])
                .pop()
                .unwrap_or_else(|| Err(Failure::Internal("an exchange gave no result".into())));
        }
        let slot = Arc::new(Slot {
            state: Mutex::new(SlotState::Queued(work)),
            ready: Condvar::new(),
        });
        lock(&self.queue).push_back(slot.clone());
        loop {
            if let Ok(leading) = self.leader.try_lock() {
                // Leads until its own exchange is answered, not for as long as others
                // keep coming: then the next in line takes over.
                while !matches!(*lock(&slot.state), SlotState::Done(_)) && self.lead(storage) {}
                drop(leading);
                if let Some(next) = lock(&self.queue).front() {
                    next.ready.notify_all();
                }
            }
            let mut state = lock(&slot.state);
            if matches!(*state, SlotState::Queued(_) | SlotState::Running) {
                state = slot
                    .ready
                    .wait_timeout(state, RECHECK)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            if matches!(*state, SlotState::Done(_)) {
                return match std::mem::replace(&mut *state, SlotState::Taken) {
                    SlotState::Done(result) => result,
                    _ => Err(Failure::Internal("a sync result was taken twice".into())),
                };
            }
        }
    }

    /// Runs one batch of queued exchanges; `false` when the queue was empty.
    fn lead(&self, storage: &dyn Storage) -> bool {
        let batch: Vec<Arc<Slot<W>>> = {
            let mut queue = lock(&self.queue);
            let n = queue.len().min(self.max_batch);
            queue.drain(..n).collect()
        };
        if batch.is_empty() {
            return false;
        }
        // Each queued slot gives up its work once; slots and works stay paired.
        let (slots, works): (Vec<Arc<Slot<W>>>, Vec<W>) = batch
            .into_iter()
            .filter_map(|slot| {
                let taken = std::mem::replace(&mut *lock(&slot.state), SlotState::Running);
                match taken {
                    SlotState::Queued(work) => Some((slot, work)),
                    other => {
                        *lock(&slot.state) = other;
                        None
                    }
                }
            })
            .unzip();
        let held = works.len() as u64;
        let results = run_batch(storage, works);
        if results.iter().any(Result::is_ok) {
            self.commits.fetch_add(1, Ordering::Relaxed);
            self.exchanges.fetch_add(held, Ordering::Relaxed);
        }
        for (slot, result) in slots.iter().zip(results) {
            *lock(&slot.state) = SlotState::Done(result);
            slot.ready.notify_all();
        }
        true
    }
}

/// The batch in one transaction: each exchange in its savepoint, one commit.
fn run_batch<W: Work>(storage: &dyn Storage, works: Vec<W>) -> Vec<Result<W::Done, Failure>> {
    let count = works.len();
    let failed = |why: &str| {
        (0..count)
            .map(|_| Err(Failure::Internal(why.to_owned())))
            .collect()
    };
    let mut tx = match storage.begin() {
        Ok(tx) => tx,
        Err(e) => return failed(&e.to_string()),
    };
    let mut outcomes: Vec<Result<W::Pending, Failure>> = Vec::with_capacity(count);
    for work in works {
        let outcome = match tx.savepoint() {
            Err(e) => Err(Failure::from(e)),
            Ok(()) => match catch_unwind(AssertUnwindSafe(|| work.run(&mut *tx))) {
                Ok(Ok(pending)) => tx.release_savepoint().map(|()| pending).map_err(Failure::from),
                Ok(Err(failure)) => Err(roll_back(&mut *tx, failure)),
                Err(_) => Err(roll_back(
                    &mut *tx,
                    Failure::Internal("the sync exchange panicked".into()),
                )),
            },
        };
        outcomes.push(outcome);
    }
    if let Err(e) = tx.commit() {
        // Nothing of the batch is stored: every exchange in it fails, refusals
        // included (their audit entries were lost with it).
        return failed(&format!("the commit failed: {e}"));
    }
    outcomes.into_iter().map(|o| o.map(W::committed)).collect()
}

/// Rolls back a failed exchange's savepoint; a refusal's audit entry is written in its
/// place (and taken from the refusal, so that it is not written twice).
fn roll_back(tx: &mut dyn Tx, mut failure: Failure) -> Failure {
    if let Err(e) = tx.rollback_to_savepoint() {
        return Failure::Internal(format!("a savepoint could not be rolled back: {e}"));
    }
    if let Failure::Refused(refusal) = &mut failure
        && let Some(audit) = refusal.audit.take()
        && let Err(error) = tx.audit(&audit)
    {
        tracing::error!(%error, "could not write an audit entry");
    }
    failure
}

#[cfg(test)]
mod tests {
    use passage_core::sync::wire::RejectCode;

    use super::*;
    use crate::storage::sqlite::SqliteStorage;

    /// Adds a caseworker, or (`refuse`) adds one and then refuses.
    struct AddCaseworker {
        name: String,
        refuse: bool,
    }

    impl Work for AddCaseworker {
        type Pending = String;
        type Done = String;

        fn run(self, tx: &mut dyn Tx) -> Result<String, Failure> {
            tx.add_caseworker(&self.name, 0)?;
            // Long enough for the other threads to queue behind this batch.
            std::thread::sleep(Duration::from_millis(5));
            if self.refuse {
                let rejection = super::super::rejection(RejectCode::Forbidden, "refused", None);
                return Err(Failure::refused(rejection, None));
            }
            Ok(self.name)
        }

        fn committed(name: String) -> String {
            name
        }
    }

    #[test]
    fn exchanges_arriving_together_share_commits_and_a_refusal_stays_alone() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let storage = SqliteStorage::open(&dir.path().join("db"), None).expect("the database");
        let group = GroupCommit::new(64);
        let results: Vec<Result<String, Failure>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..12)
                .map(|i| {
                    let (group, storage) = (&group, &storage);
                    s.spawn(move || {
                        let work = AddCaseworker {
                            name: format!("caseworker {i}"),
                            refuse: i == 5,
                        };
                        group.run(storage, work)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("no panic")).collect()
        });
        for (i, result) in results.iter().enumerate() {
            assert_eq!(result.is_ok(), i != 5, "exchange {i}: {result:?}");
        }
        let (commits, exchanges) = group.committed();
        assert!(commits < 12, "{commits} commits for 12 exchanges");
        assert_eq!(exchanges, 12);

        let mut tx = storage.read().expect("a read");
        for i in 0..12 {
            let stored = tx.caseworker(&format!("caseworker {i}")).expect("a read");
            assert_eq!(stored.is_some(), i != 5, "caseworker {i}");
        }
    }
}

#[cfg(test)]
mod panics {
    use super::*;
    use crate::storage::sqlite::SqliteStorage;

    struct Named(&'static str);

    impl Work for Named {
        type Pending = ();
        type Done = ();

        fn run(self, tx: &mut dyn Tx) -> Result<(), Failure> {
            tx.add_caseworker(self.0, 0)?;
            assert!(self.0 != "panics", "an exchange that panics");
            std::thread::sleep(Duration::from_millis(5));
            Ok(())
        }

        fn committed((): ()) {}
    }

    #[test]
    fn an_exchange_that_panics_fails_alone() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let storage = SqliteStorage::open(&dir.path().join("db"), None).expect("the database");
        let group = GroupCommit::new(64);
        let names = ["a", "b", "panics", "c", "d"];
        let results: Vec<Result<(), Failure>> = std::thread::scope(|s| {
            let handles: Vec<_> = names
                .iter()
                .map(|name| {
                    let (group, storage) = (&group, &storage);
                    s.spawn(move || group.run(storage, Named(name)))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("no panic escapes"))
                .collect()
        });
        let mut tx = storage.read().expect("a read");
        for (name, result) in names.iter().zip(&results) {
            let panics = *name == "panics";
            assert_eq!(result.is_err(), panics, "{name}: {result:?}");
            assert_eq!(tx.caseworker(name).expect("a read").is_some(), !panics, "{name}");
        }
    }
}
