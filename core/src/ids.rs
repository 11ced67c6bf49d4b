//! Identifiers of cases and documents.
//!
//! A case is one talent's journey; it owns up to three Automerge documents, one per
//! audience (see ARCHITECTURE.md, "one document is the unit of access"). The document id
//! is the case id plus the kind, so a store or a server can tell from the id alone which
//! audience a document is for, without reading it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// A case: one talent's journey. Random, 32 lower-case hex characters (16 bytes on the
/// sync wire).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CaseId(String);

impl CaseId {
    /// A new random case id.
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of this case's document of the given kind.
    pub fn doc(&self, kind: DocKind) -> DocId {
        DocId {
            case: self.clone(),
            kind,
        }
    }
}

impl FromStr for CaseId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let ok = s.len() == 32
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::InvalidInput(format!(
                "case id {s:?} is not 32 lower-case hex characters"
            )))
        }
    }
}

impl TryFrom<String> for CaseId {
    type Error = Error;

    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<CaseId> for String {
    fn from(id: CaseId) -> String {
        id.0
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The three documents of a case, one per audience.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DocKind {
    /// Checklist, travel, PDO and family: talent and caseworker.
    Journey,
    /// Health data (GDPR Art. 9): talent and caseworker, never family.
    Medical,
    /// The projection of the journey that family members may read.
    ArrivalPlan,
}

impl DocKind {
    pub const ALL: [DocKind; 3] = [DocKind::Journey, DocKind::Medical, DocKind::ArrivalPlan];

    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Journey => "journey",
            DocKind::Medical => "medical",
            DocKind::ArrivalPlan => "arrival-plan",
        }
    }
}

impl FromStr for DocKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        DocKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Error::InvalidInput(format!("unknown document kind {s:?}")))
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A document: `<case id>/<kind>`, e.g. `3f2a…/journey`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocId {
    pub case: CaseId,
    pub kind: DocKind,
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.case, self.kind)
    }
}

impl FromStr for DocId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let (case, kind) = s
            .split_once('/')
            .ok_or_else(|| Error::InvalidInput(format!("document id {s:?} has no '/'")))?;
        Ok(DocId {
            case: case.parse()?,
            kind: kind.parse()?,
        })
    }
}

/// A fresh id for an entity inside a document (a flight, an appointment, a family
/// member). Random, so two offline devices adding entities never pick the same map key
/// and never produce a conflict on the container.
pub(crate) fn entity_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    id[..12].to_owned()
}
