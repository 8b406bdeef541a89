//! The fault suite: the real proxy binary, at its default settings, against each way SQS or the
//! proxy itself can fail. Every test asserts that what was acknowledged (200) is in the queue,
//! that nothing got 200 that SQS did not accept, and that recovery or exit happened within
//! its bound:
//! - kill -9 under load with real sensors (edge-node running the sensor module) and raw clients;
//! - an SQS endpoint that accepts connections and never answers (hung);
//! - an https endpoint that accepts TCP and never speaks TLS (TLS stall);
//! - an endpoint answering with a chunked body whose chunk size is `ffffffffffffffff`;
//! - a forwarder panic (debug builds' `PROXY_DEBUG_FAULT`, see proxy/src/fault.rs);
//! - SIGTERM with SQS down, and a second signal.
//!
//! Time bounds come from the defaults: `--request-budget` 10 s, `--drain-timeout` 8 s.
mod util;

use edge_tests::{bins, localstack, net};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use util::{sensor_body, wait_until, Behaviour, Proxy, Queue, Stub};

/// The proxy's default `--request-budget`.
const BUDGET: Duration = Duration::from_secs(10);
/// The proxy's default `--drain-timeout`.
const DRAIN: Duration = Duration::from_secs(8);
/// Scheduling slack on a loaded 2-core test host, added to each bound.
const SLACK: Duration = Duration::from_millis(1000);

/// One answer to a POST /send, as a sensor sees it.
#[derive(Debug)]
struct Answer {
    /// 0 when the connection failed or closed without an answer.
    status: u16,
    retry_after: Option<String>,
    elapsed: Duration,
    body: String,
}

/// POSTs `body` on a fresh connection and waits up to 30 s (the HTTP timeout Bacalhau's wasm
/// executor gives the sensor) for the answer.
fn post(addr: SocketAddr, body: &str) -> Answer {
    let started = Instant::now();
    match util::post_fresh(addr, body) {
        Ok(r) => Answer {
            status: r.status,
            retry_after: r.header("Retry-After").map(str::to_string),
            elapsed: started.elapsed(),
            body: r.body_text(),
        },
        Err(e) => Answer {
            status: 0,
            retry_after: None,
            elapsed: started.elapsed(),
            body: e.to_string(),
        },
    }
}

/// POSTs `bodies` concurrently (one thread each) and returns the answers in order.
fn post_all(addr: SocketAddr, bodies: &[String]) -> Vec<Answer> {
    let threads: Vec<_> = bodies
        .iter()
        .cloned()
        .map(|b| std::thread::spawn(move || post(addr, &b)))
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().expect("client"))
        .collect()
}

/// A 503 with Retry-After that came within the request budget.
fn assert_503_in_budget(a: &Answer) {
    assert_eq!(a.status, 503, "{a:?}");
    assert_eq!(a.retry_after.as_deref(), Some("1"), "{a:?}");
    assert!(a.body.contains("\"error\""), "{a:?}");
    assert!(a.elapsed < BUDGET + SLACK, "answered after {:?}", a.elapsed);
}

