//! Reminders across time zones and daylight-saving changes, read from real stores.
//!
//! The reference case is the flight of issue 4: Amman to Brussels on Sunday 2027-03-28,
//! the last Sunday of March, when Brussels moves from UTC+1 to UTC+2 at 01:00 UTC.
//! Amman keeps UTC+3 all year. Beirut moves from UTC+2 to UTC+3 at local midnight the
//! same Sunday and back at local midnight on Sunday 2027-10-31; Brussels goes back at
//! 01:00 UTC that Sunday, so 02:00 to 03:00 happens twice there.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use passage_core::doc::journey::{FlightBooking, FlightSegment, NewJourney};
use passage_core::doc::medical::Appointment;
use passage_core::model::Owner;
use passage_core::model::{PdoDayStatus, TaskStatus};
use passage_core::reminder::{self, local_instant};
use passage_core::time::ZonedDateTime;
use passage_core::{Action, CaseId, Edit, Error, Locale, Reminder, ReminderKind, Role, Store};

use crate::support::{self, Dir, date};

const BRUSSELS: Tz = chrono_tz::Europe::Brussels;
const BEIRUT: Tz = chrono_tz::Asia::Beirut;
const AMMAN: Tz = chrono_tz::Asia::Amman;

/// The purpose of every appointment in these tests: it must never reach a lock screen.
const PURPOSE: &str = "Tuberculosis screening";

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("an RFC 3339 instant")
}

fn zoned(s: &str) -> ZonedDateTime {
    s.parse().expect("a zoned time")
}

/// A segment leaving at `departs` and landing four hours later, in the same zone.
fn segment(flight: &str, from: &str, departs: &str, to: &str) -> FlightSegment {
    let departs = zoned(departs);
    let arrives = ZonedDateTime::from_local(departs.local() + TimeDelta::hours(4), departs.zone())
        .expect("a landing time that exists");
    FlightSegment {
        carrier: "Royal Jordanian".into(),
        flight_number: flight.into(),
        from: from.into(),
        to: to.into(),
        departs,
        arrives,
    }
}

fn booking(segments: Vec<FlightSegment>) -> FlightBooking {
    FlightBooking {
        booking_reference: "X7K2QP".into(),
        travellers: vec!["Rana Haddad".into()],
        segments,
    }
}

/// Applies `edit`; returns the id it created, if any.
fn apply(store: &Store, case: &CaseId, edit: Edit) -> Option<String> {
    store.apply(case, &edit).expect("edit applied").created
}

fn add_flight(store: &Store, case: &CaseId, segments: Vec<FlightSegment>) -> String {
    apply(
        store,
        case,
        Edit::AddFlight {
            booking: booking(segments),
        },
    )
    .expect("a booking id")
}

fn add_appointment(store: &Store, case: &CaseId, when: &str) -> String {
    let appointment = Appointment {
        clinic: "IOM Migration Health Assessment Centre".into(),
        at: zoned(when),
        purpose: PURPOSE.into(),
    };
    apply(store, case, Edit::AddAppointment { appointment }).expect("an appointment id")
}

fn set_due(store: &Store, case: &CaseId, task: &str, due: &str) {
    let edit = Edit::SetTaskDue {
        task: task.into(),
        due: Some(date(due)),
    };
    apply(store, case, edit);
}

/// The store's reminders, checked to be sorted by (notify time, id) and never to show
/// the appointments' purpose.
fn reminders(store: &Store, case: &CaseId, now: &str, zone: Tz, locale: Locale) -> Vec<Reminder> {
    let all = store.reminders(case, at(now), zone, locale).expect("reminders");
    let keys: Vec<_> = all.iter().map(|r| (r.notify_at, r.id.clone())).collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "not sorted: {keys:?}");
    for r in &all {
        assert!(r.notify_at >= at(now), "{} notifies in the past", r.id);
        assert!(
            !r.title.contains(PURPOSE) && !r.body.contains(PURPOSE),
            "{} shows the appointment's purpose",
            r.id
        );
    }
    all
}

