//! The real sensor module under the real runner (`edge-node run`), against a tiny in-test
//! HTTP server standing in for the proxy: flags, message schema, sequences, and no gap when
//! the proxy refuses messages for a while. Needs target/modules/publisher.wasm
//! (scripts/build-wasm).
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn module() -> PathBuf {
    let path = edge_tests::bins::workspace_root().join("target/modules/publisher.wasm");
    assert!(
        path.exists(),
        "{}: run scripts/build-wasm first (scripts/test does)",
        path.display()
    );
    path
}

fn edge_node(args: &[&str]) -> Output {
    let module = module();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_edge-node"));
    cmd.arg("run").arg(&module).args(args);
    let out = cmd.output().expect("run edge-node");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Name the known failure mode plainly instead of a bare exit-code mismatch.
    assert!(
        !stderr.contains("has overflowed its stack"),
        "edge-node overflowed its native stack running the module. wasmi 2.0 dispatches \
         instructions by chained calls that only become tail calls when optimised, so a \
         debug build needs far more stack per executed instruction; build wasmi optimised \
         in dev ([profile.dev.package.wasmi] opt-level = 2) or give the scheduler threads \
         bigger stacks.\n{stderr}"
    );
    out
}

/// A stand-in proxy: `/health` answers 200; the first `refuse` POSTs to `/send` get 503, the
/// rest 200 and are recorded in order.
struct FakeProxy {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<String>>>,
    refused: Arc<AtomicUsize>,
}

impl FakeProxy {
    fn start(refuse: usize) -> FakeProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(AtomicUsize::new(0));
        let (rec, refd) = (Arc::clone(&received), Arc::clone(&refused));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (rec, refd) = (Arc::clone(&rec), Arc::clone(&refd));
                std::thread::spawn(move || serve(stream, &rec, &refd, refuse));
            }
        });
        FakeProxy {
            addr,
            received,
            refused,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn bodies(&self) -> Vec<serde_json::Value> {
        let bodies = self.received.lock().unwrap();
        bodies
            .iter()
            .map(|b| serde_json::from_str(b).expect("JSON body"))
            .collect()
    }
}

