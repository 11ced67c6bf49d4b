//! Reminders: what a phone should notify about, and when, computed from a case.
//!
//! A talent's phone is often offline for days, so it cannot wait for a server to push
//! "your flight leaves in two days". Instead the app asks the core, from a given
//! instant, for the upcoming reminders and schedules them as local notifications. The
//! rules live here, once, so that Android, iOS and the terminal device agree on them,
//! and so that they are tested across time zones and daylight-saving changes.
//!
//! [`upcoming`] is pure: the same journey, medical record, catalogue, language, home
//! zone and instant always give the same reminders, sorted by (`notify_at`, `id`).
//!
//! # Rules
//!
//! - **Flight**: every segment of every booking that departs after `now`. Notify 48
//!   hours before departure, counted on the global time line so that a daylight-saving
//!   change between the two cannot move it by an hour. `event_at` is the departure
//!   instant; the text shows the local departure date and time at the departure airport.
//! - **Medical appointment**: every appointment after `now`. Notify at 09:00 local time
//!   in the appointment's own zone on the day before its local date. `event_at` is the
//!   appointment. The text names the clinic and the local time, never the purpose.
//! - **PDO day**: every course day with a date and still `scheduled` (an attended,
//!   missed or excused day needs no reminder), dated today or later in `home_zone`.
//!   Notify at 18:00 in `home_zone` on the evening before. The day is a date, not an
//!   instant; `event_at` is 09:00 on that date in `home_zone`, a nominal start used
//!   for ordering and for telling whether the day is over.
//! - **Task due**: every task not retired, neither done nor not applicable, with a due
//!   date today or later in `home_zone`. Notify at 09:00 in `home_zone` two days before
//!   the due date. `event_at` is 09:00 on the due date in `home_zone`.
//! - **Late**: a notification whose time has passed while its event is still ahead (the
//!   phone was off, a sync brought the booking late) is due at once: `notify_at = now`.
//!   Events that are over give no reminder. An all-day event dated today is not over.
//! - **Local times** that a daylight-saving change skips take the first instant after
//!   the gap; those it repeats take the earlier of the two ([`local_instant`]).
//!
//! # Ids
//!
//! `flight/<booking id>/<segment index from 0>`, `appointment/<appointment id>`,
//! `pdo/<day 1..3>` and `task/<task id>`. An id names the event, not its time, so when a
//! flight or an appointment moves the app replaces the notification it scheduled rather
//! than adding a second one.
//!
//! All text comes from the catalogue's `reminder.*` labels, with `{placeholders}`
//! filled here; dates are written `YYYY-MM-DD` and times `HH:MM` (24-hour, Western
//! digits) in every language, so a time reads the same on a ticket and on the screen.

use chrono::{DateTime, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::doc::journey::Journey;
use crate::doc::medical::Medical;
use crate::locale::Locale;
use crate::model::PdoDayStatus;
use crate::template::Catalogue;

/// One notification for the app to schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reminder {
    /// Names the event, stable across calls and across a change of its time, so the
    /// app can replace a scheduled notification instead of duplicating it.
    pub id: String,
    pub kind: ReminderKind,
    /// Text for the lock screen, in the requested language.
    pub title: String,
    pub body: String,
    /// When to notify; `now` if that time has passed but the event has not.
    pub notify_at: DateTime<Utc>,
    /// When the event is (for all-day events, 09:00 on the day in the home zone).
    pub event_at: DateTime<Utc>,
}

/// What a reminder is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReminderKind {
    Flight,
    MedicalAppointment,
    PdoDay,
    TaskDue,
}

/// How long before departure a flight is announced.
const FLIGHT_NOTICE_HOURS: i64 = 48;

/// The local time of morning reminders, and the nominal start of all-day events.
const MORNING: NaiveTime = hm(9, 0);

/// The local time of the reminder the evening before a PDO day.
const EVENING: NaiveTime = hm(18, 0);

const fn hm(hour: u32, minute: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(hour, minute, 0) {
        Some(t) => t,
        None => panic!("a valid time of day"),
    }
}

/// The reminders still to come after `now`, sorted by (`notify_at`, `id`). Medical
/// appointments are included only when `medical` is given: a caller whose role may not
/// read the medical record passes `None`. See the module documentation for the rules.
pub fn upcoming(
    journey: &Journey,
    medical: Option<&Medical>,
    catalogue: &Catalogue,
    locale: Locale,
    home_zone: Tz,
    now: DateTime<Utc>,
) -> Vec<Reminder> {
    let ctx = Ctx {
        catalogue,
        locale,
        home_zone,
        now,
        today: now.with_timezone(&home_zone).date_naive(),
    };
    let mut out = flights(journey, &ctx);
    if let Some(medical) = medical {
        out.extend(appointments(medical, &ctx));
    }
    out.extend(pdo_days(journey, &ctx));
    out.extend(tasks(journey, &ctx));
    out.sort_by(|a, b| (a.notify_at, &a.id).cmp(&(b.notify_at, &b.id)));
    out
}