fn find<'a>(all: &'a [Reminder], id: &str) -> &'a Reminder {
    all.iter().find(|r| r.id == id).unwrap_or_else(|| {
        let ids: Vec<&str> = all.iter().map(|r| r.id.as_str()).collect();
        panic!("no reminder {id} among {ids:?}")
    })
}

fn has(all: &[Reminder], id: &str) -> bool {
    all.iter().any(|r| r.id == id)
}

fn is_arabic(text: &str) -> bool {
    text.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c))
}

/// Checks one reminder of each row: its id, then when to notify and when the event is.
fn check(all: &[Reminder], rows: &[(&str, &str, &str)]) {
    for (id, notify_at, event_at) in rows {
        let r = find(all, id);
        assert_eq!((r.notify_at, r.event_at), (at(notify_at), at(event_at)), "{id}");
    }
}

#[test]
fn the_amman_brussels_flight_on_the_last_sunday_of_march() {
    let dir = Dir::new();
    let (store, case) = support::belgian_case(&dir, "flight.db");
    let seg = FlightSegment {
        arrives: zoned("2027-03-28T09:40[Europe/Brussels]"),
        ..segment("RJ131", "AMM", "2027-03-28T06:00[Asia/Amman]", "BRU")
    };
    let booking = add_flight(&store, &case, vec![seg]);
    let id = format!("flight/{booking}/0");
    let local_departure = [
        (Locale::En, "departs 2027-03-28 at 06:00"),
        (Locale::Ar, "الإقلاع في 2027-03-28 الساعة 06:00"),
        (Locale::Fr, "départ le 2027-03-28 à 06:00"),
    ];
    let mut texts = Vec::new();
    for (locale, departs) in local_departure {
        let all = reminders(&store, &case, "2027-03-20T12:00:00Z", BRUSSELS, locale);
        let r = find(&all, &id);
        assert_eq!(r.kind, ReminderKind::Flight);
        assert_eq!(r.notify_at, at("2027-03-26T03:00:00Z"), "{locale}");
        assert_eq!(r.event_at, at("2027-03-28T03:00:00Z"), "{locale}");
        assert!(r.body.contains(departs), "{locale}: {}", r.body);
        for part in ["Royal Jordanian", "RJ131", "AMM", "BRU"] {
            assert!(r.body.contains(part), "{locale}: {part} in {}", r.body);
        }
        assert!(
            r.title.contains("RJ131") && r.title.contains("2027-03-28"),
            "{}",
            r.title
        );
        assert_eq!(is_arabic(&r.body), locale == Locale::Ar, "{}", r.body);
        assert_eq!(is_arabic(&r.title), locale == Locale::Ar, "{}", r.title);
        if locale == Locale::En {
            // What an app receives: instants in UTC, the kind as a word.
            let want = serde_json::json!({
                "id": id,
                "kind": "flight",
                "title": "Flight RJ131 on 2027-03-28",
                "body": "Royal Jordanian RJ131, AMM → BRU: departs 2027-03-28 at 06:00, local time at AMM.",
                "notify_at": "2027-03-26T03:00:00Z",
                "event_at": "2027-03-28T03:00:00Z",
            });
            assert_eq!(serde_json::to_value(r).expect("json"), want);
        }
        texts.push((r.title.clone(), r.body.clone()));
    }
    assert!(texts[0] != texts[1] && texts[1] != texts[2] && texts[0] != texts[2]);
    // 48 hours on the time line are 49 on Brussels clocks, which lose an hour between:
    // DST moves neither the notification nor the departure.
    let brussels = |t: &str| at(t).with_timezone(&BRUSSELS).format("%d %H:%M").to_string();
    assert_eq!(brussels("2027-03-26T03:00:00Z"), "26 04:00");
    assert_eq!(brussels("2027-03-28T03:00:00Z"), "28 05:00");
}

