//! `passage`: a Passage device in a terminal.
//!
//! It is built on `passage-core` the way the mobile apps are: one store file opened as
//! one identity, typed edits, and the catalogue's words in the person's language. It
//! serves caseworkers at a laptop, scripts, and the tests that drive the core from
//! outside a process. Output is written to a locked stdout (see `Ctx::print`), so the
//! crate needs no exception to the workspace's `print_stdout` lint.

mod args;
mod commands;
mod context;
mod error;
mod keys;
mod render;
mod segment;

use std::process::ExitCode;

use clap::Parser;

use crate::args::Cli;
use crate::context::Ctx;

fn main() -> ExitCode {
    // Clap prints its own usage errors and help, and exits 2 for the former, 0 for
    // the latter.
    let cli = Cli::parse();
    let result = Ctx::new(&cli).and_then(|ctx| commands::run(&ctx, cli.command));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
