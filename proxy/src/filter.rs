//! The supersede filter: per `hostname`, the newest `job_submission_time` seen wins, and an
//! older message is answered `{"status":"filtered"}` instead of being forwarded (this is how a
//! v2 rollout on a node supersedes v1 still running there).
//!
//! One view for the whole process, shared by all workers (the original kept one per gunicorn
//! worker, so its workers disagreed). It is split into shards, each behind its own mutex, so
//! workers rarely contend. Memory is bounded: each shard holds at most `capacity / shards`
//! hostnames; when a shard is full, the quarter of its hostnames seen least recently is
//! forgotten. Forgetting fails open: a forgotten host's next message is forwarded, never
//! dropped, so eviction can cause a duplicate-era message to pass, not a loss.
use json_fields::{Field, Fields};
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

const SHARDS: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// Newest (or equal) for its host, or not a sensor message: forward it.
    Forward,
    /// Older than `newest`, the time already seen for this host.
    Superseded { newest: f64 },
}

struct Entry {
    newest: f64,
    last_seen: u64,
}

pub struct Filter {
    shards: Vec<Mutex<HashMap<String, Entry>>>,
    per_shard: usize,
    /// Logical clock for "seen least recently".
    clock: AtomicU64,
    evicted: AtomicU64,
}

impl Filter {
    /// `capacity`: hostnames remembered in total (at least one per shard).
    pub fn new(capacity: usize) -> Filter {
        Filter {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
            clock: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
        }
    }

    /// Decides for one message (a parsed JSON object) and records its time when it is newest.
    ///
    /// Messages without a string `hostname` or a numeric `job_submission_time` are forwarded:
    /// the proxy's job is to carry data, and silently dropping anything that doesn't look like
    /// the current schema (as the original did) loses data with a 200 answer.
    pub fn check(&self, message: &Fields) -> Verdict {
        let (Some(host), Some(time)) = (
            message.get("hostname").and_then(Field::as_str),
            message.get("job_submission_time").and_then(Field::as_f64),
        ) else {
            return Verdict::Forward;
        };
        let now = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut shard = match self.shards[shard_of(host)].lock() {
            Ok(guard) => guard,
            // A panic elsewhere while holding the lock leaves a consistent map (every update
            // is a single insert), so keep using it.
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(entry) = shard.get_mut(host) {
            entry.last_seen = now;
            if time < entry.newest {
                return Verdict::Superseded {
                    newest: entry.newest,
                };
            }
            entry.newest = time;
            return Verdict::Forward;
        }
        if shard.len() >= self.per_shard {
            let evicted = evict_least_recent(&mut shard);
            self.evicted.fetch_add(evicted as u64, Ordering::Relaxed);
        }
        shard.insert(
            host.to_string(),
            Entry {
                newest: time,
                last_seen: now,
            },
        );
        Verdict::Forward
    }

    /// Hostnames currently remembered.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map(|g| g.len()).unwrap_or(0))
            .sum()
    }

    pub fn evicted(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }
}

fn shard_of(host: &str) -> usize {
    let mut h = DefaultHasher::new();
    host.hash(&mut h);
    (h.finish() as usize) % SHARDS
}

/// Drops the least recently seen quarter (at least one) of a full shard. Evicting a batch at
/// once keeps the cost amortised O(log n) per insert instead of a scan per insert.
fn evict_least_recent(shard: &mut HashMap<String, Entry>) -> usize {
    let mut ages: Vec<u64> = shard.values().map(|e| e.last_seen).collect();
    let k = (ages.len() / 4).max(1);
    let (_, cutoff, _) = ages.select_nth_unstable(k - 1);
    let cutoff = *cutoff;
    let before = shard.len();
    shard.retain(|_, e| e.last_seen > cutoff);
    before - shard.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// The fields read from `v` written out (kept for the test's life: the fields borrow it).
    fn msg(v: Value) -> Fields<'static> {
        let body: &'static str = Box::leak(v.to_string().into_boxed_str());
        json_fields::top_level(body, &crate::routes::READ_FIELDS).unwrap()
    }

    #[test]
    fn older_time_for_same_host_is_superseded() {
        let f = Filter::new(100);
        let m = |t: f64| msg(json!({"hostname": "n1", "job_submission_time": t}));
        assert_eq!(f.check(&m(200.0)), Verdict::Forward);
        assert_eq!(f.check(&m(100.0)), Verdict::Superseded { newest: 200.0 });
        assert_eq!(
            f.check(&m(200.0)),
            Verdict::Forward,
            "same job keeps flowing"
        );
        assert_eq!(f.check(&m(300.0)), Verdict::Forward);
        assert_eq!(f.check(&m(200.0)), Verdict::Superseded { newest: 300.0 });
    }

    #[test]
    fn hosts_are_independent() {
        let f = Filter::new(100);
        f.check(&msg(json!({"hostname": "a", "job_submission_time": 500})));
        let v = f.check(&msg(json!({"hostname": "b", "job_submission_time": 1})));
        assert_eq!(v, Verdict::Forward);
    }

    #[test]
    fn messages_without_the_fields_are_forwarded() {
        let f = Filter::new(100);
        for m in [
            json!({}),
            json!({"hostname": "a"}),
            json!({"job_submission_time": 1}),
            json!({"hostname": 7, "job_submission_time": 1}),
            json!({"hostname": "a", "job_submission_time": "yesterday"}),
        ] {
            assert_eq!(f.check(&msg(m)), Verdict::Forward);
        }
        assert_eq!(f.len(), 0);
    }

    #[test]
    fn memory_stays_bounded_and_recent_hosts_survive() {
        let f = Filter::new(64);
        for i in 0..10_000 {
            let host = format!("host-{i}");
            f.check(&msg(json!({"hostname": host, "job_submission_time": 10})));
            // host-keep is seen constantly, so eviction by last-seen never picks it.
            f.check(&msg(
                json!({"hostname": "host-keep", "job_submission_time": 10}),
            ));
        }
        assert!(f.len() <= 64, "{} hosts kept", f.len());
        assert!(f.evicted() > 0);
        let v = f.check(&msg(
            json!({"hostname": "host-keep", "job_submission_time": 5}),
        ));
        assert_eq!(v, Verdict::Superseded { newest: 10.0 });
    }
}