#[test]
fn flights_are_announced_48_hours_ahead_on_the_time_line() {
    let dir = Dir::new();
    let (store, case) = support::belgian_case(&dir, "flights.db");
    // (departure, when to notify): always exactly 48 hours before, whatever the clocks.
    let rows = [
        ("2027-03-28T06:00[Asia/Amman]", "2027-03-26T03:00:00Z"),
        // 10:00 summer time in Brussels; the notification is 09:00 winter time.
        ("2027-03-29T10:00[Europe/Brussels]", "2027-03-27T08:00:00Z"),
        // The two 02:30s of the night Brussels goes back to winter time.
        ("2027-10-31T02:30+02:00[Europe/Brussels]", "2027-10-29T00:30:00Z"),
        ("2027-10-31T02:30+01:00[Europe/Brussels]", "2027-10-29T01:30:00Z"),
        ("2027-11-01T10:00[Europe/Brussels]", "2027-10-30T09:00:00Z"),
        ("2027-03-29T10:00[Asia/Beirut]", "2027-03-27T07:00:00Z"),
    ];
    let ids: Vec<String> = rows
        .iter()
        .map(|(departs, _)| {
            let b = add_flight(&store, &case, vec![segment("RJ131", "AMM", departs, "BRU")]);
            format!("flight/{b}/0")
        })
        .collect();
    let all = reminders(&store, &case, "2027-03-01T00:00:00Z", BRUSSELS, Locale::En);
    for (id, (departs, notify_at)) in ids.iter().zip(rows) {
        let r = find(&all, id);
        assert_eq!(r.notify_at, at(notify_at), "{departs}");
        assert_eq!(r.event_at, zoned(departs).instant(), "{departs}");
        assert_eq!(r.event_at - r.notify_at, TimeDelta::hours(48), "{departs}");
    }
    // A trip of two flights: one reminder per segment, numbered from 0 as edits are.
    let b = add_flight(
        &store,
        &case,
        vec![
            segment("RJ163", "AMM", "2027-04-10T08:00[Asia/Amman]", "IST"),
            segment("TK1937", "IST", "2027-04-10T14:00[Europe/Istanbul]", "BRU"),
        ],
    );
    let all = reminders(&store, &case, "2027-03-01T00:00:00Z", BRUSSELS, Locale::En);
    assert!(find(&all, &format!("flight/{b}/0")).body.contains("RJ163"));
    assert!(
        find(&all, &format!("flight/{b}/1"))
            .body
            .contains("TK1937, IST → BRU")
    );
}

#[test]
fn appointments_are_announced_at_nine_the_day_before_in_their_own_zone() {
    let dir = Dir::new();
    let (store, case) = support::belgian_case(&dir, "appointments.db");
    // (appointment, when to notify, why)
    let rows = [
        (
            "2027-03-29T10:30[Europe/Brussels]",
            "2027-03-28T07:00:00Z",
            "09:00 CEST on the day of the change",
        ),
        (
            "2027-03-28T10:30[Europe/Brussels]",
            "2027-03-27T08:00:00Z",
            "09:00 CET the day before it",
        ),
        (
            "2027-11-01T10:30[Europe/Brussels]",
            "2027-10-31T08:00:00Z",
            "09:00 CET the day clocks go back",
        ),
        (
            "2027-03-28T10:00[Asia/Beirut]",
            "2027-03-27T07:00:00Z",
            "09:00 EET, the appointment in EEST",
        ),
        (
            "2027-03-29T10:00[Asia/Beirut]",
            "2027-03-28T06:00:00Z",
            "09:00 EEST on the day of the change",
        ),
        (
            "2027-11-01T10:00[Asia/Beirut]",
            "2027-10-31T07:00:00Z",
            "09:00 EET the day clocks went back",
        ),
        (
            "2027-03-29T10:30[Asia/Amman]",
            "2027-03-28T06:00:00Z",
            "Amman keeps UTC+3",
        ),
    ];
    let ids: Vec<String> = rows
        .iter()
        .map(|(when, ..)| format!("appointment/{}", add_appointment(&store, &case, when)))
        .collect();
    // The home zone plays no part: the clinic's zone decides.
    for home in [BRUSSELS, AMMAN] {
        let all = reminders(&store, &case, "2027-03-01T00:00:00Z", home, Locale::En);
        for (id, (when, notify_at, why)) in ids.iter().zip(rows) {
            let r = find(&all, id);
            assert_eq!(r.kind, ReminderKind::MedicalAppointment);
            assert_eq!(
                (r.notify_at, r.event_at),
                (at(notify_at), zoned(when).instant()),
                "{why}"
            );
            let local_time = &when[11..16];
            assert!(
                r.body.contains("IOM Migration Health Assessment Centre"),
                "{}",
                r.body
            );
            assert!(r.body.contains(local_time), "{why}: {}", r.body);
        }
    }
}

