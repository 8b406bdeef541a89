//! FIFO queues: detected from the URL, MessageGroupId per sensor, MessageDeduplicationId
//! from (execution_id, sequence) so a resent message is stored once even through another
//! proxy or after a proxy was killed, one group's messages in arrival order with several
//! forwarders, and `--fifo` on a standard queue refused at start. Real binary, LocalStack.
mod util;

use edge_tests::net;
use edge_tests::process::output_within;
use sigv4::sqs::{DeleteEntry, Message, ReceiveOptions, SqsClient};
use std::collections::HashMap;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use util::{sensor_body, sqs_client, wait_until, Proxy, START_CHECK};

/// A fresh FIFO queue (no content-based deduplication: the proxy's ids are what counts).
fn fifo_queue(prefix: &str) -> (String, String, SqsClient) {
    let endpoint = edge_tests::localstack::require();
    let mut client = sqs_client(&endpoint);
    let name = format!("{}.fifo", edge_tests::unique_name(prefix));
    let url = client
        .create_queue(&name, &[("FifoQueue", "true")])
        .expect("create fifo queue");
    (url, endpoint, client)
}

/// Receives and deletes until two polls in a row come back empty (FIFO holds a group's next
/// message back while one is in flight, so deleting is what lets the queue drain).
fn drain(client: &mut SqsClient, url: &str) -> Vec<Message> {
    let options = ReceiveOptions {
        max_messages: 10,
        wait_seconds: 1,
        visibility_timeout: Some(60),
        system_attributes: vec!["All".into()],
        message_attributes: vec!["All".into()],
    };
    let mut got = Vec::new();
    let mut empty = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while empty < 2 && Instant::now() < deadline {
        let batch = client.receive_message(url, &options).expect("receive");
        if batch.is_empty() {
            empty += 1;
            continue;
        }
        empty = 0;
        let ids: Vec<String> = (0..batch.len()).map(|i| i.to_string()).collect();
        let entries: Vec<DeleteEntry> = batch
            .iter()
            .zip(&ids)
            .map(|(m, id)| DeleteEntry {
                id,
                receipt_handle: &m.receipt_handle,
            })
            .collect();
        client.delete_message_batch(url, &entries).expect("delete");
        got.extend(batch);
    }
    got
}

fn body_of(execution: &str, host: &str, sequence: u64, timestamp: &str) -> String {
    format!(
        "{{\"execution_id\":\"{execution}\",\"hostname\":\"{host}\",\"region\":\"eu\",\
         \"job_submission_time\":1,\"sequence\":{sequence},\"timestamp\":\"{timestamp}\"}}"
    )
}

fn field(m: &Message, name: &str) -> serde_json::Value {
    serde_json::from_str::<serde_json::Value>(&m.body).expect("json body")[name].clone()
}

#[test]
fn a_resent_message_is_stored_once_even_through_another_proxy() {
    let (url, endpoint, mut client) = fifo_queue("proxy-fifo-dedup");
    // No --fifo: the .fifo URL is enough.
    let a = Proxy::start(&url, &endpoint, &[]);
    let b = Proxy::start(&url, &endpoint, &[]);
    // The second copy differs in its bytes (a resend with a new timestamp) but not in
    // (execution_id, sequence): SQS must drop it.
    for (proxy, body) in [
        (&a, body_of("e-1", "edge-1", 1, "t1")),
        (&b, body_of("e-1", "edge-1", 1, "t2")),
        (&a, body_of("e-1", "edge-1", 2, "t3")),
        (&a, "{\"no\":\"fields\"}".to_string()),
        (&b, "{\"no\":\"fields\"}".to_string()),
    ] {
        let r = proxy.send(&body);
        assert_eq!(r.status, 200, "{}", r.body_text());
    }
    let got = drain(&mut client, &url);
    let bodies: Vec<&str> = got.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(got.len(), 3, "{bodies:?}");
    assert_eq!(
        bodies[0],
        body_of("e-1", "edge-1", 1, "t1"),
        "the first copy stays"
    );
    assert_eq!(bodies[1], body_of("e-1", "edge-1", 2, "t3"), "group order");
    let sensor = &got[0];
    assert_eq!(sensor.attribute("MessageGroupId"), Some("edge-1"));
    let dedup = sensor
        .attribute("MessageDeduplicationId")
        .expect("dedup id");
    assert!(
        dedup.len() == 64 && dedup.bytes().all(|b| b.is_ascii_hexdigit()),
        "SHA-256 hex: {dedup}"
    );
    assert_eq!(got[2].attribute("MessageGroupId"), Some("ungrouped"));
}

