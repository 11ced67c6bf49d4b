//! The journey as text: the header, the tasks stage by stage, the permit, travel, the
//! pre-departure orientation and the family; and the task list as JSON rows.
//!
//! Ids (task, module, booking, family member) are printed next to the localised text
//! because they are what the edit commands take.

use chrono::{DateTime, NaiveDate, Utc};
use passage_core::doc::journey::{FlightBooking, Journey, Task};
use passage_core::model::{Owner, StageId, TaskStatus};
use serde::Serialize;

use super::{Text, heading, housing, label, meeting, opt_date, or_dash, put, utc, zoned};

/// Everything `passage show` prints.
pub(crate) fn journey(t: &Text, j: &Journey) -> String {
    let mut out = header(t, j);
    out.push_str(&tasks(t, j, false));
    permit(t, j, &mut out);
    travel(t, j, &mut out);
    pdo(t, j, &mut out);
    family(t, j, &mut out);
    out
}

fn header(t: &Text, j: &Journey) -> String {
    let mut out = String::new();
    put!(out, "{}", t.field(label::HEADING_JOURNEY, &j.talent_name));
    let country = t.country(&j.template.id, j.template.version, &j.destination);
    put!(out, "  {}", t.field(label::FIELD_DESTINATION, country));
    put!(out, "  {}", t.field(label::FIELD_EMPLOYER, &j.employer));
    put!(out, "  {}", t.field(label::FIELD_JOB_TITLE, &j.job_title));
    let template = format!("{} v{}", j.template.id, j.template.version);
    put!(out, "  {}", t.field(label::FIELD_TEMPLATE, template));
    put!(out, "  {}", t.field(label::FIELD_START, j.start_date));
    put!(out, "  {}", t.field(label::FIELD_CASE, &j.case_id));
    out
}

/// The tasks, stage by stage in pathway order (what `passage tasks` prints).
pub(crate) fn tasks(t: &Text, j: &Journey, open_only: bool) -> String {
    let mut out = String::new();
    let (closed, total) = j.progress();
    heading(
        &mut out,
        &format!("{} ({closed}/{total})", t.label(label::HEADING_TASKS)),
    );
    let retired = format!(" ({})", t.label(label::NOTE_RETIRED));
    for (stage, tasks) in visible(j, open_only) {
        put!(out);
        put!(out, "{}", t.catalogue.stage_title(stage, t.locale));
        for (id, task) in tasks {
            let mark = match task.status {
                TaskStatus::Done => "[✓]",
                TaskStatus::NotApplicable => "[–]",
                _ => "[ ]",
            };
            put!(
                out,
                "  {mark} {id}: {}{}",
                j.task_title(t.catalogue, id, t.locale),
                if task.retired { retired.as_str() } else { "" }
            );
            let mut facts = vec![t.word(&task.status), t.word(&task.owner)];
            if let Some(due) = task.due {
                facts.push(t.field(label::FIELD_DUE, due));
            }
            if let (Some(by), Some(at)) = (&task.completed_by, &task.completed_at) {
                facts.push(format!("{by}, {}", utc(at)));
            }
            put!(out, "      {}", facts.join(" · "));
            if !task.notes.trim().is_empty() {
                put!(out, "      {}", t.field(label::FIELD_NOTES, &task.notes));
            }
        }
    }
    out
}

/// The stages and tasks to show: retired tasks only while they carry progress (a status
/// other than to do, or notes), so that an upgrade hides what nobody started.
fn visible(j: &Journey, open_only: bool) -> Vec<(StageId, Vec<(&str, &Task)>)> {
    j.stages_in_order()
        .into_iter()
        .map(|(stage, tasks)| {
            let tasks = tasks
                .into_iter()
                .filter(|(_, task)| !task.retired || has_progress(task))
                .filter(|(_, task)| !open_only || !task.status.is_closed())
                .collect::<Vec<_>>();
            (stage, tasks)
        })
        .filter(|(_, tasks)| !tasks.is_empty())
        .collect()
}

fn has_progress(task: &Task) -> bool {
    task.status != TaskStatus::Todo || !task.notes.trim().is_empty()
}

/// One task as `passage tasks --json` prints it: the stored values and their labels.
#[derive(Debug, Serialize)]
pub(crate) struct TaskRow<'a> {
    stage: StageId,
    stage_title: String,
    task: &'a str,
    title: String,
    status: TaskStatus,
    status_label: String,
    owner: Owner,
    owner_label: String,
    due: Option<NaiveDate>,
    notes: &'a str,
    completed_at: Option<DateTime<Utc>>,
    completed_by: Option<&'a str>,
    retired: bool,
}