#[test]
fn pdo_days_are_announced_the_evening_before_in_the_home_zone() {
    let dir = Dir::new();
    let (store, case) = support::belgian_case(&dir, "pdo.db");
    let days = [date("2027-03-28"), date("2027-03-29"), date("2027-10-31")];
    apply(&store, &case, Edit::SchedulePdo { days });
    let now = "2027-03-01T00:00:00Z";
    // (id, when to notify, nominal start): 18:00 the evening before, 09:00 on the day.
    let beirut = [
        ("pdo/1", "2027-03-27T16:00:00Z", "2027-03-28T06:00:00Z"),
        // The evening before day 2 is the day Beirut moved to summer time.
        ("pdo/2", "2027-03-28T15:00:00Z", "2027-03-29T06:00:00Z"),
        // Beirut goes back to winter time at midnight, between the evening and the day.
        ("pdo/3", "2027-10-30T15:00:00Z", "2027-10-31T07:00:00Z"),
    ];
    check(&reminders(&store, &case, now, BEIRUT, Locale::En), &beirut);
    let brussels = [
        ("pdo/1", "2027-03-27T17:00:00Z", "2027-03-28T07:00:00Z"),
        ("pdo/2", "2027-03-28T16:00:00Z", "2027-03-29T07:00:00Z"),
        ("pdo/3", "2027-10-30T16:00:00Z", "2027-10-31T08:00:00Z"),
    ];
    let all = reminders(&store, &case, now, BRUSSELS, Locale::Fr);
    check(&all, &brussels);
    let r = find(&all, "pdo/2");
    assert_eq!(r.kind, ReminderKind::PdoDay);
    assert!(
        r.title.contains("jour 2") && r.body.contains("2027-03-29"),
        "{r:?}"
    );

    // Only days still scheduled are announced.
    for (day, status) in [(1, PdoDayStatus::Attended), (2, PdoDayStatus::Excused)] {
        apply(&store, &case, Edit::MarkPdoAttendance { day, status });
    }
    let all = reminders(&store, &case, now, BEIRUT, Locale::En);
    assert!(!has(&all, "pdo/1") && !has(&all, "pdo/2") && has(&all, "pdo/3"));
    let status = PdoDayStatus::Missed;
    apply(&store, &case, Edit::MarkPdoAttendance { day: 3, status });
    let all = reminders(&store, &case, now, BEIRUT, Locale::En);
    assert!(!all.iter().any(|r| r.kind == ReminderKind::PdoDay), "{all:?}");
}

#[test]
fn due_tasks_are_announced_at_nine_two_days_before_in_the_home_zone() {
    let dir = Dir::new();
    let (store, case) = support::belgian_case(&dir, "tasks.db");
    let tasks = [
        ("confirm_match", "2027-03-30"),
        ("send_job_offer", "2027-03-29"),
        ("check_passport_validity", "2027-11-02"),
        ("single_permit_filed", "2027-11-01"),
    ];
    for (task, due) in tasks {
        set_due(&store, &case, task, due);
    }
    let now = "2027-03-01T00:00:00Z";
    let brussels = [
        // Two days before the 30th is the 28th, in summer time since 01:00 UTC.
        (
            "task/confirm_match",
            "2027-03-28T07:00:00Z",
            "2027-03-30T07:00:00Z",
        ),
        // Notified in winter time, due in summer time.
        (
            "task/send_job_offer",
            "2027-03-27T08:00:00Z",
            "2027-03-29T07:00:00Z",
        ),
        (
            "task/check_passport_validity",
            "2027-10-31T08:00:00Z",
            "2027-11-02T08:00:00Z",
        ),
        // Notified in summer time, due in winter time.
        (
            "task/single_permit_filed",
            "2027-10-30T07:00:00Z",
            "2027-11-01T08:00:00Z",
        ),
    ];
    let all = reminders(&store, &case, now, BRUSSELS, Locale::En);
    check(&all, &brussels);
    let beirut = [
        (
            "task/confirm_match",
            "2027-03-28T06:00:00Z",
            "2027-03-30T06:00:00Z",
        ),
        (
            "task/send_job_offer",
            "2027-03-27T07:00:00Z",
            "2027-03-29T06:00:00Z",
        ),
        (
            "task/single_permit_filed",
            "2027-10-30T06:00:00Z",
            "2027-11-01T07:00:00Z",
        ),
    ];
    check(&reminders(&store, &case, now, BEIRUT, Locale::En), &beirut);

    let journey = store.journey(&case).expect("journey");
    let catalogue = store.catalogue().expect("catalogue");
    for locale in Locale::ALL {
        let all = reminders(&store, &case, now, BRUSSELS, *locale);
        let r = find(&all, "task/confirm_match");
        assert_eq!(r.kind, ReminderKind::TaskDue);
        assert_eq!(r.body, journey.task_title(catalogue, "confirm_match", *locale));
        assert!(r.title.contains("2027-03-30"), "{}", r.title);
    }
}

