//! A short non-interactive run of the whole demo (LocalStack, three proxies, the puller and
//! simulated edge nodes executing the real job files) whose summary must show every
//! deployment delivering and no acknowledged message missing.
use edge_tests::{bins, localstack, net};
use serde_json::Value;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

#[test]
fn demo_scenario_delivers_everything_acknowledged() {
    let endpoint = localstack::require();
    let root = bins::workspace_root();
    let module = root.join("target/modules/publisher.wasm");
    assert!(
        module.exists(),
        "{} missing: run scripts/build-wasm first",
        module.display()
    );
    let dir = std::env::temp_dir().join(edge_tests::unique_name("demo-test"));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let summary_path = dir.join("summary.json");

    let output = Command::new(bins::bin_path("demo"))
        .args([
            "--non-interactive",
            "--step-seconds",
            "2",
            "--interval",
            "0.2",
        ])
        .args([
            "--drain-seconds",
            "40",
            "--workers",
            "1",
            "--endpoint-url",
            &endpoint,
        ])
        // The dashboard on, fed by the whole scenario, on a port of its own.
        .arg("--dashboard")
        .arg(format!("127.0.0.1:{}", edge_tests::net::free_port()))
        .arg("--root")
        .arg(&root)
        .arg("--run-dir")
        .arg(dir.join("run"))
        .arg("--summary-json")
        .arg(&summary_path)
        .env("REPLICAS", "2")
        .env("BATCH_SIZE", "1")
        .env("MS_BETWEEN_RECONNECT", "50")
        .env_remove("ALL_AT_ONCE")
        .output()
        .expect("run demo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "demo failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains("0 gaps"), "{stdout}");

    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(&summary_path).expect("summary written"))
            .expect("summary is JSON");
    assert_eq!(summary["total_gaps"], 0, "{summary}");
    let rows = summary["rows"].as_array().expect("rows");
    let row = |region: &str, version: i64| -> &Value {
        rows.iter()
            .find(|r| r["region"] == region && r["version"] == version)
            .unwrap_or_else(|| panic!("no row for {region} v{version} in {summary}"))
    };
    for (region, version) in [("us", 1), ("eu", 1), ("as", 1), ("us", 2), ("eu", 2)] {
        let r = row(region, version);
        assert_eq!(r["nodes"], 2, "{region} v{version}: {r}");
        assert_eq!(r["gaps"], 0, "{region} v{version}: {r}");
        assert_eq!(r["duplicates"], 0, "{region} v{version}: {r}");
        // The eu outage is far inside the outbox bound and the proxy refuses nothing.
        assert_eq!(r["dropped_permanent"], 0, "{region} v{version}: {r}");
        assert_eq!(r["dropped_overflow"], 0, "{region} v{version}: {r}");
    }
    // Every active deployment got messages through.
    for (region, version) in [("eu", 1), ("as", 1), ("us", 2), ("eu", 2)] {
        let r = row(region, version);
        assert!(
            r["received"].as_u64().unwrap_or(0) > 0,
            "{region} v{version} received nothing: {r}"
        );
    }
    // After the v2 rollout the us v1 sensors on the same hosts are superseded.
    assert!(
        row("us", 1)["filtered"].as_u64().unwrap_or(0) > 0,
        "{}",
        row("us", 1)
    );
    // No sensor lost anything on its side either: what a node generated was acknowledged or
    // filtered, except at most the one message in flight when it was stopped. The eu nodes
    // were cut off for two steps, so this proves their outboxes held and then delivered.
    for r in rows {
        assert!(
            r["unacked"].as_u64().unwrap_or(u64::MAX) <= 2,
            "messages left unsent: {r}"
        );
    }

    // Nothing the demo started is still listening.
    for port in [9091u16, 9092, 9093] {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        assert!(
            !net::wait_for_port(addr, Duration::from_millis(300)),
            "something still listens on {port} after the demo exited"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
