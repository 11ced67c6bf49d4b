//! Hidden tools for testing the store from outside the process.
//!
//! `debug churn` is the subject of the kill test: it applies edits in a loop and
//! acknowledges each one on stdout only after `Store::apply` returned, that is after
//! the change was committed to disk. A test that SIGKILLs it at a random point may then
//! check that every acknowledged edit survived. The acknowledgement is flushed at once,
//! so no acknowledged line is ever lost in a buffer, and nothing is acknowledged early.

use std::io::Write;

use passage_core::doc::journey::FamilyMember;
use passage_core::model::{FamilyTravel, Relation};
use passage_core::{Action, Edit};

use crate::args::DebugCmd;
use crate::context::Ctx;
use crate::error::Result;

pub(crate) fn run(ctx: &Ctx, cmd: DebugCmd) -> Result<()> {
    match cmd {
        DebugCmd::Churn { count, label } => churn(ctx, count, &label),
    }
}

fn churn(ctx: &Ctx, count: Option<u64>, label: &str) -> Result<()> {
    let store = ctx.open()?;
    let case = ctx.select(&store, Action::EditFamily)?;
    let mut out = std::io::stdout().lock();
    let mut i: u64 = 0;
    while count.is_none_or(|n| i < n) {
        let name = format!("{label}-{i}");
        let edit = Edit::AddFamilyMember {
            member: FamilyMember {
                name: name.clone(),
                relation: Relation::Other,
                travel: FamilyTravel::JoiningLater,
            },
        };
        store.apply(&case, &edit)?;
        writeln!(out, "ok {name}")?;
        out.flush()?;
        i += 1;
    }
    Ok(())
}