#[test]
fn a_late_notification_is_due_at_once_and_a_past_event_is_dropped() {
    let dir = Dir::new();
    let (store, case) = support::belgian_case(&dir, "late.db");
    let b = add_flight(
        &store,
        &case,
        vec![segment("RJ131", "AMM", "2027-03-28T06:00[Asia/Amman]", "BRU")],
    );
    let flight = format!("flight/{b}/0");
    let a = add_appointment(&store, &case, "2027-03-28T10:30[Europe/Brussels]");
    let appointment = format!("appointment/{a}");
    set_due(&store, &case, "confirm_match", "2027-03-27");
    set_due(&store, &case, "send_job_offer", "2027-03-26");
    let days = [date("2027-03-27"), date("2027-03-28"), date("2027-03-29")];
    apply(&store, &case, Edit::SchedulePdo { days });

    // Saturday noon in Brussels: every notification time has passed, no event has.
    let now = "2027-03-27T12:00:00Z";
    let all = reminders(&store, &case, now, BRUSSELS, Locale::En);
    for id in [&flight, &appointment, "task/confirm_match", "pdo/1"] {
        assert_eq!(find(&all, id).notify_at, at(now), "{id}");
    }
    // Those still ahead keep their time.
    assert_eq!(find(&all, "pdo/2").notify_at, at("2027-03-27T17:00:00Z"));
    // An all-day event dated today is not over, though its nominal start has passed.
    assert_eq!(
        find(&all, "task/confirm_match").event_at,
        at("2027-03-27T08:00:00Z")
    );
    assert_eq!(find(&all, "pdo/3").notify_at, at("2027-03-28T16:00:00Z"));
    assert!(!has(&all, "task/send_job_offer"), "due yesterday");

    // A flight is over once it has left; an appointment once it has begun.
    let all = reminders(&store, &case, "2027-03-28T02:59:59Z", BRUSSELS, Locale::En);
    assert!(has(&all, &flight));
    let all = reminders(&store, &case, "2027-03-28T03:00:00Z", BRUSSELS, Locale::En);
    assert!(!has(&all, &flight) && has(&all, &appointment));
    let all = reminders(&store, &case, "2027-03-28T08:30:00Z", BRUSSELS, Locale::En);
    assert!(!has(&all, &appointment) && has(&all, "pdo/3") && !has(&all, "pdo/1"));

    // "Today" is the home zone's: at 22:30 UTC on Saturday it is already Sunday in
    // Beirut (summer time began at 22:00 UTC), still Saturday in Brussels.
    let now = "2027-03-27T22:30:00Z";
    assert!(has(
        &reminders(&store, &case, now, BRUSSELS, Locale::En),
        "task/confirm_match"
    ));
    assert!(!has(
        &reminders(&store, &case, now, BEIRUT, Locale::En),
        "task/confirm_match"
    ));
}

