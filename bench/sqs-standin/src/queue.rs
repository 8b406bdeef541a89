//! The one queue the stand-in plays, protocol-free: a counting sink for sends (counted and
//! dropped, nothing stored), a canned source of `prefill` messages for receives (each handed
//! out once: no visibility timeout, no redelivery), and per handed-out message the time it
//! was handed out, so a delete records the receive → delete latency. Everything is atomic:
//! connection threads never wait for each other.
use crate::canned::{self, Canned};
use crate::error::SqsError;
use crate::histogram::Histogram;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// SQS's batch limit, and the most one ReceiveMessage returns.
pub const MAX_BATCH: usize = 10;
/// SQS's largest message (and the queue's MaximumMessageSize here).
pub const MAX_MESSAGE_BYTES: usize = 1_048_576;

/// Attributes SQS knows that this queue does not have (a standard queue without a redrive
/// policy, access policy or KMS key): asked for, they are left out of the answer, as SQS
/// leaves them out.
const UNSET: &[&str] = &[
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "Policy",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
];

pub struct Queue {
    pub canned: Canned,
    prefill: u64,
    /// The next canned message to hand out (may run past `prefill`: then there are none).
    next: AtomicU64,
    /// Per canned message: nanoseconds since `epoch` + 1 when handed out, 0 once deleted.
    handed_out: Box<[AtomicU64]>,
    epoch: Instant,
    /// The longest an empty receive waits (its WaitTimeSeconds, capped).
    max_wait: Duration,
    pub counters: Counters,
    /// Receive → delete latency, microseconds.
    pub delete_latency_us: Histogram,
}

#[derive(Default)]
pub struct Counters {
    pub sent: AtomicU64,
    pub received: AtomicU64,
    pub deleted: AtomicU64,
    pub receive_calls: AtomicU64,
    pub empty_receives: AtomicU64,
    pub errors: AtomicU64,
    sent_ids: AtomicU64,
}

impl Counters {
    /// Handed out and not deleted yet.
    pub fn in_flight(&self) -> u64 {
        let received = self.received.load(Relaxed);
        received - self.deleted.load(Relaxed).min(received)
    }
}

impl Queue {
    pub fn new(prefill: u64, instances: u64, max_wait: Duration) -> Queue {
        Queue {
            canned: Canned::new(instances),
            prefill,
            next: AtomicU64::new(0),
            handed_out: (0..prefill).map(|_| AtomicU64::new(0)).collect(),
            epoch: Instant::now(),
            max_wait,
            counters: Counters::default(),
            delete_latency_us: Histogram::default(),
        }
    }

    /// Counts `n` sent messages and returns the number of the first, for their ids.
    pub fn count_sent(&self, n: u64) -> u64 {
        self.counters.sent.fetch_add(n, Relaxed);
        self.counters.sent_ids.fetch_add(n, Relaxed)
    }

    /// Hands out up to `max` canned messages; when none are left, waits `wait` (capped)
    /// first, as a long poll on an empty queue does, and returns an empty range.
    pub fn receive(&self, max: usize, wait: Duration) -> Range<u64> {
        self.counters.receive_calls.fetch_add(1, Relaxed);
        let start = self.next.fetch_add(max as u64, Relaxed);
        if start >= self.prefill {
            self.counters.empty_receives.fetch_add(1, Relaxed);
            std::thread::sleep(wait.min(self.max_wait));
            return 0..0;
        }
        let end = (start + max as u64).min(self.prefill);
        let stamp = self.now_ns() + 1;
        for slot in &self.handed_out[start as usize..end as usize] {
            slot.store(stamp, Relaxed);
        }
        self.counters.received.fetch_add(end - start, Relaxed);
        start..end
    }

    /// Deletes the message behind `handle` and records its receive → delete latency. A
    /// message deleted again succeeds (as in SQS) without counting twice.
    pub fn delete(&self, handle: &str, now_ns: u64) -> Result<(), SqsError> {
        let slot = self.slot(handle)?;
        let stamp = slot.swap(0, Relaxed);
        if stamp != 0 {
            self.counters.deleted.fetch_add(1, Relaxed);
            let latency_ns = now_ns.saturating_sub(stamp - 1);
            self.delete_latency_us.record(latency_ns / 1000);
        }
        Ok(())
    }

    /// ChangeMessageVisibility: accepted for a handle this stand-in made, otherwise ignored
    /// (nothing is ever redelivered here).
    pub fn change_visibility(&self, handle: &str) -> Result<(), SqsError> {
        self.slot(handle).map(drop)
    }

    fn slot(&self, handle: &str) -> Result<&AtomicU64, SqsError> {
        canned::parse_receipt_handle(handle)
            .and_then(|n| self.handed_out.get(usize::try_from(n).ok()?))
            .ok_or_else(|| SqsError::receipt_handle_invalid(handle))
    }

    /// Nanoseconds since the stand-in started: the clock of the latency records.
    pub fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// Canned messages not yet handed out.
    pub fn remaining(&self) -> u64 {
        self.prefill - self.next.load(Relaxed).min(self.prefill)
    }

    /// The queue's attributes as GetQueueAttributes reports them; `names` empty or "All"
    /// means all of them. An unknown name is an error, as in SQS.
    pub fn attributes(&self, names: &[&str]) -> Result<Vec<(&'static str, String)>, SqsError> {
        let in_flight = self.counters.in_flight();
        let created = (self.canned.sent_ms / 1000).to_string();
        let all: [(&'static str, String); 12] = [
            ("ApproximateNumberOfMessages", self.remaining().to_string()),
            (
                "ApproximateNumberOfMessagesNotVisible",
                in_flight.to_string(),
            ),
            ("ApproximateNumberOfMessagesDelayed", "0".into()),
            ("CreatedTimestamp", created.clone()),
            ("LastModifiedTimestamp", created),
            ("DelaySeconds", "0".into()),
            ("MaximumMessageSize", MAX_MESSAGE_BYTES.to_string()),
            ("MessageRetentionPeriod", "345600".into()),
            (
                "QueueArn",
                "arn:aws:sqs:us-east-1:000000000000:standin".into(),
            ),
            ("ReceiveMessageWaitTimeSeconds", "0".into()),
            ("VisibilityTimeout", "30".into()),
            ("SqsManagedSseEnabled", "false".into()),
        ];
        if names.is_empty() || names.contains(&"All") {
            return Ok(all.into_iter().collect());
        }
        let mut picked = Vec::with_capacity(names.len());
        for name in names {
            if UNSET.contains(name) {
                continue;
            }
            match all.iter().find(|(n, _)| n == name) {
                Some(pair) => picked.push(pair.clone()),
                None => return Err(SqsError::invalid_attribute_name(name)),
            }
        }
        Ok(picked)
    }
}
