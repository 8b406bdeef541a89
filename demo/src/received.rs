//! What the puller delivered: the demo tails the puller's JSON-lines sink and keeps, per
//! publisher execution, the sequences seen (for duplicates and gaps) and end-to-end latencies.
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Everything received from one publisher execution.
#[derive(Debug, Default, Clone)]
pub struct ExecutionReceived {
    pub region: String,
    pub version: i64,
    pub color: String,
    pub icon: String,
    pub sequences: BTreeSet<u64>,
    pub duplicates: u64,
    pub latencies_ms: Vec<u64>,
    /// The highest `dropped_permanent` / `dropped_overflow` the sensor reported: cumulative in
    /// the module, absent (0) until it first drops a message.
    pub dropped_permanent: u64,
    pub dropped_overflow: u64,
}

impl ExecutionReceived {
    /// What the execution's first message says of it: region, version, color and icon.
    fn describe(&mut self, body: &Value) {
        let text = |name: &str| body.get(name).and_then(Value::as_str);
        self.region = text("region").unwrap_or("?").to_string();
        self.version = body
            .get("job_submission_time")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        self.color = text("color").unwrap_or_default().to_string();
        self.icon = text("icon_name").unwrap_or_default().to_string();
    }
}

/// Everything received so far, plus lines that were not sensor messages.
#[derive(Debug, Default)]
pub struct Received {
    pub by_execution: HashMap<String, ExecutionReceived>,
    pub total_lines: u64,
    pub unparsable: u64,
}

impl Received {
    /// Accounts one sink line. The puller writes one JSON object per message; the sensor's own
    /// message is its `body` (a string holding JSON, or already an object).
    pub fn add_line(&mut self, line: &str) {
        self.total_lines += 1;
        let Ok(record) = serde_json::from_str::<Value>(line) else {
            self.unparsable += 1;
            return;
        };
        // The puller's json format: the message's exact bytes as a string in `body`, and the
        // receive time in `received_at_ms`.
        let body = record
            .get("body")
            .and_then(Value::as_str)
            .and_then(|text| serde_json::from_str::<Value>(text).ok());
        let Some(body) = body else {
            self.unparsable += 1;
            return;
        };
        let (Some(execution), Some(sequence)) = (
            body.get("execution_id").and_then(Value::as_str),
            body.get("sequence").and_then(Value::as_u64),
        ) else {
            self.unparsable += 1;
            return;
        };
        let entry = self.by_execution.entry(execution.to_string()).or_default();
        if entry.region.is_empty() {
            entry.describe(&body);
        }
        let count = |name: &str| body.get(name).and_then(Value::as_u64).unwrap_or(0);
        entry.dropped_permanent = entry.dropped_permanent.max(count("dropped_permanent"));
        entry.dropped_overflow = entry.dropped_overflow.max(count("dropped_overflow"));
        if !entry.sequences.insert(sequence) {
            entry.duplicates += 1;
            return;
        }
        let sent_ms = body
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(sigv4::date_time::parse_rfc3339_ms)
            .and_then(|ms| u64::try_from(ms).ok());
        if let (Some(sent), Some(received)) = (
            sent_ms,
            record.get("received_at_ms").and_then(Value::as_u64),
        ) {
            entry.latencies_ms.push(received.saturating_sub(sent));
        }
    }

    /// Unique messages received per (region, version).
    #[cfg(test)]
    pub fn unique_for(&self, region: &str, version: i64) -> u64 {
        self.by_execution
            .values()
            .filter(|e| e.region == region && e.version == version)
            .map(|e| e.sequences.len() as u64)
            .sum()
    }
}

/// Follows a growing JSON-lines file, handing complete lines to [`Received`].
pub struct JsonlTail {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
}

impl JsonlTail {
    pub fn new(path: &Path) -> JsonlTail {
        JsonlTail {
            path: path.to_path_buf(),
            offset: 0,
            partial: Vec::new(),
        }
    }

