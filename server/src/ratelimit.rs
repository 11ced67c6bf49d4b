//! Token buckets per key (a device, a client address, an enrolment code), in memory.
//!
//! Each key gets a bucket of `burst` tokens that refills at `per_minute`; a request
//! takes one, and a request that finds the bucket empty is told how long until the
//! next token (the `Retry-After` of its 429). Memory is bounded whatever the number of
//! keys a client invents: past [`MAX_KEYS`], the buckets that are full again (their
//! keys idle long enough to have forgotten nothing) are dropped, and if none are, the
//! least recently used ones.
//!
//! The buckets live in one server process. Several instances behind a load balancer
//! each keep their own, so a client spread over them gets their sum; docs/server.md
//! says so.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys kept at most per limiter.
pub const MAX_KEYS: usize = 65_536;

/// A rate: `burst` at once, then `per_minute`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub burst: u32,
    pub per_minute: u32,
}

impl Rate {
    pub const fn per_minute(burst: u32, per_minute: u32) -> Rate {
        Rate { burst, per_minute }
    }

    /// Seconds for one token to come back.
    fn refill_secs(self) -> f64 {
        60.0 / f64::from(self.per_minute.max(1))
    }
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Buckets by key.
#[derive(Debug)]
pub struct RateLimiter<K> {
    rate: Rate,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    pub fn new(rate: Rate) -> RateLimiter<K> {
        RateLimiter {
            rate,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `key` now: `Ok`, or how long until one is there.
    pub fn take(&self, key: &K) -> Result<(), Duration> {
        self.take_at(key, Instant::now())
    }

    fn take_at(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let burst = f64::from(self.rate.burst.max(1));
        let refill = self.rate.refill_secs();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if !buckets.contains_key(key) && buckets.len() >= MAX_KEYS {
            Self::make_room(&mut buckets, now, burst, refill);
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed / refill).min(burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) * refill))
        }
    }

    /// Drops buckets that have refilled (their keys lose nothing), else the oldest
    /// quarter.
    fn make_room(buckets: &mut HashMap<K, Bucket>, now: Instant, burst: f64, refill: f64) {
        buckets.retain(|_, b| {
            b.tokens + now.saturating_duration_since(b.updated).as_secs_f64() / refill < burst
        });
        if buckets.len() < MAX_KEYS {
            return;
        }
        let mut ages: Vec<Instant> = buckets.values().map(|b| b.updated).collect();
        ages.sort_unstable();
        let cut = ages[ages.len() / 4];
        buckets.retain(|_, b| b.updated > cut);
    }

    /// Keys held now (for tests of the bound).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Whole seconds to put in `Retry-After`, rounded up and at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let limiter = RateLimiter::new(Rate::per_minute(3, 60));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.take_at(&1, t0), Ok(()));
        }
        let wait = limiter.take_at(&1, t0).unwrap_err();
        assert!(
            wait <= Duration::from_secs(1) && wait > Duration::from_millis(900),
            "{wait:?}"
        );
        // Another key has its own bucket.
        assert_eq!(limiter.take_at(&2, t0), Ok(()));
        // One second later, one token is back, and only one.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(limiter.take_at(&1, t1), Ok(()));
        assert!(limiter.take_at(&1, t1).is_err());
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(3)), 3);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }

    #[test]
    fn invented_keys_do_not_grow_memory_past_the_bound() {
        let limiter = RateLimiter::new(Rate::per_minute(2, 1));
        let t0 = Instant::now();
        for key in 0..(MAX_KEYS as u64 * 3) {
            let _ = limiter.take_at(&key, t0 + Duration::from_micros(key));
        }
        assert!(limiter.len() <= MAX_KEYS, "{}", limiter.len());
        // A key in use keeps its state: still empty after its burst.
        let busy = u64::MAX;
        let now = t0 + Duration::from_secs(1);
        assert!(limiter.take_at(&busy, now).is_ok());
        assert!(limiter.take_at(&busy, now).is_ok());
        assert!(limiter.take_at(&busy, now).is_err());
    }
}
