//! How values that are not autosurgeon's own types are written into documents.
//!
//! Dates, instants and zoned times are stored as text (ISO 8601 / RFC 3339 / RFC 9557)
//! so that a client in any language reads them without knowing chrono. Each submodule
//! is an autosurgeon `with=` codec.

use autosurgeon::{Hydrate, HydrateError, Prop, ReadDoc, Reconciler};

fn text<'a, D: ReadDoc>(
    doc: &D,
    obj: &automerge::ObjId,
    prop: Prop<'a>,
) -> Result<Option<String>, HydrateError> {
    Option::<String>::hydrate(doc, obj, prop)
}

fn parse<T>(s: &str, what: &str, f: impl FnOnce(&str) -> Option<T>) -> Result<T, HydrateError> {
    f(s).ok_or_else(|| HydrateError::unexpected(what, format!("{s:?}")))
}

fn parse_date(s: &str) -> Result<chrono::NaiveDate, HydrateError> {
    parse(s, "a date YYYY-MM-DD", |s| {
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
    })
}

fn parse_instant(s: &str) -> Result<chrono::DateTime<chrono::Utc>, HydrateError> {
    parse(s, "an RFC 3339 instant", |s| crate::time::parse_instant(s).ok())
}

/// An all-day date, `YYYY-MM-DD`.
pub mod date {
    use super::*;

    pub fn hydrate<D: ReadDoc>(
        doc: &D,
        obj: &automerge::ObjId,
        prop: Prop<'_>,
    ) -> Result<chrono::NaiveDate, HydrateError> {
        match text(doc, obj, prop)? {
            Some(s) => parse_date(&s),
            None => Err(HydrateError::unexpected("a date", "nothing".to_owned())),
        }
    }

    pub fn reconcile<R: Reconciler>(value: &chrono::NaiveDate, mut r: R) -> Result<(), R::Error> {
        r.str(value.format("%Y-%m-%d").to_string())
    }
}

/// An optional all-day date: a `YYYY-MM-DD` string or null.
pub mod opt_date {
    use super::*;

    pub fn hydrate<D: ReadDoc>(
        doc: &D,
        obj: &automerge::ObjId,
        prop: Prop<'_>,
    ) -> Result<Option<chrono::NaiveDate>, HydrateError> {
        text(doc, obj, prop)?.map(|s| parse_date(&s)).transpose()
    }

    pub fn reconcile<R: Reconciler>(value: &Option<chrono::NaiveDate>, mut r: R) -> Result<(), R::Error> {
        match value {
            Some(d) => r.str(d.format("%Y-%m-%d").to_string()),
            None => r.none(),
        }
    }
}

/// An optional UTC instant: RFC 3339 text or null.
pub mod opt_instant {
    use super::*;

    pub fn hydrate<D: ReadDoc>(
        doc: &D,
        obj: &automerge::ObjId,
        prop: Prop<'_>,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, HydrateError> {
        text(doc, obj, prop)?.map(|s| parse_instant(&s)).transpose()
    }

    pub fn reconcile<R: Reconciler>(
        value: &Option<chrono::DateTime<chrono::Utc>>,
        mut r: R,
    ) -> Result<(), R::Error> {
        match value {
            Some(t) => r.str(crate::time::instant_text(*t)),
            None => r.none(),
        }
    }
}

impl Hydrate for crate::time::ZonedDateTime {
    fn hydrate_string(s: &str) -> Result<Self, HydrateError> {
        s.parse()
            .map_err(|_| HydrateError::unexpected("a zoned time LOCAL+OFFSET[Zone]", format!("{s:?}")))
    }
}

impl autosurgeon::Reconcile for crate::time::ZonedDateTime {
    type Key<'a> = autosurgeon::reconcile::NoKey;

    fn reconcile<R: Reconciler>(&self, mut r: R) -> Result<(), R::Error> {
        r.str(self.to_string())
    }
}

/// Text of a date for a document.
pub(crate) fn date_text(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}
