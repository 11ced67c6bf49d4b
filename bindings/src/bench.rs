//! Helpers for the binding benchmark (android/scripts/jvm-test.sh --bench), built only
//! with the `bench` feature: a 100-task journey to read, and the same read timed in
//! Rust, so the Kotlin side can print its cost against a baseline from the same run
//! and the same store.

use std::sync::Arc;
use std::time::Instant;

use automerge::AutoCommit;
use passage_core::doc::journey::{Journey, NewJourney};
use passage_core::{DocKind, Identity, Role as CoreRole, Store as CoreStore};

use crate::error::{PassageError, Result};
use crate::store::Store;
use crate::types::Locale;

/// Tasks in the benchmark's journey.
const TASKS: usize = 100;

/// Creates, in the store file at `path`, a Belgian journey grown to 100 tasks: the
/// template's own, and copies of them under new ids (their titles then fall back to
/// the ids, which costs the same to build). Returns the case id.
#[uniffi::export]
pub fn bench_prepare_hundred_task_journey(path: String) -> Result<String> {
    let store = CoreStore::open(&path, Identity::new(CoreRole::Caseworker, "bench"))?;
    let case = store.create_journey(&NewJourney {
        template: "be".into(),
        version: None,
        talent_name: "Rana Haddad".into(),
        employer: "AZ Sint-Jan Brugge".into(),
        job_title: "Registered nurse".into(),
        start_date: chrono::NaiveDate::from_ymd_opt(2027, 1, 11).unwrap_or_default(),
    })?;
    let id = case.doc(DocKind::Journey);
    let mut doc = AutoCommit::load(&store.save_document(&id)?).map_err(|e| PassageError::Internal {
        reason: format!("the journey did not load: {e}"),
    })?;
    let heads = doc.get_heads();
    let mut journey: Journey = passage_core::doc::read_document(&doc, &id)?;
    let existing: Vec<(String, String, passage_core::doc::journey::Task)> = journey
        .stages
        .iter()
        .flat_map(|(stage, s)| {
            s.tasks
                .iter()
                .map(|(t, task)| (stage.clone(), t.clone(), task.clone()))
        })
        .collect();
    let mut copy = 0;
    while existing.len() + copy < TASKS {
        let (stage, task_id, task) = &existing[copy % existing.len()];
        let mut task = task.clone();
        task.order += 1000;
        if let Some(s) = journey.stages.get_mut(stage) {
            s.tasks.insert(format!("{task_id}_copy_{copy}"), task);
        }
        copy += 1;
    }
    autosurgeon::reconcile(&mut doc, &journey).map_err(|e| PassageError::Internal {
        reason: format!("the tasks could not be added: {e}"),
    })?;
    let changes: Vec<Vec<u8>> = doc
        .get_changes(&heads)
        .iter()
        .map(|c| c.raw_bytes().to_vec())
        .collect();
    store.receive_changes(&id, &changes)?;
    let tasks: usize = store.journey(&case)?.stages.values().map(|s| s.tasks.len()).sum();
    if tasks != TASKS {
        return Err(PassageError::Internal {
            reason: format!("the benchmark journey has {tasks} tasks, not {TASKS}"),
        });
    }
    Ok(case.to_string())
}

/// The baseline: `iterations` calls of [`Store::journey`] from Rust, on the same
/// object the app holds. Returns the nanoseconds they took in all.
#[uniffi::export]
pub fn bench_rust_journey_reads(
    store: Arc<Store>,
    case_id: String,
    locale: Locale,
    iterations: u32,
) -> Result<u64> {
    let started = Instant::now();
    for _ in 0..iterations {
        std::hint::black_box(store.journey(case_id.clone(), locale)?);
    }
    Ok(u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX))
}
