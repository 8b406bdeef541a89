//! Loss accounting: per publisher instance, which sequences arrived, how many twice, and what
//! the sensor says it dropped itself; per (region, version) group the totals and latency; plus
//! the puller-wide counters the summary, the final report and /metrics show.
//!
//! Memory is bounded however many instances a fleet goes through (every redeploy brings new
//! execution ids). The rule: an instance is *retired* when nothing arrived from it for
//! [`STALE_AFTER`], or, when more than `--max-instances` are tracked, the tenth of them heard
//! from least recently is retired at once. A retired instance's totals stay in its group's
//! totals (messages, gaps, drops, duplicates), the [`WORST_KEPT`] worst retired ones are kept
//! as report rows, and the rest of its detail is forgotten: a message from it arriving later
//! starts a new instance (its sequences before that one count as `missing_before_first`).
use crate::latency::Latency;
use crate::sensor::{Body, SensorMessage};
use crate::sequences::SequenceSet;
use std::collections::{BTreeMap, HashMap};

/// An instance silent this long is retired (a sensor sends every few seconds; a redeployed
/// job gets a new execution id, so the old one never speaks again).
pub const STALE_AFTER_MS: u64 = 15 * 60 * 1000;
pub const DEFAULT_MAX_INSTANCES: usize = 20_000;
/// Worst instances kept among the retired ones, and shown in the final report.
pub const WORST_KEPT: usize = 10;
/// Regions and (region, version) groups tracked by name; any beyond are counted under
/// [`OTHER`], so a sender inventing regions cannot grow memory or /metrics without bound.
pub const MAX_GROUPS: usize = 1_000;
pub const OTHER: &str = "(other)";
/// The region label for bodies that are not sensor messages.
pub const NO_REGION: &str = "-";
/// How often (in receive time) stale instances are looked for.
const SWEEP_EVERY_MS: u64 = 60 * 1000;

/// Everything tracked about one live publisher instance (one execution, or hostname + job).
#[derive(Debug, Clone, Default)]
pub struct Instance {
    group: u32,
    pub region: Box<str>,
    pub job_id: Box<str>,
    pub execution_id: Box<str>,
    pub hostname: Box<str>,
    /// The deployment version (`job_submission_time`).
    pub version: Option<i64>,
    /// Messages delivered, duplicates included.
    pub count: u64,
    pub sequences: SequenceSet,
    pub duplicates: u64,
    /// The sensor's cumulative drop counters, highest seen.
    pub dropped_permanent: u64,
    pub dropped_overflow: u64,
    last_seen_ms: u64,
}

impl Instance {
    pub fn dropped_at_source(&self) -> u64 {
        self.dropped_permanent.saturating_add(self.dropped_overflow)
    }

    /// Missing sequences the sensor's drop counters do not explain: lost on the way (or still
    /// on it). Counted per instance, so one sensor's drops never explain another's gaps.
    pub fn gaps(&self) -> u64 {
        let missing = self.sequences.gaps();
        missing - missing.min(self.dropped_at_source())
    }

    /// How bad an instance looks, for picking the worst: unexplained gaps, then drops, then
    /// duplicates.
    fn badness(&self) -> (u64, u64, u64) {
        (self.gaps(), self.dropped_at_source(), self.duplicates)
    }

    pub fn row(&self, key: &str, retired: bool) -> InstanceRow {
        InstanceRow {
            key: key.to_string(),
            region: self.region.to_string(),
            job_id: self.job_id.to_string(),
            execution_id: self.execution_id.to_string(),
            hostname: self.hostname.to_string(),
            version: self.version,
            count: self.count,
            distinct: self.sequences.distinct(),
            min_sequence: self.sequences.min(),
            max_sequence: self.sequences.max(),
            missing: self.sequences.gaps(),
            gaps: self.gaps(),
            missing_before_first: self.sequences.missing_before_first(),
            dropped_permanent: self.dropped_permanent,
            dropped_overflow: self.dropped_overflow,
            duplicates: self.duplicates,
            missing_ranges: self.sequences.missing_ranges(3),
            retired,
        }
    }
}

