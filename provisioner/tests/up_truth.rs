//! `up` tells the truth (issue 12, item 6), against the real docker engine and LocalStack with
//! our proxy and puller images: the queue is created when missing (or `up` refuses with
//! `--no-create-queue`), and a service that dies after passing its first check fails `up`
//! with its last log lines instead of "ready".
mod util;

use serde_json::json;
use util::{ensure_images, queue_exists, text, Project};

/// The built-in standin profile: stand-in orchestrator and web-services node, our real proxy
/// and puller images.
fn profile() -> serde_json::Value {
    json!({"base": "standin"})
}

#[test]
fn a_missing_queue_is_created_and_the_core_is_checked_after_settling() {
    edge_tests::localstack::require();
    ensure_images(&["standin", "proxy", "puller"]);
    let p = Project::new(&profile());
    assert!(!queue_exists(&p.queue));
    let out = p.run(&["up", "--replicas", "0"]);
    let msg = text(&out);
    assert!(out.status.success(), "up failed:\n{msg}");
    assert!(
        queue_exists(&p.queue),
        "up did not create {}: {msg}",
        p.queue
    );
    assert!(msg.contains(&format!("{} created", p.queue)), "{msg}");
    assert!(msg.contains("still running after 5s"), "{msg}");
    // The services are really up: proxies answer /health, the puller still runs.
    let status = p.status();
    let core = status["core"].as_object().expect("core");
    assert!(core.values().all(|c| c["state"] == "running"), "{core:?}");
    for port in p.ports.split(',') {
        let addr = format!("127.0.0.1:{port}").parse().expect("addr");
        let health =
            edge_tests::net::request(addr, "GET", "/health", &[], b"").expect("GET /health");
        assert_eq!(health.status, 200, "{}", health.body_text());
    }
    // Again: the queue is found, not created twice.
    let again = p.ok(&["up", "--replicas", "0"]);
    assert!(again.contains(&format!("{} exists", p.queue)), "{again}");
}

#[test]
fn no_create_queue_refuses_a_missing_queue_before_starting_anything() {
    edge_tests::localstack::require();
    ensure_images(&["standin", "proxy", "puller"]);
    let p = Project::new(&profile());
    let out = p.run(&["up", "--replicas", "0", "--no-create-queue"]);
    let msg = text(&out);
    assert_eq!(out.status.code(), Some(1), "{msg}");
    assert!(
        msg.contains(&format!("queue {} does not exist", p.queue))
            && msg.contains("--no-create-queue"),
        "{msg}"
    );
    assert!(
        !queue_exists(&p.queue),
        "--no-create-queue created it anyway"
    );
    assert_eq!(p.container_ids(), Vec::<String>::new(), "nothing may start");
}

/// The scenario of issue 12: a puller on a queue that does not exist starts, passes the
/// "running" check, then exits. `up` must fail naming it, with its log, and start no edge.
#[test]
fn a_service_that_dies_after_starting_fails_up_with_its_log_lines() {
    edge_tests::localstack::require();
    ensure_images(&["standin", "proxy", "puller", "runner"]);
    let missing = edge_tests::unique_name("prov-missing");
    let mut profile = profile();
    profile["puller"] = json!({"command": [
        "--queue-url", format!("{{endpoint_url}}/000000000000/{missing}"),
        "--endpoint-url", "{endpoint_url}"
    ]});
    let p = Project::new(&profile);
    let out = p.run(&["up", "--replicas", "1"]);
    let msg = text(&out);
    assert_eq!(out.status.code(), Some(1), "{msg}");
    assert!(!msg.contains("ready"), "{msg}");
    assert!(
        msg.contains(&format!("container {}-puller is not running", p.name)),
        "must name the puller: {msg}"
    );
    assert!(
        msg.contains("last log lines:") && msg.contains(&missing),
        "must quote the puller's log about its queue: {msg}"
    );
    assert_eq!(
        p.edge_counts(),
        vec![(0, 0), (0, 0), (0, 0)],
        "no edge node may start after a failed core"
    );
}
