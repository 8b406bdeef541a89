//! The dashboard's picture of the fleet: the newest state of every sensor (one per hostname),
//! per (region, version) counters, and per-second throughput for the chart.
//!
//! Everything here is bounded, whatever the fleet does: at most [`MAX_SENSORS`] sensors and
//! [`MAX_EXECUTIONS`] tracked executions (the least recently heard are forgotten first), a
//! fixed number of latency samples per group and [`HISTORY_SECONDS`] of throughput.
//! The counters are what the dashboard saw since the puller started; the puller's own
//! accounting (final report, --report-json) stays the authority on loss.
use crate::sensor::SensorMessage;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Sensors kept at most (the grid); beyond it the least recently heard is dropped.
pub const MAX_SENSORS: usize = 20_000;
/// Executions whose last sequence is tracked for gaps and duplicates.
pub const MAX_EXECUTIONS: usize = 40_000;
/// Seconds of throughput history the chart shows.
pub const HISTORY_SECONDS: usize = 300;
/// Latency samples kept per (region, version) for p50/p99: the most recent ones.
const LATENCY_SAMPLES: usize = 2048;
/// Longest field shown (hostname, execution id, emoji); longer ones are cut with a marker.
const FIELD_CHARS: usize = 64;

/// One sensor as the grid draws it: its newest message.
#[derive(Debug, Clone)]
struct Sensor {
    region: String,
    execution: String,
    version: i64,
    color: String,
    emoji: String,
    sequence: u64,
    last_ms: u64,
}

/// What is remembered of one execution for gaps and duplicates.
#[derive(Debug, Clone, Copy)]
struct Execution {
    last_sequence: u64,
    /// `dropped_permanent + dropped_overflow` as of its newest message.
    dropped: u64,
    last_ms: u64,
}

/// Counters of one (region, version).
#[derive(Debug, Default)]
struct Group {
    messages: u64,
    superseded: u64,
    /// Missing sequences the sensor's own drop counters explain (lost at the source).
    dropped_at_source: u64,
    /// Missing sequences nothing explains.
    gaps: u64,
    duplicates: u64,
    per_second: Series,
    latencies_ms: VecDeque<u64>,
}

/// Message counts per wall-clock second, the last [`HISTORY_SECONDS`] of them.
#[derive(Debug, Default)]
struct Series {
    /// Unix second of `counts.back()`.
    last_sec: u64,
    counts: VecDeque<u32>,
}

impl Series {
    fn add(&mut self, sec: u64, n: u32) {
        self.advance(sec);
        if let Some(last) = self.counts.back_mut() {
            *last = last.saturating_add(n);
        }
    }

    /// Moves the window so that its newest bucket is `sec` (zeros for silent seconds).
    fn advance(&mut self, sec: u64) {
        if self.counts.is_empty() || sec > self.last_sec + HISTORY_SECONDS as u64 {
            self.counts.clear();
            self.counts.push_back(0);
            self.last_sec = sec;
            return;
        }
        while self.last_sec < sec {
            self.counts.push_back(0);
            self.last_sec += 1;
        }
        while self.counts.len() > HISTORY_SECONDS {
            self.counts.pop_front();
        }
    }

    /// Mean messages per second over the `window` complete seconds before `now_sec`.
    fn rate(&mut self, now_sec: u64, window: usize) -> f64 {
        self.advance(now_sec);
        let complete = self.counts.len().saturating_sub(1);
        let n = window.min(complete);
        if n == 0 {
            return 0.0;
        }
        let sum: u64 = self
            .counts
            .iter()
            .rev()
            .skip(1)
            .take(n)
            .map(|&c| c as u64)
            .sum();
        sum as f64 / n as f64
    }
}

/// The whole picture.
#[derive(Debug, Default)]
pub struct Fleet {
    /// By hostname (a host is one cell, whichever version runs on it).
    sensors: HashMap<String, Sensor>,
    /// Per execution: last sequence seen, the sensor's drop counters then, and when.
    executions: HashMap<String, Execution>,
    groups: BTreeMap<(String, i64), Group>,
    total: Series,
    messages: u64,
    others: u64,
}

