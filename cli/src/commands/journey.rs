//! The journey and its checklist: `new`, `show`, `tasks`, `task ...`, `permit` and
//! `upgrade`.

use chrono::NaiveDate;
use passage_core::doc::journey::NewJourney;
use passage_core::model::{PermitDecision, TaskStatus};
use passage_core::{Action, Edit};

use crate::args::{NewArgs, TaskCmd};
use crate::context::Ctx;
use crate::error::{CliError, Result};
use crate::render;
use crate::render::label;

pub(crate) fn new(ctx: &Ctx, args: NewArgs) -> Result<()> {
    ctx.require(Action::CreateJourney)?;
    let store = ctx.open()?;
    let case = store.create_journey(&NewJourney {
        template: args.template,
        version: args.version,
        talent_name: args.talent,
        employer: args.employer,
        job_title: args.job,
        start_date: args.start.unwrap_or_else(|| chrono::Local::now().date_naive()),
    })?;
    let journey = store.journey(&case)?;
    ctx.show(&journey, render::journey::journey)
}

pub(crate) fn show(ctx: &Ctx) -> Result<()> {
    let store = ctx.open()?;
    let case = ctx.select(&store, Action::ReadJourney)?;
    let journey = store.journey(&case)?;
    ctx.show(&journey, render::journey::journey)
}

pub(crate) fn tasks(ctx: &Ctx, open_only: bool) -> Result<()> {
    let store = ctx.open()?;
    let case = ctx.select(&store, Action::ReadJourney)?;
    let journey = store.journey(&case)?;
    if ctx.json {
        ctx.print_json(&render::journey::task_rows(&ctx.text, &journey, open_only))
    } else {
        ctx.print(&render::journey::tasks(&ctx.text, &journey, open_only))
    }
}

pub(crate) fn task(ctx: &Ctx, cmd: TaskCmd) -> Result<()> {
    let t = ctx.text;
    match cmd {
        TaskCmd::Done { task } => set_status(ctx, task, TaskStatus::Done),
        TaskCmd::Status { task, status } => set_status(ctx, task, status),
        TaskCmd::Note { task, text } => {
            let edit = Edit::SetTaskNotes {
                task: task.clone(),
                notes: text,
            };
            ctx.edit(&edit, |_| format!("{task}: {}", t.label(label::DONE_NOTES_SAVED)))
        }
        TaskCmd::Due { task, due } => {
            let edit = Edit::SetTaskDue {
                task: task.clone(),
                due: due.0,
            };
            ctx.edit(&edit, |_| match due.0 {
                Some(date) => format!("{task}: {}", t.field(label::FIELD_DUE, date)),
                None => format!("{task}: {}", t.label(label::DONE_DUE_CLEARED)),
            })
        }
    }
}

fn set_status(ctx: &Ctx, task: String, status: TaskStatus) -> Result<()> {
    let edit = Edit::SetTaskStatus {
        task: task.clone(),
        status,
    };
    ctx.edit(&edit, |_| format!("{task}: {}", ctx.text.word(&status)))
}

pub(crate) fn permit(ctx: &Ctx, decision: PermitDecision, on: Option<NaiveDate>) -> Result<()> {
    let edit = Edit::SetPermitDecision {
        decision,
        decided_on: on,
    };
    ctx.edit(&edit, |_| {
        let word = ctx.text.word(&decision);
        let text = match on {
            Some(on) => format!("{word} ({on})"),
            None => word,
        };
        ctx.text.field(label::FIELD_PERMIT, text)
    })
}

pub(crate) fn upgrade(ctx: &Ctx) -> Result<()> {
    let store = ctx.open()?;
    let case = ctx.select(&store, Action::UpgradeTemplate)?;
    let template = store.journey(&case)?.template.id;
    let applied = store.apply(&case, &Edit::UpgradeTemplate)?;
    let report = applied
        .upgrade
        .ok_or_else(|| CliError::Input("the core made no upgrade report".into()))?;
    ctx.show(&report, |t, r| render::lists::upgrade(t, &template, r))
}