/// Serves keep-alive HTTP/1.1 requests on one connection until the client closes it,
/// reading them with the workspace's one reader.
fn serve(stream: TcpStream, received: &Mutex<Vec<String>>, refused: &AtomicUsize, refuse: usize) {
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let mut reader = http1::MessageReader::new(stream);
    let limits = http1::Limits::default();
    while let Ok(Some(req)) = reader.read_request(&limits, http1::BodyLimit::Reject(1 << 20)) {
        let path = req.target.split('?').next().unwrap_or("");
        let (status, reply) = match (req.method.as_str(), path) {
            ("GET", "/health") => ("200 OK", r#"{"status":"healthy"}"#),
            ("POST", "/send") => {
                if refused.fetch_add(1, Ordering::SeqCst) < refuse {
                    ("503 Service Unavailable", r#"{"error":"try later"}"#)
                } else {
                    let body = String::from_utf8_lossy(&req.body).into_owned();
                    received.lock().unwrap().push(body);
                    ("200 OK", r#"{"message_id":"m"}"#)
                }
            }
            _ => ("404 Not Found", "{}"),
        };
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{reply}",
            reply.len()
        );
        if reader.get_mut().write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

#[test]
fn bad_flags_exit_2_with_a_message() {
    let out = edge_node(&["--", "--bogus"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("unknown flag '--bogus'"), "{stderr}");
    let out = edge_node(&[
        "--",
        "--proxy=http://127.0.0.1:9",
        "--region=us",
        "--emoji=42",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn help_prints_the_usage_and_exits_0() {
    let out = edge_node(&["--", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("usage: sqs-publisher"));
}

#[test]
fn messages_have_the_seed_schema_and_consecutive_sequences() {
    let proxy = FakeProxy::start(0);
    let out = edge_node(&[
        "--hostname",
        "edge-eu-3",
        "--env",
        "BACALHAU_JOB_ID=j-test",
        "--",
        &format!("--proxy={}", proxy.url()),
        "--region=eu",
        "--color=#0000FF",
        "--emoji=1",
        "--interval=0.1",
        "--max-messages=4",
        "--submission-time=1",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bodies = proxy.bodies();
    assert_eq!(bodies.len(), 4);
    for (i, b) in bodies.iter().enumerate() {
        let keys: Vec<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected = [
            "color",
            "execution_id",
            "hostname",
            "icon_name",
            "job_id",
            "job_submission_time",
            "region",
            "sequence",
            "timestamp",
        ];
        expected.sort();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(sorted, expected);
        assert_eq!(b["sequence"], i as u64 + 1);
        assert_eq!(b["hostname"], "edge-eu-3");
        assert_eq!(b["job_id"], "j-test");
        assert_eq!(b["region"], "eu");
        assert_eq!(b["color"], "#0000FF");
        assert_eq!(b["icon_name"], "📡");
        assert_eq!(b["job_submission_time"], 1);
        let ts = b["timestamp"].as_str().unwrap();
        assert!(
            ts.len() == 20 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T',
            "{ts}"
        );
        assert!(!b["execution_id"].as_str().unwrap().is_empty());
    }
}

#[test]
fn refused_messages_are_resent_in_order_without_gaps() {
    let proxy = FakeProxy::start(5);
    let out = edge_node(&[
        "--",
        &format!("--proxy={}", proxy.url()),
        "--region=us",
        "--interval=0.1",
        "--max-messages=8",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let seqs: Vec<u64> = proxy
        .bodies()
        .iter()
        .map(|b| b["sequence"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=8).collect::<Vec<_>>());
    assert!(proxy.refused.load(Ordering::SeqCst) >= 5 + 8);
    assert!(stderr.contains("proxy unreachable (HTTP 503)"), "{stderr}");
    assert!(stderr.contains("delivered backlog"), "{stderr}");
}

#[test]
fn a_proxy_that_never_answers_exits_1() {
    // A port nobody listens on: bind, read the port, close.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = edge_node(&[
        "--",
        &format!("--proxy=http://127.0.0.1:{port}"),
        "--region=us",
        "--health-timeout=1",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("did not answer 200 within 1000 ms"),
        "{stderr}"
    );
}

#[test]
fn a_deploy_job_file_runs_its_count_of_sensors_with_the_seed_identity() {
    let proxy = FakeProxy::start(0);
    let root = edge_tests::bins::workspace_root();
    let modules = module().parent().expect("modules dir").to_path_buf();
    let out = Command::new(env!("CARGO_BIN_EXE_edge-node"))
        .current_dir(&root)
        .arg("job")
        .arg(root.join("jobs/deploy-us-v2.yaml"))
        .args([
            "-V",
            "REPLICAS=2",
            "-V",
            "INTERVAL=0.1",
            "-V",
            "MAX_MESSAGES=3",
        ])
        .arg("-V")
        .arg(format!("US_PROXY={}", proxy.url()))
        .arg("--mount")
        .arg(format!("/app/modules={}", modules.display()))
        .output()
        .expect("run edge-node job");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let bodies = proxy.bodies();
    assert_eq!(bodies.len(), 6, "2 nodes x 3 messages");
    let mut per_host: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    for b in &bodies {
        assert_eq!(b["region"], "us");
        assert_eq!(b["color"], "#800080");
        assert_eq!(b["icon_name"], "⚡");
        assert_eq!(b["job_submission_time"], 2);
        per_host
            .entry(b["hostname"].as_str().unwrap().to_string())
            .or_default()
            .push(b["sequence"].as_u64().unwrap());
    }
    assert_eq!(per_host.len(), 2, "{per_host:?}");
    for seqs in per_host.values() {
        assert_eq!(seqs, &[1, 2, 3]);
    }
}
