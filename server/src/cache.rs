//! Documents kept in memory between syncs, within a byte budget.
//!
//! Loading a journey from its stored chunks and reading it into a [`Journey`] costs the
//! server far more than the one change a sync usually carries (about 0.3 ms to load a
//! snapshot and 0.6 ms to read it, against 0.04 ms to apply a task's status). So the
//! documents of recent syncs stay here, with the journey as read, weighed by their
//! estimated size against the budget (`serve --cache-bytes`). Arrival plans are kept as
//! the plan only: a sync compares the plan it projects with the one stored, and loads
//! the plan's document only on the rare sync that changes it.
//!
//! The store stays the truth. An entry is used only when its heads are exactly the
//! heads the database holds now, read in the caller's transaction: a change written by
//! another server instance, an admin command or a restore makes the entry stale, and
//! the document is loaded again. Entries are replaced only after the transaction that
//! wrote their changes committed, so a rolled-back exchange leaves nothing here. A
//! caller gets a copy of the cached document (about 6 µs for a journey), never the
//! entry itself, so two exchanges never share a mutable document.
//!
//! Eviction is `quick_cache`'s (after S3-FIFO): an entry must be used again to stay,
//! so one pass over every case (a caseworker's first sync, a cyclic load) does not
//! evict the cases in daily use, as least-recently-used eviction would.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use automerge::{ActorId, AutoCommit, ChangeHash, ReadDoc as _};
use passage_core::arrival_plan::ArrivalPlan;
use passage_core::doc::journey::Journey;
use passage_core::{DocId, DocKind};
use quick_cache::Weighter;

/// The default budget: the journeys of about 2,500 cases in daily use (a journey with
/// a few hundred changes weighs about 100 KiB).
pub const DEFAULT_CACHE_BYTES: usize = 256 << 20;

/// The memory a cached document takes, estimated from its size. Measured on our
/// journeys (a Belgian one: 601 operations), a copied document takes about 8 KiB plus
/// 64 bytes per operation and per change, and the journey read from it about 48 bytes
/// per operation (28 KiB). An arrival plan kept as the plan alone: a few KiB.
fn estimate(doc: Option<&AutoCommit>, journey: bool) -> usize {
    const PLAN_ONLY: usize = 8 << 10;
    let Some(doc) = doc else { return PLAN_ONLY };
    let stats = doc.stats();
    let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let items = count(stats.num_ops.saturating_add(stats.num_changes));
    let mut bytes = (8usize << 10).saturating_add(items.saturating_mul(64));
    if journey {
        bytes = bytes.saturating_add(count(stats.num_ops).saturating_mul(48));
    }
    bytes
}

/// A document as this server last stored it, with what was read from it.
#[derive(Debug)]
pub struct Loaded {
    pub doc: AutoCommit,
    /// The journey read from `doc` (journeys only; `None` until someone needed it).
    pub journey: Option<Arc<Journey>>,
    /// The arrival plan `doc` holds (arrival plans only; `None` until known).
    pub plan: Option<Arc<ArrivalPlan>>,
    /// A copy of what the cache holds, unchanged: nothing to put back.
    pub(crate) as_cached: bool,
    /// A copy of a cached document (changed or not), not one loaded from chunks.
    from_cache: bool,
}

impl Loaded {
    pub fn new(doc: AutoCommit) -> Loaded {
        Loaded {
            doc,
            journey: None,
            plan: None,
            as_cached: false,
            from_cache: false,
        }
    }
}

#[derive(Debug)]
struct Entry {
    /// Sorted, as stored.
    heads: Vec<ChangeHash>,
    /// `None` for an arrival plan, kept as its plan only.
    doc: Option<AutoCommit>,
    journey: Option<Arc<Journey>>,
    plan: Option<Arc<ArrivalPlan>>,
    bytes: usize,
}

#[derive(Clone, Debug)]
struct ByBytes;

impl Weighter<DocId, Arc<Entry>> for ByBytes {
    fn weight(&self, _: &DocId, entry: &Arc<Entry>) -> u64 {
        u64::try_from(entry.bytes).unwrap_or(u64::MAX)
    }
}

/// What the cache holds now, for the metrics and the benchmark.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub documents: usize,
    /// The estimated bytes of the documents held.
    pub bytes: usize,
    pub budget: usize,
    pub hits: u64,
    pub misses: u64,
}

/// The cache of one server process.
pub struct DocCache {
    budget: usize,
    /// `None` with a budget of 0.
    entries: Option<quick_cache::sync::Cache<DocId, Arc<Entry>, ByBytes>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for DocCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocCache").field("stats", &self.stats()).finish()
    }
}

