//! SQS unreachable: every message is answered 503 with Retry-After (never 200), /health says
//! why, and the proxy recovers on its own once SQS is back.
mod util;

use edge_tests::{localstack, net};
use std::time::Duration;
use util::{multiset, sensor_body, wait_until, Proxy, Queue, Relay};

#[test]
fn sqs_unreachable_gives_503_and_recovers_by_itself() {
    let mut queue = Queue::new("proxy-outage");
    let relay_port = net::free_port();
    let endpoint = format!("http://127.0.0.1:{relay_port}");
    // Nothing listens on the relay port yet: SQS is down from the start.
    let proxy = Proxy::start(
        &queue.url,
        &endpoint,
        &["--workers", "2", "--max-retries", "1"],
    );

    let mut accepted = Vec::new();
    let mut seq = 0;
    let mut send = |proxy: &Proxy, accepted: &mut Vec<String>| {
        seq += 1;
        let body = sensor_body("outage-node", 1, seq);
        let resp = proxy.send(&body);
        match resp.status {
            200 => accepted.push(body),
            503 => assert_eq!(
                resp.header("Retry-After"),
                Some("1"),
                "{}",
                resp.body_text()
            ),
            other => panic!("unexpected status {other}: {}", resp.body_text()),
        }
        resp.status
    };

    for _ in 0..3 {
        assert_eq!(
            send(&proxy, &mut accepted),
            503,
            "never 200 while SQS is unreachable"
        );
    }
    let health = net::request(proxy.addr, "GET", "/health", &[], b"").unwrap();
    assert_eq!(health.status, 503, "{}", health.body_text());
    assert!(health.json()["reason"].as_str().unwrap().contains("failed"));

    // SQS comes back.
    let relay = Relay::start(relay_port, localstack::endpoint_addr());
    wait_until(
        "a message accepted after recovery",
        Duration::from_secs(30),
        || send(&proxy, &mut accepted) == 200,
    );
    assert!(net::wait_for_http_ok(
        proxy.addr,
        "/health",
        Duration::from_secs(10)
    ));
    for _ in 0..5 {
        assert_eq!(send(&proxy, &mut accepted), 200);
    }

    // Down again (mid-run, with keep-alive connections to the relay open): 503 again.
    drop(relay);
    wait_until(
        "503 after SQS went away again",
        Duration::from_secs(30),
        || send(&proxy, &mut accepted) == 503,
    );

    let got = queue.receive_exactly(accepted.len());
    let got_bodies = multiset(got.iter().map(|m| m.body.as_str()));
    for body in &accepted {
        assert!(
            got_bodies.contains_key(body),
            "answered 200 but not in SQS: {body}"
        );
    }
    let metrics = net::request(proxy.addr, "GET", "/metrics", &[], b"")
        .unwrap()
        .body_text();
    assert!(!metrics.contains("proxy_sqs_errors_total 0\n"), "{metrics}");
}
