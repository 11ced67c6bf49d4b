//! Where the server keeps everything: the [`Storage`] trait, and the rows it deals in.
//!
//! Handlers and the sync algorithm see only this trait, so a PostgreSQL backend (for
//! several stateless server instances behind a load balancer) can follow without
//! touching them. Everything happens inside a [`Tx`]: one write transaction that is
//! committed whole or dropped (rolled back) whole, or, for one sync exchange of a
//! group commit, a savepoint inside one, rolled back alone: that is what makes "nothing
//! of a refused request is stored" true. The methods are synchronous: callers run them on
//! a blocking thread, and a PostgreSQL backend would use a synchronous client there.
//!
//! Documents are stored the way a device stores them: one row per Automerge change
//! (or snapshot), keyed by document and hash. Each document also carries its current
//! heads and a **position**, renewed at every write, so that "what changed since this
//! device's last answer" is an index range. What a position is belongs to the backend;
//! what the sync algorithm relies on is one promise, [`Tx::watermark`]:
//!
//! > every document not visible to this transaction will have a position above the
//! > watermark when it becomes visible.
//!
//! A device's cursor is the watermark its last answer was computed under, so a range
//! scan from it can never step over a write that committed later, however transactions
//! on different cases interleave. Documents above the watermark that the device already
//! holds cost a comparison of heads, never a resend. SQLite has one writer, so its
//! positions come from one counter and the watermark is the highest position given.
//! PostgreSQL's positions are the writing transaction's id, and its watermark is the
//! oldest transaction still running when the snapshot was taken, less one: every
//! transaction below it has finished, every later one gets a higher id.
//!
//! Transactions on different cases do not wait for each other on PostgreSQL: a sync
//! exchange takes [`Tx::lock_cases`] for the cases it writes, in one order, before it
//! reads what it will write.

pub mod seal;
pub mod sqlite;

use automerge::ChangeHash;
use passage_core::chunk::Chunk;
pub use passage_core::sync::wire::Author;
use passage_core::{CaseId, DocId, Role};

/// Seconds since the Unix epoch, UTC.
pub type Timestamp = i64;

/// A storage failure. The backend's own error is kept as text: callers only decide
/// whether to retry ([`StorageError::Busy`]) or report.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// Another writer held the database for longer than the busy timeout.
    #[error("the database is busy; try again")]
    Busy,
    /// The database was written by a newer server.
    #[error("the database has format {found}; this build reads up to {supported}")]
    NewerFormat { found: i64, supported: i64 },
    /// A name that must be unique is taken.
    #[error("{0} already exists")]
    Exists(String),
    /// A stored value that this build cannot read (a bad role, a bad case id).
    #[error("the database holds an unreadable value: {0}")]
    Corrupt(String),
    /// The master key given is not the one the database's documents are sealed under.
    #[error("this is not the server's key: the database's documents are sealed under another")]
    WrongKey,
    /// The database's documents are sealed, and no key was given.
    #[error("the database's documents are sealed; start the server with its key")]
    KeyRequired,
    #[error("storage error: {0}")]
    Backend(String),
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// A caseworker: staff who may read and write their assigned cases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caseworker {
    pub id: i64,
    pub name: String,
    pub created_at: Timestamp,
}

/// A case as the server lists it (the documents hold the rest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseRow {
    pub case: CaseId,
    pub caseworker: Option<Caseworker>,
    pub talent_name: String,
    pub destination: String,
    pub created_at: Timestamp,
    /// The latest sync of any device of the case (its talent, its family, its
    /// caseworker's devices).
    pub last_sync: Option<Timestamp>,
}

/// A new case, created by an admin command or by a caseworker's first push of it.
#[derive(Clone, Debug)]
pub struct NewCase<'a> {
    pub case: &'a CaseId,
    pub caseworker: Option<i64>,
    pub talent_name: &'a str,
    pub destination: &'a str,
    pub created_at: Timestamp,
}

