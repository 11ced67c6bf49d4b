//! The SQLite file: schema, migrations, durability, and the chunk rows.
//!
//! One row per Automerge change (kind 0) or snapshot (kind 1), keyed by document and
//! hash, so writing a chunk twice is a no-op. Compaction replaces a document's rows by
//! one snapshot in a single transaction. The file is in WAL mode; the durability
//! setting is [`Durability`], `FULL` by default so that an acknowledged edit survives
//! power loss as well as an app kill (SQLite's `NORMAL` may roll the last commits back
//! after a power cut). In a sealed store ([`super::key`]) every chunk's bytes are
//! sealed here on the way in and opened on the way out, so nothing above this module
//! sees a sealed byte and nothing below it a plain one. Deleted content is overwritten
//! with zeros (`secure_delete`), and temporary tables stay in memory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::key::{DocSeal, Keys};
use crate::error::{Error, Result};
use crate::ids::{CaseId, DocId};

/// The schema version this build writes. `PRAGMA user_version` holds the file's.
pub(crate) const SCHEMA_VERSION: i64 = 5;

/// Migrations, in order: entry `i` takes a file from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 0 -> 1: documents and their chunks.
    "CREATE TABLE documents (
         doc_id     TEXT PRIMARY KEY NOT NULL,
         case_id    TEXT NOT NULL,
         kind       TEXT NOT NULL,
         created_at INTEGER NOT NULL
     );
     CREATE INDEX documents_case ON documents (case_id);
     CREATE TABLE chunks (
         doc_id   TEXT NOT NULL REFERENCES documents (doc_id),
         hash     BLOB NOT NULL,
         kind     INTEGER NOT NULL CHECK (kind IN (0, 1)),
         bytes    BLOB NOT NULL,
         -- For snapshots: the heads they cover, 32 bytes each, concatenated.
         heads    BLOB,
         PRIMARY KEY (doc_id, hash)
     );
     CREATE INDEX chunks_by_kind ON chunks (doc_id, kind);",
    // 1 -> 2: what the device knows of the sync server.
    "CREATE TABLE sync_state (
         doc_id       TEXT PRIMARY KEY NOT NULL REFERENCES documents (doc_id),
         -- The server's heads as last received, 32 bytes each, concatenated.
         server_heads BLOB NOT NULL,
         -- Chunk rows up to this rowid are covered by server_heads: a document with a
         -- later row may have changes the server lacks.
         synced_rowid INTEGER NOT NULL
     );
     CREATE TABLE sync_meta (
         key   TEXT PRIMARY KEY NOT NULL,
         value TEXT NOT NULL
     );",
    // 2 -> 3: facts about the store itself (the key canary, see `key.rs`).
    "CREATE TABLE store_meta (
         key   TEXT PRIMARY KEY NOT NULL,
         value BLOB NOT NULL
     );",
    // 3 -> 4: each document's data key, wrapped by the store key (`key.rs`).
    "CREATE TABLE doc_keys (
         doc_id  TEXT PRIMARY KEY NOT NULL,
         wrapped BLOB NOT NULL
     );",
    // 4 -> 5: what the server vouched for about each change (`vouch.rs`), and erased
    // documents (`erase.rs`).
    "CREATE TABLE vouchers (
         doc_id  TEXT NOT NULL,
         hash    BLOB NOT NULL,
         -- JSON, sealed under the document's key in a sealed store.
         voucher BLOB NOT NULL,
         PRIMARY KEY (doc_id, hash)
     ) WITHOUT ROWID;
     CREATE TABLE erased (
         doc_id    TEXT PRIMARY KEY NOT NULL,
         erased_at INTEGER NOT NULL,
         -- 0: the server is still to be told; 1: done; 2: the server refused.
         state     INTEGER NOT NULL
     ) WITHOUT ROWID;",
];

/// How hard a commit waits for the disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=FULL`: the WAL is synced at every commit. An acknowledged edit
    /// survives an app kill, an OS crash and power loss. The default.
    #[default]
    Full,
    /// `synchronous=NORMAL`: survives an app kill; the last commits may roll back on
    /// power loss. For caches and benchmarks, not for people's data.
    Normal,
}

impl Durability {
    pub(crate) fn pragma(self) -> &'static str {
        match self {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        }
    }
}

/// Chunk kinds in the `kind` column.
pub(crate) const CHANGE: i64 = 0;
pub(crate) const SNAPSHOT: i64 = 1;

/// A chunk row as read back.
#[derive(Debug)]
pub(crate) struct ChunkRow {
    pub(crate) hash: Vec<u8>,
    pub(crate) kind: i64,
    pub(crate) bytes: Vec<u8>,
}

#[derive(Debug)]
pub(crate) struct Db {
    pub(crate) path: PathBuf,
    pub(crate) conn: Connection,
    /// The keys of a sealed store once unlocked; `None` for a plain store.
    pub(crate) keys: Option<Keys>,
}