/// The instant at which clocks in `zone` show `local`.
///
/// Reminders are set at fixed local times (09:00, 18:00), and a daylight-saving change
/// can make a local time happen never or twice. A skipped time gives the first instant
/// after the gap, when the clocks have just jumped: a reminder a little late beats one
/// that is lost. A repeated time gives the earlier instant: a reminder a little early
/// beats one an hour late. `None` only at the ends of the representable time line.
pub fn local_instant(local: NaiveDateTime, zone: Tz) -> Option<DateTime<Utc>> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Some(a.min(b).with_timezone(&Utc)),
        LocalResult::None => after_gap(local, zone),
    }
}

/// The first instant whose local reading in `zone` is at or after `local`, found by
/// bisection on whole seconds. UTC offsets lie within ±15 hours, so the instant is
/// within 15 hours of `local` read as UTC; in that window the local reading only goes
/// forward (a zone does not skip and repeat the same hours within a day).
fn after_gap(local: NaiveDateTime, zone: Tz) -> Option<DateTime<Utc>> {
    const WINDOW: i64 = 15 * 3600;
    let reads_at_or_after = |secs: i64| {
        DateTime::from_timestamp(secs, 0)
            .map(|t| zone.from_utc_datetime(&t.naive_utc()).naive_local() >= local)
    };
    let base = local.and_utc().timestamp();
    // `lo` reads before `local`, `hi` at or after it.
    let (mut lo, mut hi) = (base - WINDOW, base + WINDOW);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if reads_at_or_after(mid)? {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::from_timestamp(hi, 0)
}

/// What every rule needs: the language and the clock, read once.
struct Ctx<'a> {
    catalogue: &'a Catalogue,
    locale: Locale,
    home_zone: Tz,
    now: DateTime<Utc>,
    /// Today's date in the home zone: all-day events dated before it are over.
    today: NaiveDate,
}

impl Ctx<'_> {
    /// The catalogue text for `key` with its `{placeholders}` filled.
    fn text(&self, key: &str, values: &[(&str, &str)]) -> String {
        fill(self.catalogue.label(key, self.locale), values)
    }

    /// A reminder for an event still ahead. A notification time already past is moved
    /// to now, so that the app notifies at once.
    fn remind(
        &self,
        id: String,
        kind: ReminderKind,
        (title, body): (String, String),
        notify_at: DateTime<Utc>,
        event_at: DateTime<Utc>,
    ) -> Reminder {
        Reminder {
            id,
            kind,
            title,
            body,
            notify_at: notify_at.max(self.now),
            event_at,
        }
    }

    /// 09:00 or 18:00 on `date` in the home zone.
    fn home(&self, date: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
        local_instant(date.and_time(time), self.home_zone)
    }
}

fn flights(journey: &Journey, ctx: &Ctx<'_>) -> Vec<Reminder> {
    let mut out = Vec::new();
    for (booking_id, booking) in journey.flights_in_order() {
        for (index, segment) in booking.segments.iter().enumerate() {
            let departs = segment.departs.instant();
            if departs <= ctx.now {
                continue;
            }
            // Instant arithmetic: 48 hours on the global time line, whatever the
            // clocks of either airport do in between.
            let Some(notify_at) = departs.checked_sub_signed(TimeDelta::hours(FLIGHT_NOTICE_HOURS)) else {
                continue;
            };
            let local = segment.departs.local();
            let (date, time) = (date_text(local.date()), time_text(local));
            let flight = segment.flight_number.as_str();
            let values = [
                ("carrier", segment.carrier.as_str()),
                ("flight", flight),
                ("from", segment.from.as_str()),
                ("to", segment.to.as_str()),
                ("date", date.as_str()),
                ("time", time.as_str()),
            ];
            let text = (
                ctx.text("reminder.flight.title", &values),
                ctx.text("reminder.flight.body", &values),
            );
            let id = format!("flight/{booking_id}/{index}");
            out.push(ctx.remind(id, ReminderKind::Flight, text, notify_at, departs));
        }
    }
    out
}

fn appointments(medical: &Medical, ctx: &Ctx<'_>) -> Vec<Reminder> {
    let mut out = Vec::new();
    for (id, appointment) in &medical.appointments {
        let at = appointment.at.instant();
        if at <= ctx.now {
            continue;
        }
        let local = appointment.at.local();
        let Some(notify_at) = local
            .date()
            .checked_sub_days(Days::new(1))
            .and_then(|eve| local_instant(eve.and_time(MORNING), appointment.at.zone()))
        else {
            continue;
        };
        let (date, time) = (date_text(local.date()), time_text(local));
        // A notification shows on the lock screen, which anyone near the phone can
        // read. The purpose of a medical appointment is health data (GDPR Art. 9) and
        // may say more than the talent wants shown, so it is never part of the text.
        let values = [
            ("clinic", appointment.clinic.as_str()),
            ("date", date.as_str()),
            ("time", time.as_str()),
        ];
        let text = (
            ctx.text("reminder.appointment.title", &values),
            ctx.text("reminder.appointment.body", &values),
        );
        out.push(ctx.remind(
            format!("appointment/{id}"),
            ReminderKind::MedicalAppointment,
            text,
            notify_at,
            at,
        ));
    }
    out
}

