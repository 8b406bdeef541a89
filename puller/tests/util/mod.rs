//! Shared by the puller's integration tests: a queue on LocalStack, sending crafted bodies,
//! running the real `puller` binary, and reading what it delivered.
#![allow(dead_code)] // each test file uses a different subset

use sigv4::sqs::{BatchEntry, BatchOutcome, SqsClient};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

pub const PULLER: &str = env!("CARGO_BIN_EXE_puller");

/// A fresh, uniquely named queue on LocalStack, and a client for it.
pub struct Queue {
    pub endpoint: String,
    pub url: String,
    pub client: SqsClient,
}

impl Queue {
    pub fn new(prefix: &str) -> Queue {
        Queue::with_attributes(prefix, &[])
    }

    /// A fresh queue created with these queue attributes (e.g. its VisibilityTimeout).
    pub fn with_attributes(prefix: &str, attributes: &[(&str, &str)]) -> Queue {
        let endpoint = edge_tests::localstack::require();
        let mut client = edge_tests::sqs::client(&endpoint);
        let name = edge_tests::unique_name(prefix);
        let url = client
            .create_queue(&name, attributes)
            .expect("create queue");
        Queue {
            endpoint,
            url,
            client,
        }
    }

    /// Sends `bodies` with SendMessageBatch, 10 at a time; panics if any is refused.
    pub fn send_all(&mut self, bodies: &[String]) {
        for chunk in bodies.chunks(10) {
            let ids: Vec<String> = (0..chunk.len()).map(|i| format!("m{i}")).collect();
            let entries: Vec<BatchEntry<'_>> = chunk
                .iter()
                .zip(&ids)
                .map(|(b, id)| BatchEntry {
                    id,
                    body: b,
                    ..Default::default()
                })
                .collect();
            let outcomes = self
                .client
                .send_message_batch(&self.url, &entries)
                .expect("send");
            for outcome in outcomes {
                assert!(matches!(outcome, BatchOutcome::Sent { .. }), "{outcome:?}");
            }
        }
    }

    /// (visible, in flight) message counts as SQS reports them.
    pub fn counts(&mut self) -> (u64, u64) {
        let attrs = self
            .client
            .get_queue_attributes(
                &self.url,
                &[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )
            .expect("queue attributes");
        let get = |name: &str| {
            attrs
                .iter()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0)
        };
        (
            get("ApproximateNumberOfMessages"),
            get("ApproximateNumberOfMessagesNotVisible"),
        )
    }

    /// Asserts the queue holds nothing, visible or in flight.
    pub fn assert_empty(&mut self) {
        assert_eq!(
            self.counts(),
            (0, 0),
            "queue should be empty (visible, in flight)"
        );
    }

    /// The `puller` command for this queue: LocalStack endpoint and test credentials, the
    /// original puller's environment knobs cleared so only the flags given count.
    pub fn puller(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(PULLER);
        cmd.args(["--queue-url", &self.url, "--endpoint-url", &self.endpoint])
            .args(["--summary-interval", "0"])
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1");
        for var in [
            "SQS_QUEUE_URL",
            "NUM_WORKERS",
            "SQS_WAIT_TIME",
            "MAX_MESSAGES",
        ] {
            cmd.env_remove(var);
        }
        cmd.env_remove("SQS_VISIBILITY_TIMEOUT")
            .env_remove("AWS_ENDPOINT_URL_SQS");
        cmd
    }

    /// Runs the puller until the queue stays idle for `idle_secs`, returns its output.
    pub fn drain(&self, args: &[&str], idle_secs: u64) -> Output {
        let idle = idle_secs.to_string();
        let mut all = vec!["--exit-when-idle", idle.as_str(), "--wait-seconds", "1"];
        all.extend_from_slice(args);
        let output = self.puller(&all).output().expect("run puller");
        assert!(
            output.status.success(),
            "puller failed: {:?}\nstderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }
}

/// A scratch directory unique to this test.
pub fn scratch(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(edge_tests::unique_name(prefix));
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// The records (parsed JSON lines) in a jsonl sink file; missing file = none.
pub fn records(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    records_in(&text)
}

pub fn records_in(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("sink line not JSON ({e}): {l}"))
        })
        .collect()
}

/// The `body` field of each record.
pub fn bodies(records: &[serde_json::Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| {
            r["body"]
                .as_str()
                .unwrap_or_else(|| panic!("no body in {r}"))
                .to_string()
        })
        .collect()
}

/// How often each body occurs.
pub fn multiset(bodies: &[String]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for b in bodies {
        *counts.entry(b.clone()).or_insert(0) += 1;
    }
    counts
}

/// A sensor message body as the publisher sends it.
pub fn sensor_body(execution_id: &str, hostname: &str, region: &str, sequence: u64) -> String {
    format!(
        r##"{{"job_id":"job-1","execution_id":"{execution_id}","hostname":"{hostname}","job_submission_time":1711449600,"icon_name":"🚀","timestamp":"2025-03-26T12:34:56Z","color":"#FF5733","sequence":{sequence},"region":"{region}"}}"##
    )
}

/// Sends SIGTERM (or another signal) with the system's `kill`, keeping tests free of unsafe.
pub fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{name} failed");
}

/// Waits for `child` to exit, killing it and failing after `timeout`.
pub fn wait_exit(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("puller did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// Not every test file polls; the util module is compiled into each.
#[allow(unused_imports)]
pub use edge_tests::wait_until;

/// Stdio that discards, for children whose output does not matter.
pub fn null() -> Stdio {
    Stdio::null()
}