impl Db {
    pub(crate) fn open(path: &Path, durability: Durability, max_size_bytes: Option<u64>) -> Result<Db> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let fail = |e| Error::storage(path, e);
        let conn = Connection::open(path).map_err(fail)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(fail)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(fail)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Storage {
                path: path.to_owned(),
                source: Box::new(rusqlite::Error::InvalidParameterName(format!(
                    "journal_mode is {mode}, WAL needed"
                ))),
            });
        }
        conn.execute_batch(&format!(
            "PRAGMA synchronous = {}; PRAGMA foreign_keys = ON;
             PRAGMA secure_delete = ON; PRAGMA temp_store = MEMORY;",
            durability.pragma()
        ))
        .map_err(fail)?;
        let mut db = Db {
            path: path.to_owned(),
            conn,
            keys: None,
        };
        db.migrate()?;
        if let Some(max) = max_size_bytes {
            let page_size: i64 = db
                .conn
                .query_row("PRAGMA page_size", [], |r| r.get(0))
                .map_err(|e| db.fail(e))?;
            let pages = (max / page_size.max(1) as u64).max(1);
            // SQLite answers with the page count it settled on; it never goes below
            // the pages already in use.
            let _: i64 = db
                .conn
                .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| r.get(0))
                .map_err(|e| db.fail(e))?;
        }
        Ok(db)
    }

    pub(crate) fn fail(&self, e: rusqlite::Error) -> Error {
        Error::storage(&self.path, e)
    }

    /// Brings the file to [`SCHEMA_VERSION`], one transaction per step, or refuses a
    /// file from a newer build.
    fn migrate(&mut self) -> Result<()> {
        let path = self.path.clone();
        let fail = |e| Error::storage(&path, e);
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(fail)?;
        if version > SCHEMA_VERSION {
            return Err(Error::NewerFormat {
                what: format!("store {}", path.display()),
                found: version as u64,
                supported: SCHEMA_VERSION as u64,
            });
        }
        for (step, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(fail)?;
            tx.execute_batch(sql).map_err(fail)?;
            tx.pragma_update(None, "user_version", step as i64 + 1)
                .map_err(fail)?;
            tx.commit().map_err(fail)?;
        }
        Ok(())
    }

    pub(crate) fn document_exists(&self, doc: &DocId) -> Result<bool> {
        self.conn
            .query_row(
                "SELECT 1 FROM documents WHERE doc_id = ?1",
                [doc.to_string()],
                |_| Ok(()),
            )
            .optional()
            .map(|r| r.is_some())
            .map_err(|e| self.fail(e))
    }

    /// All chunks of a document, snapshots first.
    pub(crate) fn chunks(&self, doc: &DocId) -> Result<Vec<ChunkRow>> {
        let mut stmt = self
            .conn
            // Snapshots, then changes in the order they were written; each part is
            // one scan of the `chunks_by_kind` index, so no blob is sorted.
            .prepare_cached(
                "SELECT hash, kind, bytes FROM chunks WHERE doc_id = ?1 AND kind = 1
                 UNION ALL
                 SELECT hash, kind, bytes FROM (SELECT hash, kind, bytes FROM chunks
                                                WHERE doc_id = ?1 AND kind = 0 ORDER BY rowid)",
            )
            .map_err(|e| self.fail(e))?;
        let rows = stmt
            .query_map([doc.to_string()], |r| {
                Ok(ChunkRow {
                    hash: r.get(0)?,
                    kind: r.get(1)?,
                    bytes: r.get(2)?,
                })
            })
            .map_err(|e| self.fail(e))?;
        let mut rows = rows
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.fail(e))?;
        if let Some(keys) = &self.keys
            && let Some(first) = rows.first()
        {
            let seal = keys
                .sealer(&self.conn, doc)?
                .ok_or_else(|| Error::CorruptDocument {
                    doc: doc.clone(),
                    chunk: hex::encode(&first.hash),
                    reason: "the document has no key (it was erased)".into(),
                })?;
            for row in &mut rows {
                row.bytes = seal.open_chunk(doc, &row.hash, &row.bytes)?;
            }
        }
        Ok(rows)
    }

    /// The document's data key in a sealed store, fetched (or made) once inside the
    /// write transaction `conn` that stores its chunks; `None` in a plain store.
    pub(super) fn sealer(keys: Option<&Keys>, conn: &Connection, doc: &DocId) -> Result<Option<DocSeal>> {
        keys.map(|keys| keys.sealer_or_new(conn, doc)).transpose()
    }

    /// A chunk's bytes as stored: sealed under the document's key in a sealed store.
    fn stored(seal: Option<&DocSeal>, hash: &[u8], bytes: &[u8]) -> Result<Vec<u8>> {
        match seal {
            Some(seal) => seal.seal_chunk(hash, bytes),
            None => Ok(bytes.to_vec()),
        }
    }

    /// Writes new documents with their first changes, all or nothing.
    pub(crate) fn create_documents(&mut self, docs: &[(DocId, Vec<u8>, Vec<u8>)], now: i64) -> Result<()> {
        let path = self.path.clone();
        let fail = |e| Error::storage(&path, e);
        let keys = self.keys.as_ref();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        for (doc, hash, bytes) in docs {
            tx.execute(
                "INSERT INTO documents (doc_id, case_id, kind, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![doc.to_string(), doc.case.as_str(), doc.kind.as_str(), now],
            )
            .map_err(fail)?;
            let seal = Self::sealer(keys, &tx, doc)?;
            let stored = Self::stored(seal.as_ref(), hash, bytes)?;
            tx.execute(
                "INSERT OR IGNORE INTO chunks (doc_id, hash, kind, bytes) VALUES (?1, ?2, ?3, ?4)",
                params![doc.to_string(), hash, CHANGE, stored],
            )
            .map_err(fail)?;
        }
        tx.commit().map_err(fail)
    }

    /// Appends change rows in one transaction. Returns how many were new. With
    /// `new_document` (its creation time), the document's row is written in the same
    /// transaction: a document that arrives by sync never exists without its changes.
    pub(crate) fn append_changes(
        &mut self,
        doc: &DocId,
        changes: &[(Vec<u8>, Vec<u8>)],
        new_document: Option<i64>,
    ) -> Result<usize> {
        let path = self.path.clone();
        let fail = |e| Error::storage(&path, e);
        let keys = self.keys.as_ref();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        if let Some(now) = new_document {
            tx.execute(
                "INSERT OR IGNORE INTO documents (doc_id, case_id, kind, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![doc.to_string(), doc.case.as_str(), doc.kind.as_str(), now],
            )
            .map_err(fail)?;
        }
        let mut added = 0;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO chunks (doc_id, hash, kind, bytes) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(fail)?;
            let id = doc.to_string();
            let seal = Self::sealer(keys, &tx, doc)?;
            for (hash, bytes) in changes {
                let stored = Self::stored(seal.as_ref(), hash, bytes)?;
                added += stmt.execute(params![id, hash, CHANGE, stored]).map_err(fail)?;
            }
        }
        tx.commit().map_err(fail)?;
        Ok(added)
    }

    /// Replaces the chunks a snapshot covers by the snapshot, in one transaction.
    /// `covered` decides, per existing row, whether the snapshot contains it; rows it
    /// does not contain (written by another process meanwhile) stay.
    pub(crate) fn replace_with_snapshot(
        &mut self,
        doc: &DocId,
        snapshot_key: &[u8],
        heads: &[u8],
        snapshot: &[u8],
        covered: impl Fn(i64, &[u8], Option<&[u8]>) -> bool,
    ) -> Result<usize> {
        let path = self.path.clone();
        let fail = |e| Error::storage(&path, e);
        let id = doc.to_string();
        let keys = self.keys.as_ref();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let existing: Vec<(i64, Vec<u8>, Option<Vec<u8>>)> = {
            let mut stmt = tx
                .prepare("SELECT kind, hash, heads FROM chunks WHERE doc_id = ?1")
                .map_err(fail)?;
            let rows = stmt
                .query_map([&id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(fail)?;
            rows.collect::<rusqlite::Result<_>>().map_err(fail)?
        };
        let seal = Self::sealer(keys, &tx, doc)?;
        let stored = Self::stored(seal.as_ref(), snapshot_key, snapshot)?;
        tx.execute(
            "INSERT OR REPLACE INTO chunks (doc_id, hash, kind, bytes, heads) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, snapshot_key, SNAPSHOT, stored, heads],
        )
        .map_err(fail)?;
        let mut removed = 0;
        for (kind, hash, row_heads) in existing {
            if hash != snapshot_key && covered(kind, &hash, row_heads.as_deref()) {
                removed += tx
                    .execute(
                        "DELETE FROM chunks WHERE doc_id = ?1 AND hash = ?2",
                        params![id, hash],
                    )
                    .map_err(fail)?;
            }
        }
        tx.commit().map_err(fail)?;
        Ok(removed)
    }

    /// Case ids with at least one document, and the kinds each has.
    pub(crate) fn cases(&self) -> Result<Vec<(CaseId, Vec<String>)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT case_id, group_concat(kind) FROM documents GROUP BY case_id ORDER BY min(created_at), case_id")
            .map_err(|e| self.fail(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| self.fail(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (case, kinds) = row.map_err(|e| self.fail(e))?;
            // Rows are only written with valid ids; a bad one is skipped, not fatal.
            if let Ok(case) = case.parse() {
                out.push((case, kinds.split(',').map(str::to_owned).collect()));
            }
        }
        Ok(out)
    }

    /// Row counts and payload bytes, per chunk kind.
    pub(crate) fn chunk_stats(&self, doc: Option<&DocId>) -> Result<(u64, u64, u64, u64)> {
        let id = doc.map(|d| d.to_string());
        self.conn
            .query_row(
                "SELECT
                   coalesce(sum(kind = 0), 0), coalesce(sum(CASE WHEN kind = 0 THEN length(bytes) END), 0),
                   coalesce(sum(kind = 1), 0), coalesce(sum(CASE WHEN kind = 1 THEN length(bytes) END), 0)
                 FROM chunks WHERE ?1 IS NULL OR doc_id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)? as u64,
                        r.get::<_, i64>(1)? as u64,
                        r.get::<_, i64>(2)? as u64,
                        r.get::<_, i64>(3)? as u64,
                    ))
                },
            )
            .map_err(|e| self.fail(e))
    }
}