impl Fleet {
    /// Takes one delivered sensor message; `received_ms` is when the puller got it.
    pub fn observe(&mut self, m: &SensorMessage, received_ms: u64) {
        let version = m.job_submission_time.unwrap_or(0);
        let sec = received_ms / 1000;
        self.messages += 1;
        self.total.add(sec, 1);
        let sequence_delta = self.track_sequence(m, received_ms);
        let superseded = self.update_sensor(m, version, received_ms);
        let group = self.groups.entry((m.region.clone(), version)).or_default();
        group.messages += 1;
        group.per_second.add(sec, 1);
        match sequence_delta {
            SequenceStep::Gap { missing, explained } => {
                group.dropped_at_source += explained;
                group.gaps += missing - explained;
            }
            SequenceStep::Duplicate => group.duplicates += 1,
            SequenceStep::Next => {}
        }
        if superseded {
            group.superseded += 1;
        }
        let sent_ms = m.timestamp_ms.max(0) as u64;
        if group.latencies_ms.len() == LATENCY_SAMPLES {
            group.latencies_ms.pop_front();
        }
        group
            .latencies_ms
            .push_back(received_ms.saturating_sub(sent_ms));
    }

    /// Counts a delivered body that is not a sensor message (shown as a total only).
    pub fn observe_other(&mut self, received_ms: u64) {
        self.messages += 1;
        self.others += 1;
        self.total.add(received_ms / 1000, 1);
    }

    /// Compares `m` with the execution's previous message. Missing sequences are explained
    /// by the sensor's drop counters as far as they grew since (the puller's rule too).
    fn track_sequence(&mut self, m: &SensorMessage, now_ms: u64) -> SequenceStep {
        let key = m.instance_key();
        let dropped = m.dropped_permanent.saturating_add(m.dropped_overflow);
        let previous = self.executions.get(key.as_ref()).copied();
        let step = match previous {
            None => SequenceStep::Next,
            Some(p) if m.sequence <= p.last_sequence => SequenceStep::Duplicate,
            Some(p) => match m.sequence - p.last_sequence - 1 {
                0 => SequenceStep::Next,
                missing => SequenceStep::Gap {
                    missing,
                    explained: missing.min(dropped.saturating_sub(p.dropped)),
                },
            },
        };
        let newest = Execution {
            last_sequence: previous.map_or(m.sequence, |p| p.last_sequence.max(m.sequence)),
            dropped: previous.map_or(dropped, |p| p.dropped.max(dropped)),
            last_ms: now_ms,
        };
        match self.executions.get_mut(key.as_ref()) {
            Some(known) => *known = newest,
            None => {
                self.executions.insert(key.into_owned(), newest);
            }
        }
        if self.executions.len() > MAX_EXECUTIONS {
            forget_oldest(&mut self.executions, MAX_EXECUTIONS, |e| e.last_ms);
        }
        step
    }

    /// Draws the message into its host's cell unless the host already runs a newer version
    /// (then the message is superseded: counted, not drawn). True when superseded.
    fn update_sensor(&mut self, m: &SensorMessage, version: i64, now_ms: u64) -> bool {
        if let Some(current) = self.sensors.get(&m.hostname) {
            if current.version > version {
                return true;
            }
        }
        let sensor = Sensor {
            region: safe_text::inert_truncated(&m.region, FIELD_CHARS).into_owned(),
            execution: safe_text::inert_truncated(&m.execution_id, FIELD_CHARS).into_owned(),
            version,
            color: m
                .color
                .map(|c| format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2))
                .unwrap_or_default(),
            emoji: safe_text::inert_truncated(&m.icon_name, 4).into_owned(),
            sequence: m.sequence,
            last_ms: now_ms,
        };
        self.sensors.insert(m.hostname.clone(), sensor);
        if self.sensors.len() > MAX_SENSORS {
            forget_oldest(&mut self.sensors, MAX_SENSORS, |s| s.last_ms);
        }
        false
    }

    /// What the page draws, copied out so the JSON is written after the lock is released
    /// (pollers then wait only for this copy, never for the serialisation).
    pub fn snapshot(&mut self, now_ms: u64) -> Snapshot {
        let now_sec = now_ms / 1000;
        let mut regions: BTreeMap<&str, u64> = BTreeMap::new();
        let mut rows = Vec::with_capacity(self.sensors.len());
        for (host, s) in &self.sensors {
            let last = regions.entry(s.region.as_str()).or_insert(0);
            *last = (*last).max(s.last_ms);
            rows.push((host.clone(), s.clone()));
        }
        let regions: Value = regions
            .into_iter()
            .map(|(r, at)| (r.to_string(), json!({ "last_ms": at })))
            .collect::<serde_json::Map<_, _>>()
            .into();
        let groups: Vec<Value> = self
            .groups
            .iter_mut()
            .map(|((region, version), g)| group_json(region, *version, g, now_sec))
            .collect();
        self.total.advance(now_sec);
        let head = json!({
            "now_ms": now_ms,
            "messages": self.messages,
            "other_messages": self.others,
            "rate": self.total.rate(now_sec, 5),
            "sensor_fields": ["region", "hostname", "execution", "version", "color", "emoji", "sequence", "last_ms"],
            "regions": regions,
            "groups": groups,
            "history": self.total.counts.iter().collect::<Vec<_>>(),
        });
        Snapshot { head, rows }
    }

    #[cfg(test)]
    pub fn sensor_count(&self) -> usize {
        self.sensors.len()
    }
}

