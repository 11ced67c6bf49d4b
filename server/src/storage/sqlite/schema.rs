//! The server database's schema, as an ordered list of migrations.
//!
//! `PRAGMA user_version` holds the file's version; opening a file runs the migrations
//! it lacks, each in its own transaction, and refuses a file from a newer server. A
//! change here is a format change: a new migration at the end (never an edit of an
//! old one) and an updated schema snapshot (tests/integration/snapshots).

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 4;

/// Migrations, in order: entry `i` takes a file from version `i` to `i + 1`.
pub(super) const MIGRATIONS: &[&str] = &[
    // 0 -> 1.
    "CREATE TABLE caseworkers (
         id         INTEGER PRIMARY KEY,
         name       TEXT NOT NULL UNIQUE,
         created_at INTEGER NOT NULL
     );
     CREATE TABLE cases (
         case_id     TEXT PRIMARY KEY NOT NULL,
         caseworker  INTEGER REFERENCES caseworkers (id),
         talent_name TEXT NOT NULL,
         destination TEXT NOT NULL,
         created_at  INTEGER NOT NULL
     );
     CREATE INDEX cases_by_caseworker ON cases (caseworker);
     CREATE TABLE documents (
         doc_id     TEXT PRIMARY KEY NOT NULL,
         case_id    TEXT NOT NULL REFERENCES cases (case_id),
         kind       TEXT NOT NULL,
         -- Current heads, 32 bytes each, sorted, concatenated.
         heads      BLOB NOT NULL,
         -- From one counter for the whole server, renewed at every write.
         seq        INTEGER NOT NULL,
         created_at INTEGER NOT NULL
     );
     CREATE INDEX documents_by_case ON documents (case_id);
     CREATE UNIQUE INDEX documents_by_seq ON documents (seq);
     CREATE TABLE chunks (
         doc_id TEXT NOT NULL REFERENCES documents (doc_id),
         -- A change's hash, or a snapshot's key.
         hash   BLOB NOT NULL,
         kind   INTEGER NOT NULL CHECK (kind IN (0, 1)),
         bytes  BLOB NOT NULL,
         PRIMARY KEY (doc_id, hash)
     );
     CREATE TABLE devices (
         id              INTEGER PRIMARY KEY,
         role            TEXT NOT NULL CHECK (role IN ('talent', 'caseworker', 'family')),
         case_id         TEXT REFERENCES cases (case_id),
         caseworker      INTEGER REFERENCES caseworkers (id),
         -- SHA-256 of the enrolment code while it is unused.
         code_hash       BLOB UNIQUE,
         code_expires_at INTEGER NOT NULL,
         -- SHA-256 of the device token once enrolled.
         token_hash      BLOB UNIQUE,
         expires_at      INTEGER,
         name            TEXT,
         created_at      INTEGER NOT NULL,
         enrolled_at     INTEGER,
         revoked_at      INTEGER,
         last_sync_at    INTEGER,
         known_digest    BLOB,
         cursor          INTEGER NOT NULL DEFAULT 0
     );
     CREATE INDEX devices_by_case ON devices (case_id);
     CREATE INDEX devices_by_caseworker ON devices (caseworker);
     CREATE TABLE peer_heads (
         device_id INTEGER NOT NULL REFERENCES devices (id),
         doc_id    TEXT NOT NULL,
         heads     BLOB NOT NULL,
         PRIMARY KEY (device_id, doc_id)
     ) WITHOUT ROWID;
     CREATE TABLE audit (
         id        INTEGER PRIMARY KEY,
         at        INTEGER NOT NULL,
         device_id INTEGER,
         role      TEXT,
         action    TEXT NOT NULL,
         case_id   TEXT,
         doc_id    TEXT,
         allowed   INTEGER NOT NULL,
         reason    TEXT,
         bytes_in  INTEGER NOT NULL,
         bytes_out INTEGER NOT NULL
     );
     CREATE INDEX audit_by_case ON audit (case_id, id);",
    // 1 -> 2: the bytes each document holds (for its quota), and the proof an
    // enrolling device chose (only it may ask again for a token whose answer it lost).
    "ALTER TABLE documents ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
     UPDATE documents SET bytes =
         (SELECT coalesce(sum(length(c.bytes)), 0) FROM chunks c WHERE c.doc_id = documents.doc_id);
     -- SHA-256 of the secret the device sent with its first redemption.
     ALTER TABLE devices ADD COLUMN proof_hash BLOB;",
    // 2 -> 3: documents sealed at rest: each one's data key, wrapped by the server's
    // master key, and the canary that recognises the master key.
    "CREATE TABLE doc_keys (
         doc_id  TEXT PRIMARY KEY NOT NULL,
         wrapped BLOB NOT NULL
     ) WITHOUT ROWID;
     CREATE TABLE server_meta (
         key   TEXT PRIMARY KEY NOT NULL,
         value BLOB NOT NULL
     ) WITHOUT ROWID;",
    // 3 -> 4: authorship (which device first used each Automerge actor, who each
    // change came from) and erased documents.
    "CREATE TABLE actors (
         actor      BLOB PRIMARY KEY NOT NULL,
         device_id  INTEGER NOT NULL REFERENCES devices (id),
         first_seen INTEGER NOT NULL
     ) WITHOUT ROWID;
     CREATE TABLE authorship (
         doc_id      TEXT NOT NULL,
         hash        BLOB NOT NULL,
         -- NULL: the server made the change.
         device_id   INTEGER REFERENCES devices (id),
         received_at INTEGER NOT NULL,
         PRIMARY KEY (doc_id, hash)
     ) WITHOUT ROWID;
     CREATE TABLE erased (
         doc_id    TEXT PRIMARY KEY NOT NULL,
         case_id   TEXT NOT NULL,
         erased_at INTEGER NOT NULL,
         -- NULL: an admin command.
         device_id INTEGER REFERENCES devices (id)
     ) WITHOUT ROWID;",
];
