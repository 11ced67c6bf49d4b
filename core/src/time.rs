//! Dates and times as the pathway needs them.
//!
//! A flight leaves Amman at a local time and lands in Brussels at another local time;
//! a medical appointment is at a local time in Beirut. Those are [`ZonedDateTime`]s: a
//! local time and its IANA zone, written as RFC 9557 text
//! (`2027-03-28T09:40:00+03:00[Asia/Amman]`) so any client can read them. Due dates,
//! housing dates and PDO days are all-day dates ([`chrono::NaiveDate`]) and stay dates.
//! Instants (when a task was completed) are UTC.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// A local date and time in an IANA time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ZonedDateTime(DateTime<Tz>);

impl ZonedDateTime {
    /// The given local time in `zone`. A local time that does not exist (skipped by a
    /// daylight-saving change) is an error; one that exists twice (repeated by the
    /// change back) is an error too unless the offset says which, see [`FromStr`].
    pub fn from_local(local: NaiveDateTime, zone: Tz) -> Result<Self, Error> {
        match zone.from_local_datetime(&local) {
            LocalResult::Single(dt) => Ok(Self(dt)),
            LocalResult::None => Err(Error::InvalidInput(format!(
                "{local} does not exist in {zone} (skipped by a daylight-saving change)"
            ))),
            LocalResult::Ambiguous(..) => Err(Error::InvalidInput(format!(
                "{local} happens twice in {zone}; give the UTC offset to say which"
            ))),
        }
    }

    pub fn local(&self) -> NaiveDateTime {
        self.0.naive_local()
    }

    pub fn zone(&self) -> Tz {
        self.0.timezone()
    }

    /// The instant on the global time line.
    pub fn instant(&self) -> DateTime<Utc> {
        self.0.with_timezone(&Utc)
    }

    pub fn as_datetime(&self) -> DateTime<Tz> {
        self.0
    }
}

impl fmt::Display for ZonedDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let offset = self.0.offset().fix();
        write!(
            f,
            "{}{}[{}]",
            self.0.naive_local().format("%Y-%m-%dT%H:%M:%S"),
            offset,
            self.0.timezone().name()
        )
    }
}

impl FromStr for ZonedDateTime {
    type Err = Error;

    /// Reads `2027-03-28T09:40[Asia/Amman]`, `2027-03-28T09:40:00+03:00[Asia/Amman]` or a
    /// local time and a zone separated by a space (`2027-03-28 09:40 Asia/Amman`). The
    /// local time and the zone are the truth; an offset, if given, only chooses between
    /// the two readings of a repeated hour, and must agree with the zone.
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::InvalidInput(format!("time {s:?}: {why}"));
        let (datetime, zone) = if let Some(rest) = s.strip_suffix(']') {
            rest.split_once('[')
                .ok_or_else(|| bad("missing '[' before the zone"))?
        } else {
            s.trim()
                .rsplit_once(' ')
                .ok_or_else(|| bad("expected LOCAL[Zone/Name], e.g. 2027-03-28T09:40[Asia/Amman]"))?
        };
        let zone: Tz = zone.parse().map_err(|_| bad("unknown IANA time zone"))?;
        let (local_text, offset) = split_offset(datetime.trim());
        let local = parse_local(local_text).ok_or_else(|| bad("expected YYYY-MM-DDTHH:MM[:SS]"))?;
        let Some(offset) = offset else {
            return Self::from_local(local, zone);
        };
        let seconds = parse_offset(offset).ok_or_else(|| bad("malformed UTC offset"))?;
        let candidates: Vec<DateTime<Tz>> = match zone.from_local_datetime(&local) {
            LocalResult::Single(dt) => vec![dt],
            LocalResult::Ambiguous(a, b) => vec![a, b],
            LocalResult::None => vec![],
        };
        candidates
            .into_iter()
            .find(|dt| dt.offset().fix().local_minus_utc() == seconds)
            .map(Self)
            .ok_or_else(|| bad("the offset does not match the zone at that local time"))
    }
}

