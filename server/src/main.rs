//! `passage-server`: serve devices over HTTP, or run an admin command on the data
//! directory. See docs/server.md.

use std::process::ExitCode;

use clap::Parser;
use passage_server::cli::Cli;

fn main() -> ExitCode {
    // Clap prints its own usage errors (exit 2) and help (exit 0).
    let cli = Cli::parse();
    passage_server::run::init_logs();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match passage_server::run::run(cli, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
