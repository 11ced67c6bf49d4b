//! `passage reminders`: the notifications an app would schedule for the case, as the
//! core computes them, so a caseworker or a test can see them from a terminal.
//!
//! The core decides what is announced, when, and in which words; this only chooses the
//! instant to look ahead from and the device's time zone, and shows each notification
//! time on that zone's clocks.

use chrono::{Offset, Utc};
use chrono_tz::Tz;
use passage_core::{Action, Reminder};

use crate::args::RemindersArgs;
use crate::context::Ctx;
use crate::error::Result;
use crate::render::label;
use crate::render::{Text, put};

pub(crate) fn run(ctx: &Ctx, args: RemindersArgs) -> Result<()> {
    let store = ctx.open()?;
    let case = ctx.select(&store, Action::ReadJourney)?;
    let now = args.at.unwrap_or_else(Utc::now);
    let zone = args.zone.unwrap_or_else(machine_zone);
    let reminders = store.reminders(&case, now, zone, ctx.text.locale)?;
    ctx.show(&reminders, |t, reminders| render(t, reminders, zone))
}

/// One reminder in two lines: when to notify on the device's clocks, with the offset so
/// a time near a clock change is not misread, and the title; then the body.
fn render(t: &Text, reminders: &[Reminder], zone: Tz) -> String {
    let mut out = String::new();
    if reminders.is_empty() {
        put!(out, "{}", t.label(label::NOTE_NO_REMINDERS));
    }
    for r in reminders {
        let local = r.notify_at.with_timezone(&zone);
        put!(
            out,
            "{} {} (UTC{})  {}",
            local.format("%Y-%m-%d %H:%M"),
            zone.name(),
            local.offset().fix(),
            r.title
        );
        put!(out, "  {}", r.body);
    }
    out
}

/// The machine's time zone, read cheaply: `TZ` when it names an IANA zone, else the
/// zone file `/etc/localtime` links to (`/usr/share/zoneinfo/Europe/Brussels`), else
/// UTC. A phone knows its zone; a terminal has to be asked, and `--zone` always wins.
fn machine_zone() -> Tz {
    let named = |text: &str| -> Option<Tz> {
        let text = text.trim().trim_start_matches(':');
        let name = text.rsplit_once("zoneinfo/").map_or(text, |(_, name)| name);
        name.parse().ok()
    };
    std::env::var("TZ")
        .ok()
        .and_then(|tz| named(&tz))
        .or_else(|| {
            let target = std::fs::read_link("/etc/localtime").ok()?;
            named(target.to_str()?)
        })
        .unwrap_or(Tz::UTC)
}