#[test]
fn closed_and_retired_tasks_have_no_reminder() {
    let dir = Dir::new();
    let store = dir.open("closed.db", Role::Caseworker);
    let new = NewJourney {
        version: Some(1),
        ..support::new_journey("be")
    };
    let case = store.create_journey(&new).expect("v1 journey");
    let statuses = [
        ("confirm_match", TaskStatus::Done, false),
        ("send_job_offer", TaskStatus::NotApplicable, false),
        ("check_passport_validity", TaskStatus::Blocked, true),
        ("single_permit_filed", TaskStatus::InProgress, true),
        ("attend_job_interview", TaskStatus::Todo, true),
    ];
    for (task, status, _) in statuses {
        set_due(&store, &case, task, "2027-04-15");
        let edit = Edit::SetTaskStatus {
            task: task.into(),
            status,
        };
        apply(&store, &case, edit);
    }
    // A task the newer template version dropped is kept, retired, with its due date.
    set_due(&store, &case, "print_documents", "2027-04-15");
    let all = reminders(&store, &case, "2027-04-01T00:00:00Z", BRUSSELS, Locale::En);
    assert!(has(&all, "task/print_documents"));
    apply(&store, &case, Edit::UpgradeTemplate);
    let all = reminders(&store, &case, "2027-04-01T00:00:00Z", BRUSSELS, Locale::En);
    assert!(!has(&all, "task/print_documents"), "retired");
    for (task, status, reminded) in statuses {
        assert_eq!(has(&all, &format!("task/{task}")), reminded, "{task} {status}");
    }
}

#[test]
fn ids_are_stable_and_follow_an_event_whose_time_changes() {
    let dir = Dir::new();
    let (store, case) = support::belgian_case(&dir, "stable.db");
    let b = add_flight(
        &store,
        &case,
        vec![segment("RJ131", "AMM", "2027-03-28T06:00[Asia/Amman]", "BRU")],
    );
    let a = add_appointment(&store, &case, "2027-03-29T10:30[Europe/Brussels]");
    set_due(&store, &case, "confirm_match", "2027-03-30");
    let days = [date("2027-03-22"), date("2027-03-23"), date("2027-03-24")];
    apply(&store, &case, Edit::SchedulePdo { days });
    let now = "2027-03-01T00:00:00Z";
    let first = reminders(&store, &case, now, BRUSSELS, Locale::Ar);
    assert_eq!(first, reminders(&store, &case, now, BRUSSELS, Locale::Ar));

    let edits = [
        Edit::ChangeFlightTimes {
            booking: b.clone(),
            segment: 0,
            departs: Some(zoned("2027-03-29T06:00[Asia/Amman]")),
            arrives: Some(zoned("2027-03-29T09:40[Europe/Brussels]")),
        },
        Edit::RescheduleAppointment {
            appointment: a.clone(),
            at: zoned("2027-04-02T14:00[Europe/Brussels]"),
        },
        Edit::SchedulePdo {
            days: [date("2027-03-25"), date("2027-03-26"), date("2027-03-27")],
        },
    ];
    for edit in edits {
        apply(&store, &case, edit);
    }
    set_due(&store, &case, "confirm_match", "2027-04-05");
    let moved = reminders(&store, &case, now, BRUSSELS, Locale::Ar);
    let moved_ids = [
        (format!("flight/{b}/0"), "2027-03-27T03:00:00Z"),
        (format!("appointment/{a}"), "2027-04-01T07:00:00Z"),
        ("pdo/1".to_owned(), "2027-03-24T17:00:00Z"),
        ("task/confirm_match".to_owned(), "2027-04-03T07:00:00Z"),
    ];
    for (id, notify_at) in moved_ids {
        assert_ne!(find(&first, &id).notify_at, find(&moved, &id).notify_at, "{id}");
        assert_eq!(find(&moved, &id).notify_at, at(notify_at), "{id}");
    }
    let ids = |all: &[Reminder]| {
        let mut ids: Vec<String> = all.iter().map(|r| r.id.clone()).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&first), ids(&moved), "the same events, under the same ids");
}

