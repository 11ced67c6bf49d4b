//! The arrival plan: what a family member may know of a talent's journey.
//!
//! [`project`] is a pure function from the journey to the plan: dates, flights, arrival
//! city, housing, who meets them, and the high-level progress of the stages family may
//! see. It reads only the `journey` document, never `medical`, and it leaves out the
//! medical-check stage entirely, so neither a medical value nor a medical field name
//! can reach a family device. The sync server writes its result as the case's
//! `arrival-plan` document after every accepted journey change (issue 3); talent and
//! caseworker devices compute it on demand.

use autosurgeon::Reconcile;
use serde::{Deserialize, Serialize};

use crate::doc::journey::{ArrivalMeeting, FlightSegment, Housing, Journey, TemplateRef};
use crate::model::{FamilyTravel, StageId, StageProgress};

/// The hydrated `arrival-plan` document.
#[derive(Clone, Debug, PartialEq, Reconcile, Serialize, Deserialize)]
pub struct ArrivalPlan {
    pub schema: i64,
    pub kind: String,
    pub case_id: String,
    pub talent_name: String,
    /// ISO 3166-1 alpha-2 code of the destination country.
    pub destination: String,
    /// Template of the journey, to name stages and the country in the reader's language.
    pub template: TemplateRef,
    /// Where the talent will live: the housing's city, else the last arrival airport.
    pub arrival_city: String,
    /// Trips in departure order. Booking references are left out: they let whoever
    /// holds them change the booking.
    pub trips: Vec<Trip>,
    pub housing: Housing,
    pub met_by: ArrivalMeeting,
    /// Family members travelling with the talent.
    pub travelling_with: Vec<String>,
    /// Progress of the stages family may see, in pathway order.
    pub stages: Vec<PlanStage>,
}

#[derive(Clone, Debug, PartialEq, Reconcile, Serialize, Deserialize)]
pub struct Trip {
    pub travellers: Vec<String>,
    pub segments: Vec<FlightSegment>,
}

#[derive(Clone, Debug, PartialEq, Reconcile, Serialize, Deserialize)]
pub struct PlanStage {
    pub stage: StageId,
    pub progress: StageProgress,
}

/// Whether a write at `path` of the journey (a patch's path, see
/// [`crate::doc::written_paths`]) can change what [`project`] makes of it: the server
/// derives the plan again only then. Everything [`project`] reads answers `true`,
/// and so does any path not named here.
pub fn reads(path: &[String]) -> bool {
    let keys: Vec<&str> = path.iter().map(String::as_str).collect();
    match keys.as_slice() {
        // A stage's progress reads its tasks' status and whether they are retired.
        ["stages", _, "tasks", _, field, ..] => matches!(*field, "status" | "retired"),
        ["permit" | "pdo" | "employer" | "job_title" | "start_date", ..]
        | ["travel", "self_booking", ..]
        | ["travel", "flights", _, "booking_reference", ..]
        | ["family", _, "relation", ..] => false,
        _ => true,
    }
}

/// The arrival plan of a journey.
pub fn project(journey: &Journey) -> ArrivalPlan {
    let trips: Vec<Trip> = journey
        .flights_in_order()
        .into_iter()
        .map(|(_, f)| Trip {
            travellers: f.travellers.clone(),
            segments: f.segments.clone(),
        })
        .collect();
    let last_airport = trips.last().and_then(|t| t.segments.last()).map(|s| s.to.clone());
    let housing = &journey.travel.housing;
    let arrival_city = if housing.city.trim().is_empty() {
        last_airport.unwrap_or_default()
    } else {
        housing.city.clone()
    };

    let mut current_seen = false;
    let stages = journey
        .stages_in_order()
        .into_iter()
        .filter(|(stage, _)| stage.family_visible())
        .map(|(stage, tasks)| {
            let complete = tasks
                .iter()
                .filter(|(_, t)| !t.retired)
                .all(|(_, t)| t.status.is_closed());
            let progress = if complete {
                StageProgress::Complete
            } else if current_seen {
                StageProgress::Upcoming
            } else {
                current_seen = true;
                StageProgress::Current
            };
            PlanStage { stage, progress }
        })
        .collect();

    let mut travelling_with: Vec<String> = journey
        .family
        .values()
        .filter(|m| m.travel == FamilyTravel::WithTalent)
        .map(|m| m.name.clone())
        .collect();
    travelling_with.sort();

    ArrivalPlan {
        schema: crate::doc::DOC_SCHEMA as i64,
        kind: "arrival-plan".into(),
        case_id: journey.case_id.clone(),
        talent_name: journey.talent_name.clone(),
        destination: journey.destination.clone(),
        template: journey.template.clone(),
        arrival_city,
        trips,
        housing: housing.clone(),
        met_by: journey.travel.meeting.clone(),
        travelling_with,
        stages,
    }
}