/// One device, from the moment its enrolment code is issued: first a pending code,
/// then (once a device exchanged it) a device token, until it expires or is revoked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub id: i64,
    pub role: Role,
    /// The case of a talent or family device.
    pub case: Option<CaseId>,
    /// The caseworker of a caseworker device.
    pub caseworker: Option<Caseworker>,
    /// The name the device gave when it enrolled.
    pub name: Option<String>,
    pub created_at: Timestamp,
    /// The enrolment code is void after this.
    pub code_expires_at: Timestamp,
    /// The device token is void after this (family share tokens); `None`: no expiry.
    pub expires_at: Option<Timestamp>,
    pub enrolled_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub last_sync_at: Option<Timestamp>,
    /// The digest of the server heads the device was last sent
    /// (docs/protocol.md, "What the device keeps"); `None` when unknown.
    pub known_digest: Option<[u8; 16]>,
    /// The watermark of the device's last answers: every document with a position up
    /// to this was in them.
    pub cursor: i64,
    /// The talent's name, for a device of a case (its talent's or family's).
    pub talent_name: Option<String>,
}

impl Device {
    /// The person this device speaks for, as the server knows them: the case's talent
    /// for a talent's device, the caseworker for theirs; `None` for family.
    pub fn person(&self) -> Option<&str> {
        match self.role {
            Role::Talent => self.talent_name.as_deref(),
            Role::Caseworker => self.caseworker.as_ref().map(|w| w.name.as_str()),
            Role::Family => None,
        }
    }
}

/// A device to be, with its enrolment code (stored as a hash only).
#[derive(Clone, Debug)]
pub struct NewDevice<'a> {
    pub role: Role,
    pub case: Option<&'a CaseId>,
    pub caseworker: Option<i64>,
    pub code_hash: [u8; 32],
    pub code_expires_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// A document's current state on the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocState {
    pub doc: DocId,
    /// Sorted.
    pub heads: Vec<ChangeHash>,
    /// Its position (see the module's documentation), renewed at every write.
    pub seq: i64,
    /// Bytes of its stored chunks (changes and snapshots), for its quota.
    pub bytes: u64,
}

/// The documents a device may read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The journey and medical record of one case (a talent).
    Case(CaseId),
    /// The journey and medical record of every case assigned to a caseworker.
    Caseworker(i64),
    /// The arrival plan of one case (family).
    ArrivalPlan(CaseId),
}

/// One access decision, as the audit log keeps it: who, which document, allowed or
/// not, why, and how many bytes. Never a payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: Timestamp,
    pub device: Option<i64>,
    pub role: Option<Role>,
    /// What was asked: `push`, `pull`, `sync`, `enrol`.
    pub action: String,
    pub case: Option<CaseId>,
    pub doc: Option<DocId>,
    pub allowed: bool,
    /// Why it was refused (a path, never a value), or a note.
    pub reason: Option<String>,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

/// The storage of one server (one organisation).
pub trait Storage: Send + Sync + std::fmt::Debug {
    /// Starts a write transaction. What it writes waits for other writers only where
    /// they write the same rows, or the same cases once [`Tx::lock_cases`] was taken
    /// (SQLite has one writer: there every write transaction waits for the last).
    fn begin(&self) -> Result<Box<dyn Tx + '_>>;

    /// Whether several sync exchanges may share one write transaction and its commit
    /// (`sync::group`): worth it where every commit waits for its own flush to disk and
    /// writers queue anyway (SQLite). PostgreSQL flushes concurrent commits together
    /// by itself, and a shared transaction there would hold one exchange's case locks
    /// while another's wait.
    fn groups_commits(&self) -> bool;

    /// Starts a read-only transaction: one consistent view, without waiting for or
    /// holding the write lock. Writes in it fail.
    fn read(&self) -> Result<Box<dyn Tx + '_>>;

