//! The webhook sink against a real puller process and a LocalStack queue, with a webhook
//! stand-in on 127.0.0.1 (nothing else provides an HTTP endpoint that is slow or failing on
//! demand):
//! - slow sink: the webhook answers after 5 s on a queue whose VisibilityTimeout is 2 s; the
//!   visibility heartbeat keeps the messages hidden, so each is POSTed exactly once;
//! - only 2xx deletes: an endpoint answering 503 has nothing deleted (retried, then refused);
//! - the bearer token and NDJSON bodies arrive as configured.
mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use util::{multiset, scratch, sensor_body, Queue};

/// One POST as the stand-in received it.
#[derive(Debug, Clone)]
struct Post {
    headers: Vec<(String, String)>,
    body: String,
}

impl Post {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A webhook on 127.0.0.1 that takes `delay` to answer each POST with `status(n)`.
struct Hook {
    url: String,
    posts: Arc<Mutex<Vec<Post>>>,
}

impl Hook {
    fn start(delay: Duration, status: fn(usize) -> u16) -> Hook {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/ingest", listener.local_addr().expect("addr"));
        let posts = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&posts);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let log = Arc::clone(&log);
                std::thread::spawn(move || serve(stream, &log, delay, status));
            }
        });
        Hook { url, posts }
    }

    /// The same over TLS, with the fixture certificate for 127.0.0.1.
    fn start_tls(status: fn(usize) -> u16) -> Hook {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("https://{}/ingest", listener.local_addr().expect("addr"));
        let posts = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&posts);
        let config = edge_tests::tls::server_config();
        std::thread::spawn(move || {
            for tcp in listener.incoming().flatten() {
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
                let Ok(conn) = rustls::ServerConnection::new(Arc::clone(&config)) else {
                    continue;
                };
                let log = Arc::clone(&log);
                std::thread::spawn(move || {
                    serve(
                        rustls::StreamOwned::new(conn, tcp),
                        &log,
                        Duration::ZERO,
                        status,
                    )
                });
            }
        });
        Hook { url, posts }
    }

    fn posts(&self) -> Vec<Post> {
        self.posts.lock().expect("lock").clone()
    }
}

