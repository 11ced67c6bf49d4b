//! How long a device waits before trying the server again.
//!
//! Thousands of phones that lost the server at the same moment must not all come
//! back at the same moment, so waits grow exponentially and are drawn at random
//! ("full jitter": uniformly between zero and the exponential ceiling, as in the AWS
//! architecture note on backoff). A server that says how long to wait
//! (`Retry-After`) is obeyed: it knows its load better than any formula.
//!
//! Kept apart from the HTTP client so the arithmetic is tested without a network.

use std::time::Duration;

/// Exponential backoff with full jitter, between `initial` and `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first retry's wait.
    pub initial: Duration,
    /// No wait is longer than this, except one the server asked for.
    pub max: Duration,
}

impl Default for Backoff {
    /// From 1 s, doubling, to 60 s: three retries of one round take at most 7 s
    /// (1 + 2 + 4) before the sync gives up and leaves the rest to the next one.
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
        }
    }
}

impl Backoff {
    /// The longest wait before retry number `attempt` (1 for the first retry):
    /// `initial × 2^(attempt − 1)`, never above `max`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        self.initial
            .checked_mul(1u32 << doublings)
            .map_or(self.max, |d| d.min(self.max))
    }

    /// The wait before retry number `attempt`: the server's `Retry-After` when it
    /// gave one, else a random duration between zero and [`Backoff::ceiling`].
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>, rng: &mut fastrand::Rng) -> Duration {
        retry_after.unwrap_or_else(|| jitter(self.ceiling(attempt), 0.0, rng))
    }

    /// The wait to announce as "next attempt after" once a sync has given up, after
    /// `attempts` tries in all: the server's `Retry-After` when it gave one, else a
    /// random duration in the upper half of the next ceiling. Not from zero: the
    /// device has just retried, and a scheduler told "now" would only fail again.
    pub fn hint(&self, attempts: u32, retry_after: Option<Duration>, rng: &mut fastrand::Rng) -> Duration {
        retry_after.unwrap_or_else(|| jitter(self.ceiling(attempts.saturating_add(1)), 0.5, rng))
    }
}

/// A random duration between `from × ceiling` and `ceiling`, to the millisecond.
fn jitter(ceiling: Duration, from: f64, rng: &mut fastrand::Rng) -> Duration {
    ceiling.mul_f64(from + (1.0 - from) * rng.f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn ceilings_double_from_the_initial_wait_up_to_the_maximum() {
        let b = Backoff::default();
        let ceilings: Vec<u64> = (1..=8).map(|a| b.ceiling(a).as_secs()).collect();
        assert_eq!(ceilings, [1, 2, 4, 8, 16, 32, 60, 60]);
        // Attempt 0 is treated as the first; a huge attempt number neither overflows
        // nor exceeds the maximum.
        assert_eq!(b.ceiling(0), secs(1));
        assert_eq!(b.ceiling(u32::MAX), secs(60));
    }

    #[test]
    fn delays_stay_within_zero_and_the_ceiling_and_spread_over_it() {
        let b = Backoff::default();
        let mut rng = fastrand::Rng::with_seed(7);
        for attempt in 1..=10 {
            let ceiling = b.ceiling(attempt);
            let draws: Vec<Duration> = (0..500).map(|_| b.delay(attempt, None, &mut rng)).collect();
            assert!(
                draws.iter().all(|d| *d <= ceiling),
                "attempt {attempt} above {ceiling:?}"
            );
            // Full jitter: both halves of the range are used, so devices spread out.
            let low = draws.iter().filter(|d| **d < ceiling / 4).count();
            let high = draws.iter().filter(|d| **d > ceiling * 3 / 4).count();
            assert!(low > 50 && high > 50, "attempt {attempt}: {low} low, {high} high");
        }
    }

    #[test]
    fn retry_after_wins_over_the_backoff() {
        let b = Backoff::default();
        let mut rng = fastrand::Rng::with_seed(1);
        assert_eq!(b.delay(1, Some(secs(5)), &mut rng), secs(5));
        // Even past the backoff's maximum: the server knows its load.
        assert_eq!(b.delay(9, Some(secs(600)), &mut rng), secs(600));
        assert_eq!(b.hint(4, Some(secs(120)), &mut rng), secs(120));
    }

    #[test]
    fn the_hint_is_in_the_upper_half_of_the_next_ceiling() {
        let b = Backoff::default();
        let mut rng = fastrand::Rng::with_seed(3);
        for attempts in [1, 4, 9] {
            let ceiling = b.ceiling(attempts + 1);
            for _ in 0..200 {
                let hint = b.hint(attempts, None, &mut rng);
                assert!(hint >= ceiling / 2 && hint <= ceiling, "{hint:?} for {attempts}");
            }
        }
    }

    #[test]
    fn a_custom_range_is_kept() {
        let b = Backoff {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(25),
        };
        let mut rng = fastrand::Rng::with_seed(9);
        assert_eq!(b.ceiling(2), Duration::from_millis(20));
        assert_eq!(b.ceiling(3), Duration::from_millis(25));
        assert!((0..100).all(|_| b.delay(5, None, &mut rng) <= Duration::from_millis(25)));
    }
}