    /// After an erasure committed: overwrites what the backend keeps of deleted rows
    /// (free pages, a write-ahead log), so that no file keeps the erased document's
    /// wrapped key. Best effort.
    fn scrub(&self) -> Result<()>;
}

/// One write transaction. Dropping it without [`Tx::commit`] rolls everything back.
pub trait Tx {
    fn commit(self: Box<Self>) -> Result<()>;
    /// Starts a savepoint: what follows can be rolled back alone (one sync exchange
    /// of a group commit). Savepoints do not nest here: one at a time.
    fn savepoint(&mut self) -> Result<()>;
    /// Keeps what was written since the savepoint, as part of the transaction.
    fn release_savepoint(&mut self) -> Result<()>;
    /// Drops what was written since the savepoint, and the savepoint.
    fn rollback_to_savepoint(&mut self) -> Result<()>;
    /// Takes the write locks of these cases until the transaction ends, so that
    /// everything of them read from now on stays as read until it is written. A sync
    /// exchange takes them, all at once and before reading, for the cases it pushes
    /// to; the backend orders them, so two exchanges never wait for each other in a
    /// circle.
    fn lock_cases(&mut self, cases: &[&CaseId]) -> Result<()>;

    // Caseworkers and cases.
    fn add_caseworker(&mut self, name: &str, at: Timestamp) -> Result<Caseworker>;
    fn caseworker(&mut self, name: &str) -> Result<Option<Caseworker>>;
    fn create_case(&mut self, case: &NewCase<'_>) -> Result<()>;
    fn case(&mut self, case: &CaseId) -> Result<Option<CaseRow>>;
    fn cases(&mut self) -> Result<Vec<CaseRow>>;
    /// Gives the case to a caseworker, and renumbers its documents so that the
    /// caseworker's devices receive them at their next sync.
    fn assign_case(&mut self, case: &CaseId, caseworker: i64) -> Result<()>;

    // Devices, enrolment codes and tokens.
    fn add_device(&mut self, device: &NewDevice<'_>) -> Result<i64>;
    /// Exchanges a valid, unused, unexpired, unrevoked code for a device token. A code
    /// works once, except that the device that redeemed it (proven by the hash of the
    /// secret it sent the first time, `proof_hash`) may redeem it again within ten
    /// minutes if it has not synced yet: the answer to its first try may have been
    /// lost after the server committed; the new token replaces the one nobody got.
    /// `None` if the code is not (or no longer) valid.
    fn redeem_code(
        &mut self,
        code_hash: &[u8; 32],
        token_hash: &[u8; 32],
        proof_hash: &[u8; 32],
        name: &str,
        now: Timestamp,
    ) -> Result<Option<Device>>;
    fn device_by_token(&mut self, token_hash: &[u8; 32]) -> Result<Option<Device>>;
    fn device(&mut self, id: i64) -> Result<Option<Device>>;
    /// Devices, all or those of one case (its talent and family devices, and the
    /// devices of its caseworker).
    fn devices(&mut self, case: Option<&CaseId>) -> Result<Vec<Device>>;
    /// Revokes a device token or a pending code; `false` if there is no such id.
    fn revoke_device(&mut self, id: i64, at: Timestamp) -> Result<bool>;
    /// Records the end of a sync: when, the digest of what the device now holds, and
    /// how far the answers went.
    fn record_sync(
        &mut self,
        device: i64,
        at: Timestamp,
        digest: Option<[u8; 16]>,
        cursor: i64,
    ) -> Result<()>;

    // Documents.
    fn document(&mut self, doc: &DocId) -> Result<Option<DocState>>;
    /// Bytes the documents of a case hold together.
    fn case_bytes(&mut self, case: &CaseId) -> Result<u64>;
    fn chunks(&mut self, doc: &DocId) -> Result<Vec<Chunk>>;
    /// Stores new change rows (a row already there is left as it is), and the
    /// document's new heads; gives it a new position; creates the document if needed.
    fn store_changes(
        &mut self,
        doc: &DocId,
        changes: &[(ChangeHash, Vec<u8>)],
        heads: &[ChangeHash],
        at: Timestamp,
    ) -> Result<()>;
    /// Replaces every chunk of the document by one snapshot that covers them all.
    fn replace_with_snapshot(&mut self, doc: &DocId, key: &[u8], bytes: &[u8]) -> Result<()>;
    /// How many change rows (not snapshots) the document has.
    fn change_rows(&mut self, doc: &DocId) -> Result<u64>;
    /// A position such that every document this transaction cannot see yet will have
    /// a higher one when it can be seen (the module's documentation says why that is
    /// the whole promise). Taken before [`Tx::readable_docs`], whose documents may be
    /// above it.
    fn watermark(&mut self) -> Result<i64>;
    /// The documents in `scope` with a position above `after`, in position order.
    fn readable_docs(&mut self, scope: &Scope, after: i64) -> Result<Vec<DocState>>;

    // What each device holds.
    fn peer_heads(&mut self, device: i64, doc: &DocId) -> Result<Option<Vec<ChangeHash>>>;
    fn set_peer_heads(&mut self, device: i64, doc: &DocId, heads: &[ChangeHash]) -> Result<()>;
    /// Replaces everything recorded for the device by `docs`.
    fn replace_peer_heads(&mut self, device: i64, docs: &[(DocId, Vec<ChangeHash>)]) -> Result<()>;

    // Authorship: which device first used each Automerge actor, and which device (or
    // the server itself) each change was received from.
    /// The device an actor belongs to, if any has used it yet.
    fn actor_owner(&mut self, actor: &[u8]) -> Result<Option<i64>>;
    fn claim_actor(&mut self, actor: &[u8], device: i64, at: Timestamp) -> Result<()>;
    /// Records who delivered these changes of the document (`None`: the server made
    /// them). A change recorded before keeps its first record.
    fn record_authors(
        &mut self,
        doc: &DocId,
        hashes: &[ChangeHash],
        device: Option<i64>,
        at: Timestamp,
    ) -> Result<()>;
    /// The records of these changes, in their order (`None` where there is none).
    fn authors(&mut self, doc: &DocId, hashes: &[ChangeHash]) -> Result<Vec<Option<Author>>>;

    // Erasure.
    /// Destroys a document: its chunks, its data key, its authorship, its row; keeps a
    /// tombstone so that it is never stored again and every device that held it is
    /// told. `false` if there was no such document.
    fn erase_document(&mut self, doc: &DocId, device: Option<i64>, at: Timestamp) -> Result<bool>;
    fn is_erased(&mut self, doc: &DocId) -> Result<bool>;
    /// The erased documents this device still holds (by what it was sent), with the
    /// heads it holds.
    fn erased_held(&mut self, device: i64) -> Result<Vec<(DocId, Vec<ChangeHash>)>>;
    /// Forgets what the device holds of one document.
    fn forget_peer_doc(&mut self, device: i64, doc: &DocId) -> Result<()>;

    // The audit log.
    fn audit(&mut self, entry: &AuditEntry) -> Result<()>;
    /// The newest `limit` entries, of one case or all, newest first.
    fn audit_log(&mut self, case: Option<&CaseId>, limit: u32) -> Result<Vec<AuditEntry>>;
}

/// Heads as stored: 32-byte hashes, concatenated.
pub fn heads_blob(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.as_ref().to_vec()).collect()
}

/// Heads from their stored form; a blob that is not whole hashes is corrupt.
pub fn heads_from_blob(blob: &[u8]) -> Result<Vec<ChangeHash>> {
    if !blob.len().is_multiple_of(32) {
        return Err(StorageError::Corrupt(format!(
            "heads of {} bytes are not whole hashes",
            blob.len()
        )));
    }
    blob.chunks(32)
        .map(|h| ChangeHash::try_from(h).map_err(|e| StorageError::Corrupt(e.to_string())))
        .collect()
}
