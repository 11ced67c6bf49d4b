//! The embedded default: [`Storage`] in one SQLite file.
//!
//! WAL mode, so admin commands (another process) read and write while `serve` runs;
//! `synchronous=FULL`, so a sync the server answered is on disk even after a power
//! loss (a device forgets nothing it was told the server has, so the server must not
//! forget it either); a busy timeout, so two writers wait for each other instead of
//! failing. Every [`Tx`] is a `BEGIN IMMEDIATE` transaction: it takes the write lock
//! at once, so it never has to be retried half-way because another writer came first.
//! The schema is migrated by `PRAGMA user_version`, like the device's store.
//!
//! The SQL is in [`schema`] (tables), [`people`] (caseworkers, cases, devices),
//! [`documents`] (documents, chunks, what each device holds), [`audit`] and [`sealing`]
//! (the data keys, sealing a plain database in place, re-keying); this module opens
//! the file and maps the [`Tx`] trait onto them.
//!
//! The database and its WAL and shared-memory files are readable by their owner only
//! (0600; SQLite gives its side files the database file's mode), and so is a backup.
//! Deleted content is overwritten with zeros (`secure_delete`).

mod audit;
mod authors;
mod documents;
mod people;
mod schema;
mod sealing;

pub use schema::SCHEMA_VERSION;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use automerge::ChangeHash;
use passage_core::chunk::Chunk;
use passage_core::{CaseId, DocId, Role};
use rusqlite::Connection;

use crate::storage::seal::Sealer;
use crate::storage::{
    AuditEntry, Author, CaseRow, Caseworker, Device, DocState, NewCase, NewDevice, Result, Scope, Storage,
    StorageError, Timestamp, Tx,
};

/// Prepared statements kept per connection: more than every statement the server runs.
const STATEMENT_CACHE: usize = 128;

/// How long a writer waits for another before giving up with [`StorageError::Busy`].
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's SQLite file: one connection for write transactions, used by one at a
/// time (SQLite has one writer anyway, and every sync exchange writes), and one for
/// reads, which in WAL mode need not wait for a writer.
#[derive(Debug)]
pub struct SqliteStorage {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    path: PathBuf,
    /// The master key's sealer; `None` for a plain database (tests, and the migration
    /// of a database from before sealing).
    sealer: Option<Arc<Sealer>>,
}

fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(fail)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(fail)?;
    // One sync exchange runs about twenty distinct statements; with rusqlite's default
    // of 16 cached they evicted each other and every one was parsed again each time.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA secure_delete = ON;
         PRAGMA temp_store = MEMORY;",
    )
    .map_err(fail)?;
    Ok(conn)
}

fn io(what: &str, path: &Path, e: std::io::Error) -> StorageError {
    StorageError::Backend(format!("cannot {what} {}: {e}", path.display()))
}

/// Makes `path` a file readable by its owner only: created so if missing, its mode
/// narrowed if it exists (a database made by an older server was 0644).
pub(crate) fn private_file(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        if path.exists() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| io("restrict", path, e))?;
        } else {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| io("create", path, e))?;
        }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
    }
    Ok(())
}

/// The database file and the side files SQLite keeps next to it.
fn side_files(path: &Path) -> [PathBuf; 3] {
    let name = |suffix: &str| PathBuf::from(format!("{}{suffix}", path.display()));
    [name(""), name("-wal"), name("-shm")]
}

pub(super) fn fail(e: rusqlite::Error) -> StorageError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => StorageError::Busy,
        _ => StorageError::Backend(e.to_string()),
    }
}