/// One instance as the reports show it (a snapshot; owns its text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceRow {
    pub key: String,
    pub region: String,
    pub job_id: String,
    pub execution_id: String,
    pub hostname: String,
    pub version: Option<i64>,
    pub count: u64,
    pub distinct: u64,
    pub min_sequence: Option<u64>,
    pub max_sequence: Option<u64>,
    /// All sequences missing between the lowest and highest seen.
    pub missing: u64,
    /// `missing` less what the sensor's drop counters explain.
    pub gaps: u64,
    pub missing_before_first: u64,
    pub dropped_permanent: u64,
    pub dropped_overflow: u64,
    pub duplicates: u64,
    /// The first few missing ranges.
    pub missing_ranges: Vec<(u64, u64)>,
    pub retired: bool,
}

impl InstanceRow {
    pub fn dropped_at_source(&self) -> u64 {
        self.dropped_permanent.saturating_add(self.dropped_overflow)
    }

    fn badness(&self) -> (u64, u64, u64) {
        (self.gaps, self.dropped_at_source(), self.duplicates)
    }
}

/// Sums over instances.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub instances: u64,
    pub messages: u64,
    pub distinct: u64,
    pub missing: u64,
    pub gaps: u64,
    pub dropped_at_source: u64,
    pub duplicates: u64,
}

impl Totals {
    fn add_instance(&mut self, i: &Instance) {
        self.instances += 1;
        self.messages += i.count;
        self.distinct += i.sequences.distinct();
        self.missing += i.sequences.gaps();
        self.gaps += i.gaps();
        self.dropped_at_source += i.dropped_at_source();
        self.duplicates += i.duplicates;
    }

    fn add(&mut self, other: &Totals) {
        self.instances += other.instances;
        self.messages += other.messages;
        self.distinct += other.distinct;
        self.missing += other.missing;
        self.gaps += other.gaps;
        self.dropped_at_source += other.dropped_at_source;
        self.duplicates += other.duplicates;
    }
}

/// The instances of one region running one version.
#[derive(Debug, Clone)]
pub struct Group {
    pub region: String,
    pub version: Option<i64>,
    /// Totals of the retired instances (live ones are summed when asked).
    retired: Totals,
    /// First deliveries only: a redelivery's age says nothing about the path.
    pub latency: Latency,
}

/// Puller-wide counters. Every delivered message is counted exactly once in `messages`.
#[derive(Debug, Clone)]
pub struct Accounting {
    pub messages: u64,
    /// Messages per region (sensor messages; other bodies under "-"), at most
    /// [`MAX_GROUPS`] names.
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
    /// Refusals left in the queue for its RedrivePolicy (SQS moves them to its dead-letter
    /// queue), counted per refusal.
    pub left_for_redrive: u64,
    /// Messages whose visibility the heartbeat extended, counted per extension.
    pub visibility_extended: u64,
    /// Messages of a FIFO group held back (left in flight, undelivered) because an earlier
    /// message of the same group in the batch was refused.
    pub held_back: u64,
    /// Poller threads restarted after dying (see `supervisor`).
    pub poller_restarts: u64,
    /// Instances retired so far.
    pub retired_instances: u64,
    max_instances: usize,
    live: HashMap<String, Instance>,
    groups: Vec<Group>,
    group_index: HashMap<(String, Option<i64>), u32>,
    latency: Latency,
    worst_retired: Vec<InstanceRow>,
    last_sweep_ms: u64,
}

impl Default for Accounting {
    fn default() -> Accounting {
        Accounting::new(DEFAULT_MAX_INSTANCES)
    }
}

impl Accounting {
    /// `max_instances` (≥ 1): live instances tracked before the least recent are retired.
    pub fn new(max_instances: usize) -> Accounting {
        Accounting {
            messages: 0,
            per_region: BTreeMap::new(),
            non_json: 0,
            schema_less: 0,
            rejected: 0,
            dead_lettered: 0,
            sink_failures: 0,
            delete_failures: 0,
            delete_retries: 0,
            receive_errors: 0,
            receive_calls: 0,
            received: 0,
            delete_calls: 0,
            released: 0,
            left_for_redrive: 0,
            visibility_extended: 0,
            held_back: 0,
            poller_restarts: 0,
            retired_instances: 0,
            max_instances: max_instances.max(1),
            live: HashMap::new(),
            groups: Vec::new(),
            group_index: HashMap::new(),
            latency: Latency::default(),
            worst_retired: Vec::new(),
            last_sweep_ms: 0,
        }
    }

