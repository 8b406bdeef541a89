//! The whole data path with real parts: the sensor module under edge-node, the proxy, and
//! LocalStack's SQS. Messages must arrive with the exact schema and consecutive sequences,
//! also when the proxy goes away for a while and comes back.
use edge_tests::{bins, localstack, net};
use serde_json::Value;
use sigv4::sqs::{DeleteEntry, ReceiveOptions, SqsClient};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SCHEMA: [&str; 9] = [
    "job_id",
    "execution_id",
    "hostname",
    "job_submission_time",
    "icon_name",
    "timestamp",
    "color",
    "sequence",
    "region",
];

fn module() -> PathBuf {
    let path = bins::workspace_root().join("target/modules/publisher.wasm");
    assert!(
        path.exists(),
        "{} missing: run scripts/build-wasm first",
        path.display()
    );
    path
}

struct Proxy {
    child: Child,
    addr: SocketAddr,
}

impl Proxy {
    fn start(port: u16, queue_url: &str, endpoint: &str) -> Proxy {
        let child = Command::new(bins::bin_path("proxy"))
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--workers",
                "2",
            ])
            .args(["--queue-url", queue_url, "--endpoint-url", endpoint])
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .stdout(Stdio::null())
            .spawn()
            .expect("start proxy");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        assert!(
            net::wait_for_http_ok(addr, "/health", Duration::from_secs(20)),
            "proxy not healthy"
        );
        Proxy { child, addr }
    }

    /// SIGTERM and wait: the proxy drains what it acknowledged.
    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "proxy exited with {status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        panic!("proxy did not stop within 20 s of SIGTERM");
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Receives (and deletes) until `want` messages arrived or `timeout` passed.
fn drain(client: &mut SqsClient, queue_url: &str, want: usize, timeout: Duration) -> Vec<String> {
    let mut bodies = Vec::new();
    let deadline = Instant::now() + timeout;
    let options = ReceiveOptions {
        wait_seconds: 1,
        ..ReceiveOptions::default()
    };
    while bodies.len() < want && Instant::now() < deadline {
        let messages = client
            .receive_message(queue_url, &options)
            .expect("receive");
        let ids: Vec<String> = (0..messages.len()).map(|i| i.to_string()).collect();
        let entries: Vec<DeleteEntry<'_>> = messages
            .iter()
            .zip(&ids)
            .map(|(m, id)| DeleteEntry {
                id,
                receipt_handle: &m.receipt_handle,
            })
            .collect();
        if !entries.is_empty() {
            client
                .delete_message_batch(queue_url, &entries)
                .expect("delete");
        }
        bodies.extend(messages.into_iter().map(|m| m.body));
    }
    bodies
}

/// Sequences per execution id, checking each body has exactly the seed's schema, in order.
fn sequences(bodies: &[String]) -> BTreeMap<String, Vec<u64>> {
    let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for body in bodies {
        // serde_json sorts object keys, so check the wire order on the text itself.
        let mut rest = body.as_str();
        for key in SCHEMA {
            let needle = format!("\"{key}\":");
            let pos = rest
                .find(&needle)
                .unwrap_or_else(|| panic!("{key} missing or out of order in {body}"));
            rest = &rest[pos + needle.len()..];
        }
        let v: Value = serde_json::from_str(body).expect("body is JSON");
        let obj = v.as_object().expect("object");
        assert_eq!(
            obj.len(),
            SCHEMA.len(),
            "exactly the schema's fields: {body}"
        );
        assert!(
            v["job_submission_time"].is_i64() && v["sequence"].is_u64(),
            "{body}"
        );
        assert!(
            v["timestamp"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z') && t.len() >= 20),
            "{body}"
        );
        assert!(
            v["color"]
                .as_str()
                .is_some_and(|c| c.len() == 7 && c.starts_with('#')),
            "{body}"
        );
        out.entry(v["execution_id"].as_str().unwrap_or_default().to_string())
            .or_default()
            .push(v["sequence"].as_u64().unwrap_or(0));
    }
    out
}

#[test]
fn sensors_reach_sqs_with_exact_schema_and_consecutive_sequences() {
    let endpoint = localstack::require();
    let mut client = edge_tests::sqs::client(&endpoint);
    let queue_url = client
        .create_queue(&edge_tests::unique_name("pipeline"), &[])
        .expect("queue");
    let proxy = Proxy::start(net::free_port(), &queue_url, &endpoint);

    let status = Command::new(bins::bin_path("edge-node"))
        .arg("simulate")
        .arg(module())
        .args(["--nodes", "3", "--region", "us", "--quiet", "--"])
        .arg(format!("--proxy=http://{}", proxy.addr))
        .args([
            "--region=us",
            "--interval=0.05",
            "--max-messages=10",
            "--submission-time=1",
        ])
        .args(["--color=#FF0000", "--emoji=0"])
        .status()
        .expect("run edge-node");
    assert!(status.success(), "edge-node simulate failed: {status}");

    let bodies = drain(&mut client, &queue_url, 30, Duration::from_secs(30));
    let per_node = sequences(&bodies);
    assert_eq!(per_node.len(), 3, "three nodes, three execution ids");
    for (execution, seqs) in per_node {
        assert_eq!(
            seqs.iter().copied().collect::<BTreeSet<_>>(),
            (1..=10).collect(),
            "{execution}: {seqs:?}"
        );
        assert_eq!(seqs.len(), 10, "{execution}: duplicates in {seqs:?}");
    }
    assert!(bodies
        .iter()
        .all(|b| b.contains("\"icon_name\":\"🚀\"") && b.contains("\"region\":\"us\"")));
}

#[test]
fn proxy_outage_leaves_no_sequence_gap() {
    let endpoint = localstack::require();
    let mut client = edge_tests::sqs::client(&endpoint);
    let queue_url = client
        .create_queue(&edge_tests::unique_name("outage"), &[])
        .expect("queue");
    let port = net::free_port();
    let mut proxy = Proxy::start(port, &queue_url, &endpoint);

    let total = 60;
    let mut sensor = Command::new(bins::bin_path("edge-node"))
        .arg("run")
        .arg(module())
        .args(["--hostname", "edge-eu-0", "--region", "eu", "--"])
        .arg(format!("--proxy=http://{}", proxy.addr))
        .args(["--region=eu", "--interval=0.05", "--submission-time=1"])
        .arg(format!("--max-messages={total}"))
        .stdout(Stdio::null())
        .spawn()
        .expect("run edge-node");

    // Some messages flow, then the proxy goes away while the sensor keeps producing.
    let before = drain(&mut client, &queue_url, 5, Duration::from_secs(20));
    assert!(before.len() >= 5, "nothing arrived before the outage");
    proxy.stop();
    std::thread::sleep(Duration::from_millis(1500)); // the outage: ~30 messages generated
    let _proxy = Proxy::start(port, &queue_url, &endpoint);

    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = sensor.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "sensor did not deliver its {total} messages"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "sensor exited with {status}");

    let mut bodies = before;
    bodies.extend(drain(
        &mut client,
        &queue_url,
        total - bodies.len(),
        Duration::from_secs(30),
    ));
    let per_node = sequences(&bodies);
    assert_eq!(per_node.len(), 1);
    let seen: BTreeSet<u64> = per_node.values().flatten().copied().collect();
    let want: BTreeSet<u64> = (1..=total as u64).collect();
    let missing: Vec<_> = want.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "sequences lost across the outage: {missing:?}"
    );
}
