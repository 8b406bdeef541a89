//! The moment shutdown gives up on forwarding, shared by the workers and the forwarders
//! without a lock: unset while the proxy runs, set once when SIGTERM/SIGINT arrives to the
//! end of the drain time. After it, nothing more is sent to SQS and every request still
//! waiting is answered 503 (the sender keeps it and retries elsewhere or later).
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

const UNSET: u64 = u64::MAX;

pub struct Cutoff {
    base: Instant,
    /// Nanoseconds after `base`, or `UNSET`.
    at: AtomicU64,
}

impl Default for Cutoff {
    fn default() -> Cutoff {
        Cutoff {
            base: Instant::now(),
            at: AtomicU64::new(UNSET),
        }
    }
}

impl Cutoff {
    /// Sets the cutoff (the first call wins: a second signal must not extend it).
    pub fn set(&self, at: Instant) {
        let nanos = at.saturating_duration_since(self.base).as_nanos();
        let nanos = u64::try_from(nanos).unwrap_or(UNSET - 1);
        let _ = self.at.compare_exchange(UNSET, nanos, Relaxed, Relaxed);
    }

    pub fn get(&self) -> Option<Instant> {
        match self.at.load(Relaxed) {
            UNSET => None,
            nanos => Some(self.base + Duration::from_nanos(nanos)),
        }
    }

    pub fn passed(&self, now: Instant) -> bool {
        self.get().is_some_and(|at| now >= at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_until_set_and_the_first_setting_wins() {
        let c = Cutoff::default();
        let now = Instant::now();
        assert!(!c.passed(now + Duration::from_secs(3600)));
        c.set(now + Duration::from_secs(1));
        c.set(now + Duration::from_secs(100));
        assert!(!c.passed(now));
        assert!(c.passed(now + Duration::from_secs(2)));
    }
}
