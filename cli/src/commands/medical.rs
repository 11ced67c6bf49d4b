//! The medical check: health data under GDPR Art. 9. Every command here goes through
//! the core's `ReadMedical` check first, so a family device is refused before anything
//! is read, and the refusal names no medical field.

use passage_core::doc::medical::{Appointment, Fitness, MedicalTest, Vaccination};
use passage_core::{Action, Edit};

use crate::args::MedicalCmd;
use crate::context::Ctx;
use crate::error::Result;
use crate::render;
use crate::render::label::{self, Label};

pub(crate) fn run(ctx: &Ctx, cmd: MedicalCmd) -> Result<()> {
    // Refuse before opening the store: a family device learns nothing, not even
    // whether a case is there.
    ctx.require(Action::ReadMedical)?;
    let created = |what: Label| {
        move |a: &passage_core::Applied| ctx.text.field(what, a.created.as_deref().unwrap_or_default())
    };
    match cmd {
        MedicalCmd::Show => {
            let store = ctx.open()?;
            let case = ctx.select(&store, Action::ReadMedical)?;
            let medical = store.medical(&case)?;
            ctx.show(&medical, render::medical::medical)
        }
        MedicalCmd::Appointment { clinic, at, purpose } => {
            let edit = Edit::AddAppointment {
                appointment: Appointment { clinic, at, purpose },
            };
            ctx.edit(&edit, created(label::DONE_APPOINTMENT_ADDED))
        }
        MedicalCmd::Reschedule { id, at } => {
            let edit = Edit::RescheduleAppointment {
                appointment: id.clone(),
                at,
            };
            ctx.edit(&edit, |_| {
                let moved = format!("{id} → {}", render::zoned(&at));
                ctx.text.field(label::DONE_APPOINTMENT_MOVED, moved)
            })
        }
        MedicalCmd::Test { name, date, result } => {
            let edit = Edit::RecordMedicalTest {
                test: MedicalTest { name, date, result },
            };
            ctx.edit(&edit, created(label::DONE_TEST_RECORDED))
        }
        MedicalCmd::Vaccination { name, date } => {
            let edit = Edit::RecordVaccination {
                vaccination: Vaccination { name, date },
            };
            ctx.edit(&edit, created(label::DONE_VACCINATION_RECORDED))
        }
        MedicalCmd::Erase { yes } => {
            ctx.require(Action::EraseMedical)?;
            if !yes {
                return Err(crate::error::CliError::Input(
                    "erasing the medical record cannot be undone: add --yes to erase it".into(),
                ));
            }
            let store = ctx.open()?;
            let case = ctx.select(&store, Action::EraseMedical)?;
            store.erase_medical(&case)?;
            ctx.print(&format!("{}\n", ctx.text.label(label::DONE_MEDICAL_ERASED)))
        }
        MedicalCmd::Fitness {
            decision,
            on,
            valid_until,
        } => {
            let edit = Edit::SetFitness {
                fitness: Fitness {
                    decision,
                    decided_on: on,
                    valid_until,
                },
            };
            ctx.edit(&edit, |_| {
                ctx.text.field(label::FIELD_FITNESS, ctx.text.word(&decision))
            })
        }
    }
}