impl SqliteStorage {
    /// Opens (creating and migrating if needed) the database at `path`, its documents
    /// sealed under `key` (a plain database is sealed in place first). Without a key
    /// the database stays plain, and a sealed one is refused.
    pub fn open(path: &Path, key: Option<passage_core::SecretKey>) -> Result<SqliteStorage> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(dir).map_err(|e| io("create", dir, e))?;
        }
        for file in side_files(path) {
            if file == path || file.exists() {
                private_file(&file)?;
            }
        }
        let mut writer = connect(path)?;
        migrate(&mut writer)?;
        let sealer = match key {
            Some(key) => {
                let sealer = Sealer::new(key);
                sealing::unlock(&mut writer, &sealer)?;
                Some(Arc::new(sealer))
            }
            None if sealing::is_sealed(&writer)? => return Err(StorageError::KeyRequired),
            None => None,
        };
        let reader = connect(path)?;
        reader.execute_batch("PRAGMA query_only = ON").map_err(fail)?;
        Ok(SqliteStorage {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            path: path.to_owned(),
            sealer,
        })
    }

    /// Whether the database at `path` has sealed documents (without opening it for
    /// writing, or migrating it). A missing file is not sealed.
    pub fn is_sealed_at(path: &Path) -> Result<bool> {
        if !path.exists() {
            return Ok(false);
        }
        let conn =
            Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(fail)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(fail)?;
        sealing::is_sealed(&conn)
    }

    /// Wraps every document's data key under `new` instead, in one transaction; the
    /// server must be restarted with `new` afterwards. Returns how many keys.
    pub fn rekey(&self, new: &passage_core::SecretKey) -> Result<usize> {
        let sealer = self.sealer.as_ref().ok_or(StorageError::KeyRequired)?;
        sealing::rekey(&mut Self::lock(&self.writer), sealer, new)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
        // A panic while the lock was held dropped its transaction, which rolled back:
        // the connection is still sound.
        conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes a consistent copy of the whole database to `to` (a new file), while
    /// other connections go on reading and writing.
    pub fn backup_to(&self, to: &Path) -> Result<()> {
        if to.exists() {
            return Err(StorageError::Exists(to.display().to_string()));
        }
        let target = to
            .to_str()
            .ok_or_else(|| StorageError::Backend(format!("{} is not UTF-8", to.display())))?;
        // Made empty and owner-only first: VACUUM INTO fills an empty file and keeps its
        // mode, where it would otherwise create one readable by everyone.
        private_file(to)?;
        // On the writer's connection: the reader's is query-only, which VACUUM INTO
        // counts as a write. It reads one consistent snapshot, like any reader.
        let copied = Self::lock(&self.writer)
            .execute("VACUUM INTO ?1", [target])
            .map(|_| ())
            .map_err(fail);
        if copied.is_err() {
            let _ = std::fs::remove_file(to);
        }
        copied
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(fail)?;
    if version > SCHEMA_VERSION {
        return Err(StorageError::NewerFormat {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    for (from, sql) in schema::MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(fail)?;
        // Another process may have migrated while this one waited for the lock.
        let now: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(fail)?;
        if now > from as i64 {
            continue;
        }
        tx.execute_batch(sql).map_err(fail)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", from + 1))
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
    }
    Ok(())
}

impl Storage for SqliteStorage {
    fn begin(&self) -> Result<Box<dyn Tx + '_>> {
        let conn = Self::lock(&self.writer);
        run(&conn, "BEGIN IMMEDIATE")?;
        Ok(Box::new(SqliteTx {
            conn,
            open: true,
            sealer: self.sealer.as_deref(),
        }))
    }

    fn groups_commits(&self) -> bool {
        true
    }

    /// Overwrites free pages with zeros and truncates the WAL. A reader holding the
    /// WAL leaves its frames for the next time.
    fn scrub(&self) -> Result<()> {
        sealing::scrub(&Self::lock(&self.writer))
    }

    fn read(&self) -> Result<Box<dyn Tx + '_>> {
        let conn = Self::lock(&self.reader);
        run(&conn, "BEGIN")?;
        Ok(Box::new(SqliteTx {
            conn,
            open: true,
            sealer: self.sealer.as_deref(),
        }))
    }
}

struct SqliteTx<'a> {
    conn: MutexGuard<'a, Connection>,
    open: bool,
    sealer: Option<&'a Sealer>,
}

