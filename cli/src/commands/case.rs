//! Whole-case and whole-device views: templates, cases, conflicts, history, export,
//! the arrival plan and compaction.

use std::path::PathBuf;

use passage_core::{Action, DocKind, Edit, ErrorKind};

use crate::args::ConflictsCmd;
use crate::context::Ctx;
use crate::error::{CliError, Result};
use crate::render;
use crate::render::label;

/// Templates are built into the core, so listing them opens no store.
pub(crate) fn templates(ctx: &Ctx) -> Result<()> {
    if ctx.json {
        let rows: Vec<serde_json::Value> = ctx
            .text
            .catalogue
            .template_ids()
            .filter_map(|id| ctx.text.catalogue.versions(id).ok())
            .flatten()
            .map(|t| {
                serde_json::json!({
                    "id": t.id,
                    "version": t.version,
                    "destination": t.destination,
                    "name": t.name.get(ctx.text.locale),
                    "tasks": t.task_count(),
                })
            })
            .collect();
        ctx.print_json(&rows)
    } else {
        ctx.print(&render::lists::templates(&ctx.text))
    }
}

pub(crate) fn cases(ctx: &Ctx) -> Result<()> {
    let store = ctx.open()?;
    let cases = store.cases()?;
    ctx.show(&cases, |t, c| render::lists::cases(t, c))
}

pub(crate) fn conflicts(ctx: &Ctx, action: Option<ConflictsCmd>) -> Result<()> {
    let store = ctx.open()?;
    let case = ctx.select(&store, Action::ReadJourney)?;
    match action {
        None => {
            let conflicts = store.conflicts(&case)?;
            ctx.show(&conflicts, |t, c| render::lists::conflicts(t, c))
        }
        Some(ConflictsCmd::Resolve { conflict, pick }) => {
            // Values are numbered from 1 in the list above; the core counts from 0.
            let index = pick
                .checked_sub(1)
                .ok_or_else(|| CliError::Input("conflict values are numbered from 1".into()))?;
            let edit = Edit::ResolveConflict {
                conflict: conflict.clone(),
                pick: index,
            };
            ctx.edit_on(&store, &case, &edit, |_| {
                let t = &ctx.text;
                format!(
                    "{}: {conflict} · {}",
                    t.label(label::DONE_CONFLICT_RESOLVED),
                    t.field(label::FIELD_VALUE_KEPT, pick)
                )
            })
        }
    }
}

pub(crate) fn history(ctx: &Ctx) -> Result<()> {
    let store = ctx.open()?;
    let case = ctx.select(&store, Action::ReadHistory)?;
    let entries = store.history(&case)?;
    ctx.show(&entries, |t, e| render::lists::history(t, e))
}

/// The export is JSON whatever `--json` says: it is a file format.
pub(crate) fn export(ctx: &Ctx, output: Option<PathBuf>) -> Result<()> {
    let store = ctx.open()?;
    let case = ctx.select(&store, Action::ExportCase)?;
    let export = store.export(&case)?;
    let mut json = serde_json::to_string_pretty(&export)?;
    json.push('\n');
    match output {
        None => ctx.print(&json),
        Some(path) => {
            std::fs::write(&path, json)?;
            let done = ctx.text.label(label::DONE_EXPORTED);
            ctx.print(&format!("{done}: {case} → {}\n", path.display()))
        }
    }
}

pub(crate) fn arrival_plan(ctx: &Ctx) -> Result<()> {
    let store = ctx.open()?;
    let case = ctx.select(&store, Action::ReadArrivalPlan)?;
    let plan = store.arrival_plan(&case)?;
    ctx.show(&plan, render::lists::arrival_plan)
}

/// Compacts every document of the case that this role may read and that this device
/// holds; a family device holds only the arrival plan.
pub(crate) fn compact(ctx: &Ctx) -> Result<()> {
    let store = ctx.open()?;
    let case = ctx.select(&store, Action::ReadArrivalPlan)?;
    let before = store.stats(None)?;
    let mut compacted = Vec::new();
    for kind in DocKind::ALL {
        let read = match kind {
            DocKind::Journey => Action::ReadJourney,
            DocKind::Medical => Action::ReadMedical,
            DocKind::ArrivalPlan => Action::ReadArrivalPlan,
        };
        if !ctx.role.may(read) {
            continue;
        }
        match store.compact(&case.doc(kind)) {
            Ok(()) => compacted.push(kind),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    if compacted.is_empty() {
        return Err(CliError::NotFound(format!(
            "case {case} has no document on this device"
        )));
    }
    let after = store.stats(None)?;
    if ctx.json {
        return ctx.print_json(&serde_json::json!({
            "case": case,
            "compacted": compacted,
            "before": before,
            "after": after,
        }));
    }
    let names: Vec<&str> = compacted.iter().map(|k| k.as_str()).collect();
    let done = ctx.text.label(label::DONE_COMPACTED);
    let mut text = format!("{done}: {case} · {}\n", names.join(", "));
    text.push_str(&render::lists::stats(&ctx.text, &before, &after));
    ctx.print(&text)
}
