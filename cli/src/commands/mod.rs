//! One function per subcommand, grouped by what they work on. Each opens the store the
//! way an app would, checks the role against the core's policy before choosing the
//! case, and prints either text in the chosen language or, with `--json`, the core's
//! own serialised values.

mod case;
mod debug;
mod journey;
mod medical;
mod people;
mod reminders;
mod sync;
mod travel;

use crate::args::Command;
use crate::context::Ctx;
use crate::error::Result;

pub(crate) fn run(ctx: &Ctx, command: Command) -> Result<()> {
    match command {
        Command::New(args) => journey::new(ctx, args),
        Command::Templates => case::templates(ctx),
        Command::Cases => case::cases(ctx),
        Command::Show => journey::show(ctx),
        Command::Tasks { open } => journey::tasks(ctx, open),
        Command::Task(cmd) => journey::task(ctx, cmd),
        Command::Permit { decision, on } => journey::permit(ctx, decision, on),
        Command::Upgrade => journey::upgrade(ctx),
        Command::Flight(cmd) => travel::flight(ctx, cmd),
        Command::Housing(args) => travel::housing(ctx, args),
        Command::Meeting(args) => travel::meeting(ctx, args),
        Command::Pdo(cmd) => people::pdo(ctx, cmd),
        Command::Family(cmd) => people::family(ctx, cmd),
        Command::Medical(cmd) => medical::run(ctx, cmd),
        Command::Conflicts { action } => case::conflicts(ctx, action),
        Command::History => case::history(ctx),
        Command::Export { output } => case::export(ctx, output),
        Command::ArrivalPlan => case::arrival_plan(ctx),
        Command::Reminders(args) => reminders::run(ctx, args),
        Command::Compact => case::compact(ctx),
        Command::Enrol(args) => sync::enrol(ctx, args),
        Command::Sync { status } => sync::sync(ctx, status),
        Command::Debug(cmd) => debug::run(ctx, cmd),
    }
}