    /// Reads what was appended since the last call. A file that does not exist yet is empty.
    pub fn poll(&mut self, into: &mut Received) -> io::Result<u64> {
        let mut file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        file.seek(SeekFrom::Start(self.offset))?;
        let mut fresh = Vec::new();
        let n = file.read_to_end(&mut fresh)?;
        self.offset += n as u64;
        self.partial.extend_from_slice(&fresh);
        let mut lines = 0;
        while let Some(pos) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=pos).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
            if !text.trim().is_empty() {
                into.add_line(&text);
                lines += 1;
            }
        }
        Ok(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(exec: &str, seq: u64, region: &str, version: i64) -> String {
        let body = format!(
            r##"{{"job_id":"j","execution_id":"{exec}","hostname":"h","job_submission_time":{version},"icon_name":"🚀","timestamp":"2025-03-26T12:34:56Z","color":"#FF0000","sequence":{seq},"region":"{region}"}}"##
        );
        serde_json::json!({"body": body, "message_id": "m", "received_at_ms": 1_743_000_000_000u64})
            .to_string()
    }

    #[test]
    fn counts_unique_and_duplicates_per_execution() {
        let mut r = Received::default();
        r.add_line(&line("e1", 1, "us", 1));
        r.add_line(&line("e1", 2, "us", 1));
        r.add_line(&line("e1", 2, "us", 1));
        r.add_line(&line("e2", 1, "eu", 2));
        r.add_line("not json");
        assert_eq!(r.unique_for("us", 1), 2);
        assert_eq!(r.unique_for("eu", 2), 1);
        assert_eq!(r.by_execution["e1"].duplicates, 1);
        assert_eq!(r.unparsable, 1);
    }

    #[test]
    fn latency_is_receive_time_minus_timestamp() {
        let mut r = Received::default();
        let body = r#"{"execution_id":"e","sequence":1,"region":"as","job_submission_time":1,"timestamp":"2025-03-26T12:34:56Z"}"#;
        r.add_line(
            &serde_json::json!({"body": body, "received_at_ms": 1_742_992_497_250u64}).to_string(),
        );
        // The sensor's millisecond timestamps make the latency exact, not rounded to a second.
        let body = r#"{"execution_id":"e","sequence":2,"region":"as","job_submission_time":1,"timestamp":"2025-03-26T12:34:57.125Z"}"#;
        r.add_line(
            &serde_json::json!({"body": body, "received_at_ms": 1_742_992_497_250u64}).to_string(),
        );
        assert_eq!(r.by_execution["e"].latencies_ms, vec![1250, 125]);
    }

    #[test]
    fn drop_counts_keep_the_highest_the_sensor_reported() {
        let mut r = Received::default();
        r.add_line(&line("e", 1, "us", 1));
        for (seq, extra) in [
            (4, r#","dropped_permanent":2,"dropped_overflow":1}"#),
            (3, r#","dropped_permanent":1}"#),
        ] {
            let body = serde_json::from_str::<Value>(&line("e", seq, "us", 1)).unwrap()["body"]
                .as_str()
                .unwrap()
                .trim_end_matches('}')
                .to_string()
                + extra;
            r.add_line(&serde_json::json!({ "body": body }).to_string());
        }
        let e = &r.by_execution["e"];
        assert_eq!((e.dropped_permanent, e.dropped_overflow), (2, 1));
        assert_eq!(e.sequences.len(), 3);
    }

    #[test]
    fn tail_reads_only_complete_lines() {
        let dir = std::env::temp_dir().join(edge_tests::unique_name("demo-tail"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join("r.jsonl");
        let first = line("e", 1, "us", 1);
        let second = line("e", 2, "us", 1);
        std::fs::write(&path, format!("{first}\n{}", &second[..10])).expect("write");
        let mut tail = JsonlTail::new(&path);
        let mut r = Received::default();
        assert_eq!(tail.poll(&mut r).expect("poll"), 1);
        std::fs::write(&path, format!("{first}\n{second}\n")).expect("write");
        assert_eq!(tail.poll(&mut r).expect("poll"), 1);
        assert_eq!(r.unique_for("us", 1), 2);
        std::fs::remove_dir_all(&dir).ok();
    }
}
