//! Enrolment and sync as a person reads them: what enrolment gave the device, a
//! one-line summary of a sync, and the sync status.
//!
//! Byte counts are shown as numbers with the catalogue's word for bytes: a person on
//! a metered connection in Lebanon wants to know what a sync cost.

use passage_core::sync::{Enrolment, SyncReport, SyncServer, SyncState};

use super::{Text, label, put, utc};

pub(crate) fn enrolment(t: &Text, e: &Enrolment) -> String {
    let mut out = String::new();
    put!(
        out,
        "{}: {} · {}",
        t.label(label::DONE_ENROLLED),
        t.word(&e.role),
        e.server
    );
    if !e.cases.is_empty() {
        let cases: Vec<String> = e.cases.iter().map(ToString::to_string).collect();
        put!(out, "  {}", t.field(label::FIELD_CASES, cases.join(", ")));
    }
    if let Some(expires) = &e.expires_at {
        put!(out, "  {}", t.field(label::FIELD_ACCESS_EXPIRES, utc(expires)));
    }
    put!(out, "  {}", t.label(label::NOTE_NEXT_STEP_SYNC));
    out
}

/// One line: `synced: Round trips: 1 · Documents sent: 2 · Changes received: 0 ·
/// Sent: 812 bytes · Received: 143 bytes`, and a second when there is more to send.
pub(crate) fn report(t: &Text, r: &SyncReport) -> String {
    let mut out = String::new();
    let bytes = t.label(label::NOTE_BYTES);
    put!(
        out,
        "{}: {} · {} · {} · {} · {}",
        t.label(label::DONE_SYNCED),
        t.field(label::FIELD_ROUNDS, r.rounds),
        t.field(label::FIELD_DOCUMENTS_SENT, r.documents_pushed),
        t.field(label::FIELD_CHANGES_RECEIVED, r.changes_received),
        t.field(label::FIELD_BYTES_SENT, format!("{} {bytes}", r.bytes_up)),
        t.field(label::FIELD_BYTES_RECEIVED, format!("{} {bytes}", r.bytes_down)),
    );
    if !r.complete {
        put!(out, "  {}", t.label(label::NOTE_MORE_TO_SYNC));
    }
    out
}

pub(crate) fn status(t: &Text, server: Option<&SyncServer>, s: &SyncState) -> String {
    let mut out = String::new();
    put!(out, "{}", t.label(label::HEADING_SYNC));
    let Some(server) = server else {
        put!(out, "  {}", t.label(label::NOTE_NOT_ENROLLED));
        put!(
            out,
            "  {}",
            t.field(label::FIELD_PENDING_DOCUMENTS, s.pending_documents)
        );
        return out;
    };
    put!(out, "  {}", t.field(label::FIELD_SERVER, &server.url));
    if let Some(role) = &server.role {
        put!(out, "  {}", t.field(label::FIELD_ROLE, t.word(role)));
    }
    if let Some(expires) = &server.expires_at {
        put!(out, "  {}", t.field(label::FIELD_ACCESS_EXPIRES, utc(expires)));
    }
    let last = s
        .last_success
        .as_ref()
        .map_or_else(|| t.label(label::NOTE_NEVER), utc);
    put!(out, "  {}", t.field(label::FIELD_LAST_SUCCESS, last));
    if let Some(error) = &s.last_error {
        put!(out, "  {}", t.field(label::FIELD_LAST_ERROR, error));
    }
    if let Some(next) = &s.next_attempt_after {
        put!(out, "  {}", t.field(label::FIELD_NEXT_ATTEMPT, utc(next)));
    }
    put!(
        out,
        "  {}",
        t.field(label::FIELD_PENDING_DOCUMENTS, s.pending_documents)
    );
    for held in &s.held {
        put!(
            out,
            "  {}",
            t.field(label::FIELD_HELD, format!("{} · {}", held.doc, held.reason))
        );
    }
    out
}
