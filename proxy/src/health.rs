//! Whether forwarding works, for `GET /health` and the logs: after `threshold` consecutive
//! failed SQS calls the proxy reports unhealthy with the last error; the first successful call
//! makes it healthy again. Transitions are logged once, not per call.
use crate::log;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::Mutex;

pub struct Health {
    consecutive_failures: AtomicU32,
    threshold: u32,
    last_error: Mutex<String>,
}

impl Health {
    pub fn new(threshold: u32) -> Health {
        Health {
            consecutive_failures: AtomicU32::new(0),
            threshold: threshold.max(1),
            last_error: Mutex::new(String::new()),
        }
    }

    pub fn success(&self) {
        let before = self.consecutive_failures.swap(0, Relaxed);
        if before >= self.threshold {
            log::info("sqs reachable again; healthy");
        }
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

    /// `None` when healthy, else why not.
    pub fn problem(&self) -> Option<String> {
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
}
