//! The shorter views: templates, cases, conflicts, history, the arrival plan, an
//! upgrade report and store statistics.

use passage_core::arrival_plan::ArrivalPlan;
use passage_core::conflict::Conflict;
use passage_core::doc::journey::UpgradeReport;
use passage_core::history::{HistoryEntry, Trust};
use passage_core::{CaseSummary, StoreStats};

use super::journey::segments;
use super::{Text, heading, housing, label, meeting, or_dash, put, utc};

pub(crate) fn templates(t: &Text) -> String {
    let mut out = String::new();
    let newest_mark = format!(" ({})", t.label(label::NOTE_NEWEST));
    for id in t.catalogue.template_ids() {
        let Ok(versions) = t.catalogue.versions(id) else {
            continue;
        };
        let newest = versions.last().map(|v| v.version);
        for v in versions {
            let mark = if Some(v.version) == newest {
                newest_mark.as_str()
            } else {
                ""
            };
            put!(
                out,
                "{id:<4} v{:<3} {}  {}{mark}",
                v.version,
                v.destination,
                v.name.get(t.locale)
            );
        }
    }
    out
}

pub(crate) fn cases(t: &Text, cases: &[CaseSummary]) -> String {
    let mut out = String::new();
    if cases.is_empty() {
        put!(out, "{}", t.label(label::NOTE_NO_CASES));
    }
    for c in cases {
        if let Some(problem) = &c.problem {
            put!(out, "{}  {}", c.case, t.field(label::NOTE_UNREADABLE, problem));
            continue;
        }
        put!(
            out,
            "{}  {} · {} · {} v{} · {}/{} {}",
            c.case,
            c.talent_name,
            t.country_by_code(&c.destination),
            c.template_id,
            c.template_version,
            c.tasks_closed,
            c.tasks_total,
            t.label(label::HEADING_TASKS).to_lowercase()
        );
    }
    out
}

/// Open conflicts, values numbered from 1 as `passage conflicts resolve` takes them.
pub(crate) fn conflicts(t: &Text, conflicts: &[Conflict]) -> String {
    let mut out = String::new();
    put!(out, "{}", t.label(label::HEADING_CONFLICTS));
    if conflicts.is_empty() {
        put!(out, "  —");
    }
    for c in conflicts {
        put!(out);
        put!(out, "  {} ({})", c.id, t.word(&c.field));
        for (i, v) in c.values.iter().enumerate() {
            let by =
                v.by.clone()
                    .unwrap_or_else(|| t.label(label::NOTE_UNKNOWN_AUTHOR));
            let at =
                v.at.as_ref()
                    .map_or_else(|| t.label(label::NOTE_UNKNOWN_TIME), utc);
            let shown = if i == 0 {
                format!(" ({})", t.label(label::NOTE_SHOWN_UNTIL_RESOLVED))
            } else {
                String::new()
            };
            put!(out, "    {}. {} — {by}, {at}{shown}", i + 1, v.value);
        }
    }
    out
}

/// The timeline. Each line names who the server vouches made the change (received from
/// their device); a change that claims someone else says so, and one the server has
/// not vouched for yet shows its own claim, marked.
pub(crate) fn history(t: &Text, entries: &[HistoryEntry]) -> String {
    let mut out = String::new();
    put!(out, "{}", t.label(label::HEADING_HISTORY));
    let role_word = |role: Option<passage_core::Role>| role.map_or_else(|| "—".to_owned(), |r| t.word(&r));
    for e in entries {
        let target = e.target.as_deref().unwrap_or("");
        let (at, by, role, mark) = match (&e.vouched, e.trust) {
            (Some(v), Trust::Vouched) => (e.at, v.name.clone(), role_word(v.role), String::new()),
            (Some(v), _) => (
                v.received_at,
                v.name.clone(),
                role_word(v.role),
                format!(
                    "  ({}: {} {} {})",
                    t.label(label::NOTE_CLAIMED),
                    e.by,
                    role_word(e.role),
                    utc(&e.at)
                ),
            ),
            (None, _) => (
                e.at,
                e.by.clone(),
                role_word(e.role),
                format!("  ({})", t.label(label::NOTE_NOT_VOUCHED)),
            ),
        };
        put!(
            out,
            "  {}  {by}  {role}  {}  {}  {target}{mark}",
            utc(&at),
            e.doc,
            e.edit
        );
    }
    out
}

