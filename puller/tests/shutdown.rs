//! Graceful shutdown under load: SIGTERM while messages stream in loses nothing and handles
//! nothing twice — every batch received before the signal is delivered and deleted.
mod util;

use std::process::Stdio;
use std::time::Duration;
use util::{bodies, multiset, records, scratch, signal, wait_exit, wait_until, Queue};

#[test]
fn graceful_shutdown_under_load_loses_nothing() {
    let mut queue = Queue::new("puller-term");
    let sent: Vec<String> = (0..1500).map(|i| format!("message {i}")).collect();
    queue.send_all(&sent);
    let dir = scratch("puller-term");
    let (first_sink, second_sink) = (dir.join("first.jsonl"), dir.join("second.jsonl"));
    let first_arg = format!("jsonl:{}", first_sink.display());
    // Short visibility: anything received but not deleted would reappear for the second run,
    // which would show up as a body delivered twice.
    let mut child = queue
        .puller(&[
            "--sink",
            &first_arg,
            "--visibility-timeout",
            "2",
            "--wait-seconds",
            "1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn puller");
    wait_until("the puller to be busy", Duration::from_secs(30), || {
        records(&first_sink).len() >= 100
    });
    signal(&child, "TERM");
    let status = wait_exit(&mut child, Duration::from_secs(30));
    assert!(status.success(), "exit 0 after SIGTERM: {status:?}");
    let first = bodies(&records(&first_sink));
    assert!(
        first.len() < sent.len(),
        "the signal must arrive mid-drain (got {})",
        first.len()
    );

    let second_arg = format!("jsonl:{}", second_sink.display());
    queue.drain(&["--sink", &second_arg], 4);
    let mut all = first;
    all.extend(bodies(&records(&second_sink)));
    let delivered = multiset(&all);
    let twice: Vec<_> = delivered
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(b, _)| b)
        .collect();
    assert!(
        twice.is_empty(),
        "delivered twice because of the shutdown: {twice:?}"
    );
    assert_eq!(delivered, multiset(&sent), "nothing lost");
    queue.assert_empty();
}

/// The puller's /metrics text, or "" while it is not answering.
fn metrics(port: u16) -> String {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    edge_tests::net::request(addr, "GET", "/metrics", &[], b"")
        .map(|r| r.body_text())
        .unwrap_or_default()
}