#[test]
fn reminders_with_the_same_time_are_ordered_by_id() {
    let dir = Dir::new();
    let (store, case) = support::belgian_case(&dir, "order.db");
    for task in ["send_job_offer", "confirm_match", "attend_job_interview"] {
        set_due(&store, &case, task, "2027-05-10");
    }
    let all = reminders(&store, &case, "2027-05-01T00:00:00Z", BRUSSELS, Locale::En);
    let same: Vec<&str> = all
        .iter()
        .filter(|r| r.notify_at == at("2027-05-08T07:00:00Z"))
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(
        same,
        [
            "task/attend_job_interview",
            "task/confirm_match",
            "task/send_job_offer"
        ]
    );
}

#[test]
fn medical_reminders_follow_the_role_and_never_show_the_purpose() {
    let dir = Dir::new();
    let (staff, case) = support::belgian_case(&dir, "roles.db");
    let a = add_appointment(&staff, &case, "2027-03-29T10:30[Europe/Brussels]");
    let appointment = format!("appointment/{a}");
    add_flight(
        &staff,
        &case,
        vec![segment("RJ131", "AMM", "2027-03-28T06:00[Asia/Amman]", "BRU")],
    );
    let now = "2027-03-01T00:00:00Z";
    let talent = dir.open("roles.db", Role::Talent);
    for store in [&staff, &talent] {
        for locale in Locale::ALL {
            // `reminders` checks that no text holds the purpose.
            let all = reminders(store, &case, now, BRUSSELS, *locale);
            assert!(has(&all, &appointment), "{:?}", store.identity().role);
        }
    }

    // Family may not read the journey, so gets the refusal `journey` gives.
    let family = dir.open("roles.db", Role::Family);
    match family.reminders(&case, at(now), BRUSSELS, Locale::Ar) {
        Err(Error::NotAllowed {
            role: Role::Family,
            action: Action::ReadJourney,
        }) => {}
        other => panic!("family: expected NotAllowed(ReadJourney), got {other:?}"),
    }

    // Every role that reads the journey reads the medical record too, so the
    // journey-only path is that of a caller without the record.
    for role in Role::ALL {
        assert!(
            !role.may(Action::ReadJourney) || role.may(Action::ReadMedical),
            "{role}"
        );
    }
    let journey = staff.journey(&case).expect("journey");
    let catalogue = staff.catalogue().expect("catalogue");
    let without = reminder::upcoming(&journey, None, catalogue, Locale::En, BRUSSELS, at(now));
    assert!(!without.iter().any(|r| r.kind == ReminderKind::MedicalAppointment));
    assert!(without.iter().any(|r| r.kind == ReminderKind::Flight));

    // A talent's phone that has the journey but not yet the medical record still
    // announces the flight.
    let phone = dir.open("phone.db", Role::Talent);
    let doc = case.doc(passage_core::DocKind::Journey);
    let changes = staff.changes_since(&doc, &[]).expect("changes");
    phone.receive_changes(&doc, &changes).expect("journey received");
    let all = reminders(&phone, &case, now, BRUSSELS, Locale::En);
    assert!(!has(&all, &appointment) && all.iter().any(|r| r.kind == ReminderKind::Flight));
}

#[test]
fn each_language_has_its_own_text_and_arabic_is_in_arabic_script() {
    let dir = Dir::new();
    let (store, case) = support::belgian_case(&dir, "languages.db");
    add_flight(
        &store,
        &case,
        vec![segment("RJ131", "AMM", "2027-03-28T06:00[Asia/Amman]", "BRU")],
    );
    add_appointment(&store, &case, "2027-03-29T10:30[Europe/Brussels]");
    set_due(&store, &case, "confirm_match", "2027-03-30");
    let days = [date("2027-03-22"), date("2027-03-23"), date("2027-03-24")];
    apply(&store, &case, Edit::SchedulePdo { days });
    let now = "2027-03-01T00:00:00Z";
    let by_locale: Vec<Vec<Reminder>> = Locale::ALL
        .iter()
        .map(|l| reminders(&store, &case, now, BRUSSELS, *l))
        .collect();
    let [en, ar, fr] = [&by_locale[0], &by_locale[1], &by_locale[2]];
    let kinds = [
        ReminderKind::Flight,
        ReminderKind::MedicalAppointment,
        ReminderKind::PdoDay,
        ReminderKind::TaskDue,
    ];
    for kind in kinds {
        assert!(en.iter().any(|r| r.kind == kind), "{kind:?}");
    }
    assert_eq!(en.len(), ar.len());
    assert_eq!(en.len(), fr.len());
    for ((e, a), f) in en.iter().zip(ar.iter()).zip(fr.iter()) {
        assert_eq!((&e.id, e.notify_at), (&a.id, a.notify_at));
        assert_eq!((&e.id, e.notify_at), (&f.id, f.notify_at));
        assert!(
            e.title != a.title && a.title != f.title && e.title != f.title,
            "{}",
            e.id
        );
        assert!(is_arabic(&a.title) && is_arabic(&a.body), "{}: {a:?}", a.id);
        assert!(!is_arabic(&e.title) && !is_arabic(&f.title), "{}", e.id);
        assert!(!e.title.contains("reminder.") && !e.body.contains('{'), "{e:?}");
    }
}