/// Every body in `acked` is in the queue.
fn assert_all_arrived(queue: &mut Queue, acked: &[String]) {
    let got = queue.receive_exactly(acked.len());
    let in_queue: HashSet<&str> = got.iter().map(|m| m.body.as_str()).collect();
    let missing: Vec<&String> = acked
        .iter()
        .filter(|b| !in_queue.contains(b.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged messages are not in SQS, e.g. {:?}",
        missing.len(),
        acked.len(),
        missing.first()
    );
}

/// Sends fresh messages until one is accepted, within `bound`; returns the accepted bodies.
fn send_until_accepted(proxy: &Proxy, host: &str, bound: Duration) -> Vec<String> {
    let mut acked = Vec::new();
    let mut seq = 0;
    wait_until("a message accepted after recovery", bound, || {
        seq += 1;
        let body = sensor_body(host, 1, seq);
        let a = post(proxy.addr, &body);
        assert!(a.status == 200 || a.status == 503, "{a:?}");
        if a.status == 200 {
            acked.push(body);
        }
        a.status == 200
    });
    acked
}

#[test]
fn sqs_endpoint_hung_answers_503_in_budget_and_recovers_when_sqs_returns() {
    let mut queue = Queue::new("fault-hung");
    let hung = Stub::start(Behaviour::Silent);
    let proxy = Proxy::start(&queue.url, &hung.url(), &[]);

    let bodies: Vec<String> = (1..=6).map(|i| sensor_body("hung", 1, i)).collect();
    for a in post_all(proxy.addr, &bodies) {
        assert_503_in_budget(&a);
    }
    assert!(
        hung.accepted() > 0,
        "the proxy never reached the hung endpoint"
    );
    let (status, reason) = proxy.health();
    assert_eq!(status, 503, "health while SQS hangs: {reason}");
    assert!(reason.contains("unanswered"), "{reason}");
    // The proxy itself stays responsive, and counts each 503 once (at the budget, or from
    // the forwarder whose call timed out, whichever came first).
    let counted =
        proxy.metric("proxy_messages_expired_total") + proxy.metric("proxy_messages_failed_total");
    assert_eq!(counted, bodies.len() as f64);

    // SQS comes back on the same address; calls already sent to the hung server stay hung
    // until the proxy's read timeout ends them.
    hung.behave(Behaviour::Relay(localstack::endpoint_addr()));
    let acked = send_until_accepted(&proxy, "hung", BUDGET * 2);
    assert!(net::wait_for_http_ok(proxy.addr, "/health", BUDGET));
    assert_all_arrived(&mut queue, &acked);
}

#[test]
fn tls_stall_answers_503_in_budget_and_sigterm_still_exits_in_time() {
    let queue = Queue::new("fault-tls-stall");
    // Accepts TCP, never sends a byte: the TLS handshake never completes.
    let stall = Stub::start(Behaviour::Silent);
    let endpoint = format!("https://127.0.0.1:{}", stall.port());
    let mut proxy = Proxy::start(&queue.url, &endpoint, &[]);

    let bodies: Vec<String> = (1..=4).map(|i| sensor_body("tls", 1, i)).collect();
    for a in post_all(proxy.addr, &bodies) {
        assert_503_in_budget(&a);
    }
    assert!(stall.accepted() > 0, "the proxy never reached the endpoint");
    let (status, reason) = proxy.health();
    assert_eq!(
        status, 503,
        "health while the TLS handshake stalls: {reason}"
    );

    // Forwarders may be stuck inside the handshake: shutdown must not wait for them. One
    // more message is in the proxy (queued, or taken into a call: the call count grows) when
    // the signal comes.
    let in_proxy = |p: &Proxy| p.metric("proxy_sqs_calls_total") + p.metric("proxy_queue_depth");
    let before = in_proxy(&proxy);
    let waiting = std::thread::spawn({
        let addr = proxy.addr;
        move || post(addr, &sensor_body("tls", 1, 99))
    });
    wait_until(
        "the last message in the proxy",
        Duration::from_secs(5),
        || in_proxy(&proxy) > before,
    );
    let signalled = Instant::now();
    proxy.terminate();
    let exit = proxy.wait_exit(DRAIN + Duration::from_secs(2));
    assert!(exit.success(), "exit status {exit}");
    assert!(signalled.elapsed() < DRAIN + Duration::from_secs(2));
    let last = waiting.join().expect("client");
    assert_eq!(last.status, 503, "never 200 without SQS: {last:?}");
}

#[test]
fn chunked_garbage_from_sqs_costs_503s_not_the_proxy_and_it_recovers() {
    let mut queue = Queue::new("fault-chunked");
    // A first chunk, then a chunk size that overflows any length arithmetic.
    let sqs = Stub::start(Behaviour::Answer(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nffffffffffffffff\r\n",
    ));
    let proxy = Proxy::start(&queue.url, &sqs.url(), &[]);

    for seq in 1..=4 {
        let a = post(proxy.addr, &sensor_body("chunked", 1, seq));
        assert_503_in_budget(&a);
    }
    let (status, reason) = proxy.health();
    assert_eq!(status, 503, "health while SQS answers garbage: {reason}");
    // Either the transport refused the answer (an error) or it panicked and the forwarder
    // was restarted; both are counted (a restart just after the 503 went out).
    wait_until("each failure counted", Duration::from_secs(5), || {
        proxy.metric("proxy_sqs_errors_total") + proxy.metric("proxy_forwarder_restarts_total")
            >= 4.0
    });

    // SQS is healthy again on the same address.
    sqs.behave(Behaviour::Relay(localstack::endpoint_addr()));
    sqs.close_accepted();
    let acked = send_until_accepted(&proxy, "chunked", BUDGET * 3);
    assert!(net::wait_for_http_ok(proxy.addr, "/health", BUDGET));
    assert_all_arrived(&mut queue, &acked);
}

/// Sends `marker`-tagged and ordinary messages concurrently to a proxy whose forwarders panic
/// on the marker at `when`; returns (answers to the marked messages, acknowledged bodies).
fn panic_run(when: &str, queue: &Queue) -> (Vec<Answer>, Vec<String>, Proxy) {
    let marker = format!("POISON-{}", edge_tests::unique_name(when));
    let fault = format!("{when}:{marker}");
    let proxy = Proxy::start_with(
        net::free_port(),
        &queue.url,
        &queue.endpoint,
        &[],
        &[("PROXY_DEBUG_FAULT", &fault)],
    );
    let marked: Vec<String> = (1..=3)
        .map(|i| sensor_body(&format!("{marker}-{i}"), 1, i))
        .collect();
    let plain: Vec<String> = (1..=20).map(|i| sensor_body("plain", 1, i)).collect();
    let mut all = marked.clone();
    all.extend(plain.iter().cloned());
    let answers = post_all(proxy.addr, &all);
    let mut acked = Vec::new();
    for (body, a) in all.iter().zip(&answers) {
        assert!(a.status == 200 || a.status == 503, "{a:?}");
        assert!(a.elapsed < BUDGET + SLACK, "{a:?}");
        if a.status == 200 {
            acked.push(body.clone());
        }
    }
    let marked_answers = answers.into_iter().take(marked.len()).collect();
    (marked_answers, acked, proxy)
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "fault injection (PROXY_DEBUG_FAULT) exists in debug builds only"
)]
fn a_forwarder_panic_costs_503s_is_restarted_and_loses_nothing() {
    let mut queue = Queue::new("fault-panic");
    let (marked, mut acked, proxy) = panic_run("panic-before-send", &queue);
    for a in &marked {
        // SQS never saw these: 503, and quickly (the batch's guard answers, not the budget).
        assert_eq!(a.status, 503, "{a:?}");
        assert!(a.elapsed < BUDGET / 2, "{a:?}");
    }
    wait_until("the restart counted", Duration::from_secs(5), || {
        proxy.metric("proxy_forwarder_restarts_total") >= 1.0
    });
    acked.extend(send_until_accepted(&proxy, "after-panic", BUDGET));
    assert!(net::wait_for_http_ok(proxy.addr, "/health", BUDGET));
    assert_all_arrived(&mut queue, &acked);
    let got = queue.receive_exactly(0);
    assert!(
        got.iter().all(|m| !m.body.contains("POISON")),
        "a message answered 503 before sending reached SQS"
    );

    // Panicking after SQS answered: what SQS accepted still gets its 200.
    let mut queue = Queue::new("fault-panic-after");
    let (marked, acked, proxy) = panic_run("panic-after-send", &queue);
    assert!(marked.iter().all(|a| a.status == 200), "{marked:?}");
    wait_until("the restart counted", Duration::from_secs(5), || {
        proxy.metric("proxy_forwarder_restarts_total") >= 1.0
    });
    assert_all_arrived(&mut queue, &acked);
}

