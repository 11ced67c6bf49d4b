//! Enrolment and sync: the only commands that touch the network.
//!
//! Each runs the core's async [`SyncClient`] on a current-thread tokio runtime made
//! for the one call: the terminal device does one thing per run, and the core moves
//! its SQLite work to tokio's blocking pool itself. Whatever happens to the network,
//! the store on disk stays as the core left it, so a failed or interrupted sync is
//! simply run again.

use std::sync::Arc;

use passage_core::sync::{Enrolment, SyncClient, SyncReport};

use crate::args::EnrolArgs;
use crate::context::Ctx;
use crate::error::{CliError, Result};
use crate::render;

pub(crate) fn enrol(ctx: &Ctx, args: EnrolArgs) -> Result<()> {
    let store = Arc::new(ctx.open()?);
    let device = args
        .device_name
        .unwrap_or_else(|| format!("{} (terminal)", ctx.name()));
    let client = SyncClient::new(ctx.client_options(&store)?)?;
    let enrolment = runtime()?.block_on(client.enrol(store, &args.server, &args.code, &device))?;
    if ctx.json {
        ctx.print_json(&enrolment_json(&enrolment))
    } else {
        ctx.print(&render::sync::enrolment(&ctx.text, &enrolment))
    }
}

pub(crate) fn sync(ctx: &Ctx, status: bool) -> Result<()> {
    let store = Arc::new(ctx.open()?);
    if status {
        let server = store.sync_server()?;
        let state = store.sync_state()?;
        return if ctx.json {
            ctx.print_json(&serde_json::json!({
                "role": server.as_ref().and_then(|s| s.role),
                "expires_at": server.as_ref().and_then(|s| s.expires_at),
                "state": state,
            }))
        } else {
            ctx.print(&render::sync::status(&ctx.text, server.as_ref(), &state))
        };
    }
    let client = SyncClient::new(ctx.client_options(&store)?)?;
    match runtime()?.block_on(client.sync(Arc::clone(&store))) {
        Ok(report) => {
            if ctx.json {
                ctx.print_json(&report_json(&report))?;
            } else {
                ctx.print(&render::sync::report(&ctx.text, &report))?;
            }
            if report.held.is_empty() {
                return Ok(());
            }
            // Everything else synced; say what the server refused, and why.
            let held = store.sync_state()?.held;
            let reasons: Vec<String> = held.iter().map(|h| format!("{} ({})", h.doc, h.reason)).collect();
            Err(CliError::Held(reasons.join("; ")))
        }
        Err(error) => {
            // The core recorded when to try again; say it with the error.
            let next_attempt = store.sync_state().ok().and_then(|s| s.next_attempt_after);
            Err(CliError::Sync {
                error: Box::new(error),
                next_attempt,
            })
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn enrolment_json(e: &Enrolment) -> serde_json::Value {
    serde_json::json!({
        "server": e.server,
        "role": e.role,
        "cases": e.cases,
        "expires_at": e.expires_at,
    })
}

fn report_json(r: &SyncReport) -> serde_json::Value {
    serde_json::json!({
        "rounds": r.rounds,
        "retries": r.retries,
        "documents_pushed": r.documents_pushed,
        "changes_received": r.changes_received,
        "bytes_up": r.bytes_up,
        "bytes_down": r.bytes_down,
        "duration_ms": u64::try_from(r.duration.as_millis()).unwrap_or(u64::MAX),
        "complete": r.complete,
        "held": r.held.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}
