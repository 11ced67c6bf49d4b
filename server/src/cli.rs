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

    /// The file holding the server's key (64 hex characters), which seals the
    /// documents at rest. The key itself may be given in PASSAGE_SERVER_KEY instead,
    /// never on the command line. Default: server.key in the data directory, made on
    /// first use; keep a copy apart from the database's backups.
    #[arg(long, global = true, env = "PASSAGE_SERVER_KEY_FILE", value_name = "FILE")]
    pub key_file: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve sync, enrolment and health over HTTP (and metrics, if asked).
    Serve(ServeArgs),
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
    /// Write a consistent copy of the database to a new file (safe while serving). The
    /// documents in it stay sealed under the server's key, which it does not hold.
    Backup {
        /// The file to create.
        to: PathBuf,
    },
    /// Erase a case's medical record on the server, and on every device that holds it
    /// at its next sync (GDPR Art. 17). It cannot be undone: --yes says you mean it.
    Erase {
        case: String,
        #[arg(long)]
        yes: bool,
    },
    /// Seal the documents under a new key from now on. Stop the server first, and
    /// start it again with the new key.
    Rekey {
        /// A new key file to make (it must not exist; 0600), holding a new random key.
        #[arg(long, value_name = "FILE")]
        new_key_file: PathBuf,
    },
}

/// `serve`: where to listen, and the limits every client is held to (docs/server.md,
/// "Limits"). The defaults suit one organisation on one machine.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on (port 0: any free port).
    #[arg(long, env = "PASSAGE_SERVER_LISTEN", default_value = "127.0.0.1:7878")]
    pub listen: String,
    /// The server's certificate chain (PEM), to serve HTTPS; with --tls-key.
    #[arg(
        long,
        env = "PASSAGE_SERVER_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The certificate's private key (PEM); with --tls-cert.
    #[arg(
        long,
        env = "PASSAGE_SERVER_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<std::path::PathBuf>,
    /// Allow plain HTTP on an address other machines can reach: only behind a proxy
    /// that terminates TLS. Without it, plain HTTP is served on loopback only.
    #[arg(long)]
    pub plain_http: bool,
    /// Behind a reverse proxy on this machine: count enrolment attempts per client
    /// address as the proxy reports it (the last entry of `X-Forwarded-For`, on
    /// connections from loopback only), not per the proxy's own address.
    #[arg(long)]
    pub trust_forwarded_for: bool,
    /// Serve `GET /metrics` on this address (keep it private: loopback or an internal
    /// network); no metrics without it.
    #[arg(long, env = "PASSAGE_SERVER_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<String>,
    /// Change bytes one sync answer carries at most (1024 to 4194304); devices on
    /// slow, flaky networks do better with smaller answers.
    #[arg(long, value_name = "BYTES", default_value_t = crate::sync::RESPONSE_BUDGET_BYTES as u64,
          value_parser = clap::value_parser!(u64).range(1024..=crate::sync::RESPONSE_BUDGET_BYTES as u64))]
    pub response_budget: u64,
    /// Estimated bytes of documents kept in memory between syncs, so that a sync does
    /// not load and read its documents again (0: none kept).
    #[arg(long, env = "PASSAGE_SERVER_CACHE_BYTES", value_name = "BYTES", default_value_t = crate::cache::DEFAULT_CACHE_BYTES as u64,
          value_parser = clap::value_parser!(u64).range(0..=(64 << 30)))]
    pub cache_bytes: u64,
    /// Seconds a client has to send a request's head.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub header_timeout: u64,
    /// Seconds a client has to send a sync body.
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub body_timeout: u64,
    /// Connections open at once; more are closed at once.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,
    /// Sync requests admitted at once; more get 503.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub max_pending_syncs: u64,
    /// Sync requests of one device at once; more get 429.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub syncs_per_device: u64,
    /// Bytes of request bodies and their inflated messages in memory at once; at least
    /// 32 MiB, room for the largest body (8 MiB) and its message (16 MiB).
    #[arg(long, value_name = "BYTES", default_value_t = 256 << 20,
          value_parser = clap::value_parser!(u64).range((32 << 20)..=(64 << 30)))]
    pub request_memory: u64,
    /// Body bytes of one sync request (talents and caseworkers; family devices send
    /// at most 16 KiB).
    #[arg(long, value_name = "BYTES", default_value_t = passage_core::sync::wire::MAX_BODY_BYTES as u64,
          value_parser = clap::value_parser!(u64).range((64 << 10)..=passage_core::sync::wire::MAX_BODY_BYTES as u64))]
    pub request_bytes: u64,
    /// Changes in one sync request.
    #[arg(long, value_name = "N", default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1_000..=100_000))]
    pub request_changes: u64,
    /// Operations the changes of one sync request declare together.
    #[arg(long, value_name = "N", default_value_t = 50_000, value_parser = clap::value_parser!(u64).range(25_000..=1_000_000))]
    pub request_operations: u64,
    /// Bytes one document may hold on the server.
    #[arg(long, value_name = "BYTES", default_value_t = 8 << 20, value_parser = clap::value_parser!(u64).range((64 << 10)..))]
    pub doc_quota: u64,
    /// Bytes the documents of one case may hold together.
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 20, value_parser = clap::value_parser!(u64).range((64 << 10)..))]
    pub case_quota: u64,
    /// Sync requests per device and minute (also the burst allowed at once).
    #[arg(long, value_name = "N", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
    pub sync_rate: u32,
    /// Enrolment attempts per client address and minute (also the burst).
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub enrol_rate: u32,
    /// Enrolment attempts per code and minute (also the burst).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub enrol_code_rate: u32,
}

impl ServeArgs {
    /// The limits these flags set.
    pub fn limits(&self) -> crate::limits::Limits {
        use std::time::Duration;

        use crate::ratelimit::Rate;
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        crate::limits::Limits {
            response_budget: size(self.response_budget),
            cache_bytes: size(self.cache_bytes),
            header_timeout: Duration::from_secs(self.header_timeout),
            body_timeout: Duration::from_secs(self.body_timeout),
            max_connections: size(self.max_connections),
            max_pending_syncs: size(self.max_pending_syncs),
            syncs_per_device: size(self.syncs_per_device),
            request_memory: size(self.request_memory),
            request_bytes: size(self.request_bytes),
            request_changes: size(self.request_changes),
            request_operations: size(self.request_operations),
            doc_quota: self.doc_quota,
            case_quota: self.case_quota,
            sync_rate: Rate::per_minute(self.sync_rate, self.sync_rate),
            enrol_rate_per_address: Rate::per_minute(self.enrol_rate, self.enrol_rate),
            trust_forwarded_for: self.trust_forwarded_for,
            enrol_rate_per_code: Rate::per_minute(self.enrol_code_rate, self.enrol_code_rate),
        }
    }
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