#[test]
fn sigterm_with_sqs_down_exits_within_the_drain_time_and_answers_503() {
    let queue = Queue::new("fault-sigterm-down");
    let hung = Stub::start(Behaviour::Silent);
    let mut proxy = Proxy::start(&queue.url, &hung.url(), &[]);

    // Enough messages to fill every forwarder's batch and leave the rest queued.
    let addr = proxy.addr;
    let clients = std::thread::spawn(move || {
        let bodies: Vec<String> = (1..=120).map(|i| sensor_body("down", 1, i)).collect();
        post_all(addr, &bodies)
    });
    wait_until("messages queued behind hung calls", BUDGET, || {
        proxy.metric("proxy_queue_depth") >= 40.0
    });
    let signalled = Instant::now();
    proxy.terminate();
    let exit = proxy.wait_exit(DRAIN + Duration::from_secs(2));
    let took = signalled.elapsed();
    assert!(exit.success(), "exit status {exit}");
    assert!(took < DRAIN + Duration::from_secs(2), "exit took {took:?}");
    for a in clients.join().expect("clients") {
        // Never 200: SQS accepted nothing. Requests that reached the proxy get 503; a few
        // may find the listener already closed (status 0), which the sender's outbox covers.
        assert!(a.status == 503 || a.status == 0, "{a:?}");
        if a.status == 503 {
            assert_eq!(a.retry_after.as_deref(), Some("1"), "{a:?}");
        }
    }
}

