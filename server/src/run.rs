//! What the binary does with its arguments: open the data directory, then serve or
//! run one admin command.
//!
//! Output goes through a locked stdout writer (the workspace denies `println!`), logs
//! to stderr. `serve` prints `listening on ADDR` once the socket is bound, which is
//! how scripts and the tests learn the port when they ask for port 0.

use std::io::{IsTerminal as _, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::admin::{self, CaseSpec};
use crate::cli::ServeArgs;
use crate::cli::{CaseCommand, CaseworkerCommand, Cli, Command, EnrolCommand, TokenCommand};
use crate::error::{Result, ServerError};
use crate::http::{self, AppState};
use crate::keys::{self, KeyOrigin};
use crate::metrics::Metrics;
use crate::storage::sqlite::SqliteStorage;

/// The database file inside the data directory.
pub const DB_FILE: &str = "passage-server.db";

/// The data directory: `--data`, else the user's data directory for the server.
pub fn data_dir(cli: &Cli) -> Result<PathBuf> {
    if let Some(dir) = &cli.data {
        return Ok(dir.clone());
    }
    directories::ProjectDirs::from("org", "Passage", "passage-server")
        .map(|dirs| dirs.data_dir().to_owned())
        .ok_or_else(|| ServerError::Input("no home directory to keep data in; pass --data DIR".into()))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Opens the data directory's database, sealed under the server's key (see
/// [`crate::keys`]).
pub fn open_storage(dir: &std::path::Path, key_file: Option<&std::path::Path>) -> Result<SqliteStorage> {
    let path = dir.join(DB_FILE);
    // A new key is made only for a database that has none yet.
    let may_create = !SqliteStorage::is_sealed_at(&path)?;
    let (key, origin) = keys::master_key(dir, key_file, may_create)?;
    match &origin {
        KeyOrigin::Created(file) => tracing::warn!(
            key = %file.display(),
            "made a new server key beside the database; keep a copy of it elsewhere, and the backups apart from it"
        ),
        KeyOrigin::File(file) => tracing::debug!(key = %file.display(), "server key read"),
        KeyOrigin::Environment => tracing::debug!("server key read from the environment"),
    }
    Ok(SqliteStorage::open(&path, Some(key))?)
}

/// Runs the command; output to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<()> {
    let dir = data_dir(&cli)?;
    let storage = open_storage(&dir, cli.key_file.as_deref())?;
    let now = now();
    match cli.command {
        Command::Serve(args) => serve(storage, &args, out),
        Command::Caseworker(CaseworkerCommand::Add { name, server }) => {
            admin::caseworker_add(&storage, out, &name, server.server.as_deref(), now)
        }
        Command::Case(CaseCommand::Create(args)) => {
            let spec = CaseSpec {
                template: args.template,
                talent: args.talent,
                employer: args.employer,
                job: args.job,
                start: args.start,
                caseworker: args.caseworker,
            };
            admin::case_create(&storage, out, &spec, now)
        }
        Command::Case(CaseCommand::Assign { case, caseworker }) => {
            admin::case_assign(&storage, out, &case, &caseworker)
        }
        Command::Enrol(EnrolCommand::Talent { case, server }) => {
            admin::enrol_talent(&storage, out, &case, server.server.as_deref(), now)
        }
        Command::Enrol(EnrolCommand::Caseworker { name, server }) => {
            admin::enrol_caseworker(&storage, out, &name, server.server.as_deref(), now)
        }
        Command::Enrol(EnrolCommand::Family {
            case,
            expires_in,
            server,
        }) => admin::enrol_family(&storage, out, &case, &expires_in, server.server.as_deref(), now),
        Command::Tokens { case } => admin::tokens(&storage, out, case.as_deref(), now),
        Command::Token(TokenCommand::Revoke { id }) => admin::token_revoke(&storage, out, id, now),
        Command::Cases => admin::cases(&storage, out),
        Command::Audit { case, limit } => admin::audit(&storage, out, case.as_deref(), limit),
        Command::Backup { to } => {
            storage.backup_to(&to)?;
            writeln!(out, "backed up to {}", to.display())?;
            Ok(())
        }
        Command::Rekey { new_key_file } => admin::rekey(&storage, out, &new_key_file, now),
        Command::Erase { case, yes } => admin::erase(&storage, out, &case, yes, now),
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, not in files and journals.
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

fn address(flag: &str, text: &str) -> Result<SocketAddr> {
    text.parse()
        .map_err(|_| ServerError::Input(format!("--{flag} {text:?} is not an address like 127.0.0.1:7878")))
}

fn serve(storage: SqliteStorage, args: &ServeArgs, out: &mut dyn Write) -> Result<()> {
    let addr = address("listen", &args.listen)?;
    let metrics_addr = args
        .metrics_listen
        .as_deref()
        .map(|text| address("metrics-listen", text))
        .transpose()?;
    let limits = args.limits();
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some((http::tls::server_config(cert, key)?, http::tls::pin_of(cert)?)),
        _ => None,
    };
    if tls.is_none() {
        http::tls::check_plain("listen", addr, args.plain_http)?;
    }
    if let Some(metrics) = metrics_addr {
        http::tls::check_plain("metrics-listen", metrics, args.plain_http)?;
    }
    // Sync exchanges run on blocking threads and are CPU-bound: more threads than a few
    // per core only queue on the same cores, and each thread's allocator arena keeps
    // memory of its own (tokio's default allows 512). Four per core leave room for
    // the exchanges waiting to share a commit (`sync::group`).
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads((cores * 4).max(8))
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let metrics_listener = match metrics_addr {
            Some(addr) => Some(tokio::net::TcpListener::bind(addr).await?),
            None => None,
        };
        tracing::info!(db = %storage.path().display(), %bound, tls = tls.is_some(), "passage-server started");
        writeln!(out, "listening on {bound}")?;
        if let Some((_, pin)) = &tls {
            // What devices pin (with a backup pin of the next key).
            writeln!(out, "tls pin {pin}")?;
        }
        if let Some(metrics) = &metrics_listener {
            writeln!(out, "metrics on {}", metrics.local_addr()?)?;
        }
        out.flush()?;
        let state = AppState::new(Arc::new(storage), Arc::new(Metrics::new()), limits);
        let tls = tls.map(|(config, _)| config);
        http::serve(listener, tls, metrics_listener, state, shutdown_signal()).await?;
        tracing::info!("passage-server stopped");
        Ok(())
    })
}

/// Resolves on Ctrl-C or SIGTERM: the server stops taking requests and finishes those
/// in flight (each a transaction that commits or rolls back whole).
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
