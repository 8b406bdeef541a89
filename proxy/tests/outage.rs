//! SQS unreachable: every message is answered 503 with Retry-After (never 200), /health says
//! why, and the proxy recovers on its own once SQS is back.
mod util;

use edge_tests::{localstack, net};
use std::time::Duration;
use util::{multiset, sensor_body, wait_until, Behaviour, Proxy, Queue, ReservedPort, Stub};

#[test]
fn sqs_unreachable_gives_503_and_recovers_by_itself() {
    let mut queue = Queue::new("proxy-outage");
    // Nothing listens on the port yet: SQS is down from the start.
    let sqs_port = ReservedPort::new();
    let endpoint = format!("http://127.0.0.1:{}", sqs_port.port());
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
    let relay = Stub::on(
        sqs_port.listen(),
        Behaviour::Relay(localstack::endpoint_addr()),
    );
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

fn metric(proxy: &Proxy, name: &str) -> f64 {
    let text = net::request(proxy.addr, "GET", "/metrics", &[], b"")
        .unwrap()
        .body_text();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in metrics"))
}

#[test]
fn a_full_pending_queue_answers_503_at_once() {
    let queue = Queue::new("proxy-queue-full");
    // An SQS endpoint that accepts connections but never answers: the one forwarder hangs.
    // (Workers' own connections would take the messages first: this is about the queue.)
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let proxy = Proxy::start(
        &queue.url,
        &endpoint,
        &[
            "--forwarders",
            "1",
            "--queue-capacity",
            "1",
            "--max-retries",
            "0",
            "--worker-connections",
            "0",
        ],
    );
    let addr = proxy.addr;
    let send_in_background = |seq| {
        std::thread::spawn(move || {
            net::request(
                addr,
                "POST",
                "/send",
                &[],
                sensor_body("full", 1, seq).as_bytes(),
            )
        })
    };
    let _first = send_in_background(1);
    wait_until(
        "the forwarder took the first message",
        Duration::from_secs(10),
        || metric(&proxy, "proxy_sqs_calls_total") >= 1.0,
    );
    let _second = send_in_background(2);
    wait_until("the second message queued", Duration::from_secs(10), || {
        metric(&proxy, "proxy_queue_depth") >= 1.0
    });
    let started = std::time::Instant::now();
    let third = proxy.send(&sensor_body("full", 1, 3));
    assert_eq!(third.status, 503, "{}", third.body_text());
    assert_eq!(third.header("Retry-After"), Some("1"));
    assert!(third.body_text().contains("queue is full"));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered at once"
    );
    assert_eq!(
        metric(&proxy, "proxy_messages_rejected_queue_full_total"),
        1.0
    );
}
