//! Loss accounting on crafted sequences, seen through all three outputs: /metrics while
//! running, the final report on SIGTERM, and --report-json.
mod util;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;
use util::{scratch, sensor_body, signal, wait_exit, wait_until, Queue};

#[test]
fn gaps_and_duplicates_are_detected_on_crafted_sequences() {
    let mut queue = Queue::new("puller-gaps");
    let mut sent = Vec::new();
    // exec-a: 4, 7 and 8 missing; 6 twice.
    for seq in [1, 2, 3, 5, 6, 6, 9] {
        sent.push(sensor_body("exec-a", "edge-us-1", "us", seq));
    }
    // No execution id: keyed on hostname + job. 1 twice, no gaps.
    for seq in [1, 1, 2] {
        sent.push(sensor_body("", "edge-eu-2", "eu", seq));
    }
    queue.send_all(&sent);
    let dir = scratch("puller-gaps");
    let report = dir.join("report.json");
    let port = edge_tests::net::free_port();
    let (port_arg, report_arg) = (port.to_string(), report.display().to_string());
    let mut child = queue
        .puller(&[
            "--metrics-port",
            &port_arg,
            "--report-json",
            &report_arg,
            "--wait-seconds",
            "1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn puller");

    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut metrics = String::new();
    wait_until(
        "all 10 messages in /metrics",
        Duration::from_secs(30),
        || {
            metrics = edge_tests::net::request(addr, "GET", "/metrics", &[], b"")
                .map(|r| r.body_text())
                .unwrap_or_default();
            metrics.contains("puller_messages_total 10\n")
        },
    );
    for want in [
        "puller_sequence_gaps 3\n",
        "puller_duplicates_total 2\n",
        "puller_instances 2\n",
        "puller_region_messages_total{region=\"us\"} 7\n",
        "puller_region_messages_total{region=\"eu\"} 3\n",
    ] {
        assert!(metrics.contains(want), "missing {want:?} in\n{metrics}");
    }
    let not_found = edge_tests::net::request(addr, "GET", "/nope", &[], b"").expect("request");
    assert_eq!(not_found.status, 404);

    signal(&child, "TERM");
    let status = wait_exit(&mut child, Duration::from_secs(20));
    assert!(
        status.success(),
        "SIGTERM is a graceful stop, exit 0: {status:?}"
    );
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("read stderr");
    assert!(stderr.contains("stopped (SIGTERM received)"), "{stderr}");
    assert!(stderr.contains("gaps 3, duplicates 2"), "{stderr}");
    assert!(stderr.contains("missing 4,7-8"), "{stderr}");

    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("report")).expect("json");
    assert_eq!(
        (report["gaps"].as_u64(), report["duplicates"].as_u64()),
        (Some(3), Some(2))
    );
    let instances = report["instances"].as_array().expect("instances");
    let find = |key: &str| {
        instances
            .iter()
            .find(|i| i["key"] == key)
            .unwrap_or_else(|| panic!("no {key}: {report}"))
    };
    let a = find("exec-a");
    assert_eq!(
        (a["count"].as_u64(), a["distinct"].as_u64()),
        (Some(7), Some(6))
    );
    assert_eq!(
        (a["gaps"].as_u64(), a["duplicates"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(
        (a["min_sequence"].as_u64(), a["max_sequence"].as_u64()),
        (Some(1), Some(9))
    );
    assert_eq!(
        (a["region"].as_str(), a["hostname"].as_str()),
        (Some("us"), Some("edge-us-1"))
    );
    let b = find("edge-eu-2/job-1");
    assert_eq!(
        (b["gaps"].as_u64(), b["duplicates"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(b["execution_id"], "");
    let us = report["groups"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["region"] == "us"))
        .unwrap_or_else(|| panic!("no us group: {report}"));
    assert_eq!(
        (us["messages"].as_u64(), us["gaps"].as_u64()),
        (Some(7), Some(3))
    );
    assert!(
        us["latency_p50_seconds"].as_f64().is_some(),
        "latency measured: {us}"
    );
    queue.assert_empty();
}