fn serve<S: Read + Write>(
    mut stream: S,
    log: &Mutex<Vec<Post>>,
    delay: Duration,
    status: fn(usize) -> u16,
) {
    let mut headers = Vec::new();
    let body = {
        let mut reader = BufReader::new(&mut stream);
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                break;
            }
            if let Some((n, v)) = h.split_once(':') {
                headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let length: usize = headers
            .iter()
            .find(|(n, _): &&(String, String)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        body
    };
    std::thread::sleep(delay);
    let index = {
        let mut log = log.lock().expect("lock");
        log.push(Post {
            headers,
            body: String::from_utf8(body).expect("utf-8 body"),
        });
        log.len() - 1
    };
    let code = status(index);
    let answer = format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let _ = stream.write_all(answer.as_bytes());
    let _ = stream.flush();
}

/// The bodies of the records in JSON-array POSTs.
fn posted_bodies(posts: &[Post]) -> Vec<String> {
    posts
        .iter()
        .flat_map(|p| {
            let records: Vec<serde_json::Value> =
                serde_json::from_str(&p.body).expect("a JSON array of records");
            records
                .into_iter()
                .map(|r| r["body"].as_str().expect("body").to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn a_webhook_slower_than_the_visibility_timeout_gets_each_message_once() {
    let mut queue = Queue::with_attributes("puller-slow-hook", &[("VisibilityTimeout", "2")]);
    let sent: Vec<String> = (1..=20)
        .map(|i| sensor_body("exec-slow", "edge-slow", "us", i))
        .collect();
    queue.send_all(&sent);
    let hook = Hook::start(Duration::from_secs(5), |_| 200);
    let dir = scratch("puller-slow-hook");
    let token = dir.join("token");
    std::fs::write(&token, "hook-token-1\n").expect("token");
    let report = dir.join("report.json");
    let output = queue.drain(
        &[
            "--sink",
            &hook.url,
            "--sink-token-file",
            &token.display().to_string(),
            "--concurrency",
            "2",
            "--report-json",
            &report.display().to_string(),
        ],
        3,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let posts = hook.posts();
    let bodies = posted_bodies(&posts);
    assert_eq!(
        multiset(&bodies),
        multiset(&sent),
        "every message POSTed exactly once (no redelivery while the webhook was slow)\n{stderr}"
    );
    for post in &posts {
        assert_eq!(post.header("authorization"), Some("Bearer hook-token-1"));
        assert_eq!(post.header("content-type"), Some("application/json"));
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    assert!(
        report["visibility_extended"].as_u64().unwrap_or(0) > 0,
        "the heartbeat extended visibility: {report}"
    );
    assert_eq!(report["duplicates"], 0, "{report}");
    queue.assert_empty();
}

#[test]
fn a_failing_webhook_gets_nothing_deleted() {
    let mut queue = Queue::new("puller-503-hook");
    let sent: Vec<String> = (1..=3)
        .map(|i| sensor_body("exec-503", "edge-503", "eu", i))
        .collect();
    queue.send_all(&sent);
    let hook = Hook::start(Duration::ZERO, |_| 503);
    let dir = scratch("puller-503-hook");
    let dead = dir.join("dead.jsonl");
    let output = queue.drain(
        &[
            "--sink",
            &hook.url,
            "--sink-retries",
            "1",
            "--dead-letter",
            &dead.display().to_string(),
            "--visibility-timeout",
            "60",
            "--stop-after",
            "1",
        ],
        2,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(hook.posts().len() >= 2, "retried once: {stderr}");
    assert!(stderr.contains("503"), "{stderr}");
    let (visible, in_flight) = queue.counts();
    assert_eq!(visible + in_flight, 3, "nothing deleted: {stderr}");
    assert!(
        !dead.exists()
            || std::fs::read_to_string(&dead)
                .unwrap_or_default()
                .is_empty()
    );
}

#[test]
fn a_webhook_that_does_not_answer_in_time_gets_nothing_deleted() {
    let mut queue = Queue::new("puller-mute-hook");
    queue.send_all(&[sensor_body("exec-mute", "edge-mute", "us", 1)]);
    let hook = Hook::start(Duration::from_secs(4), |_| 200);
    let output = queue.drain(
        &[
            "--sink",
            &hook.url,
            "--sink-timeout",
            "1",
            "--sink-retries",
            "0",
            "--visibility-timeout",
            "60",
        ],
        2,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("deadline"), "{stderr}");
    assert!(stderr.contains("sink refused a batch of 1"), "{stderr}");
    let (visible, in_flight) = queue.counts();
    assert_eq!(visible + in_flight, 1, "not deleted: {stderr}");
}

#[test]
fn ndjson_batches_and_retry_after_a_5xx() {
    let mut queue = Queue::new("puller-ndjson-hook");
    let sent: Vec<String> = (1..=5)
        .map(|i| sensor_body("exec-nd", "edge-nd", "ap", i))
        .collect();
    queue.send_all(&sent);
    // The first POST fails: the same batch is retried and then accepted.
    let hook = Hook::start(Duration::ZERO, |n| if n == 0 { 500 } else { 200 });
    queue.drain(
        &[
            "--sink",
            &hook.url,
            "--sink-format",
            "ndjson",
            "--concurrency",
            "1",
        ],
        2,
    );
    let posts = hook.posts();
    assert_eq!(
        posts[0].body, posts[1].body,
        "the retry carries the same batch"
    );
    let accepted: Vec<String> = posts[1..]
        .iter()
        .flat_map(|p| {
            assert_eq!(p.header("content-type"), Some("application/x-ndjson"));
            assert!(p.body.ends_with('\n'));
            p.body
                .lines()
                .map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).expect("ndjson line");
                    v["body"].as_str().expect("body").to_string()
                })
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(multiset(&accepted), multiset(&sent));
    queue.assert_empty();
}

#[test]
fn an_https_webhook_is_verified_against_the_given_ca() {
    let mut queue = Queue::new("puller-tls-hook");
    let sent = vec![sensor_body("exec-tls", "edge-tls", "eu", 1)];
    queue.send_all(&sent);
    let hook = Hook::start_tls(|_| 200);
    // Not trusted (a private CA not given): the handshake fails, nothing is deleted.
    let dead = scratch("puller-tls-hook").join("dead.jsonl");
    let output = queue.drain(
        &[
            "--sink",
            &hook.url,
            "--sink-retries",
            "0",
            "--visibility-timeout",
            "3",
            "--max-receives",
            "100",
            "--dead-letter",
            &dead.display().to_string(),
        ],
        2,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("sink refused a batch of 1"), "{stderr}");
    assert!(stderr.contains("UnknownIssuer"), "{stderr}");
    assert!(hook.posts().is_empty());
    let (visible, in_flight) = queue.counts();
    assert_eq!(visible + in_flight, 1, "not deleted: {stderr}");
    // Trusted with --sink-ca-file: delivered over TLS (once visible again) and deleted.
    let ca = edge_tests::tls::fixture("test-ca.pem")
        .display()
        .to_string();
    queue.drain(&["--sink", &hook.url, "--sink-ca-file", &ca], 5);
    assert_eq!(multiset(&posted_bodies(&hook.posts())), multiset(&sent));
    queue.assert_empty();
}

/// The heartbeat keeps a batch hidden while its POST is being retried, and lets it go once
/// the webhook failed for good: it then comes back after its visibility timeout and, after
/// `--max-receives` receives, goes to the dead-letter file.
#[test]
fn the_heartbeat_stops_once_the_webhook_failed_for_good() {
    let mut queue = Queue::new("puller-hook-gives-up");
    let sent = vec![sensor_body("exec-up", "edge-up", "us", 1)];
    queue.send_all(&sent);
    let hook = Hook::start(Duration::ZERO, |_| 503);
    let dir = scratch("puller-hook-gives-up");
    let dead = dir.join("dead.jsonl");
    let report = dir.join("report.json");
    let output = queue.drain(
        &[
            "--sink",
            &hook.url,
            "--sink-retries",
            "3",
            "--visibility-timeout",
            "1",
            "--max-receives",
            "2",
            "--dead-letter",
            &dead.display().to_string(),
            "--report-json",
            &report.display().to_string(),
        ],
        3,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    // Retries take 0.5 + 1 + 2 s (± jitter), longer than the 1 s timeout: extended meanwhile.
    assert!(
        report["visibility_extended"].as_u64().unwrap_or(0) > 0,
        "{report}\n{stderr}"
    );
    assert_eq!(
        report["refused"], 2,
        "received again after the give-up: {report}"
    );
    assert_eq!(report["dead_lettered"], 1, "{report}");
    let dead_text = std::fs::read_to_string(&dead).expect("dead-letter file");
    assert!(
        dead_text.contains("exec-up") && dead_text.contains("503"),
        "{dead_text}"
    );
    assert_eq!(hook.posts().len(), 8, "4 POSTs per receive, 2 receives");
    queue.assert_empty();
}
