//! The pre-departure orientation and the family members.

use passage_core::Edit;
use passage_core::doc::journey::FamilyMember;

use crate::args::{FamilyCmd, PdoCmd};
use crate::context::Ctx;
use crate::error::Result;

pub(crate) fn pdo(ctx: &Ctx, cmd: PdoCmd) -> Result<()> {
    let t = ctx.text;
    match cmd {
        PdoCmd::Schedule { day1, day2, day3 } => {
            let edit = Edit::SchedulePdo {
                days: [day1, day2, day3],
            };
            ctx.edit(&edit, |_| {
                format!(
                    "{}: {day1}, {day2}, {day3}",
                    t.label("heading.pdo", "Pre-departure orientation")
                )
            })
        }
        PdoCmd::Attend { day, status } => {
            let edit = Edit::MarkPdoAttendance { day, status };
            ctx.edit(&edit, |_| {
                format!("{} {day}: {}", t.label("field.day", "Day"), t.word(&status))
            })
        }
        PdoCmd::Module { module, status } => {
            let edit = Edit::SetPdoModuleStatus {
                module: module.clone(),
                status,
            };
            ctx.edit(&edit, |_| {
                format!(
                    "{} {module}: {}",
                    t.label("field.module", "Module"),
                    t.word(&status)
                )
            })
        }
    }
}

pub(crate) fn family(ctx: &Ctx, cmd: FamilyCmd) -> Result<()> {
    match cmd {
        FamilyCmd::Add {
            name,
            relation,
            travel,
        } => {
            let edit = Edit::AddFamilyMember {
                member: FamilyMember {
                    name,
                    relation,
                    travel,
                },
            };
            ctx.edit(&edit, |a| {
                format!(
                    "family member added: {}",
                    a.created.as_deref().unwrap_or_default()
                )
            })
        }
        FamilyCmd::Remove { id } => {
            let edit = Edit::RemoveFamilyMember { member: id.clone() };
            ctx.edit(&edit, |_| format!("family member removed: {id}"))
        }
    }
}