impl DocCache {
    /// A cache of at most `budget` estimated bytes; 0 keeps nothing.
    pub fn new(budget: usize) -> DocCache {
        let entries = (budget > 0).then(|| {
            // About one document per 32 KiB: the cache sizes its tables from this.
            let items = (budget / (32 << 10)).max(16);
            quick_cache::sync::Cache::with_weighter(items, u64::try_from(budget).unwrap_or(u64::MAX), ByBytes)
        });
        DocCache {
            budget,
            entries,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The entry for `doc` if it is at exactly `heads` (sorted); a stale one is dropped.
    fn fresh(&self, doc: &DocId, heads: &[ChangeHash]) -> Option<Arc<Entry>> {
        let entries = self.entries.as_ref()?;
        entries.get(doc).filter(|entry| {
            let fresh = entry.heads == heads;
            if !fresh {
                // Written elsewhere since (another instance, an admin command, a restore).
                entries.remove(doc);
            }
            fresh
        })
    }

    fn count<T>(&self, found: Option<T>) -> Option<T> {
        let counter = if found.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// A copy of the document if the cache holds it at exactly `heads` (sorted), with a
    /// fresh actor of its own.
    pub fn get(&self, doc: &DocId, heads: &[ChangeHash]) -> Option<Loaded> {
        let found = self.fresh(doc, heads).and_then(|entry| {
            let copy = entry.doc.as_ref()?.clone().with_actor(ActorId::random());
            Some(Loaded {
                doc: copy,
                journey: entry.journey.clone(),
                plan: entry.plan.clone(),
                as_cached: true,
                from_cache: true,
            })
        });
        self.count(found)
    }

    /// The arrival plan `doc` holds at exactly `heads`, if the cache knows it. Counted
    /// only when found: otherwise the load that follows counts.
    pub fn plan(&self, doc: &DocId, heads: &[ChangeHash]) -> Option<Arc<ArrivalPlan>> {
        let found = self.fresh(doc, heads).and_then(|entry| entry.plan.clone());
        if found.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    /// Keeps `loaded` as the document at `heads` (sorted), committed: after the
    /// transaction that stored them.
    pub fn put(&self, doc: DocId, heads: Vec<ChangeHash>, mut loaded: Loaded) {
        let Some(entries) = &self.entries else { return };
        let kept = if doc.kind == DocKind::ArrivalPlan && loaded.plan.is_some() {
            None
        } else if loaded.from_cache {
            Some(loaded.doc)
        } else {
            // A fork is the compact copy: a document loaded from chunks also keeps
            // what loading needed (about twice the memory, measured).
            Some(loaded.doc.fork())
        };
        let bytes = estimate(kept.as_ref(), loaded.journey.is_some());
        if bytes > self.budget {
            entries.remove(&doc);
            return;
        }
        let entry = Entry {
            heads,
            doc: kept,
            journey: loaded.journey.take(),
            plan: loaded.plan.take(),
            bytes,
        };
        entries.insert(doc, Arc::new(entry));
    }

    /// Drops a document (erased: its content must not outlive its key).
    pub fn forget(&self, doc: &DocId) {
        if let Some(entries) = &self.entries {
            entries.remove(doc);
        }
    }

    pub fn stats(&self) -> CacheStats {
        let (documents, bytes) = self.entries.as_ref().map_or((0, 0), |e| {
            (e.len(), usize::try_from(e.weight()).unwrap_or(usize::MAX))
        });
        CacheStats {
            documents,
            bytes,
            budget: self.budget,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable as _;
    use passage_core::CaseId;

    use super::*;

    fn doc_with(value: i64) -> (AutoCommit, Vec<ChangeHash>) {
        let mut doc = AutoCommit::new();
        doc.put(automerge::ROOT, "x", value).expect("a put");
        doc.commit();
        let mut heads = doc.get_heads();
        heads.sort();
        (doc, heads)
    }

    #[test]
    fn a_copy_is_given_only_at_the_stored_heads() {
        let cache = DocCache::new(1 << 20);
        let id = CaseId::random().doc(DocKind::Journey);
        let (doc, heads) = doc_with(1);
        cache.put(id.clone(), heads.clone(), Loaded::new(doc));
        let mut copy = cache.get(&id, &heads).expect("cached at these heads");
        assert_eq!(copy.doc.get_heads(), heads);
        let (_, other) = doc_with(2);
        assert!(cache.get(&id, &other).is_none(), "written elsewhere since");
        assert!(cache.get(&id, &heads).is_none(), "a stale entry is dropped");
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.documents), (1, 2, 0));
    }

    #[test]
    fn the_budget_bounds_what_is_kept_and_zero_keeps_nothing() {
        let cache = DocCache::new(256 << 10);
        for i in 0..200 {
            let (doc, heads) = doc_with(i);
            cache.put(CaseId::random().doc(DocKind::Medical), heads, Loaded::new(doc));
        }
        let stats = cache.stats();
        assert!(stats.bytes <= 256 << 10, "{stats:?}");
        assert!(stats.documents > 0 && stats.documents < 200, "{stats:?}");

        let none = DocCache::new(0);
        let id = CaseId::random().doc(DocKind::Journey);
        let (doc, heads) = doc_with(1);
        none.put(id.clone(), heads.clone(), Loaded::new(doc));
        assert!(none.get(&id, &heads).is_none());
    }

    #[test]
    fn an_erased_document_is_forgotten() {
        let cache = DocCache::new(1 << 20);
        let id = CaseId::random().doc(DocKind::Medical);
        let (doc, heads) = doc_with(1);
        cache.put(id.clone(), heads.clone(), Loaded::new(doc));
        cache.forget(&id);
        assert!(cache.get(&id, &heads).is_none());
        assert_eq!(cache.stats().documents, 0);
    }
}