pub(crate) fn arrival_plan(t: &Text, p: &ArrivalPlan) -> String {
    let mut out = String::new();
    put!(out, "{}", t.field(label::HEADING_ARRIVAL_PLAN, &p.talent_name));
    let country = t.country(&p.template.id, p.template.version, &p.destination);
    put!(out, "  {}", t.field(label::FIELD_DESTINATION, country));
    put!(
        out,
        "  {}",
        t.field(label::FIELD_ARRIVAL_CITY, or_dash(&p.arrival_city))
    );
    if !p.travelling_with.is_empty() {
        put!(
            out,
            "  {}",
            t.field(label::FIELD_TRAVELLING_WITH, p.travelling_with.join(", "))
        );
    }

    heading(&mut out, &t.label(label::HEADING_FLIGHTS));
    if p.trips.is_empty() {
        put!(out, "  —");
    }
    for (i, trip) in p.trips.iter().enumerate() {
        put!(
            out,
            "  {}. {}",
            i + 1,
            t.field(label::FIELD_TRAVELLERS, or_dash(&trip.travellers.join(", ")))
        );
        segments(t, &trip.segments, "     ", &mut out);
    }

    heading(&mut out, &t.label(label::HEADING_HOUSING));
    housing(&mut out, t, &p.housing, "  ");

    heading(&mut out, &t.label(label::HEADING_MEETING));
    meeting(&mut out, t, &p.met_by, "  ");

    heading(&mut out, &t.label(label::HEADING_JOURNEY));
    for s in &p.stages {
        put!(
            out,
            "  {} · {}",
            t.catalogue.stage_title(s.stage, t.locale),
            t.word(&s.progress)
        );
    }
    out
}

pub(crate) fn upgrade(t: &Text, template: &str, r: &UpgradeReport) -> String {
    let mut out = String::new();
    let versions = format!("{template} v{} → v{}", r.from_version, r.to_version);
    put!(out, "{}", t.field(label::FIELD_TEMPLATE, versions));
    let title = |id: &str| {
        t.catalogue
            .task_title(template, r.to_version, id, t.locale)
            .unwrap_or(id)
            .to_owned()
    };
    for (what, ids) in [
        (label::DONE_TASK_ADDED, &r.added_tasks),
        (label::DONE_TASK_RETIRED, &r.retired_tasks),
    ] {
        let what = t.label(what);
        for id in ids.iter() {
            put!(out, "  {what} {id}: {}", title(id));
        }
    }
    for id in &r.added_modules {
        let name = t
            .catalogue
            .module_title(template, r.to_version, id, t.locale)
            .unwrap_or(id);
        put!(out, "  {} {id}: {name}", t.label(label::DONE_MODULE_ADDED));
    }
    if r.added_tasks.is_empty() && r.retired_tasks.is_empty() && r.added_modules.is_empty() {
        put!(out, "  {}", t.label(label::DONE_NOTHING_CHANGED));
    }
    out
}

/// The store's rows before and after compaction:
/// `Change rows: 4 → 0 (1830 → 0 bytes)`, then the same for snapshot rows.
pub(crate) fn stats(t: &Text, before: &StoreStats, after: &StoreStats) -> String {
    let mut out = String::new();
    let bytes = t.label(label::NOTE_BYTES);
    let rows = [
        (
            label::FIELD_CHANGE_ROWS,
            (before.change_rows, before.change_bytes),
            (after.change_rows, after.change_bytes),
        ),
        (
            label::FIELD_SNAPSHOT_ROWS,
            (before.snapshot_rows, before.snapshot_bytes),
            (after.snapshot_rows, after.snapshot_bytes),
        ),
    ];
    for (caption, (rows_before, bytes_before), (rows_after, bytes_after)) in rows {
        put!(
            out,
            "  {}",
            t.field(
                caption,
                format!("{rows_before} → {rows_after} ({bytes_before} → {bytes_after} {bytes})")
            )
        );
    }
    out
}