#[test]
fn a_second_signal_exits_at_once() {
    let queue = Queue::new("fault-second-signal");
    let hung = Stub::start(Behaviour::Silent);
    let mut proxy = Proxy::start(&queue.url, &hung.url(), &[]);
    let addr = proxy.addr;
    let client = std::thread::spawn(move || post(addr, &sensor_body("second", 1, 1)));
    wait_until("a call pending", Duration::from_secs(5), || {
        proxy.metric("proxy_sqs_calls_total") >= 1.0
    });
    proxy.terminate();
    // The first signal is being handled (the drain would take up to 10 s) ...
    std::thread::sleep(Duration::from_millis(300));
    let second = Instant::now();
    proxy.signal("INT");
    let exit = proxy.wait_exit(Duration::from_secs(2));
    assert!(
        second.elapsed() < Duration::from_secs(1),
        "{:?}",
        second.elapsed()
    );
    assert_eq!(exit.code(), Some(1), "{exit}");
    let a = client.join().expect("client");
    assert_ne!(a.status, 200, "{a:?}");
}

fn module() -> PathBuf {
    let path = bins::workspace_root().join("target/modules/publisher.wasm");
    assert!(
        path.exists(),
        "{} missing: run scripts/build-wasm first",
        path.display()
    );
    path
}

/// Sensors per kill -9 run and the messages each sends.
const SENSORS: usize = 2;
const PER_SENSOR: u64 = 150;

/// Real senders: sensors (the wasm module under edge-node) whose outbox resends whatever was
/// not answered 200.
fn start_sensors(addr: SocketAddr) -> Vec<std::process::Child> {
    (0..SENSORS)
        .map(|i| {
            Command::new(bins::bin_path("edge-node"))
                .arg("run")
                .arg(module())
                .args(["--hostname", &format!("kill9-{i}"), "--region", "eu", "--"])
                .arg(format!("--proxy=http://{addr}"))
                .args(["--region=eu", "--interval=0.02", "--submission-time=1"])
                .arg(format!("--max-messages={PER_SENSOR}"))
                .stdout(Stdio::null())
                .spawn()
                .expect("run edge-node")
        })
        .collect()
}

