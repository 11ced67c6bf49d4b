//! The command line of `passage-server`: `serve`, and the admin commands.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

/// The Passage sync server, and its admin commands.
#[derive(Debug, Parser)]
#[command(name = "passage-server", version, about)]
pub struct Cli {
    /// The data directory (holds passage-server.db). Defaults to the user's data
    /// directory.
    #[arg(long, global = true, env = "PASSAGE_SERVER_DATA", value_name = "DIR")]
    pub data: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve sync, enrolment, health and metrics over HTTP.
    Serve {
        /// Address and port to listen on (port 0: any free port).
        #[arg(long, env = "PASSAGE_SERVER_LISTEN", default_value = "127.0.0.1:7878")]
        listen: String,
        /// Change bytes one sync answer carries at most (1024 to 4194304); devices on
        /// slow, flaky networks do better with smaller answers.
        #[arg(long, value_name = "BYTES", default_value_t = crate::sync::RESPONSE_BUDGET_BYTES as u64,
              value_parser = clap::value_parser!(u64).range(1024..=crate::sync::RESPONSE_BUDGET_BYTES as u64))]
        response_budget: u64,
    },
    /// Caseworkers.
    #[command(subcommand)]
    Caseworker(CaseworkerCommand),
    /// Cases.
    #[command(subcommand)]
    Case(CaseCommand),
    /// One-time enrolment codes for new devices.
    #[command(subcommand)]
    Enrol(EnrolCommand),
    /// List devices, their tokens and pending codes.
    Tokens {
        /// Only those of this case (its talent, family and caseworker).
        #[arg(long, value_name = "CASE")]
        case: Option<String>,
    },
    /// Tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// List cases with their caseworker and last sync.
    Cases,
    /// The audit log of access decisions, newest first.
    Audit {
        #[arg(long, value_name = "CASE")]
        case: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Write a consistent copy of the database to a new file (safe while serving).
    Backup {
        /// The file to create.
        to: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum CaseworkerCommand {
    /// Add a caseworker and print an enrolment code for their device.
    Add {
        name: String,
        #[command(flatten)]
        server: ServerUrl,
    },
}

#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// Create a case from a journey template; prints its id.
    Create(CreateArgs),
    /// Give a case to another caseworker.
    Assign {
        case: String,
        #[arg(long)]
        caseworker: String,
    },
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Template id, e.g. `be`.
    #[arg(long)]
    pub template: String,
    /// The talent's name.
    #[arg(long)]
    pub talent: String,
    #[arg(long)]
    pub employer: String,
    /// The job title.
    #[arg(long)]
    pub job: String,
    /// The job offer date, YYYY-MM-DD (today if left out).
    #[arg(long)]
    pub start: Option<NaiveDate>,
    /// The caseworker the case is assigned to.
    #[arg(long)]
    pub caseworker: String,
}

#[derive(Debug, Subcommand)]
pub enum EnrolCommand {
    /// A code for the talent's phone (valid 7 days, once).
    Talent {
        case: String,
        #[command(flatten)]
        server: ServerUrl,
    },
    /// A code for another device of a caseworker (valid 7 days, once).
    Caseworker {
        name: String,
        #[command(flatten)]
        server: ServerUrl,
    },
    /// A code for a family member: the arrival plan, read-only, until it expires.
    Family {
        case: String,
        /// How long the share lasts: 30d, 12h, 2w...
        #[arg(long, value_name = "DURATION")]
        expires_in: String,
        #[command(flatten)]
        server: ServerUrl,
    },
}

#[derive(Debug, Args)]
pub struct ServerUrl {
    /// The server's public URL, put into the QR code with the code.
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Revoke a device token or an unused code, by the id `tokens` lists.
    Revoke { id: i64 },
}
