//! SIGTERM under load: the proxy stops accepting, answers what it received, exits 0, and
//! every message it answered 200 is in the queue.
mod util;

use edge_tests::net;
use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use util::{sensor_body, wait_until, Proxy, Queue};

#[test]
fn sigterm_under_load_keeps_every_acknowledged_message() {
    let mut queue = Queue::new("proxy-sigterm");
    let mut proxy = Proxy::start(&queue.url, &queue.endpoint, &["--workers", "2"]);
    let addr = proxy.addr;
    let acked = Arc::new(AtomicUsize::new(0));

    let clients: Vec<_> = (0..6)
        .map(|c| {
            let acked = Arc::clone(&acked);
            std::thread::spawn(move || {
                let mut ok_bodies = Vec::new();
                let mut seq = 0;
                // Reconnect until the proxy refuses connections: load right up to the end.
                'outer: loop {
                    let Ok(mut stream) = TcpStream::connect(addr) else {
                        break;
                    };
                    stream
                        .set_read_timeout(Some(Duration::from_secs(20)))
                        .unwrap();
                    loop {
                        seq += 1;
                        let body = sensor_body(&format!("term-{c}"), 1, seq);
                        if stream.write_all(&util::send_requests(&[&body])).is_err() {
                            continue 'outer;
                        }
                        match net::read_response(&mut stream) {
                            Ok(resp) if resp.status == 200 => {
                                ok_bodies.push(body);
                                acked.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(resp) => assert_eq!(resp.status, 503, "{}", resp.body_text()),
                            Err(_) => continue 'outer,
                        }
                        if seq > 5000 {
                            break 'outer;
                        }
                    }
                }
                ok_bodies
            })
        })
        .collect();

    wait_until("100 acknowledged messages", Duration::from_secs(30), || {
        acked.load(Ordering::Relaxed) >= 100
    });
    proxy.terminate();
    let status = proxy.wait_exit(Duration::from_secs(20));
    assert!(status.success(), "exit status {status}");

    let acknowledged: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().expect("client thread"))
        .collect();
    let got = queue.receive_exactly(acknowledged.len());
    let in_queue: std::collections::HashSet<&str> = got.iter().map(|m| m.body.as_str()).collect();
    let missing = acknowledged
        .iter()
        .filter(|b| !in_queue.contains(b.as_str()))
        .count();
    assert_eq!(
        missing,
        0,
        "{missing} of {} acknowledged messages are not in SQS",
        acknowledged.len()
    );
}

/// With the drain time shorter than the request budget, the cutoff (not the budget) answers:
/// requests waiting on a hung SQS get 503 at the end of the drain time, and the proxy exits.
/// (faults.rs covers the default settings; here the two timers are pulled apart on purpose.)
#[test]
fn the_drain_cutoff_answers_503_to_what_sqs_has_not_accepted() {
    let queue = Queue::new("proxy-cutoff");
    let hung = util::Stub::start(util::Behaviour::Silent);
    let mut proxy = Proxy::start(
        &queue.url,
        &hung.url(),
        &["--request-budget", "60", "--drain-timeout", "2"],
    );
    let addr = proxy.addr;
    let clients: Vec<_> = (0..5)
        .map(|i| {
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(addr).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(30)))
                    .unwrap();
                let body = sensor_body("cutoff", 1, i);
                stream.write_all(&util::send_requests(&[&body])).unwrap();
                net::read_response(&mut stream).unwrap()
            })
        })
        .collect();
    wait_until("the requests forwarded", Duration::from_secs(10), || {
        proxy.metric("proxy_sqs_calls_total") >= 1.0
    });
    let signalled = std::time::Instant::now();
    proxy.terminate();
    let status = proxy.wait_exit(Duration::from_secs(4));
    assert!(status.success(), "exit status {status}");
    for c in clients {
        let resp = c.join().expect("client");
        assert_eq!(resp.status, 503, "{}", resp.body_text());
        assert!(
            resp.body_text().contains("shutting down"),
            "{}",
            resp.body_text()
        );
        assert_eq!(resp.header("Retry-After"), Some("1"));
    }
    assert!(signalled.elapsed() < Duration::from_secs(4));
}
