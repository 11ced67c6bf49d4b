//! [`Store`]: the object apps hold, one per store file.
//!
//! Each exported method is a short forward to the core's store inside
//! [`guard`]; what it adds is only what the boundary needs: text ids parsed into the
//! core's, records built in the requested language, the key asked of the host at
//! open, and observers told after an edit or a sync changed something. Kotlin and Swift
//! close the object (`close()`, `deinit`) to release the file; a sync still running
//! holds its own reference and finishes first.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::SystemTime;

use passage_core::sync::{ClientOptions, SyncClient};
use passage_core::template::Catalogue;
use passage_core::{CaseId, Identity, Store as CoreStore};

use crate::edit::Edit;
use crate::error::{PassageError, Result, guard};
use crate::sync::{Enrolment, SyncReport, SyncStatus, on_runtime};
use crate::types::{Locale, Role};
use crate::view::{ArrivalPlanView, CaseSummary, Conflict, HistoryEntry, JourneyView, MedicalView, Reminder};

/// The host's keystore, implemented in Kotlin or Swift.
#[uniffi::export(with_foreign)]
pub trait KeyProvider: Send + Sync {
    /// The 32-byte key of the store whose id is `store_id`: the same key every time
    /// for the same store (keep it in the Android Keystore or the iOS Keychain, under
    /// this id: it stays the same when the app's container, and so the store's path,
    /// moves). The first key a store is given becomes its key: every document in it is
    /// sealed under keys this key wraps. A different one later is `WrongKey`.
    fn store_key(&self, store_id: String) -> Result<Vec<u8>>;
}

/// Told when something an app shows may have changed. Called on the thread that made
/// the change (an app's, or the sync runtime's): hop to the UI thread before drawing.
/// An error returned or thrown here is logged and otherwise ignored.
#[uniffi::export(with_foreign)]
pub trait StoreObserver: Send + Sync {
    /// The documents of these cases changed (an edit here, or a sync).
    fn cases_changed(&self, case_ids: Vec<String>) -> Result<()>;
    /// The sync status changed (a sync finished, well or not).
    fn sync_status_changed(&self, status: SyncStatus) -> Result<()>;
}

/// A new journey, made from a destination's template (caseworkers).
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct NewJourney {
    /// Template id: `be`, `ie`, `pt`, `uk`, `fr` or `sk`.
    pub template: String,
    /// Template version; none for the newest.
    pub version: Option<u64>,
    pub talent_name: String,
    pub employer: String,
    pub job_title: String,
    /// The job offer date, ISO 8601.
    pub start_date: String,
}

/// What an edit did.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Applied {
    pub doc_id: String,
    /// The committed change (hex); none if the edit changed nothing.
    pub change: Option<String>,
    /// The id given to a new flight, appointment, test, vaccination or family member.
    pub created: Option<String>,
}

type Observers = Mutex<Vec<(u64, Arc<dyn StoreObserver>)>>;

/// One store file, opened as one role.
#[derive(uniffi::Object)]
pub struct Store {
    core: Arc<CoreStore>,
    catalogue: &'static Catalogue,
    /// Built at the first enrolment or sync, with the store's pins (again after
    /// [`Store::set_pins`]): it holds the connection pool.
    client: Mutex<Option<Arc<SyncClient>>>,
    observers: Arc<Observers>,
    next_observer: AtomicU64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.core.path())
            .finish_non_exhaustive()
    }
}

fn case_id(text: &str) -> Result<CaseId> {
    Ok(text.trim().parse::<CaseId>()?)
}

impl Store {
    fn client(&self) -> Result<Arc<SyncClient>> {
        let mut client = self.client.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(client) = client.as_ref() {
            return Ok(Arc::clone(client));
        }
        let built = Arc::new(SyncClient::new(ClientOptions {
            pins: self.core.pins()?,
            ..ClientOptions::default()
        })?);
        *client = Some(Arc::clone(&built));
        Ok(built)
    }

    fn observers(&self) -> Vec<Arc<dyn StoreObserver>> {
        let list = self.observers.lock().unwrap_or_else(|p| p.into_inner());
        list.iter().map(|(_, o)| Arc::clone(o)).collect()
    }

    fn tell_cases_changed(&self, cases: Vec<String>) {
        if cases.is_empty() {
            return;
        }
        for observer in self.observers() {
            if let Err(e) = observer.cases_changed(cases.clone()) {
                tracing::warn!(error = %e, "an observer failed on cases_changed");
            }
        }
    }

