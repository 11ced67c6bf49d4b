//! `passage reminders`: the notifications the apps schedule, shown on the device's
//! clocks, around the night Brussels moves to summer time (Sunday 2027-03-28).

use serde_json::Value;

use crate::cli::{Device, assert_has, fails, new_case, ok};

const FLIGHT: &str =
    "RJ131 Royal Jordanian AMM 2027-03-28T06:00[Asia/Amman] BRU 2027-03-28T09:40[Europe/Brussels]";
const AT: &str = "2027-03-20T12:00:00Z";

#[test]
fn reminders_show_on_the_device_clocks_in_each_language() {
    let device = Device::new();
    let store = device.store.as_path();
    let (case, _) = new_case(store, &[]);
    ok(
        store,
        "caseworker",
        &["flight", "add", "--ref", "X7K2QP", "--segment", FLIGHT],
    );
    ok(
        store,
        "caseworker",
        &[
            "medical",
            "appointment",
            "--clinic",
            "IOM MHAC Brussels",
            "--at",
            "2027-03-29T10:30[Europe/Brussels]",
            "--purpose",
            "Tuberculosis screening",
        ],
    );

    // (role, language, zone, lines expected in this order)
    let rows: [(&str, &str, &str, &[&str]); 3] = [
        (
            "caseworker",
            "en",
            "Europe/Brussels",
            &[
                // 48 hours before departure is 04:00 on Brussels winter clocks.
                "2027-03-26 04:00 Europe/Brussels (UTC+01:00)  Flight RJ131 on 2027-03-28",
                "  Royal Jordanian RJ131, AMM → BRU: departs 2027-03-28 at 06:00, local time at AMM.",
                // 09:00 the day before, on the first morning of summer time.
                "2027-03-28 09:00 Europe/Brussels (UTC+02:00)  Medical appointment on 2027-03-29",
                "  IOM MHAC Brussels, 2027-03-29 at 10:30, local time.",
            ],
        ),
        (
            "talent",
            "ar",
            "Asia/Amman",
            &[
                "2027-03-26 06:00 Asia/Amman (UTC+03:00)  الرحلة RJ131 في 2027-03-28",
                "الإقلاع في 2027-03-28 الساعة 06:00",
                "2027-03-28 10:00 Asia/Amman (UTC+03:00)  موعد طبي في 2027-03-29",
            ],
        ),
        (
            "talent",
            "fr",
            "Asia/Beirut",
            &[
                "2027-03-26 05:00 Asia/Beirut (UTC+02:00)  Vol RJ131 le 2027-03-28",
                "départ le 2027-03-28 à 06:00",
                "2027-03-28 10:00 Asia/Beirut (UTC+03:00)  Rendez-vous médical le 2027-03-29",
            ],
        ),
    ];
    for (role, lang, zone, lines) in rows {
        let args = ["--lang", lang, "reminders", "--at", AT, "--zone", zone];
        let out = ok(store, role, &args);
        assert_has(&out, lines);
        let at: Vec<usize> = lines.iter().filter_map(|l| out.find(l)).collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "out of order:\n{out}");
        assert!(
            !out.contains("Tuberculosis"),
            "the purpose reached a notification:\n{out}"
        );
    }

    // The JSON is the core's reminders, with instants in UTC and stable ids.
    let args = [
        "reminders",
        "--at",
        AT,
        "--zone",
        "Europe/Brussels",
        "--json",
        "--case",
        &case,
    ];
    let json: Value = serde_json::from_str(&ok(store, "talent", &args)).expect("JSON");
    let flight = json
        .as_array()
        .and_then(|all| all.iter().find(|r| r["kind"] == "flight"))
        .expect("a flight reminder");
    assert_eq!(flight["notify_at"], "2027-03-26T03:00:00Z");
    assert_eq!(flight["event_at"], "2027-03-28T03:00:00Z");
    assert!(
        flight["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("flight/") && id.ends_with("/0"))
    );

    // Long after the journey: nothing to come.
    let later = ["reminders", "--at", "2029-01-01T00:00:00Z", "--zone", "UTC"];
    assert_eq!(ok(store, "caseworker", &later), "no reminders to come\n");
    let later = [
        "--lang",
        "ar",
        "reminders",
        "--at",
        "2029-01-01T00:00:00Z",
        "--zone",
        "UTC",
    ];
    assert_eq!(ok(store, "caseworker", &later), "لا توجد تذكيرات قادمة\n");
}

#[test]
fn reminders_refuse_family_and_bad_input() {
    let device = Device::new();
    let store = device.store.as_path();
    new_case(store, &[]);
    let err = fails(store, "family", &["reminders", "--at", AT, "--zone", "UTC"], 3);
    assert_has(&err, &["a family may not read the journey"]);
    let err = fails(store, "caseworker", &["reminders", "--zone", "Mars/Olympus"], 2);
    assert_has(&err, &["Mars/Olympus", "IANA time zone"]);
    let err = fails(store, "caseworker", &["reminders", "--at", "yesterday"], 2);
    assert_has(&err, &["yesterday"]);
}