fn pdo_days(journey: &Journey, ctx: &Ctx<'_>) -> Vec<Reminder> {
    let mut out = Vec::new();
    for (day, pdo_day) in &journey.pdo.days {
        let Some(date) = pdo_day.date else { continue };
        if pdo_day.status != PdoDayStatus::Scheduled || date < ctx.today {
            continue;
        }
        let eve = date.checked_sub_days(Days::new(1));
        let (Some(notify_at), Some(event_at)) = (
            eve.and_then(|eve| ctx.home(eve, EVENING)),
            ctx.home(date, MORNING),
        ) else {
            continue;
        };
        let date = date_text(date);
        let values = [("day", day.as_str()), ("date", date.as_str())];
        let text = (
            ctx.text("reminder.pdo.title", &values),
            ctx.text("reminder.pdo.body", &values),
        );
        out.push(ctx.remind(
            format!("pdo/{day}"),
            ReminderKind::PdoDay,
            text,
            notify_at,
            event_at,
        ));
    }
    out
}

fn tasks(journey: &Journey, ctx: &Ctx<'_>) -> Vec<Reminder> {
    let mut out = Vec::new();
    for (_, tasks) in journey.stages_in_order() {
        for (task_id, task) in tasks {
            let Some(due) = task.due else { continue };
            if task.retired || task.status.is_closed() || due < ctx.today {
                continue;
            }
            let before = due.checked_sub_days(Days::new(2));
            let (Some(notify_at), Some(event_at)) =
                (before.and_then(|d| ctx.home(d, MORNING)), ctx.home(due, MORNING))
            else {
                continue;
            };
            let date = date_text(due);
            // The task's own title, from the journey's template version, is the body.
            let title = journey.task_title(ctx.catalogue, task_id, ctx.locale);
            let text = (
                ctx.text("reminder.task.title", &[("date", date.as_str())]),
                title.to_owned(),
            );
            out.push(ctx.remind(
                format!("task/{task_id}"),
                ReminderKind::TaskDue,
                text,
                notify_at,
                event_at,
            ));
        }
    }
    out
}

fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn time_text(local: NaiveDateTime) -> String {
    local.format("%H:%M").to_string()
}

/// Replaces each `{name}` in `template` with its value, in one pass, so that a value
/// that itself contains braces (a clinic's name) is never read as a placeholder. An
/// unknown placeholder is left as written, for the tests to notice.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let known = after.find('}').and_then(|close| {
            let name = &after[..close];
            values.iter().find(|(k, _)| *k == name).map(|(_, v)| (close, *v))
        });
        match known {
            Some((close, value)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The catalogue keys of every reminder text, for the tests that check each exists in
    /// every language with the same placeholders.
    const LABEL_KEYS: [&str; 7] = [
        "reminder.flight.title",
        "reminder.flight.body",
        "reminder.appointment.title",
        "reminder.appointment.body",
        "reminder.pdo.title",
        "reminder.pdo.body",
        "reminder.task.title",
    ];

    /// The `{placeholders}` of a text.
    fn placeholders(text: &str) -> BTreeSet<&str> {
        text.split('{')
            .skip(1)
            .filter_map(|s| s.split_once('}').map(|(name, _)| name))
            .collect()
    }

    #[test]
    fn every_reminder_text_exists_with_the_same_placeholders_in_every_language() {
        let catalogue = Catalogue::builtin().expect("the built-in catalogue loads");
        for key in LABEL_KEYS {
            assert!(catalogue.has_label(key), "{key} missing from catalogue.toml");
            let en = placeholders(catalogue.label(key, Locale::En));
            for locale in Locale::ALL {
                assert_eq!(
                    placeholders(catalogue.label(key, *locale)),
                    en,
                    "{key} in {locale}"
                );
            }
        }
    }

    #[test]
    fn fill_replaces_known_placeholders_once() {
        let check = |template: &str, want: &str| {
            assert_eq!(fill(template, &[("a", "{b}"), ("b", "B")]), want, "{template}");
        };
        check("x {a} y", "x {b} y");
        check("{b}{b}", "BB");
        check("{unknown} {b}", "{unknown} B");
        check("open { brace", "open { brace");
        check("no placeholders", "no placeholders");
        check("trailing {", "trailing {");
    }
}
