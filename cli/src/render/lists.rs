//! The shorter views: templates, cases, conflicts, history, the arrival plan, an
//! upgrade report and store statistics.

use passage_core::arrival_plan::ArrivalPlan;
use passage_core::conflict::Conflict;
use passage_core::doc::journey::UpgradeReport;
use passage_core::history::HistoryEntry;
use passage_core::{CaseSummary, StoreStats};

use super::journey::segments;
use super::{Text, heading, opt_date, or_dash, place, put, utc};

pub(crate) fn templates(t: &Text) -> String {
    let mut out = String::new();
    for id in t.catalogue.template_ids() {
        let Ok(versions) = t.catalogue.versions(id) else {
            continue;
        };
        let newest = versions.last().map(|v| v.version);
        for v in versions {
            let mark = if Some(v.version) == newest {
                " (newest)"
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
        put!(out, "no cases on this device");
    }
    for c in cases {
        if let Some(problem) = &c.problem {
            put!(out, "{}  cannot be read: {problem}", c.case);
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
            t.label("heading.tasks", "Tasks").to_lowercase()
        );
    }
    out
}

/// Open conflicts, values numbered from 1 as `passage conflicts resolve` takes them.
pub(crate) fn conflicts(t: &Text, conflicts: &[Conflict]) -> String {
    let mut out = String::new();
    put!(out, "{}", t.label("heading.conflicts", "Conflicts"));
    if conflicts.is_empty() {
        put!(out, "  —");
    }
    for c in conflicts {
        put!(out);
        put!(out, "  {} ({})", c.id, t.word(&c.field));
        for (i, v) in c.values.iter().enumerate() {
            let by = v.by.as_deref().unwrap_or("unknown");
            let at = v.at.as_ref().map_or_else(|| "unknown time".to_owned(), utc);
            let shown = if i == 0 { " (shown until resolved)" } else { "" };
            put!(out, "    {}. {} — {by}, {at}{shown}", i + 1, v.value);
        }
    }
    out
}

pub(crate) fn history(t: &Text, entries: &[HistoryEntry]) -> String {
    let mut out = String::new();
    put!(out, "{}", t.label("heading.history", "History"));
    for e in entries {
        let role = e.role.map_or_else(|| "—".to_owned(), |r| t.word(&r));
        let target = e.target.as_deref().unwrap_or("");
        put!(
            out,
            "  {}  {}  {role}  {}  {}  {target}",
            utc(&e.at),
            e.by,
            e.doc,
            e.edit
        );
    }
    out
}

pub(crate) fn arrival_plan(t: &Text, p: &ArrivalPlan) -> String {
    let mut out = String::new();
    put!(
        out,
        "{}",
        t.field("heading.arrival_plan", "Arrival plan", &p.talent_name)
    );
    let country = t.country(&p.template.id, p.template.version, &p.destination);
    put!(out, "  {}", t.field("field.destination", "Destination", country));
    put!(out, "  Arrival city: {}", or_dash(&p.arrival_city));
    if !p.travelling_with.is_empty() {
        put!(out, "  Travelling with: {}", p.travelling_with.join(", "));
    }

    heading(&mut out, &t.label("heading.flights", "Flights"));
    if p.trips.is_empty() {
        put!(out, "  —");
    }
    for (i, trip) in p.trips.iter().enumerate() {
        put!(
            out,
            "  {}. {}",
            i + 1,
            t.field(
                "field.travellers",
                "Travellers",
                or_dash(&trip.travellers.join(", "))
            )
        );
        segments(t, &trip.segments, "     ", &mut out);
    }

    heading(&mut out, &t.label("heading.housing", "Housing"));
    let h = &p.housing;
    put!(
        out,
        "  {}",
        t.field("field.address", "Address", place(&h.address, &h.city))
    );
    put!(
        out,
        "  {}",
        t.field(
            "field.dates",
            "Dates",
            format!("{} – {}", opt_date(h.from), opt_date(h.until))
        )
    );

    heading(&mut out, &t.label("heading.meeting", "Meeting on arrival"));
    let m = &p.met_by;
    if m.name.trim().is_empty() {
        put!(out, "  —");
    } else {
        let who = format!(
            "{} ({}) · {}",
            m.name,
            or_dash(&m.organisation),
            or_dash(&m.phone)
        );
        put!(out, "  {}", t.field("field.met_by", "Met by", who));
        put!(out, "  Place: {}", or_dash(&m.place));
    }

    heading(&mut out, &t.label("heading.journey", "Journey"));
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
    put!(
        out,
        "template {template}: v{} → v{}",
        r.from_version,
        r.to_version
    );
    let title = |id: &str| {
        t.catalogue
            .task_title(template, r.to_version, id, t.locale)
            .unwrap_or(id)
            .to_owned()
    };
    for (what, ids) in [("added task", &r.added_tasks), ("retired task", &r.retired_tasks)] {
        for id in ids.iter() {
            put!(out, "  {what} {id}: {}", title(id));
        }
    }
    for id in &r.added_modules {
        let name = t
            .catalogue
            .module_title(template, r.to_version, id, t.locale)
            .unwrap_or(id);
        put!(out, "  added module {id}: {name}");
    }
    if r.added_tasks.is_empty() && r.retired_tasks.is_empty() && r.added_modules.is_empty() {
        put!(out, "  no task or module changed");
    }
    out
}

pub(crate) fn stats(label: &str, s: &StoreStats) -> String {
    format!(
        "{label}: {} change rows ({} bytes), {} snapshot rows ({} bytes)\n",
        s.change_rows, s.change_bytes, s.snapshot_rows, s.snapshot_bytes
    )
}
