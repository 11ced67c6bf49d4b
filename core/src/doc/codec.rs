//! How values that are not autosurgeon's own types are written into documents.
//!
//! Dates, instants and zoned times are stored as text (ISO 8601 / RFC 3339 / RFC 9557)
//! so that a client in any language reads them without knowing chrono. Each submodule
//! is an autosurgeon `with=` codec for writing; reading goes through serde (see
//! [`super::read`]), where chrono's own text forms are the same.

use autosurgeon::Reconciler;

/// An all-day date, `YYYY-MM-DD`.
pub mod date {
    use super::Reconciler;

    pub fn reconcile<R: Reconciler>(value: &chrono::NaiveDate, mut r: R) -> Result<(), R::Error> {
        r.str(super::date_text(*value))
    }
}

/// An optional all-day date: a `YYYY-MM-DD` string or null.
pub mod opt_date {
    use super::Reconciler;

    pub fn reconcile<R: Reconciler>(value: &Option<chrono::NaiveDate>, mut r: R) -> Result<(), R::Error> {
        match value {
            Some(d) => r.str(super::date_text(*d)),
            None => r.none(),
        }
    }
}

/// An optional UTC instant: RFC 3339 text or null.
pub mod opt_instant {
    use super::Reconciler;

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
