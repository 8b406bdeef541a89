//! Exponential backoff with "full jitter" (AWS Architecture Blog, "Exponential Backoff And
//! Jitter"): the n-th delay is uniform in `[0, min(max, base * 2^n)]`. Full jitter spreads
//! retries of many clients that failed together (a throttled queue, a restarted proxy), which
//! is what matters most here.
//!
//! Randomness: a xorshift64* generator seeded from std's per-process random hasher keys, so
//! no extra crate is needed; the quality is ample for spreading retries.
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    attempts: u32,
    rng: u64,
}

impl Backoff {
    /// `base` is the first ceiling, doubled each attempt up to `max`.
    pub fn new(base: Duration, max: Duration) -> Backoff {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0),
        );
        Backoff::with_seed(base, max, h.finish())
    }

    /// Deterministic jitter, for tests.
    pub fn with_seed(base: Duration, max: Duration, seed: u64) -> Backoff {
        Backoff {
            base,
            max: max.max(base),
            attempts: 0,
            // xorshift must not start at zero.
            rng: seed | 1,
        }
    }

    /// The delay before the next retry; each call counts one attempt.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempts = self.attempts.saturating_add(1);
        let nanos = ceiling.as_nanos().min(u128::from(u64::MAX)) as u64;
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(self.next_random() % (nanos + 1))
    }

    /// The upper bound of the next delay: `min(max, base * 2^attempts)`.
    pub fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.attempts.min(31)).unwrap_or(u32::MAX);
        self.base
            .checked_mul(factor)
            .unwrap_or(self.max)
            .min(self.max)
    }

    /// Back to the first step, after a success.
    pub fn reset(&mut self) {
        self.attempts = 0;
    }

    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64* (Vigna 2014).
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_doubles_then_caps_and_delays_stay_under_it() {
        let mut b = Backoff::with_seed(Duration::from_millis(100), Duration::from_secs(2), 42);
        let expected_ceilings = [100, 200, 400, 800, 1600, 2000, 2000, 2000];
        for want in expected_ceilings {
            let ceiling = b.ceiling();
            assert_eq!(ceiling, Duration::from_millis(want));
            assert!(b.next_delay() <= ceiling);
        }
        assert_eq!(b.attempts(), 8);
        b.reset();
        assert_eq!(b.attempts(), 0);
        assert_eq!(b.ceiling(), Duration::from_millis(100));
    }

    #[test]
    fn jitter_actually_varies() {
        let mut b = Backoff::with_seed(Duration::from_secs(1), Duration::from_secs(1), 7);
        let delays: Vec<Duration> = (0..20).map(|_| b.next_delay()).collect();
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(distinct.len() > 15, "{delays:?}");
    }

    #[test]
    fn many_attempts_do_not_overflow() {
        let mut b = Backoff::new(Duration::from_secs(3600), Duration::from_secs(7200));
        for _ in 0..100 {
            assert!(b.next_delay() <= Duration::from_secs(7200));
        }
    }
}
