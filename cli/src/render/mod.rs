//! Text for people: the journey, the medical record and the lists, in the chosen
//! language.
//!
//! Words come from the core's catalogue (`core/templates/catalogue.toml`) so that the
//! terminal says what the apps say. Every label the device prints is listed in
//! [`label`], with the English it falls back to should the catalogue lack the key (a
//! test checks that it does not). Renderers write into a `String` and never touch stdout, so that output is
//! written in one piece and a closed pipe is handled in one place.

pub(crate) mod journey;
pub(crate) mod label;
pub(crate) mod lists;
pub(crate) mod medical;
pub(crate) mod sync;

use chrono::{DateTime, NaiveDate, Offset, Utc};
use passage_core::Locale;
use passage_core::template::Catalogue;
use passage_core::time::ZonedDateTime;

use self::label::Label;

/// Appends one formatted line to a `String`. Writing to a `String` cannot fail, so this
/// keeps renderers free of `fmt::Result`s that would only ever be `Ok`.
macro_rules! put {
    ($out:expr) => {
        $out.push('\n')
    };
    ($out:expr, $($arg:tt)*) => {{
        $out.push_str(&format!($($arg)*));
        $out.push('\n');
    }};
}
pub(crate) use put;

/// The catalogue in the chosen language.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Text {
    pub(crate) catalogue: &'static Catalogue,
    pub(crate) locale: Locale,
}

impl Text {
    /// The catalogue's text for `label`, or its English where the catalogue has none.
    pub(crate) fn label(&self, label: Label) -> String {
        self.lookup(label.key, label.english)
    }

    /// The label of a word from one of the core's vocabularies (a status, a role...).
    pub(crate) fn word(&self, word: &impl Word) -> String {
        self.lookup(&word.key(), &word.text().replace('_', " "))
    }

    /// A caption with its value: `Employer: AZ Sint-Jan Brugge`.
    pub(crate) fn field(&self, label: Label, value: impl std::fmt::Display) -> String {
        format!("{}: {value}", self.label(label))
    }

    fn lookup(&self, key: &str, english: &str) -> String {
        if self.catalogue.has_label(key) {
            self.catalogue.label(key, self.locale).to_owned()
        } else {
            english.to_owned()
        }
    }

    /// The destination country's name, from the template the journey was made from.
    pub(crate) fn country(&self, template: &str, version: i64, code: &str) -> String {
        let name = u64::try_from(version)
            .ok()
            .and_then(|v| self.catalogue.template(template, v).ok())
            .or_else(|| self.catalogue.latest(template).ok())
            .map(|t| t.name.get(self.locale).to_owned());
        match name {
            Some(name) => format!("{name} ({code})"),
            None => code.to_owned(),
        }
    }

    /// The destination country's name from its code alone, for lists that do not carry
    /// the template (the core's case summaries).
    pub(crate) fn country_by_code(&self, code: &str) -> String {
        let name = self.catalogue.template_ids().find_map(|id| {
            let t = self.catalogue.latest(id).ok()?;
            (t.destination == code).then(|| t.name.get(self.locale).to_owned())
        });
        match name {
            Some(name) => format!("{name} ({code})"),
            None => code.to_owned(),
        }
    }
}

/// A word of a core vocabulary that has a catalogue label.
pub(crate) trait Word {
    fn key(&self) -> String;
    fn text(&self) -> &'static str;
}

macro_rules! impl_word {
    ($($ty:ty),+) => {
        $(impl Word for $ty {
            fn key(&self) -> String {
                self.label_key()
            }
            fn text(&self) -> &'static str {
                self.as_str()
            }
        })+
    };
}

impl_word!(
    passage_core::model::TaskStatus,
    passage_core::model::Owner,
    passage_core::model::PermitDecision,
    passage_core::model::FitnessDecision,
    passage_core::model::Relation,
    passage_core::model::FamilyTravel,
    passage_core::model::PdoDayStatus,
    passage_core::model::ModuleStatus,
    passage_core::model::StageProgress,
    passage_core::conflict::CriticalField,
    passage_core::Role
);

/// A local time with its zone and UTC offset: `2027-03-28 09:40 Asia/Amman (UTC+03:00)`.
/// The offset is shown because a traveller crossing zones needs it to compare times.
pub(crate) fn zoned(t: &ZonedDateTime) -> String {
    let dt = t.as_datetime();
    format!(
        "{} {} (UTC{})",
        dt.format("%Y-%m-%d %H:%M"),
        t.zone().name(),
        dt.offset().fix()
    )
}

/// An instant in UTC, to the second.
pub(crate) fn utc(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

pub(crate) fn opt_date(d: Option<NaiveDate>) -> String {
    d.map_or_else(|| "—".to_owned(), |d| d.to_string())
}

/// A free-text value, or a dash when it is empty.
/// The temporary housing, one line each after `indent`: the address, and the dates
/// once known. Shared by the journey and the arrival plan.
pub(crate) fn housing(out: &mut String, t: &Text, h: &passage_core::doc::journey::Housing, indent: &str) {
    put!(
        out,
        "{indent}{}",
        t.field(label::FIELD_ADDRESS, place(&h.address, &h.city))
    );
    if h.from.is_some() || h.until.is_some() {
        let dates = format!("{} – {}", opt_date(h.from), opt_date(h.until));
        put!(out, "{indent}{}", t.field(label::FIELD_DATES, dates));
    }
}

/// Who meets the talent on arrival and where, one line each after `indent`; a dash
/// when nobody is set yet. Shared by the journey and the arrival plan.
pub(crate) fn meeting(
    out: &mut String,
    t: &Text,
    m: &passage_core::doc::journey::ArrivalMeeting,
    indent: &str,
) {
    if m.name.trim().is_empty() && m.place.trim().is_empty() {
        put!(out, "{indent}—");
        return;
    }
    let who = format!(
        "{} ({}) · {}",
        m.name,
        or_dash(&m.organisation),
        or_dash(&m.phone)
    );
    put!(out, "{indent}{}", t.field(label::FIELD_MET_BY, who));
    put!(
        out,
        "{indent}{}",
        t.field(label::FIELD_MEETING_PLACE, or_dash(&m.place))
    );
}

pub(crate) fn or_dash(s: &str) -> &str {
    if s.trim().is_empty() { "—" } else { s }
}

/// An address and its city, the city left out when the address already names it.
pub(crate) fn place(address: &str, city: &str) -> String {
    let (address, city) = (address.trim(), city.trim());
    if city.is_empty() || address.to_lowercase().contains(&city.to_lowercase()) {
        or_dash(address).to_owned()
    } else if address.is_empty() {
        city.to_owned()
    } else {
        format!("{address}, {city}")
    }
}

/// A section heading.
pub(crate) fn heading(out: &mut String, title: &str) {
    put!(out);
    put!(out, "== {title} ==");
}