/// A copy of the fleet for one answer: everything but the sensors as JSON, the sensors as
/// rows to write straight into the answer's bytes.
pub struct Snapshot {
    head: Value,
    rows: Vec<(String, Sensor)>,
}

impl Snapshot {
    /// The JSON the page reads: `head` plus `"sensors"` as compact rows in the order of
    /// `sensor_fields` (a 10,000-sensor fleet stays well under a megabyte). `extra` fields
    /// are added to the head.
    pub fn into_bytes(mut self, extra: &[(&str, Value)]) -> Vec<u8> {
        for (name, value) in extra {
            self.head[*name] = value.clone();
        }
        let mut out = serde_json::to_vec(&self.head).unwrap_or_else(|_| b"{}".to_vec());
        out.pop(); // the head's closing brace: the sensors go in before it
        if out.len() > 1 {
            out.push(b',');
        }
        out.extend_from_slice(b"\"sensors\":[");
        for (i, (host, s)) in self.rows.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let host = safe_text::inert_truncated(host, FIELD_CHARS);
            let row = (
                &s.region,
                &*host,
                &s.execution,
                s.version,
                &s.color,
                &s.emoji,
                s.sequence,
                s.last_ms,
            );
            // Writing to a Vec cannot fail.
            let _ = serde_json::to_writer(&mut out, &row);
        }
        out.extend_from_slice(b"]}");
        out
    }
}

enum SequenceStep {
    Next,
    Gap { missing: u64, explained: u64 },
    Duplicate,
}

fn group_json(region: &str, version: i64, g: &mut Group, now_sec: u64) -> Value {
    let mut sorted: Vec<u64> = g.latencies_ms.iter().copied().collect();
    sorted.sort_unstable();
    let pct = |p: usize| (!sorted.is_empty()).then(|| sorted[(sorted.len() - 1) * p / 100]);
    json!({
        "region": safe_text::inert_truncated(region, FIELD_CHARS),
        "version": version,
        "messages": g.messages,
        "rate": g.per_second.rate(now_sec, 5),
        "superseded": g.superseded,
        "dropped_at_source": g.dropped_at_source,
        "gaps": g.gaps,
        "duplicates": g.duplicates,
        "p50_ms": pct(50),
        "p99_ms": pct(99),
    })
}