fn split_offset(s: &str) -> (&str, Option<&str>) {
    if let Some(stripped) = s.strip_suffix('Z') {
        return (stripped, Some("+00:00"));
    }
    // The offset sign comes after the time's 'T', never in the date part.
    match s.find('T').or_else(|| s.find(' ')) {
        Some(t) => match s[t..].rfind(['+', '-']) {
            Some(i) => (&s[..t + i], Some(&s[t + i..])),
            None => (s, None),
        },
        None => (s, None),
    }
}

fn parse_local(s: &str) -> Option<NaiveDateTime> {
    [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
}

fn parse_offset(s: &str) -> Option<i32> {
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = s[1..].split_once(':').unwrap_or((&s[1..], "0"));
    let h: i32 = h.parse().ok()?;
    let m: i32 = m.parse().ok()?;
    (h <= 23 && m <= 59).then_some(sign * (h * 3600 + m * 60))
}

impl TryFrom<String> for ZonedDateTime {
    type Error = Error;

    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<ZonedDateTime> for String {
    fn from(z: ZonedDateTime) -> String {
        z.to_string()
    }
}

/// RFC 3339 text of an instant, to the millisecond, in UTC (`2027-03-28T06:40:00.000Z`).
pub fn instant_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Reads what [`instant_text`] writes (and any RFC 3339 instant).
pub fn parse_instant(s: &str) -> Result<DateTime<Utc>, Error> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::InvalidInput(format!("instant {s:?}: {e}")))
}

/// Where the store gets "now" from, for history entries and completion times. Tests
/// and benchmarks give a fixed or stepping clock; apps use the system clock.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A shared clock handle.
pub type SharedClock = Arc<dyn Clock>;

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: Result<&str, &str>) {
        let got = input
            .parse::<ZonedDateTime>()
            .map(|z| z.to_string())
            .map_err(|e| e.to_string());
        match (got, expect) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{input}"),
            (Err(got), Err(want)) => assert!(got.contains(want), "{input}: {got}"),
            (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn zoned_datetime_text() {
        check(
            "2027-03-28T09:40[Asia/Amman]",
            Ok("2027-03-28T09:40:00+03:00[Asia/Amman]"),
        );
        check(
            "2027-03-28 09:40 Asia/Amman",
            Ok("2027-03-28T09:40:00+03:00[Asia/Amman]"),
        );
        check(
            "2027-03-28T14:05:00+02:00[Europe/Brussels]",
            Ok("2027-03-28T14:05:00+02:00[Europe/Brussels]"),
        );
        // Brussels springs forward at 02:00 on the last Sunday of March 2027.
        check("2027-03-28T02:30[Europe/Brussels]", Err("does not exist"));
        // ... and falls back at 03:00 on the last Sunday of October: 02:30 happens twice.
        check("2027-10-31T02:30[Europe/Brussels]", Err("happens twice"));
        check(
            "2027-10-31T02:30+01:00[Europe/Brussels]",
            Ok("2027-10-31T02:30:00+01:00[Europe/Brussels]"),
        );
        check("2027-10-31T02:30+05:00[Europe/Brussels]", Err("does not match"));
        check("2027-03-28T09:40[Mars/Olympus]", Err("unknown IANA"));
        check("yesterday[Asia/Beirut]", Err("expected YYYY"));
        check("2027-03-28T09:40", Err("expected LOCAL"));
    }

    #[test]
    fn instants_are_ordered_across_zones() {
        let dep: ZonedDateTime = "2027-03-28T09:40[Asia/Amman]".parse().unwrap();
        let arr: ZonedDateTime = "2027-03-28T12:55[Europe/Brussels]".parse().unwrap();
        // Amman is UTC+3 all year; Brussels has just moved to UTC+2.
        assert_eq!((arr.instant() - dep.instant()).num_minutes(), 4 * 60 + 15);
    }
}