    /// Counts one message the sink accepted. `received_ms` is the receive time (Unix ms).
    pub fn delivered(&mut self, body: &Body, received_ms: u64) {
        self.messages += 1;
        let region = match body {
            Body::Sensor(m) => {
                self.sensor_message(m, received_ms);
                m.region.as_str()
            }
            Body::SchemaLess(_) => {
                self.schema_less += 1;
                NO_REGION
            }
            Body::NonJson(_) => {
                self.non_json += 1;
                NO_REGION
            }
        };
        self.count_region(region);
        if received_ms >= self.last_sweep_ms + SWEEP_EVERY_MS {
            self.last_sweep_ms = received_ms;
            self.retire_where(|i| i.last_seen_ms + STALE_AFTER_MS <= received_ms);
        }
    }

    fn count_region(&mut self, region: &str) {
        if let Some(n) = self.per_region.get_mut(region) {
            *n += 1;
        } else if self.per_region.len() < MAX_GROUPS {
            self.per_region.insert(region.to_string(), 1);
        } else {
            *self.per_region.entry(OTHER.to_string()).or_insert(0) += 1;
        }
    }

    fn sensor_message(&mut self, m: &SensorMessage, received_ms: u64) {
        let key = m.instance_key();
        if !self.live.contains_key(key.as_ref()) {
            if self.live.len() >= self.max_instances {
                self.retire_least_recent();
            }
            let instance = Instance {
                group: self.group_of(&m.region, m.job_submission_time),
                region: m.region.as_str().into(),
                job_id: m.job_id.as_str().into(),
                execution_id: m.execution_id.as_str().into(),
                hostname: m.hostname.as_str().into(),
                version: m.job_submission_time,
                ..Instance::default()
            };
            self.live.insert(key.to_string(), instance);
        }
        let Some(instance) = self.live.get_mut(key.as_ref()) else {
            return;
        };
        instance.count += 1;
        instance.last_seen_ms = instance.last_seen_ms.max(received_ms);
        instance.dropped_permanent = instance.dropped_permanent.max(m.dropped_permanent);
        instance.dropped_overflow = instance.dropped_overflow.max(m.dropped_overflow);
        if instance.sequences.insert(m.sequence) {
            let latency_ms = (received_ms as i64).saturating_sub(m.timestamp_ms);
            self.latency.record(latency_ms);
            self.groups[instance.group as usize]
                .latency
                .record(latency_ms);
        } else {
            instance.duplicates += 1;
        }
    }

    /// The group index for (region, version); past [`MAX_GROUPS`], the [`OTHER`] group.
    fn group_of(&mut self, region: &str, version: Option<i64>) -> u32 {
        let wanted = (region.to_string(), version);
        if let Some(&g) = self.group_index.get(&wanted) {
            return g;
        }
        let key = if self.groups.len() < MAX_GROUPS - 1 {
            wanted
        } else {
            (OTHER.to_string(), None)
        };
        if let Some(&g) = self.group_index.get(&key) {
            return g;
        }
        let g = self.groups.len() as u32;
        self.groups.push(Group {
            region: key.0.clone(),
            version: key.1,
            retired: Totals::default(),
            latency: Latency::default(),
        });
        self.group_index.insert(key, g);
        g
    }

    /// Retires the tenth of the live instances heard from least recently (at least one).
    fn retire_least_recent(&mut self) {
        let quota = (self.live.len() / 10).max(1);
        let mut seen: Vec<u64> = self.live.values().map(|i| i.last_seen_ms).collect();
        let cutoff = *seen.select_nth_unstable(quota - 1).1;
        drop(seen);
        let mut ties_left = quota
            - self
                .live
                .values()
                .filter(|i| i.last_seen_ms < cutoff)
                .count();
        self.retire_where(|i| {
            if i.last_seen_ms < cutoff {
                true
            } else if i.last_seen_ms == cutoff && ties_left > 0 {
                ties_left -= 1;
                true
            } else {
                false
            }
        });
    }