/// Messages of one group pipelined on one connection.
const ORDERED: u64 = 120;

/// A TCP relay to LocalStack that holds back every request on its even-numbered
/// connections for `delay`: batches sent by some forwarders reach SQS late, so a proxy that
/// let two batches of one group out at once would store that group out of order.
fn slow_relay(delay: Duration) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind relay");
    let addr = listener.local_addr().expect("relay addr");
    let target = edge_tests::localstack::endpoint_addr();
    std::thread::spawn(move || {
        for (k, client) in listener.incoming().enumerate() {
            let Ok(client) = client else { return };
            let Ok(server) = TcpStream::connect(target) else {
                continue;
            };
            let pipe = |mut from: TcpStream, mut to: TcpStream, delay: Duration| {
                std::thread::spawn(move || {
                    let mut buf = [0u8; 64 * 1024];
                    while let Ok(n) = std::io::Read::read(&mut from, &mut buf) {
                        if n == 0 || {
                            std::thread::sleep(delay);
                            to.write_all(&buf[..n]).is_err()
                        } {
                            break;
                        }
                    }
                    let _ = to.shutdown(std::net::Shutdown::Write);
                });
            };
            let slow = if k % 2 == 0 { delay } else { Duration::ZERO };
            pipe(
                client.try_clone().unwrap(),
                server.try_clone().unwrap(),
                slow,
            );
            pipe(server, client, Duration::ZERO);
        }
    });
    addr
}

#[test]
fn one_groups_messages_reach_the_queue_in_arrival_order_with_several_forwarders() {
    let (url, _, mut client) = fifo_queue("proxy-fifo-order");
    let relay = slow_relay(Duration::from_millis(300));
    // No linger: each round makes several batches at once, for 8 forwarders (half of them
    // slow) to send concurrently, unless the proxy holds the group back.
    let proxy = Proxy::start(
        &url,
        &format!("http://{relay}"),
        &["--forwarders", "8", "--linger-ms", "0"],
    );
    let mut stream = TcpStream::connect(proxy.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    // Rounds of 60 pipelined requests (the proxy reads at most 64 ahead of its answers).
    for round in 0..ORDERED / 60 {
        let bodies: Vec<String> = (round * 60 + 1..=round * 60 + 60)
            .map(|i| body_of("e-order", "edge-order", i, "t"))
            .collect();
        stream
            .write_all(&util::send_requests(&bodies))
            .expect("write pipeline");
        let answers = util::read_responses(&mut stream, bodies.len());
        assert!(answers.iter().all(|(s, _)| *s == 200), "{answers:?}");
    }
    let got = drain(&mut client, &url);
    let sequences: Vec<u64> = got
        .iter()
        .map(|m| field(m, "sequence").as_u64().unwrap())
        .collect();
    assert_eq!(sequences, (1..=ORDERED).collect::<Vec<u64>>());
}

#[test]
fn fifo_flag_on_a_standard_queue_is_refused_at_start() {
    let queue = util::Queue::new("proxy-not-fifo");
    let mut proxy = Command::new(env!("CARGO_BIN_EXE_proxy"));
    proxy
        .args([
            "--bind",
            "127.0.0.1",
            "--port",
            &net::free_port().to_string(),
        ])
        .args(["--queue-url", &queue.url, "--endpoint-url", &queue.endpoint])
        .arg("--fifo")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test");
    let out = output_within(&mut proxy, START_CHECK);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("standard queue"), "{stderr}");
}

/// Senders per kill -9 run and the messages each sends; each resends a message until it is
/// answered 200, as the sensor module's outbox does.
const SENDERS: usize = 6;
const PER_SENDER: u64 = 150;

/// POSTs on a fresh connection; 0 when the connection failed (the proxy is down).
fn post(addr: SocketAddr, body: &str) -> u16 {
    util::post_fresh(addr, body).map_or(0, |r| r.status)
}

struct Load {
    acked: AtomicUsize,
    /// Messages sent more than once before their 200 (what a kill makes).
    resent: AtomicUsize,
    failed_senders: Mutex<Vec<String>>,
    stop: AtomicBool,
}