impl Drop for SqliteTx<'_> {
    fn drop(&mut self) {
        if self.open {
            // Nothing can be done about a failed rollback here; SQLite rolls an open
            // transaction back by itself when the next one begins or the file closes.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// A statement without parameters or rows (a transaction's `BEGIN`, `COMMIT`...), from
/// the connection's cache of prepared statements.
fn run(conn: &Connection, sql: &str) -> Result<()> {
    conn.prepare_cached(sql)
        .and_then(|mut stmt| stmt.execute([]))
        .map(|_| ())
        .map_err(fail)
}

pub(super) fn case_id(text: &str) -> Result<CaseId> {
    text.parse()
        .map_err(|_| StorageError::Corrupt(format!("case id {text:?}")))
}

pub(super) fn doc_id(text: &str) -> Result<DocId> {
    text.parse()
        .map_err(|_| StorageError::Corrupt(format!("document id {text:?}")))
}

pub(super) fn role(text: &str) -> Result<Role> {
    text.parse()
        .map_err(|_| StorageError::Corrupt(format!("role {text:?}")))
}

impl Tx for SqliteTx<'_> {
    fn commit(mut self: Box<Self>) -> Result<()> {
        run(&self.conn, "COMMIT")?;
        self.open = false;
        Ok(())
    }

    fn savepoint(&mut self) -> Result<()> {
        run(&self.conn, "SAVEPOINT exchange")
    }

    fn release_savepoint(&mut self) -> Result<()> {
        run(&self.conn, "RELEASE exchange")
    }

    fn rollback_to_savepoint(&mut self) -> Result<()> {
        run(&self.conn, "ROLLBACK TO exchange")?;
        run(&self.conn, "RELEASE exchange")
    }

    /// Nothing to take: a write transaction here holds the file's one write lock.
    fn lock_cases(&mut self, _cases: &[&CaseId]) -> Result<()> {
        Ok(())
    }

    fn add_caseworker(&mut self, name: &str, at: Timestamp) -> Result<Caseworker> {
        people::add_caseworker(&self.conn, name, at)
    }

    fn caseworker(&mut self, name: &str) -> Result<Option<Caseworker>> {
        people::caseworker(&self.conn, name)
    }

    fn create_case(&mut self, case: &NewCase<'_>) -> Result<()> {
        people::create_case(&self.conn, case)
    }

    fn case(&mut self, case: &CaseId) -> Result<Option<CaseRow>> {
        people::case(&self.conn, case)
    }

    fn cases(&mut self) -> Result<Vec<CaseRow>> {
        people::cases(&self.conn)
    }

    fn assign_case(&mut self, case: &CaseId, caseworker: i64) -> Result<()> {
        people::assign_case(&self.conn, case, caseworker)
    }

    fn add_device(&mut self, device: &NewDevice<'_>) -> Result<i64> {
        people::add_device(&self.conn, device)
    }

    fn redeem_code(
        &mut self,
        code_hash: &[u8; 32],
        token_hash: &[u8; 32],
        proof_hash: &[u8; 32],
        name: &str,
        now: Timestamp,
    ) -> Result<Option<Device>> {
        people::redeem_code(&self.conn, code_hash, token_hash, proof_hash, name, now)
    }

    fn device_by_token(&mut self, token_hash: &[u8; 32]) -> Result<Option<Device>> {
        people::device_by_token(&self.conn, token_hash)
    }

    fn device(&mut self, id: i64) -> Result<Option<Device>> {
        people::device(&self.conn, id)
    }

    fn devices(&mut self, case: Option<&CaseId>) -> Result<Vec<Device>> {
        people::devices(&self.conn, case)
    }

    fn revoke_device(&mut self, id: i64, at: Timestamp) -> Result<bool> {
        people::revoke_device(&self.conn, id, at)
    }

    fn record_sync(
        &mut self,
        device: i64,
        at: Timestamp,
        digest: Option<[u8; 16]>,
        cursor: i64,
    ) -> Result<()> {
        people::record_sync(&self.conn, device, at, digest, cursor)
    }

    fn document(&mut self, doc: &DocId) -> Result<Option<DocState>> {
        documents::document(&self.conn, doc)
    }

    fn case_bytes(&mut self, case: &CaseId) -> Result<u64> {
        documents::case_bytes(&self.conn, case)
    }

    fn chunks(&mut self, doc: &DocId) -> Result<Vec<Chunk>> {
        documents::chunks(&self.conn, self.sealer, doc)
    }

    fn store_changes(
        &mut self,
        doc: &DocId,
        changes: &[(ChangeHash, Vec<u8>)],
        heads: &[ChangeHash],
        at: Timestamp,
    ) -> Result<()> {
        documents::store_changes(&self.conn, self.sealer, doc, changes, heads, at)
    }

    fn replace_with_snapshot(&mut self, doc: &DocId, key: &[u8], bytes: &[u8]) -> Result<()> {
        documents::replace_with_snapshot(&self.conn, self.sealer, doc, key, bytes)
    }

    fn change_rows(&mut self, doc: &DocId) -> Result<u64> {
        documents::change_rows(&self.conn, doc)
    }

    fn watermark(&mut self) -> Result<i64> {
        documents::max_seq(&self.conn)
    }

    fn readable_docs(&mut self, scope: &Scope, after: i64) -> Result<Vec<DocState>> {
        documents::readable_docs(&self.conn, scope, after)
    }

    fn peer_heads(&mut self, device: i64, doc: &DocId) -> Result<Option<Vec<ChangeHash>>> {
        documents::peer_heads(&self.conn, device, doc)
    }

    fn set_peer_heads(&mut self, device: i64, doc: &DocId, heads: &[ChangeHash]) -> Result<()> {
        documents::set_peer_heads(&self.conn, device, doc, heads)
    }

    fn replace_peer_heads(&mut self, device: i64, docs: &[(DocId, Vec<ChangeHash>)]) -> Result<()> {
        documents::replace_peer_heads(&self.conn, device, docs)
    }

    fn actor_owner(&mut self, actor: &[u8]) -> Result<Option<i64>> {
        authors::actor_owner(&self.conn, actor)
    }

    fn claim_actor(&mut self, actor: &[u8], device: i64, at: Timestamp) -> Result<()> {
        authors::claim_actor(&self.conn, actor, device, at)
    }

    fn record_authors(
        &mut self,
        doc: &DocId,
        hashes: &[ChangeHash],
        device: Option<i64>,
        at: Timestamp,
    ) -> Result<()> {
        authors::record_authors(&self.conn, doc, hashes, device, at)
    }

    fn authors(&mut self, doc: &DocId, hashes: &[ChangeHash]) -> Result<Vec<Option<Author>>> {
        authors::authors(&self.conn, doc, hashes)
    }

    fn erase_document(&mut self, doc: &DocId, device: Option<i64>, at: Timestamp) -> Result<bool> {
        authors::erase_document(&self.conn, self.sealer, doc, device, at)
    }

    fn is_erased(&mut self, doc: &DocId) -> Result<bool> {
        authors::is_erased(&self.conn, doc)
    }

    fn erased_held(&mut self, device: i64) -> Result<Vec<(DocId, Vec<ChangeHash>)>> {
        authors::erased_held(&self.conn, device)
    }

    fn forget_peer_doc(&mut self, device: i64, doc: &DocId) -> Result<()> {
        authors::forget_peer_doc(&self.conn, device, doc)
    }

    fn audit(&mut self, e: &AuditEntry) -> Result<()> {
        audit::audit(&self.conn, e)
    }

    fn audit_log(&mut self, case: Option<&CaseId>, limit: u32) -> Result<Vec<AuditEntry>> {
        audit::audit_log(&self.conn, case, limit)
    }
}
