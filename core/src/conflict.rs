//! Concurrent values of critical fields, kept for a person to choose.
//!
//! Automerge merges concurrent writes to one field deterministically (one value wins on
//! every replica) and keeps the others. For most fields the winner is fine; for the
//! fields where a silent wrong choice sends someone to the wrong airport or clinic
//! (flight times, appointment times, the housing address, the permit decision) we list
//! every concurrent value with who set it, and resolving writes the chosen one, which
//! supersedes them all: in field tools, concurrent offline edits silently overwriting
//! each other is the complaint people make most.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ROOT, ReadDoc, ScalarValue, Value};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::access::Action;
use crate::doc::{get_list, get_map, map_at};
use crate::error::{Error, Result};
use crate::history;
use crate::ids::{DocId, DocKind};

string_enum! {
    /// The fields whose concurrent values are listed instead of silently merged.
    pub enum CriticalField (label = "critical") {
        PermitDecision = "permit_decision",
        HousingAddress = "housing_address",
        FlightDeparture = "flight_departure",
        FlightArrival = "flight_arrival",
        AppointmentTime = "appointment_time",
    }
}

impl CriticalField {
    /// The action needed to choose among its values: the same as to set it.
    pub fn action(self) -> Action {
        match self {
            CriticalField::PermitDecision => Action::SetPermitDecision,
            CriticalField::HousingAddress => Action::SetHousing,
            CriticalField::FlightDeparture | CriticalField::FlightArrival => Action::EditBookings,
            CriticalField::AppointmentTime => Action::RecordAppointment,
        }
    }
}

/// A field with more than one concurrent value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// Stable id: `<doc kind>:<path>`, e.g. `journey:/travel/housing/address`.
    pub id: String,
    pub doc: DocKind,
    pub field: CriticalField,
    /// Path of the field in its document.
    pub path: String,
    /// The concurrent values, in the same order on every replica. The first is the one
    /// Automerge shows until someone resolves the conflict.
    pub values: Vec<ConflictValue>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConflictValue {
    pub value: String,
    pub by: Option<String>,
    pub at: Option<DateTime<Utc>>,
}

/// Where a critical field lives.
struct Site {
    field: CriticalField,
    obj: ObjId,
    key: &'static str,
    path: String,
}

fn journey_sites(doc: &AutoCommit) -> Vec<Site> {
    let mut sites = Vec::new();
    if let Some(obj) = map_at(doc, &["permit"]) {
        sites.push(Site {
            field: CriticalField::PermitDecision,
            obj,
            key: "decision",
            path: "/permit/decision".into(),
        });
    }
    if let Some(obj) = map_at(doc, &["travel", "housing"]) {
        sites.push(Site {
            field: CriticalField::HousingAddress,
            obj,
            key: "address",
            path: "/travel/housing/address".into(),
        });
    }
    if let Some(flights) = map_at(doc, &["travel", "flights"]) {
        for booking in doc.keys(&flights).collect::<Vec<_>>() {
            let Some(segments) = get_map(doc, &flights, &booking).and_then(|f| get_list(doc, &f, "segments"))
            else {
                continue;
            };
            for i in 0..doc.length(&segments) {
                let Ok(Some((Value::Object(_), seg))) = doc.get(&segments, i) else {
                    continue;
                };
                for (field, key) in [
                    (CriticalField::FlightDeparture, "departs"),
                    (CriticalField::FlightArrival, "arrives"),
                ] {
                    let path = format!("/travel/flights/{booking}/segments/{i}/{key}");
                    sites.push(Site {
                        field,
                        obj: seg.clone(),
                        key,
                        path,
                    });
                }
            }
        }
    }
    sites
}

fn medical_sites(doc: &AutoCommit) -> Vec<Site> {
    let Some(appointments) = get_map(doc, &ROOT, "appointments") else {
        return vec![];
    };
    doc.keys(&appointments)
        .collect::<Vec<_>>()
        .into_iter()
        .filter_map(|id| {
            let obj = get_map(doc, &appointments, &id)?;
            Some(Site {
                field: CriticalField::AppointmentTime,
                obj,
                key: "at",
                path: format!("/appointments/{id}/at"),
            })
        })
        .collect()
}

fn sites(doc: &AutoCommit, kind: DocKind) -> Vec<Site> {
    match kind {
        DocKind::Journey => journey_sites(doc),
        DocKind::Medical => medical_sites(doc),
        DocKind::ArrivalPlan => vec![],
    }
}

/// Every critical field of the document that has concurrent values.
pub(crate) fn list(doc: &AutoCommit, kind: DocKind) -> Vec<Conflict> {
    let mut found = Vec::new();
    for site in sites(doc, kind) {
        let values = match doc.get_all(&site.obj, site.key) {
            Ok(values) if values.len() > 1 => values,
            _ => continue,
        };
        let values = values
            .into_iter()
            .map(|(value, op)| {
                let (by, at) = match doc.hash_for_opid(&op) {
                    Some(hash) => history::author(doc, &hash),
                    None => (None, None),
                };
                ConflictValue {
                    value: scalar_text(&value),
                    by,
                    at,
                }
            })
            .collect();
        found.push(Conflict {
            id: format!("{}:{}", kind.as_str(), site.path),
            doc: kind,
            field: site.field,
            path: site.path,
            values,
        });
    }
    found
}

/// The document kind a conflict id belongs to.
pub(crate) fn doc_kind_of(conflict_id: &str) -> Result<DocKind> {
    conflict_id
        .split_once(':')
        .and_then(|(kind, _)| kind.parse().ok())
        .ok_or_else(|| Error::InvalidInput(format!("{conflict_id:?} is not a conflict id (kind:/path)")))
}

/// Chooses value number `pick` (from 0) of a conflict, by writing it again: the new
/// write supersedes every concurrent value. The caller checked the role with [`find`].
pub(crate) fn resolve(doc: &mut AutoCommit, id: &DocId, conflict_id: &str, pick: usize) -> Result<()> {
    let kind = id.kind;
    let conflict = find(doc, kind, conflict_id)?;
    let chosen = conflict.values.get(pick).ok_or_else(|| {
        Error::InvalidInput(format!(
            "conflict {conflict_id} has {} values; pick 0 to {}",
            conflict.values.len(),
            conflict.values.len() - 1
        ))
    })?;
    let site = sites(doc, kind)
        .into_iter()
        .find(|s| s.path == conflict.path)
        .ok_or_else(|| Error::NotFound(format!("conflict {conflict_id}")))?;
    let value = chosen.value.clone();
    doc.put(&site.obj, site.key, value)
        .map_err(|source| Error::Automerge {
            doc: id.clone(),
            source: Box::new(source),
        })?;
    Ok(())
}

/// The open conflict with this id.
pub(crate) fn find(doc: &AutoCommit, kind: DocKind, conflict_id: &str) -> Result<Conflict> {
    list(doc, kind)
        .into_iter()
        .find(|c| c.id == conflict_id)
        .ok_or_else(|| Error::NotFound(format!("open conflict {conflict_id}")))
}

fn scalar_text(value: &Value<'_>) -> String {
    match value {
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Str(s) => s.to_string(),
            other => other.to_string(),
        },
        Value::Object(t) => format!("<{t}>"),
    }
}