    fn tell_sync_status(&self) {
        let observers = self.observers();
        if observers.is_empty() {
            return;
        }
        match self.core.sync_state() {
            Ok(state) => {
                let status = SyncStatus::from(state);
                for observer in observers {
                    if let Err(e) = observer.sync_status_changed(status.clone()) {
                        tracing::warn!(error = %e, "an observer failed on sync_status_changed");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "the sync status could not be read for observers"),
        }
    }
}

#[uniffi::export]
impl Store {
    /// Opens (or creates) the store at `path` as `role`, writing `name` into the history
    /// of this device's changes. The key provider is asked for the store's key first; a
    /// store enrolled as another role refuses to open as this one.
    #[uniffi::constructor]
    pub fn open(path: String, role: Role, name: String, keys: Arc<dyn KeyProvider>) -> Result<Arc<Store>> {
        guard("open", || {
            // The provider's own error (a Kotlin exception, say) is kept to be
            // returned as it is, rather than as the core's.
            let refused: std::cell::RefCell<Option<PassageError>> = std::cell::RefCell::new(None);
            let source = |id: &passage_core::StoreId| match keys.store_key(id.to_string()) {
                Ok(bytes) => passage_core::SecretKey::from_bytes(&bytes),
                Err(e) => {
                    *refused.borrow_mut() = Some(e);
                    Err(passage_core::Error::KeyRequired)
                }
            };
            let opened = CoreStore::open_with_key(
                &path,
                Identity::new(role.into(), name),
                passage_core::StoreOptions::default(),
                &source,
            );
            let core = match (opened, refused.into_inner()) {
                (_, Some(provider_failed)) => return Err(provider_failed),
                (opened, None) => opened?,
            };
            if let Some(enrolled) = core.sync_server()?.and_then(|s| s.role)
                && Role::from(enrolled) != role
            {
                return Err(PassageError::InvalidInput {
                    reason: format!("this store was enrolled as {enrolled}; open it as {enrolled}"),
                });
            }
            Ok(Arc::new(Store {
                core: Arc::new(core),
                catalogue: Catalogue::builtin()?,
                client: Mutex::new(None),
                observers: Arc::new(Mutex::new(Vec::new())),
                next_observer: AtomicU64::new(1),
            }))
        })
    }

    pub fn role(&self) -> Role {
        self.core.identity().role.into()
    }

    pub fn path(&self) -> String {
        self.core.path().display().to_string()
    }

    /// Trusts only these server keys for enrolment and sync from now on, instead of
    /// certificate authorities: `sha256/BASE64` each (the server prints its own). Give
    /// the server's and a backup key's, so that a key change does not cut the app off.
    /// They are kept in the store (sealed), so every later open of it, a background
    /// worker's included, is pinned too; call this before the first enrolment. An
    /// empty list trusts the usual authorities again.
    pub fn set_pins(&self, pins: Vec<String>) -> Result<()> {
        guard("set_pins", || {
            let parsed = pins
                .iter()
                .map(|p| p.parse::<passage_core::sync::SpkiPin>())
                .collect::<passage_core::Result<Vec<_>>>()?;
            self.core.set_pins(&parsed)?;
            *self.client.lock().unwrap_or_else(|p| p.into_inner()) = None;
            Ok(())
        })
    }

    /// The store's stable id: what the key provider is asked with.
    pub fn store_id(&self) -> Result<String> {
        guard("store_id", || Ok(self.core.store_id()?.to_string()))
    }

    /// Re-keys the store: from now on it opens with `new_key` only (32 bytes). Keep the
    /// new key in the keystore before calling this, and the old one until it returned.
    pub fn rekey(&self, new_key: Vec<u8>) -> Result<()> {
        guard("rekey", || {
            Ok(self.core.rekey(&passage_core::SecretKey::from_bytes(&new_key)?)?)
        })
    }

    /// The cases on this device; a damaged one is listed with its problem.
    pub fn cases(&self) -> Result<Vec<CaseSummary>> {
        guard("cases", || {
            Ok(self.core.cases()?.into_iter().map(CaseSummary::from).collect())
        })
    }

    /// Creates a journey from a template (caseworkers); returns its case id.
    pub fn create_journey(&self, journey: NewJourney) -> Result<String> {
        guard("create_journey", || {
            let start_date = chrono::NaiveDate::parse_from_str(journey.start_date.trim(), "%Y-%m-%d")
                .map_err(|_| PassageError::InvalidInput {
                    reason: format!("start_date: {:?} is not a date (YYYY-MM-DD)", journey.start_date),
                })?;
            let case = self
                .core
                .create_journey(&passage_core::doc::journey::NewJourney {
                    template: journey.template,
                    version: journey.version,
                    talent_name: journey.talent_name,
                    employer: journey.employer,
                    job_title: journey.job_title,
                    start_date,
                })?;
            self.tell_cases_changed(vec![case.to_string()]);
            Ok(case.to_string())
        })
    }

    /// The journey, every title in `locale`.
    pub fn journey(&self, case_id: String, locale: Locale) -> Result<JourneyView> {
        guard("journey", || {
            let journey = self.core.journey(&self::case_id(&case_id)?)?;
            Ok(JourneyView::new(&journey, self.catalogue, locale.into()))
        })
    }

    /// The medical record; `NotAllowed` for a role that may not read it.
    pub fn medical(&self, case_id: String) -> Result<MedicalView> {
        guard("medical", || {
            Ok(MedicalView::from(&self.core.medical(&self::case_id(&case_id)?)?))
        })
    }

    /// The arrival plan family members see.
    pub fn arrival_plan(&self, case_id: String, locale: Locale) -> Result<ArrivalPlanView> {
        guard("arrival_plan", || {
            let plan = self.core.arrival_plan(&self::case_id(&case_id)?)?;
            Ok(ArrivalPlanView::new(&plan, self.catalogue, locale.into()))
        })
    }

    /// Applies one edit; returns once its change is on disk.
    pub fn apply(&self, case_id: String, edit: Edit) -> Result<Applied> {
        guard("apply", || {
            let case = self::case_id(&case_id)?;
            let applied = self.core.apply(&case, &edit.try_into()?)?;
            if applied.change.is_some() {
                self.tell_cases_changed(vec![case.to_string()]);
            }
            Ok(Applied {
                doc_id: applied.doc,
                change: applied.change,
                created: applied.created,
            })
        })
    }

    /// Erases the case's medical record (caseworkers): destroyed on this device at
    /// once, on the server and every other device at their next sync. It cannot be
    /// undone.
    pub fn erase_medical(&self, case_id: String) -> Result<()> {
        guard("erase_medical", || {
            let case = self::case_id(&case_id)?;
            self.core.erase_medical(&case)?;
            self.tell_cases_changed(vec![case.to_string()]);
            Ok(())
        })
    }

    /// Open conflicts on critical fields (medical ones only for roles that read them).
    pub fn conflicts(&self, case_id: String, locale: Locale) -> Result<Vec<Conflict>> {
        guard("conflicts", || {
            let conflicts = self.core.conflicts(&self::case_id(&case_id)?)?;
            Ok(conflicts
                .into_iter()
                .map(|c| Conflict::new(c, self.catalogue, locale.into()))
                .collect())
        })
    }

    /// Who changed what and when, oldest first.
    pub fn history(&self, case_id: String) -> Result<Vec<HistoryEntry>> {
        guard("history", || {
            let history = self.core.history(&self::case_id(&case_id)?)?;
            Ok(history.into_iter().map(HistoryEntry::from).collect())
        })
    }

    /// The case as JSON in the documented export format (docs/export-format.md).
    pub fn export_json(&self, case_id: String) -> Result<String> {
        guard("export_json", || {
            let export = self.core.export(&self::case_id(&case_id)?)?;
            export.to_json().map_err(|e| PassageError::Internal {
                reason: format!("the export could not be written: {e}"),
            })
        })
    }

    /// The reminders to schedule from `now` on: flights within 48 h, medical
    /// appointments and PDO days the day before, tasks due soon. `zone` is the IANA
    /// zone the phone is in (all-day dates are read there), e.g. `Asia/Amman`.
    pub fn reminders(
        &self,
        case_id: String,
        now: SystemTime,
        zone: String,
        locale: Locale,
    ) -> Result<Vec<Reminder>> {
        guard("reminders", || {
            let zone: chrono_tz::Tz = zone.trim().parse().map_err(|_| PassageError::InvalidInput {
                reason: format!("zone: {zone:?} is not an IANA time zone"),
            })?;
            let now = chrono::DateTime::<chrono::Utc>::from(now);
            let reminders = self
                .core
                .reminders(&self::case_id(&case_id)?, now, zone, locale.into())?;
            Ok(reminders.into_iter().map(Reminder::from).collect())
        })
    }

    pub fn sync_status(&self) -> Result<SyncStatus> {
        guard("sync_status", || Ok(self.core.sync_state()?.into()))
    }

    /// Exchanges an enrolment code for this device's token and records the server.
    pub async fn enrol(&self, server_url: String, code: String, device_name: String) -> Result<Enrolment> {
        let client = self.client()?;
        let core = Arc::clone(&self.core);
        let enrolment = on_runtime("enrol", async move {
            Ok(client.enrol(core, &server_url, &code, &device_name).await?)
        })
        .await?;
        self.tell_sync_status();
        Ok(enrolment.into())
    }

    /// Brings every document on this device in step with the server. Whatever
    /// happens, nothing is lost; on failure the status says when to try again.
    pub async fn sync(&self) -> Result<SyncReport> {
        let client = self.client()?;
        let core = Arc::clone(&self.core);
        let outcome = on_runtime("sync", async move { Ok(client.sync(core).await?) }).await;
        self.tell_sync_status();
        let report = SyncReport::from(outcome?);
        self.tell_cases_changed(report.cases_changed.clone());
        Ok(report)
    }

    /// Registers an observer until the returned subscription is cancelled or closed.
    pub fn observe(&self, observer: Arc<dyn StoreObserver>) -> Arc<Subscription> {
        let id = self.next_observer.fetch_add(1, Ordering::Relaxed);
        self.observers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((id, observer));
        Arc::new(Subscription {
            id,
            observers: Arc::downgrade(&self.observers),
        })
    }
}

/// An observer's registration. Cancelled by `cancel()`, or when the app drops it.
#[derive(uniffi::Object)]
pub struct Subscription {
    id: u64,
    observers: Weak<Observers>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").field("id", &self.id).finish()
    }
}

#[uniffi::export]
impl Subscription {
    /// Stops the observer's calls. Calling it twice does nothing more.
    pub fn cancel(&self) {
        if let Some(observers) = self.observers.upgrade() {
            observers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|(id, _)| *id != self.id);
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.cancel();
    }
}