pub(crate) fn task_rows<'a>(t: &Text, j: &'a Journey, open_only: bool) -> Vec<TaskRow<'a>> {
    visible(j, open_only)
        .into_iter()
        .flat_map(|(stage, tasks)| {
            tasks.into_iter().map(move |(id, task)| TaskRow {
                stage,
                stage_title: t.catalogue.stage_title(stage, t.locale).to_owned(),
                task: id,
                title: j.task_title(t.catalogue, id, t.locale).to_owned(),
                status: task.status,
                status_label: t.word(&task.status),
                owner: task.owner,
                owner_label: t.word(&task.owner),
                due: task.due,
                notes: &task.notes,
                completed_at: task.completed_at,
                completed_by: task.completed_by.as_deref(),
                retired: task.retired,
            })
        })
        .collect()
}

fn permit(t: &Text, j: &Journey, out: &mut String) {
    heading(out, &t.label(label::FIELD_PERMIT));
    let decision = t.word(&j.permit.decision);
    match j.permit.decided_on {
        Some(on) => put!(out, "  {decision} ({on})"),
        None => put!(out, "  {decision}"),
    }
}

fn travel(t: &Text, j: &Journey, out: &mut String) {
    heading(out, &t.label(label::HEADING_TRAVEL));
    put!(out, "  {}", self_booking(t, j.travel.self_booking));
    put!(out, "  {}:", t.label(label::HEADING_FLIGHTS));
    let flights = j.flights_in_order();
    if flights.is_empty() {
        put!(out, "    —");
    }
    for (id, booking) in flights {
        flight(t, id, booking, out);
    }
    put!(out, "  {}:", t.label(label::HEADING_HOUSING));
    housing(out, t, &j.travel.housing, "    ");
    put!(out, "  {}:", t.label(label::HEADING_MEETING));
    meeting(out, t, &j.travel.meeting, "    ");
}

/// Whether the talent may enter their own bookings: `Self-booking by the talent: Allowed`.
pub(crate) fn self_booking(t: &Text, allowed: bool) -> String {
    let word = if allowed {
        label::SELF_BOOKING_ALLOWED
    } else {
        label::SELF_BOOKING_NOT_ALLOWED
    };
    t.field(label::FIELD_SELF_BOOKING, t.label(word))
}

/// One booking with its segments, numbered from 1 as `passage flight times` takes them.
pub(crate) fn flight(t: &Text, id: &str, booking: &FlightBooking, out: &mut String) {
    put!(
        out,
        "    {id}: {}",
        t.field(
            label::FIELD_BOOKING_REFERENCE,
            or_dash(&booking.booking_reference)
        )
    );
    put!(
        out,
        "      {}",
        t.field(label::FIELD_TRAVELLERS, or_dash(&booking.travellers.join(", ")))
    );
    segments(t, &booking.segments, "      ", out);
}

pub(crate) fn segments(
    t: &Text,
    segments: &[passage_core::doc::journey::FlightSegment],
    indent: &str,
    out: &mut String,
) {
    for (i, s) in segments.iter().enumerate() {
        put!(out, "{indent}{}. {} {}", i + 1, s.flight_number, s.carrier);
        let departs = format!("{} {}", s.from, zoned(&s.departs));
        let arrives = format!("{} {}", s.to, zoned(&s.arrives));
        put!(out, "{indent}   {}", t.field(label::FIELD_DEPARTS, departs));
        put!(out, "{indent}   {}", t.field(label::FIELD_ARRIVES, arrives));
    }
}

fn pdo(t: &Text, j: &Journey, out: &mut String) {
    heading(out, &t.label(label::HEADING_PDO));
    for (day, d) in &j.pdo.days {
        put!(
            out,
            "  {} {day}: {} · {}",
            t.label(label::FIELD_DAY),
            opt_date(d.date),
            t.word(&d.status)
        );
    }
    let mut modules: Vec<_> = j.pdo.modules.iter().collect();
    modules.sort_by_key(|(id, m)| (m.order, id.as_str()));
    for (id, m) in modules {
        let version = u64::try_from(j.template.version).unwrap_or_default();
        let title = t
            .catalogue
            .module_title(&j.template.id, version, id, t.locale)
            .unwrap_or(id);
        put!(
            out,
            "  {} {id}: {title} · {}",
            t.label(label::FIELD_MODULE),
            t.word(&m.status)
        );
    }
}

fn family(t: &Text, j: &Journey, out: &mut String) {
    heading(out, &t.label(label::HEADING_FAMILY));
    if j.family.is_empty() {
        put!(out, "  —");
    }
    let mut members: Vec<_> = j.family.iter().collect();
    members.sort_by(|a, b| (&a.1.name, a.0).cmp(&(&b.1.name, b.0)));
    for (id, m) in members {
        put!(
            out,
            "  {id}: {} · {} · {}",
            m.name,
            t.word(&m.relation),
            t.word(&m.travel)
        );
    }
}
