//! What each node has done so far, shared between the schedulers, the control thread and the
//! stats writer. Plain atomics: counters are read while nodes keep running.
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

/// Sentinel for "still running" in [`NodeStatus::exit_code`].
const RUNNING: i64 = i64::MIN;

#[derive(Debug)]
pub struct NodeStatus {
    pub hostname: String,
    pub region: String,
    pub job_id: String,
    pub execution_id: String,
    pub posts: AtomicU64,
    pub acked: AtomicU64,
    pub filtered: AtomicU64,
    pub failed: AtomicU64,
    pub max_sequence_posted: AtomicU64,
    /// The sensor's own counts of messages it lost at the source (the highest it reported).
    pub dropped_permanent: AtomicU64,
    pub dropped_overflow: AtomicU64,
    /// `false` while the control channel has cut this node's network.
    pub connected: AtomicBool,
    exit_code: AtomicI64,
}

impl NodeStatus {
    pub fn new(hostname: &str, region: &str, job_id: &str, execution_id: &str) -> NodeStatus {
        NodeStatus {
            hostname: hostname.to_string(),
            region: region.to_string(),
            job_id: job_id.to_string(),
            execution_id: execution_id.to_string(),
            posts: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            filtered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            max_sequence_posted: AtomicU64::new(0),
            dropped_permanent: AtomicU64::new(0),
            dropped_overflow: AtomicU64::new(0),
            connected: AtomicBool::new(true),
            exit_code: AtomicI64::new(RUNNING),
        }
    }

    pub fn set_exited(&self, code: i32) {
        self.exit_code.store(i64::from(code), Ordering::SeqCst);
    }

    pub fn exited(&self) -> Option<i32> {
        match self.exit_code.load(Ordering::SeqCst) {
            RUNNING => None,
            code => i32::try_from(code).ok(),
        }
    }

    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }

    /// Records one finished guest request for the demo's stats.
    pub fn record(&self, outcome: RequestOutcome) {
        let counter = match outcome {
            RequestOutcome::Acked => &self.acked,
            RequestOutcome::Filtered => &self.filtered,
            RequestOutcome::Failed => &self.failed,
            RequestOutcome::Other => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A POST went out, carrying `fields` (see [`posted_fields`]).
    pub fn record_post(&self, fields: PostedFields) {
        self.posts.fetch_add(1, Ordering::Relaxed);
        if let Some(seq) = fields.sequence {
            self.max_sequence_posted.fetch_max(seq, Ordering::Relaxed);
        }
        // Cumulative in the sensor, so the highest seen is the current count.
        self.dropped_permanent
            .fetch_max(fields.dropped_permanent, Ordering::Relaxed);
        self.dropped_overflow
            .fetch_max(fields.dropped_overflow, Ordering::Relaxed);
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "hostname": self.hostname,
            "region": self.region,
            "job_id": self.job_id,
            "execution_id": self.execution_id,
            "posts": self.posts.load(Ordering::Relaxed),
            "acked": self.acked.load(Ordering::Relaxed),
            "filtered": self.filtered.load(Ordering::Relaxed),
            "failed": self.failed.load(Ordering::Relaxed),
            "max_sequence_posted": self.max_sequence_posted.load(Ordering::Relaxed),
            "dropped_permanent": self.dropped_permanent.load(Ordering::Relaxed),
            "dropped_overflow": self.dropped_overflow.load(Ordering::Relaxed),
            "connected": self.is_connected(),
            "exited": self.exited(),
        })
    }
}

/// How a guest request ended, as the stats count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestOutcome {
    /// 2xx whose body has a `message_id`.
    Acked,
    /// 2xx whose body says `filtered`.
    Filtered,
    /// Result code ≠ 0 or a non-2xx status.
    Failed,
    /// Any other success (health checks, ...).
    Other,
}

impl RequestOutcome {
    pub fn classify(code: u32, status: u16, body: &[u8]) -> RequestOutcome {
        if code != 0 || !(200..300).contains(&status) {
            return RequestOutcome::Failed;
        }
        let text = String::from_utf8_lossy(body);
        if text.contains("\"message_id\"") {
            RequestOutcome::Acked
        } else if text.contains("filtered") {
            RequestOutcome::Filtered
        } else {
            RequestOutcome::Other
        }
    }
}

/// What the stats read from a POSTed JSON body: the sensor message's `sequence` and its
/// optional `dropped_permanent` / `dropped_overflow` counts (0 when absent).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PostedFields {
    pub sequence: Option<u64>,
    pub dropped_permanent: u64,
    pub dropped_overflow: u64,
}

/// [`PostedFields`] of a request body; all empty unless the body is a JSON object.
pub fn posted_fields(body: &[u8]) -> PostedFields {
    if body.first() != Some(&b'{') {
        return PostedFields::default();
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return PostedFields::default();
    };
    let number = |name: &str| value.get(name).and_then(serde_json::Value::as_u64);
    PostedFields {
        sequence: number("sequence"),
        dropped_permanent: number("dropped_permanent").unwrap_or(0),
        dropped_overflow: number("dropped_overflow").unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_answers() {
        assert_eq!(
            RequestOutcome::classify(0, 200, br#"{"message_id":"x"}"#),
            RequestOutcome::Acked
        );
        assert_eq!(
            RequestOutcome::classify(0, 200, br#"{"status":"filtered"}"#),
            RequestOutcome::Filtered
        );
        assert_eq!(
            RequestOutcome::classify(0, 500, br#"{"message_id":"x"}"#),
            RequestOutcome::Failed
        );
        assert_eq!(RequestOutcome::classify(2, 0, b""), RequestOutcome::Failed);
        assert_eq!(
            RequestOutcome::classify(0, 200, br#"{"status":"healthy"}"#),
            RequestOutcome::Other
        );
    }

    #[test]
    fn sequence_and_drop_counts_from_json_body() {
        assert_eq!(
            posted_fields(br#"{"sequence":42,"x":1}"#).sequence,
            Some(42)
        );
        assert_eq!(posted_fields(b"sequence=4"), PostedFields::default());
        let s = NodeStatus::new("h", "r", "j", "e");
        s.record_post(posted_fields(br#"{"sequence":3,"dropped_overflow":5}"#));
        s.record_post(posted_fields(
            br#"{"sequence":2,"dropped_permanent":1,"dropped_overflow":4}"#,
        ));
        assert_eq!(s.to_json()["max_sequence_posted"], 3);
        assert_eq!(s.to_json()["dropped_permanent"], 1);
        assert_eq!(s.to_json()["dropped_overflow"], 5);
        assert_eq!(s.exited(), None);
        s.set_exited(-1);
        assert_eq!(s.exited(), Some(-1));
    }
}