#[test]
fn local_times_skipped_or_repeated_by_a_clock_change() {
    // (local time, zone, instant): skipped times take the first instant after the gap,
    // repeated ones the earlier of the two.
    let rows = [
        ("2027-03-28T06:00:00", AMMAN, "2027-03-28T03:00:00Z"),
        ("2027-03-28T01:59:59", BRUSSELS, "2027-03-28T00:59:59Z"),
        ("2027-03-28T02:00:00", BRUSSELS, "2027-03-28T01:00:00Z"),
        ("2027-03-28T02:30:00", BRUSSELS, "2027-03-28T01:00:00Z"),
        ("2027-03-28T03:00:00", BRUSSELS, "2027-03-28T01:00:00Z"),
        ("2027-03-28T03:30:00", BRUSSELS, "2027-03-28T01:30:00Z"),
        ("2027-10-31T02:30:00", BRUSSELS, "2027-10-31T00:30:00Z"),
        ("2027-10-31T03:00:00", BRUSSELS, "2027-10-31T02:00:00Z"),
        // Beirut skips the hour after midnight, and repeats the one before it.
        ("2027-03-28T00:30:00", BEIRUT, "2027-03-27T22:00:00Z"),
        ("2027-10-30T23:30:00", BEIRUT, "2027-10-30T20:30:00Z"),
        ("2027-10-31T00:30:00", BEIRUT, "2027-10-30T22:30:00Z"),
    ];
    for (local, zone, want) in rows {
        let local: NaiveDateTime = local.parse().expect("a local time");
        assert_eq!(local_instant(local, zone), Some(at(want)), "{local} {zone}");
    }
}

#[test]
fn a_talents_phone_announces_only_the_talents_own_tasks() {
    let dir = Dir::new();
    let (store, case) = support::belgian_case(&dir, "owners.db");
    // complete_talent_profile is the talent's; send_job_offer the employer's.
    set_due(&store, &case, "complete_talent_profile", "2027-03-30");
    set_due(&store, &case, "send_job_offer", "2027-03-30");
    drop(store);
    let now = "2027-03-01T00:00:00Z";
    let ids = |store: &Store| {
        reminders(store, &case, now, BRUSSELS, Locale::En)
            .into_iter()
            .filter(|r| r.kind == ReminderKind::TaskDue)
            .map(|r| r.id)
            .collect::<Vec<_>>()
    };
    let caseworker = dir.open("owners.db", Role::Caseworker);
    let all = ids(&caseworker);
    for id in ["task/complete_talent_profile", "task/send_job_offer"] {
        assert!(
            all.iter().any(|i| i == id),
            "the caseworker follows up on every task: {all:?}"
        );
    }
    let journey = caseworker.journey(&case).expect("journey");
    drop(caseworker);
    let talent = dir.open("owners.db", Role::Talent);
    let own = ids(&talent);
    assert!(own.iter().any(|i| i == "task/complete_talent_profile"), "{own:?}");
    assert!(!own.iter().any(|i| i == "task/send_job_offer"), "{own:?}");
    for id in &own {
        let task = id
            .strip_prefix("task/")
            .and_then(|t| journey.task(t))
            .expect("a task");
        assert_eq!(task.1.owner, Owner::Talent, "{id}");
    }
    assert!(own.len() < all.len());
}
