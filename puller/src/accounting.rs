//! Loss accounting: per publisher instance, which sequences arrived, how many twice, and how
//! late; plus the puller-wide counters the summary, the final report and /metrics show.
use crate::latency::Latency;
use crate::sensor::{Body, SensorMessage};
use crate::sequences::SequenceSet;
use std::collections::BTreeMap;

/// Everything known about one publisher instance (one execution, or hostname + job).
#[derive(Debug, Clone, Default)]
pub struct Instance {
    pub region: String,
    pub job_id: String,
    pub execution_id: String,
    pub hostname: String,
    pub job_submission_time: Option<i64>,
    /// Messages delivered, duplicates included.
    pub count: u64,
    pub sequences: SequenceSet,
    pub duplicates: u64,
    pub latency: Latency,
}

/// Puller-wide counters. Every delivered message is counted exactly once in `messages`.
#[derive(Debug, Clone, Default)]
pub struct Accounting {
    pub messages: u64,
    /// Sensor messages per region; other bodies are under "-".
    pub per_region: BTreeMap<String, u64>,
    pub non_json: u64,
    pub schema_less: u64,
    /// Messages rejected (`--require-schema`) or whose batch the sink failed to write.
    pub rejected: u64,
    pub dead_lettered: u64,
    pub sink_failures: u64,
    /// Deletes given up on after retries: those messages will be delivered again.
    pub delete_failures: u64,
    pub delete_retries: u64,
    pub receive_errors: u64,
    /// ReceiveMessage calls that succeeded, and how many messages they returned in all
    /// (their ratio is the average batch size, the main lever on throughput).
    pub receive_calls: u64,
    pub received: u64,
    /// DeleteMessageBatch calls made.
    pub delete_calls: u64,
    /// Messages handed back to SQS undelivered (visibility 0): they arrived on a long poll
    /// after the stop, or stdout closed before they were written.
    pub released: u64,
    /// Poller threads restarted after dying (see `supervisor`).
    pub poller_restarts: u64,
    pub instances: BTreeMap<String, Instance>,
}

/// The region label for bodies that are not sensor messages.
pub const NO_REGION: &str = "-";

impl Accounting {
    /// Counts one message the sink accepted. `received_secs` is the receive time (Unix s).
    pub fn delivered(&mut self, body: &Body, received_secs: i64) {
        self.messages += 1;
        match body {
            Body::Sensor(m) => {
                *self.per_region.entry(m.region.clone()).or_insert(0) += 1;
                self.sensor_message(m, received_secs);
            }
            Body::SchemaLess(_) => {
                self.schema_less += 1;
                *self.per_region.entry(NO_REGION.to_string()).or_insert(0) += 1;
            }
            Body::NonJson(_) => {
                self.non_json += 1;
                *self.per_region.entry(NO_REGION.to_string()).or_insert(0) += 1;
            }
        }
    }

    fn sensor_message(&mut self, m: &SensorMessage, received_secs: i64) {
        let instance = self
            .instances
            .entry(m.instance_key())
            .or_insert_with(|| Instance {
                region: m.region.clone(),
                job_id: m.job_id.clone(),
                execution_id: m.execution_id.clone(),
                hostname: m.hostname.clone(),
                job_submission_time: m.job_submission_time,
                ..Instance::default()
            });
        instance.count += 1;
        if instance.sequences.insert(m.sequence) {
            // Latency only for first deliveries: a redelivery's age says nothing about the path.
            instance.latency.record(received_secs - m.timestamp_secs);
        } else {
            instance.duplicates += 1;
        }
    }

    pub fn gaps(&self) -> u64 {
        self.instances.values().map(|i| i.sequences.gaps()).sum()
    }

    pub fn duplicates(&self) -> u64 {
        self.instances.values().map(|i| i.duplicates).sum()
    }

    /// Latency over all instances.
    pub fn latency(&self) -> Latency {
        let mut all = Latency::default();
        for instance in self.instances.values() {
            all.merge(&instance.latency);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensor::tests::sample;

    fn deliver(acc: &mut Accounting, execution: &str, seqs: &[u64]) {
        for &s in seqs {
            acc.delivered(&Body::classify(&sample(execution, s)), 1_742_992_496 + 2);
        }
    }

    #[test]
    fn crafted_sequences_give_gaps_and_duplicates_per_instance() {
        let mut acc = Accounting::default();
        deliver(&mut acc, "a", &[1, 2, 4, 4, 7]);
        deliver(&mut acc, "b", &[1, 1, 1, 2, 3]);
        let a = &acc.instances["a"];
        assert_eq!((a.count, a.sequences.gaps(), a.duplicates), (5, 3, 1));
        let b = &acc.instances["b"];
        assert_eq!((b.count, b.sequences.gaps(), b.duplicates), (5, 0, 2));
        assert_eq!((acc.messages, acc.gaps(), acc.duplicates()), (10, 3, 3));
        assert_eq!(acc.per_region["us"], 10);
    }

    #[test]
    fn latency_counts_first_deliveries_only() {
        let mut acc = Accounting::default();
        deliver(&mut acc, "a", &[1, 1, 2]);
        let l = acc.latency();
        assert_eq!((l.count(), l.quantile(0.5)), (2, Some(2)));
    }

    #[test]
    fn other_bodies_are_counted_not_accounted() {
        let mut acc = Accounting::default();
        acc.delivered(&Body::classify("not json"), 0);
        acc.delivered(&Body::classify("{}"), 0);
        assert_eq!((acc.messages, acc.non_json, acc.schema_less), (2, 1, 1));
        assert!(acc.instances.is_empty());
        assert_eq!(acc.per_region[NO_REGION], 2);
    }
}