fn start_senders(addr: SocketAddr, load: &Arc<Load>) -> Vec<std::thread::JoinHandle<()>> {
    (0..SENDERS)
        .map(|s| {
            let load = Arc::clone(load);
            std::thread::spawn(move || {
                let (execution, host) = (format!("e-kill-{s}"), format!("kill9-{s}"));
                for seq in 1..=PER_SENDER {
                    let body = sensor_like(&execution, &host, seq);
                    let mut attempts = 0;
                    loop {
                        if load.stop.load(Ordering::Relaxed) {
                            return;
                        }
                        attempts += 1;
                        match post(addr, &body) {
                            200 => break,
                            0 | 503 => std::thread::sleep(Duration::from_millis(20)),
                            other => {
                                load.failed_senders
                                    .lock()
                                    .unwrap()
                                    .push(format!("{host} seq {seq}: {other}"));
                                return;
                            }
                        }
                    }
                    if attempts > 1 {
                        load.resent.fetch_add(1, Ordering::Relaxed);
                    }
                    load.acked.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect()
}

/// The sensor module's message shape (util::sensor_body) with this execution id.
fn sensor_like(execution: &str, host: &str, sequence: u64) -> String {
    sensor_body(host, 1, sequence).replace(
        "\"execution_id\":\"e-1\"",
        &format!("\"execution_id\":\"{execution}\""),
    )
}

/// The acceptance test of FIFO ingest: on a standard queue a proxy killed under load leaves
/// duplicates (a message SQS stored whose 200 never reached the sender is sent again); on a
/// FIFO queue the deduplication id makes SQS drop the resend, so every acknowledged message
/// is in the queue exactly once. Default settings; two kills.
#[test]
fn kill_9_under_load_on_a_fifo_queue_makes_no_duplicate() {
    let (url, endpoint, mut client) = fifo_queue("fault-fifo-kill9");
    let port = net::free_port();
    let mut proxy = Proxy::start_with(port, &url, &endpoint, &[], &[]);
    let load = Arc::new(Load {
        acked: AtomicUsize::new(0),
        resent: AtomicUsize::new(0),
        failed_senders: Mutex::new(Vec::new()),
        stop: AtomicBool::new(false),
    });
    let senders = start_senders(proxy.addr, &load);
    for kill in 1..=2 {
        let before = load.acked.load(Ordering::Relaxed);
        wait_until("load flowing", Duration::from_secs(60), || {
            load.acked.load(Ordering::Relaxed) >= before + 150
        });
        proxy.signal("KILL");
        let _ = proxy.wait_exit(Duration::from_secs(5));
        proxy = Proxy::start_with(port, &url, &endpoint, &[], &[]);
        eprintln!("kill {kill} after {before}+ acknowledged; proxy restarted");
    }
    let deadline = Instant::now() + Duration::from_secs(180);
    for s in senders {
        while !s.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if !s.is_finished() {
            load.stop.store(true, Ordering::Relaxed);
        }
        s.join().expect("sender");
    }
    drop(proxy);
    let failures = load.failed_senders.lock().unwrap().clone();
    assert!(failures.is_empty(), "{failures:?}");
    let acked = load.acked.load(Ordering::Relaxed);
    assert_eq!(
        acked,
        SENDERS * PER_SENDER as usize,
        "every sender finished"
    );
    assert!(
        load.resent.load(Ordering::Relaxed) > 0,
        "the kills cut messages in flight (else this test proved nothing)"
    );

    let got = drain(&mut client, &url);
    let mut copies: HashMap<(String, u64), usize> = HashMap::new();
    for m in &got {
        let execution = field(m, "execution_id").as_str().unwrap_or("").to_string();
        let sequence = field(m, "sequence").as_u64().unwrap_or(0);
        *copies.entry((execution, sequence)).or_insert(0) += 1;
    }
    let duplicates: usize = copies.values().map(|n| n - 1).sum();
    let missing: Vec<(String, u64)> = (0..SENDERS)
        .flat_map(|s| (1..=PER_SENDER).map(move |q| (format!("e-kill-{s}"), q)))
        .filter(|k| !copies.contains_key(k))
        .collect();
    assert_eq!(
        duplicates,
        0,
        "{duplicates} duplicates among {} messages",
        got.len()
    );
    assert!(missing.is_empty(), "acknowledged but missing: {missing:?}");
    assert_eq!(got.len(), acked);
}