    /// Moves every live instance `retire` picks into its group's totals (and the worst rows).
    fn retire_where(&mut self, mut retire: impl FnMut(&Instance) -> bool) {
        let mut retired = Vec::new();
        self.live.retain(|key, instance| {
            if retire(instance) {
                retired.push((key.clone(), std::mem::take(instance)));
                false
            } else {
                true
            }
        });
        for (key, instance) in retired {
            self.retired_instances += 1;
            self.groups[instance.group as usize]
                .retired
                .add_instance(&instance);
            if instance.badness() > (0, 0, 0) && self.is_worse_than_kept(instance.badness()) {
                self.worst_retired.push(instance.row(&key, true));
                self.worst_retired
                    .sort_by_key(|r| std::cmp::Reverse(r.badness()));
                self.worst_retired.truncate(WORST_KEPT);
            }
        }
    }

    fn is_worse_than_kept(&self, badness: (u64, u64, u64)) -> bool {
        self.worst_retired.len() < WORST_KEPT
            || self
                .worst_retired
                .last()
                .is_some_and(|r| badness > r.badness())
    }

    /// Live instances, sorted by key (for --report-json).
    pub fn live_instances(&self) -> Vec<(&str, &Instance)> {
        let mut all: Vec<(&str, &Instance)> =
            self.live.iter().map(|(k, i)| (k.as_str(), i)).collect();
        all.sort_unstable_by_key(|(k, _)| *k);
        all
    }

    pub fn live_count(&self) -> usize {
        self.live.len()
    }

    /// Up to `n` instances with gaps, drops or duplicates, worst first (live and retired).
    pub fn worst(&self, n: usize) -> Vec<InstanceRow> {
        let mut live: Vec<(&String, &Instance)> = self
            .live
            .iter()
            .filter(|(_, i)| i.badness() > (0, 0, 0))
            .collect();
        live.sort_unstable_by_key(|(k, i)| (std::cmp::Reverse(i.badness()), *k));
        let mut rows: Vec<InstanceRow> = live
            .into_iter()
            .take(n)
            .map(|(k, i)| i.row(k, false))
            .chain(self.worst_retired.iter().cloned())
            .collect();
        rows.sort_by(|a, b| b.badness().cmp(&a.badness()).then(a.key.cmp(&b.key)));
        rows.truncate(n);
        rows
    }

    /// Totals per (region, version), live and retired instances together, sorted.
    pub fn group_totals(&self) -> Vec<(&Group, Totals)> {
        let mut totals: Vec<Totals> = self.groups.iter().map(|g| g.retired.clone()).collect();
        for instance in self.live.values() {
            totals[instance.group as usize].add_instance(instance);
        }
        let mut all: Vec<(&Group, Totals)> = self.groups.iter().zip(totals).collect();
        all.sort_by(|(a, _), (b, _)| (&a.region, a.version).cmp(&(&b.region, b.version)));
        all
    }

    /// Totals over every instance ever seen.
    pub fn totals(&self) -> Totals {
        let mut all = Totals::default();
        for group in &self.groups {
            all.add(&group.retired);
        }
        for instance in self.live.values() {
            all.add_instance(instance);
        }
        all
    }

