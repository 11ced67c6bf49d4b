//! Snapshot tests of every format that outlives a process: the SQLite schema, the
//! three document shapes as Automerge holds them, the history note, and the export.
//! A change to any of these is a format change: it needs a migration (store), a
//! schema bump (documents) or a new export version, and an updated snapshot.

use passage_core::model::TaskStatus;
use passage_core::{CaseId, DocKind, Edit, Role, Store};
use serde_json::Value;

use crate::support::{self, Dir, appointment, daughter, flight, housing, meeting};

/// Replaces what differs between runs (random ids, change hashes, actor ids) by stable
/// placeholders, in keys and values alike.
fn stable(value: Value, ids: &[(&str, &str)]) -> Value {
    let text = serde_json::to_string(&value).expect("json");
    let text = ids.iter().fold(text, |t, (id, name)| t.replace(id, name));
    let value: Value = serde_json::from_str(&text).expect("json");
    fn walk(v: Value) -> Value {
        match v {
            Value::String(s) if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Value::String("<change hash>".into())
            }
            Value::Array(items) => Value::Array(items.into_iter().map(walk).collect()),
            Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, walk(v))).collect()),
            other => other,
        }
    }
    walk(value)
}

struct Sample {
    _dir: Dir,
    store: Store,
    case: CaseId,
    ids: Vec<(String, String)>,
}

/// A Belgian journey with one of everything.
fn sample() -> Sample {
    let dir = Dir::new();
    let (store, case) = support::belgian_case(&dir, "snapshot.db");
    let mut ids = vec![(case.to_string(), "<case>".to_owned())];
    let mut created = |name: &str, edit: Edit| {
        let id = store.apply(&case, &edit).expect("edit").created.expect("id");
        ids.push((id, format!("<{name}>")));
    };
    created("flight", Edit::AddFlight { booking: flight() });
    created("member", Edit::AddFamilyMember { member: daughter() });
    created(
        "appointment",
        Edit::AddAppointment {
            appointment: appointment(),
        },
    );
    for edit in [
        Edit::SetHousing { housing: housing() },
        Edit::SetArrivalMeeting { meeting: meeting() },
        Edit::SetTaskStatus {
            task: "attend_medical_exam".into(),
            status: TaskStatus::Done,
        },
        Edit::SetTaskStatus {
            task: "complete_talent_profile".into(),
            status: TaskStatus::Done,
        },
    ] {
        store.apply(&case, &edit).expect("edit");
    }
    Sample {
        _dir: dir,
        store,
        case,
        ids,
    }
}

impl Sample {
    fn stable(&self, value: Value) -> Value {
        let ids: Vec<(&str, &str)> = self.ids.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        stable(value, &ids)
    }

    /// The document exactly as Automerge holds it (what is on disk and on the wire).
    fn document(&self, kind: DocKind) -> Value {
        let bytes = self.store.save_document(&self.case.doc(kind)).expect("save");
        let doc = automerge::AutoCommit::load(&bytes).expect("load");
        self.stable(serde_json::to_value(automerge::AutoSerde::from(&doc)).expect("json"))
    }
}

#[test]
fn store_schema() {
    let dir = Dir::new();
    let path = dir.path("schema.db");
    drop(support::open(&path, Role::Caseworker));
    let conn = rusqlite::Connection::open(&path).expect("raw");
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    let mut stmt = conn
        .prepare("SELECT type, name, sql FROM sqlite_master ORDER BY name")
        .expect("query");
    let rows: Vec<String> = stmt
        .query_map([], |r| {
            Ok(format!(
                "{} {}: {}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?.unwrap_or_default()
            ))
        })
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    insta::assert_snapshot!(format!(
        "user_version {version}\njournal_mode {mode}\n{}",
        rows.join("\n")
    ));
}

#[test]
fn journey_document() {
    let sample = sample();
    insta::assert_json_snapshot!(sample.document(DocKind::Journey));
}

#[test]
fn medical_document() {
    let sample = sample();
    insta::assert_json_snapshot!(sample.document(DocKind::Medical));
}

#[test]
fn arrival_plan() {
    let sample = sample();
    let plan = sample.store.arrival_plan(&sample.case).expect("plan");
    insta::assert_json_snapshot!(sample.stable(serde_json::to_value(plan).expect("json")));
}

#[test]
fn change_note() {
    let sample = sample();
    let history = sample.store.history(&sample.case).expect("history");
    insta::assert_json_snapshot!(sample.stable(serde_json::to_value(history).expect("json")));
}

#[test]
fn case_export_v1() {
    let sample = sample();
    let export = sample.store.export(&sample.case).expect("export");
    let value: Value = serde_json::from_str(&export.to_json().expect("serialises")).expect("export is JSON");
    insta::assert_json_snapshot!(sample.stable(value));
}