/// Issue 13: at the default settings (4 pollers, 20-s long polls) an idle puller exits within
/// 2 s of SIGTERM, not after its long polls end, and still writes its report.
#[test]
fn sigterm_at_defaults_on_an_empty_queue_exits_within_2s_with_the_report() {
    let queue = Queue::new("puller-term-idle");
    let dir = scratch("puller-term-idle");
    let report = dir.join("report.json");
    let port = edge_tests::net::free_port();
    let (port_arg, report_arg) = (port.to_string(), report.display().to_string());
    let mut child = queue
        .puller(&["--metrics-port", &port_arg, "--report-json", &report_arg])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn puller");
    wait_until("4 long polls in flight", Duration::from_secs(30), || {
        metrics(port).contains("puller_receives_in_flight 4\n")
    });
    let signalled = std::time::Instant::now();
    signal(&child, "TERM");
    let status = wait_exit(&mut child, Duration::from_secs(30));
    let took = signalled.elapsed();
    assert!(status.success(), "exit 0 after SIGTERM: {status:?}");
    assert!(
        took <= Duration::from_secs(2),
        "exited {took:?} after SIGTERM"
    );
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("read stderr");
    assert!(stderr.contains("stopped (SIGTERM received)"), "{stderr}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("report written")).expect("json");
    assert_eq!(report["stop_reason"], "SIGTERM received");
}

/// Messages sent while the puller stops are neither lost nor deleted without being delivered:
/// each is in the first run's sink (delivered, then deleted), or still in the queue — handed
/// back at once by a poller whose long poll returned after the stop, or back after the queue's
/// visibility timeout when the process was gone first. Default puller settings throughout.
#[test]
fn messages_in_flight_at_shutdown_are_neither_lost_nor_deleted_undelivered() {
    // The queue's own visibility timeout, short so that a message taken by a long poll the
    // process no longer waits for comes back within the test.
    let queue = Queue::with_attributes("puller-term-flight", &[("VisibilityTimeout", "5")]);
    let dir = scratch("puller-term-flight");
    let (first_sink, report) = (dir.join("first.jsonl"), dir.join("report.json"));
    let (first_arg, report_arg) = (
        format!("jsonl:{}", first_sink.display()),
        report.display().to_string(),
    );
    let mut child = queue
        .puller(&["--sink", &first_arg, "--report-json", &report_arg])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn puller");
    // A sender streams messages before, during and after the stop.
    let sent: Vec<String> = (0..400).map(|i| format!("in flight {i}")).collect();
    let sender = {
        let (endpoint, url, bodies) = (queue.endpoint.clone(), queue.url.clone(), sent.clone());
        std::thread::spawn(move || {
            let mut client = edge_tests::sqs::client(&endpoint);
            for chunk in bodies.chunks(10) {
                let ids: Vec<String> = (0..chunk.len()).map(|i| format!("m{i}")).collect();
                let entries: Vec<sigv4::sqs::BatchEntry<'_>> = chunk
                    .iter()
                    .zip(&ids)
                    .map(|(body, id)| sigv4::sqs::BatchEntry {
                        id,
                        body,
                        ..Default::default()
                    })
                    .collect();
                client.send_message_batch(&url, &entries).expect("send");
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    wait_until("the puller to be busy", Duration::from_secs(30), || {
        records(&first_sink).len() >= 50
    });
    signal(&child, "TERM");
    let status = wait_exit(&mut child, Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    sender.join().expect("sender");
    let first = bodies(&records(&first_sink));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("report written")).expect("json");
    assert_eq!(
        report["messages"].as_u64(),
        Some(first.len() as u64),
        "the report counts what the sink holds"
    );

    let second_sink = dir.join("second.jsonl");
    let second_arg = format!("jsonl:{}", second_sink.display());
    let mut queue = queue;
    // Idle limit above the queue's visibility timeout, so abandoned messages are back in time.
    queue.drain(&["--sink", &second_arg], 8);
    let mut all = first;
    all.extend(bodies(&records(&second_sink)));
    let delivered = multiset(&all);
    let twice: Vec<_> = delivered.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered twice: {twice:?}");
    assert_eq!(delivered, multiset(&sent), "every message delivered once");
    queue.assert_empty();
}

/// A puller whose sink is stuck: 200 bodies of 2 KiB into a stdout pipe nobody reads (a pipe
/// holds 64 KiB), at default settings. Returns once all 4 pollers hold a batch and at least 20
/// messages (~42 KiB) are written: of 4 batches of ~21 KiB at most one more fits.
fn stuck_puller(prefix: &str) -> (std::process::Child, std::path::PathBuf, u16) {
    let mut queue = Queue::new(prefix);
    let sent: Vec<String> = (0..200)
        .map(|i| format!("{i:04} {}", "s".repeat(2048)))
        .collect();
    queue.send_all(&sent);
    let report = scratch(prefix).join("report.json");
    let port = edge_tests::net::free_port();
    let (port_arg, report_arg) = (port.to_string(), report.display().to_string());
    let child = queue
        .puller(&["--metrics-port", &port_arg, "--report-json", &report_arg])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn puller");
    wait_until(
        "every poller stuck on the sink",
        Duration::from_secs(30),
        || {
            let text = metrics(port);
            let delivered = text
                .lines()
                .find_map(|l| l.strip_prefix("puller_messages_total "))
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
            delivered >= 20 && text.contains("puller_receives_in_flight 0\n")
        },
    );
    (child, report, port)
}

/// Batches in flight get a bounded grace, inside a container runtime's 10 s: a sink that never
/// takes them does not keep the puller (or its report) from finishing.
#[test]
fn a_stuck_batch_holds_the_stop_for_its_grace_only_and_the_report_is_written() {
    let (mut child, report, _) = stuck_puller("puller-term-stuck");
    let signalled = std::time::Instant::now();
    signal(&child, "TERM");
    let status = wait_exit(&mut child, Duration::from_secs(15));
    let took = signalled.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(
        took >= Duration::from_secs(5) && took <= Duration::from_secs(8),
        "waited {took:?} for the stuck batches (grace 6 s)"
    );
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("read stderr");
    assert!(
        stderr.contains("batches still in flight after 6s"),
        "{stderr}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("report written")).expect("json");
    assert_eq!(json["stop_reason"], "SIGTERM received");
}

/// The operator insists: a second SIGTERM during the stop exits at once (128 + 15).
#[test]
fn a_second_signal_exits_at_once() {
    let (mut child, _, _) = stuck_puller("puller-term-twice");
    // Read stderr as it comes, to see the first signal taken before sending the second (two
    // pending SIGTERMs would merge into one).
    let stderr = child.stderr.take().expect("stderr");
    let lines = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let lines = std::sync::Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in
                std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok)
            {
                lines.lock().expect("lock").push_str(&(line + "\n"));
            }
        })
    };
    signal(&child, "TERM");
    wait_until("the stop to begin", Duration::from_secs(5), || {
        lines
            .lock()
            .expect("lock")
            .contains("puller: stopping (SIGTERM received)")
    });
    let again = std::time::Instant::now();
    signal(&child, "TERM");
    let status = wait_exit(&mut child, Duration::from_secs(5));
    assert!(
        again.elapsed() < Duration::from_secs(1),
        "{:?}",
        again.elapsed()
    );
    assert_eq!(status.code(), Some(128 + 15), "{status:?}");
    reader.join().expect("stderr reader");
}
