//! The least any Automerge store on SQLite does per task toggle, printed beside
//! benchmark (b) for information: the same puts on the same document in memory,
//! Automerge's commit, the change's bytes, and the bare `INSERT` of those bytes in its
//! own transaction. No role check, no task look-up, no history note, no bookkeeping.
//!
//! (b)'s target compares the store with the durable write alone; this floor shows how
//! much of the gap is Automerge's own work, which no store built on it can skip, and
//! how much is the store's.

use std::path::Path;
use std::time::Duration;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, ObjId, ROOT, ReadDoc};

use crate::measure::time;
use crate::toggle::BareInsert;

pub(crate) struct Floor {
    doc: AutoCommit,
    task: ObjId,
    insert: BareInsert,
    done: bool,
}

/// A commit message of the length of the store's history notes (about 100 bytes), so
/// that both sides encode changes of the same size.
const MESSAGE: &str = r#"{"v":1,"by":"Amira Khoury","role":"caseworker","edit":"task.status","target":"complete_talent_profile=done"}"#;

impl Floor {
    /// `saved` is `save()` of the journey; `task` the id of the task to toggle.
    pub(crate) fn new(saved: &[u8], task: &str, insert: BareInsert) -> Floor {
        let doc = AutoCommit::load(saved).expect("the journey loads");
        let task = find_task(&doc, task).expect("the toggled task is in the journey");
        Floor {
            doc,
            task,
            insert,
            done: false,
        }
    }

    pub(crate) fn apply(&mut self) -> Duration {
        self.done = !self.done;
        let (elapsed, ()) = time(|| {
            let status = if self.done { "done" } else { "todo" };
            self.doc.put(&self.task, "status", status).expect("put");
            if self.done {
                self.doc
                    .put(&self.task, "completed_at", "2026-11-25T21:00:00Z")
                    .expect("put");
                self.doc
                    .put(&self.task, "completed_by", "Amira Khoury")
                    .expect("put");
            }
            self.doc.commit_with(
                CommitOptions::default()
                    .with_message(MESSAGE)
                    .with_time(1_795_000_000),
            );
            let change = self.doc.get_last_local_change().expect("the change");
            self.insert.write(change.raw_bytes());
        });
        elapsed
    }
}

fn find_task(doc: &AutoCommit, task: &str) -> Option<ObjId> {
    let map = |obj: &ObjId, key: &str| match doc.get(obj, key) {
        Ok(Some((automerge::Value::Object(_), id))) => Some(id),
        _ => None,
    };
    let stages = map(&ROOT, "stages")?;
    doc.keys(&stages)
        .find_map(|stage| map(&map(&map(&stages, &stage)?, "tasks")?, task))
}

/// The floor's own SQLite file, beside the baseline's.
pub(crate) fn file(dir: &Path, synchronous: &str) -> std::path::PathBuf {
    dir.join(format!("floor-{}.db", synchronous.to_lowercase()))
}
