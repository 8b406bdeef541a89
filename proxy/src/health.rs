//! Whether forwarding works, for `GET /health` and the logs. Two sources:
//! - SQS calls: after `threshold` consecutive failed calls the proxy reports unhealthy with
//!   the last error; the first successful call makes it healthy again.
//! - the forwarder supervisor: no forwarder can send (all failed and waiting for their
//!   restart, or an SQS call has gone unanswered past the request budget with no call
//!   succeeding meanwhile).
//!
//! Transitions are logged once, not per call.
use crate::log;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Health {
    consecutive_failures: AtomicU32,
    threshold: u32,
    last_error: Mutex<String>,
    base: Instant,
    /// Nanoseconds after `base` of the last successful call (0: none yet).
    last_success: AtomicU64,
    forwarding: Mutex<Option<String>>,
}

impl Health {
    pub fn new(threshold: u32) -> Health {
        Health {
            consecutive_failures: AtomicU32::new(0),
            threshold: threshold.max(1),
            last_error: Mutex::new(String::new()),
            base: Instant::now(),
            last_success: AtomicU64::new(0),
            forwarding: Mutex::new(None),
        }
    }

    pub fn success(&self) {
        let nanos = Instant::now()
            .saturating_duration_since(self.base)
            .as_nanos();
        self.last_success
            .store(u64::try_from(nanos).unwrap_or(u64::MAX), Relaxed);
        let before = self.consecutive_failures.swap(0, Relaxed);
        if before >= self.threshold {
            log::info("sqs reachable again; healthy");
        }
    }

    /// Whether some SQS call succeeded after `since`.
    pub fn succeeded_since(&self, since: Instant) -> bool {
        let at = self.base + Duration::from_nanos(self.last_success.load(Relaxed));
        self.last_success.load(Relaxed) != 0 && at >= since
    }

    pub fn failure(&self, error: &str) {
        if let Ok(mut last) = self.last_error.lock() {
            *last = error.to_string();
        }
        let now = self.consecutive_failures.fetch_add(1, Relaxed) + 1;
        if now == self.threshold {
            log::error(&format!(
                "sqs failing ({now} calls in a row): {error}; unhealthy"
            ));
        }
    }

    /// The supervisor's verdict: `Some(reason)` while no forwarder can send.
    pub fn set_forwarding_problem(&self, problem: Option<String>) {
        let Ok(mut current) = self.forwarding.lock() else {
            return;
        };
        if *current != problem {
            match &problem {
                Some(p) => log::error(&format!("cannot forward: {p}; unhealthy")),
                None => log::info("forwarders running again"),
            }
            *current = problem;
        }
    }

    /// `None` when healthy, else why not.
    pub fn problem(&self) -> Option<String> {
        if let Some(p) = self.forwarding.lock().ok().and_then(|f| f.clone()) {
            return Some(p);
        }
        let n = self.consecutive_failures.load(Relaxed);
        if n < self.threshold {
            return None;
        }
        let last = self
            .last_error
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default();
        Some(format!("last {n} sqs calls failed: {last}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unhealthy_after_threshold_failures_and_recovers_on_success() {
        let h = Health::new(3);
        h.failure("a");
        h.failure("b");
        assert_eq!(h.problem(), None);
        h.failure("connection refused");
        let p = h.problem().unwrap();
        assert!(p.contains("connection refused") && p.contains('3'), "{p}");
        h.success();
        assert_eq!(h.problem(), None);
    }

    #[test]
    fn a_forwarding_problem_wins_until_cleared() {
        let h = Health::new(3);
        let before = Instant::now();
        assert!(!h.succeeded_since(before));
        h.set_forwarding_problem(Some("no forwarder running".into()));
        assert_eq!(h.problem().as_deref(), Some("no forwarder running"));
        h.set_forwarding_problem(None);
        assert_eq!(h.problem(), None);
        h.success();
        assert!(h.succeeded_since(before));
    }
}