/// Raw clients that record exactly which bodies were answered 200, until `stop`.
fn start_raw_clients(
    addr: SocketAddr,
    stop: &Arc<AtomicBool>,
    acked: &Arc<Mutex<Vec<String>>>,
) -> Vec<std::thread::JoinHandle<()>> {
    (0..4)
        .map(|c| {
            let (stop, acked) = (Arc::clone(stop), Arc::clone(acked));
            std::thread::spawn(move || {
                let mut seq = 0;
                while !stop.load(Ordering::Relaxed) {
                    seq += 1;
                    let body = sensor_body(&format!("raw-{c}"), 1, seq);
                    let a = post(addr, &body);
                    assert!(matches!(a.status, 0 | 200 | 503), "{a:?}");
                    if a.status == 200 {
                        acked.lock().unwrap().push(body);
                    } else if a.status == 0 {
                        // The proxy is down: the sender's retry interval.
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            })
        })
        .collect()
}

fn wait_for_sensors(sensors: &mut [std::process::Child], timeout: Duration) {
    let deadline = Instant::now() + timeout;
    for sensor in sensors {
        let status = loop {
            if let Some(status) = sensor.try_wait().expect("wait") {
                break status;
            }
            assert!(Instant::now() < deadline, "a sensor did not finish");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(status.success(), "sensor exited with {status}");
    }
}

/// Every raw 200 is in SQS, and every sequence of each sensor (it drops a message from its
/// outbox only on a 200).
fn assert_nothing_acknowledged_lost(queue: &mut Queue, acked: &[String]) {
    let got = queue.receive_exactly(acked.len() + SENSORS * PER_SENSOR as usize);
    let in_queue: HashSet<&str> = got.iter().map(|m| m.body.as_str()).collect();
    let lost = acked
        .iter()
        .filter(|b| !in_queue.contains(b.as_str()))
        .count();
    assert_eq!(
        lost,
        0,
        "{lost} of {} acknowledged bodies lost",
        acked.len()
    );
    for i in 0..SENSORS {
        let host = format!("\"hostname\":\"kill9-{i}\"");
        let seqs: HashSet<u64> = got
            .iter()
            .filter(|m| m.body.contains(&host))
            .filter_map(|m| serde_json::from_str::<serde_json::Value>(&m.body).ok())
            .filter_map(|v| v["sequence"].as_u64())
            .collect();
        let missing: Vec<u64> = (1..=PER_SENSOR).filter(|s| !seqs.contains(s)).collect();
        assert!(missing.is_empty(), "sensor {i} lost sequences {missing:?}");
    }
}

#[test]
fn kill_9_under_load_loses_no_acknowledged_message() {
    let mut queue = Queue::new("fault-kill9");
    let port = net::free_port();
    let endpoint = queue.endpoint.clone();
    let mut proxy = Proxy::start_with(port, &queue.url, &endpoint, &[], &[]);
    let mut sensors = start_sensors(proxy.addr);
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let clients = start_raw_clients(proxy.addr, &stop, &acked);

    wait_until("load flowing", Duration::from_secs(30), || {
        acked.lock().unwrap().len() >= 100
    });
    proxy.signal("KILL");
    let _ = proxy.wait_exit(Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(500)); // the outage; senders keep trying
    let proxy = Proxy::start_with(port, &queue.url, &endpoint, &[], &[]);
    let before = acked.lock().unwrap().len();
    wait_until("load flowing again", Duration::from_secs(30), || {
        acked.lock().unwrap().len() >= before + 100
    });
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().expect("client");
    }
    wait_for_sensors(&mut sensors, Duration::from_secs(60));
    drop(proxy);
    let acked = acked.lock().unwrap().clone();
    assert_nothing_acknowledged_lost(&mut queue, &acked);
}