/// Shrinks `map` to 90 % of `cap` by dropping the entries with the oldest `at`: amortised,
/// so an overflowing fleet costs one sort per `cap / 10` new entries, not one per message.
fn forget_oldest<V>(map: &mut HashMap<String, V>, cap: usize, at: impl Fn(&V) -> u64) {
    let keep = cap - cap / 10;
    let mut ages: Vec<u64> = map.values().map(&at).collect();
    let cut_index = ages.len().saturating_sub(keep);
    if cut_index == 0 {
        return;
    }
    let (_, cut, _) = ages.select_nth_unstable(cut_index - 1);
    let cut = *cut;
    map.retain(|_, v| at(v) > cut);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensor::Rgb;

    fn msg(host: &str, exec: &str, version: i64, seq: u64) -> SensorMessage {
        SensorMessage {
            job_id: "j".into(),
            execution_id: exec.into(),
            hostname: host.into(),
            job_submission_time: Some(version),
            icon_name: "🚀".into(),
            timestamp_ms: 1_000_000,
            color: Some(Rgb(255, 0, 0)),
            sequence: seq,
            region: "us".into(),
            dropped_permanent: 0,
            dropped_overflow: 0,
        }
    }

    fn snap(f: &mut Fleet, now_ms: u64) -> Value {
        serde_json::from_slice(&f.snapshot(now_ms).into_bytes(&[])).expect("snapshot is JSON")
    }

    #[test]
    fn gaps_duplicates_and_supersede_are_counted_per_region_and_version() {
        let mut f = Fleet::default();
        f.observe(&msg("h1", "e1", 1, 1), 1_000_500);
        f.observe(&msg("h1", "e1", 1, 3), 1_001_000); // gap of 1
        f.observe(&msg("h1", "e1", 1, 3), 1_001_100); // duplicate
        f.observe(&msg("h1", "e2", 2, 1), 1_002_000); // v2 takes the cell
        f.observe(&msg("h1", "e1", 1, 4), 1_002_500); // v1 now superseded
        let snap = snap(&mut f, 1_003_000);
        let groups = snap["groups"].as_array().expect("groups");
        let v1 = &groups[0];
        assert_eq!(
            (v1["version"].as_i64(), v1["messages"].as_u64()),
            (Some(1), Some(4))
        );
        assert_eq!(v1["gaps"], 1);
        assert_eq!(v1["duplicates"], 1);
        assert_eq!(v1["superseded"], 1);
        assert_eq!(v1["p50_ms"], 1_000);
        let rows = snap["sensors"].as_array().expect("rows");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0][2], "e2");
        assert_eq!(rows[0][4], "#ff0000");
    }

    #[test]
    fn drops_reported_by_the_sensor_explain_gaps() {
        let mut f = Fleet::default();
        f.observe(&msg("h1", "e1", 1, 1), 1_000_000);
        let mut m = msg("h1", "e1", 1, 5); // 3 missing, the sensor says it dropped 2
        m.dropped_overflow = 2;
        f.observe(&m, 1_001_000);
        let snap = snap(&mut f, 1_002_000);
        assert_eq!(snap["groups"][0]["dropped_at_source"], 2);
        assert_eq!(snap["groups"][0]["gaps"], 1);
    }

    #[test]
    fn sensors_and_executions_stay_bounded() {
        let mut f = Fleet::default();
        for i in 0..(MAX_SENSORS + 5_000) as u64 {
            f.observe(
                &msg(&format!("h{i}"), &format!("e{i}"), 1, 1),
                1_000_000 + i,
            );
        }
        assert!(f.sensor_count() <= MAX_SENSORS);
        assert!(f.executions.len() <= MAX_EXECUTIONS);
        // The newest hosts are the ones kept.
        assert!(f.sensors.contains_key(&format!("h{}", MAX_SENSORS + 4_999)));
    }

    #[test]
    fn hostile_fields_are_inert_in_the_snapshot() {
        let mut f = Fleet::default();
        let mut m = msg(
            "<img src=x onerror=alert(1)>\u{1b}[2J",
            "e\u{1b}]0;x\u{7}",
            1,
            1,
        );
        m.region = "us\u{202e}".into();
        f.observe(&m, 1_000_000);
        let text = snap(&mut f, 1_000_500).to_string();
        assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}'));
        // Markup stays text: the page inserts it with textContent, never as HTML.
        assert!(text.contains("<img src=x onerror=alert(1)>\\\\u{1b}[2J"));
    }

    #[test]
    fn rate_and_history_follow_the_clock() {
        let mut s = Series::default();
        for sec in 100..110 {
            s.add(sec, 10);
        }
        assert_eq!(s.rate(110, 5), 10.0);
        assert_eq!(s.rate(200, 5), 0.0);
        s.add(10_000, 1);
        assert_eq!(s.counts.len(), 1);
    }
}
