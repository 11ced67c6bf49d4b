//! The `medical` document: health data under GDPR Art. 9.
//!
//! Kept apart from the journey so that it is a separate unit of access: family devices
//! never receive it, and its history never mixes with the journey's.
//!
//! Layout:
//! ```text
//! /schema /kind /case_id
//! /appointments/<id>/{clinic, at, purpose}
//! /tests/<id>/{name, date, result}
//! /vaccinations/<id>/{name, date}
//! /fitness/{decision, decided_on, valid_until}
//! ```

use std::collections::BTreeMap;

use automerge::AutoCommit;
use automerge::transaction::Transactable;
use autosurgeon::Reconcile;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::codec::{self, date_text};
use super::{DOC_SCHEMA, WriteError, map_at, put_opt_str};
use crate::model::FitnessDecision;
use crate::time::ZonedDateTime;

/// A medical record as stored: the hydrated `medical` document.
#[derive(Clone, Debug, PartialEq, Reconcile, Serialize, Deserialize)]
pub struct Medical {
    pub schema: i64,
    pub kind: String,
    pub case_id: String,
    pub appointments: BTreeMap<String, Appointment>,
    pub tests: BTreeMap<String, MedicalTest>,
    pub vaccinations: BTreeMap<String, Vaccination>,
    pub fitness: Fitness,
}

#[derive(Clone, Debug, PartialEq, Reconcile, Serialize, Deserialize)]
pub struct Appointment {
    pub clinic: String,
    /// Local time at the clinic.
    pub at: ZonedDateTime,
    pub purpose: String,
}

#[derive(Clone, Debug, PartialEq, Reconcile, Serialize, Deserialize)]
pub struct MedicalTest {
    pub name: String,
    #[autosurgeon(with = "codec::date")]
    pub date: NaiveDate,
    pub result: String,
}

#[derive(Clone, Debug, PartialEq, Reconcile, Serialize, Deserialize)]
pub struct Vaccination {
    pub name: String,
    #[autosurgeon(with = "codec::date")]
    pub date: NaiveDate,
}

#[derive(Clone, Debug, PartialEq, Reconcile, Serialize, Deserialize)]
pub struct Fitness {
    pub decision: FitnessDecision,
    #[autosurgeon(with = "codec::opt_date")]
    pub decided_on: Option<NaiveDate>,
    /// The fit-to-travel certificate is valid until this date.
    #[autosurgeon(with = "codec::opt_date")]
    pub valid_until: Option<NaiveDate>,
}

impl Medical {
    pub fn empty(case_id: &str) -> Medical {
        Medical {
            schema: DOC_SCHEMA as i64,
            kind: "medical".into(),
            case_id: case_id.to_owned(),
            appointments: BTreeMap::new(),
            tests: BTreeMap::new(),
            vaccinations: BTreeMap::new(),
            fitness: Fitness {
                decision: FitnessDecision::Pending,
                decided_on: None,
                valid_until: None,
            },
        }
    }

    /// Appointments in time order, with their ids.
    pub fn appointments_in_order(&self) -> Vec<(&str, &Appointment)> {
        let mut list: Vec<(&str, &Appointment)> =
            self.appointments.iter().map(|(k, a)| (k.as_str(), a)).collect();
        list.sort_by_key(|(k, a)| (a.at.instant(), *k));
        list
    }
}

type Write = Result<(), WriteError>;

fn add<T: Reconcile>(doc: &mut AutoCommit, map: &str, id: &str, value: &T) -> Write {
    let obj = map_at(doc, &[map]).ok_or_else(|| WriteError::Missing(format!("/{map}")))?;
    Ok(autosurgeon::reconcile_prop(doc, obj, id, value)?)
}

pub(crate) fn add_appointment(doc: &mut AutoCommit, id: &str, appointment: &Appointment) -> Write {
    add(doc, "appointments", id, appointment)
}

pub(crate) fn appointment_exists(doc: &AutoCommit, id: &str) -> bool {
    map_at(doc, &["appointments", id]).is_some()
}

pub(crate) fn reschedule_appointment(doc: &mut AutoCommit, id: &str, at: ZonedDateTime) -> Write {
    let obj = map_at(doc, &["appointments", id])
        .ok_or_else(|| WriteError::Missing(format!("/appointments/{id}")))?;
    Ok(doc.put(&obj, "at", at.to_string())?)
}

pub(crate) fn add_test(doc: &mut AutoCommit, id: &str, test: &MedicalTest) -> Write {
    add(doc, "tests", id, test)
}

pub(crate) fn add_vaccination(doc: &mut AutoCommit, id: &str, vaccination: &Vaccination) -> Write {
    add(doc, "vaccinations", id, vaccination)
}

pub(crate) fn set_fitness(doc: &mut AutoCommit, fitness: &Fitness) -> Write {
    let obj = map_at(doc, &["fitness"]).ok_or_else(|| WriteError::Missing("/fitness".into()))?;
    doc.put(&obj, "decision", fitness.decision.as_str())?;
    put_opt_str(doc, &obj, "decided_on", fitness.decided_on.map(date_text))?;
    Ok(put_opt_str(
        doc,
        &obj,
        "valid_until",
        fitness.valid_until.map(date_text),
    )?)
}
