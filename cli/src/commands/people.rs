//! The pre-departure orientation and the family members.

use passage_core::Edit;
use passage_core::doc::journey::FamilyMember;

use crate::args::{FamilyCmd, PdoCmd};
use crate::context::Ctx;
use crate::error::Result;
use crate::render::label;

pub(crate) fn pdo(ctx: &Ctx, cmd: PdoCmd) -> Result<()> {
    let t = ctx.text;
    match cmd {
        PdoCmd::Schedule { day1, day2, day3 } => {
            let edit = Edit::SchedulePdo {
                days: [day1, day2, day3],
            };
            ctx.edit(&edit, |_| {
                format!("{}: {day1}, {day2}, {day3}", t.label(label::HEADING_PDO))
            })
        }
        PdoCmd::Attend { day, status } => {
            let edit = Edit::MarkPdoAttendance { day, status };
            ctx.edit(&edit, |_| {
                format!("{} {day}: {}", t.label(label::FIELD_DAY), t.word(&status))
            })
        }
        PdoCmd::Module { module, status } => {
            let edit = Edit::SetPdoModuleStatus {
                module: module.clone(),
                status,
            };
            ctx.edit(&edit, |_| {
                format!("{} {module}: {}", t.label(label::FIELD_MODULE), t.word(&status))
            })
        }
    }
}

pub(crate) fn family(ctx: &Ctx, cmd: FamilyCmd) -> Result<()> {
    let t = ctx.text;
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
                t.field(label::DONE_FAMILY_ADDED, a.created.as_deref().unwrap_or_default())
            })
        }
        FamilyCmd::Remove { id } => {
            let edit = Edit::RemoveFamilyMember { member: id.clone() };
            ctx.edit(&edit, |_| t.field(label::DONE_FAMILY_REMOVED, &id))
        }
    }
}
