//! Export of a case as JSON, in a documented and versioned format.
//!
//! The format is `passage.case-export` version 1, described field by field in
//! docs/export-format.md and pinned by a snapshot test. A new field is a compatible
//! change; renaming or removing one is a new version.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::access::Identity;
use crate::arrival_plan::ArrivalPlan;
use crate::conflict::Conflict;
use crate::doc::journey::Journey;
use crate::doc::medical::Medical;
use crate::history::HistoryEntry;

/// Name of the export format.
pub const EXPORT_FORMAT: &str = "passage.case-export";
/// Version of the export format.
pub const EXPORT_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize)]
pub struct CaseExport {
    pub format: &'static str,
    pub version: u32,
    pub case_id: String,
    pub exported_at: DateTime<Utc>,
    pub exported_by: Identity,
    pub journey: Journey,
    /// Present only when the exporting role may read medical data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medical: Option<Medical>,
    pub arrival_plan: ArrivalPlan,
    pub conflicts: Vec<Conflict>,
    pub history: Vec<HistoryEntry>,
}

impl CaseExport {
    /// Pretty-printed JSON, as written to export files.
    pub fn to_json(&self) -> serde_json::Result<String> {
        serde_json::to_string_pretty(self)
    }
}