    /// Latency over all instances (first deliveries).
    pub fn latency(&self) -> &Latency {
        &self.latency
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensor::tests::sample;

    /// sample()'s timestamp is 2025-03-26T12:34:56Z; received 2.25 s later.
    const RECEIVED_MS: u64 = 1_742_992_496_000 + 2_250;

    fn deliver(acc: &mut Accounting, execution: &str, seqs: &[u64]) {
        for &s in seqs {
            acc.delivered(&Body::classify(&sample(execution, s)), RECEIVED_MS);
        }
    }

    #[test]
    fn crafted_sequences_give_gaps_and_duplicates_per_instance() {
        let mut acc = Accounting::default();
        deliver(&mut acc, "a", &[1, 2, 4, 4, 7]);
        deliver(&mut acc, "b", &[1, 1, 1, 2, 3]);
        let a = &acc.live["a"];
        assert_eq!((a.count, a.gaps(), a.duplicates), (5, 3, 1));
        let b = &acc.live["b"];
        assert_eq!((b.count, b.gaps(), b.duplicates), (5, 0, 2));
        let t = acc.totals();
        assert_eq!((acc.messages, t.gaps, t.duplicates), (10, 3, 3));
        assert_eq!(acc.per_region["us"], 10);
    }

    #[test]
    fn latency_counts_first_deliveries_in_milliseconds() {
        let mut acc = Accounting::default();
        deliver(&mut acc, "a", &[1, 1, 2]);
        let l = acc.latency();
        assert_eq!(l.count(), 2);
        let p50 = l.quantile_ms(0.5).expect("p50");
        assert!((2_200..=2_300).contains(&p50), "{p50}");
    }

    #[test]
    fn drops_at_the_source_explain_gaps() {
        let mut acc = Accounting::default();
        let with_drops = |seq: u64, permanent: u64, overflow: u64| {
            let mut extra = String::new();
            for (name, n) in [
                (crate::sensor::field::DROPPED_PERMANENT, permanent),
                (crate::sensor::field::DROPPED_OVERFLOW, overflow),
            ] {
                if n > 0 {
                    extra.push_str(&format!("\"{name}\":{n},"));
                }
            }
            sample("s", seq).replace("\"sequence\"", &format!("{extra}\"sequence\""))
        };
        // 2 and 3 refused for good, 5 evicted from the outbox; 7 and 8 lost on the way.
        for body in [
            with_drops(1, 0, 0),
            with_drops(4, 2, 0),
            with_drops(6, 2, 1),
            with_drops(9, 2, 1),
        ] {
            acc.delivered(&Body::classify(&body), RECEIVED_MS);
        }
        let s = &acc.live["s"];
        assert_eq!(
            (s.sequences.gaps(), s.dropped_at_source(), s.gaps()),
            (5, 3, 2)
        );
        let t = acc.totals();
        assert_eq!((t.missing, t.dropped_at_source, t.gaps), (5, 3, 2));
    }

    #[test]
    fn other_bodies_are_counted_not_accounted() {
        let mut acc = Accounting::default();
        acc.delivered(&Body::classify("not json"), 0);
        acc.delivered(&Body::classify("{}"), 0);
        assert_eq!((acc.messages, acc.non_json, acc.schema_less), (2, 1, 1));
        assert_eq!(acc.live_count(), 0);
        assert_eq!(acc.per_region[NO_REGION], 2);
    }

    #[test]
    fn the_table_is_bounded_and_retired_totals_are_kept() {
        let mut acc = Accounting::new(100);
        for n in 0..1_000u64 {
            let seqs: &[u64] = if n == 7 { &[1, 5] } else { &[1, 2] };
            for &s in seqs {
                acc.delivered(
                    &Body::classify(&sample(&format!("e-{n}"), s)),
                    RECEIVED_MS + n,
                );
            }
        }
        assert!(acc.live_count() <= 100, "{}", acc.live_count());
        assert_eq!(acc.retired_instances + acc.live_count() as u64, 1_000);
        let t = acc.totals();
        assert_eq!((t.instances, t.messages, t.gaps), (1_000, 2_000, 3));
        let groups = acc.group_totals();
        assert_eq!(groups.len(), 1);
        assert_eq!(
            (groups[0].0.region.as_str(), groups[0].1.messages),
            ("us", 2_000)
        );
        let worst = acc.worst(WORST_KEPT);
        assert_eq!(worst.len(), 1);
        assert_eq!((worst[0].key.as_str(), worst[0].retired), ("e-7", true));
        assert_eq!(worst[0].missing_ranges, vec![(2, 4)]);
    }

    #[test]
    fn silent_instances_are_retired_after_the_stale_time() {
        let mut acc = Accounting::default();
        deliver(&mut acc, "old", &[1]);
        let later = RECEIVED_MS + STALE_AFTER_MS + SWEEP_EVERY_MS;
        acc.delivered(&Body::classify(&sample("new", 1)), later);
        assert_eq!(acc.live_count(), 1);
        assert_eq!(acc.retired_instances, 1);
        assert_eq!(acc.totals().messages, 2);
    }

    #[test]
    fn invented_regions_are_capped() {
        let mut acc = Accounting::default();
        for n in 0..(MAX_GROUPS + 50) {
            let body = sample(&format!("e{n}"), 1).replace("\"us\"", &format!("\"r{n}\""));
            acc.delivered(&Body::classify(&body), RECEIVED_MS);
        }
        assert_eq!(acc.per_region.len(), MAX_GROUPS + 1);
        assert_eq!(acc.per_region[OTHER], 50);
        assert!(acc.groups.len() <= MAX_GROUPS);
    }
}
