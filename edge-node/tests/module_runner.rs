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
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

/// How the stand-in proxy answers the attempts at one sequence: its first `times` POSTs get
/// `status` (with `Retry-After` when set), later ones 200. Status 0 closes the connection
/// without an answer, which the module sees as a network error.
#[derive(Debug, Clone, Copy)]
struct Rule {
    sequence: u64,
    status: u16,
    times: usize,
    retry_after: Option<u32>,
}

const ALWAYS: usize = usize::MAX;

fn rule(sequence: u64, status: u16, times: usize) -> Rule {
    Rule {
        sequence,
        status,
        times,
        retry_after: None,
    }
}

/// What the stand-in does: the first `first_refused` POSTs get 503, then per-sequence rules.
#[derive(Debug, Clone, Default)]
struct Plan {
    first_refused: usize,
    rules: Vec<Rule>,
}

/// One POST the stand-in saw: when, which sequence, what it answered.
#[derive(Debug, Clone, Copy)]
struct Attempt {
    at: Instant,
    /// Wall-clock time, Unix ms, to compare with the message's `timestamp`.
    unix_ms: u64,
    sequence: u64,
    status: u16,
}

/// A stand-in proxy on 127.0.0.1: `/health` answers 200; `/send` answers as its [`Plan`]
/// says and records every accepted body in order.
struct FakeProxy {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<String>>>,
    attempts: Arc<Mutex<Vec<Attempt>>>,
    refused: Arc<AtomicUsize>,
}

struct Shared {
    plan: Plan,
    received: Arc<Mutex<Vec<String>>>,
    attempts: Arc<Mutex<Vec<Attempt>>>,
    refused: Arc<AtomicUsize>,
}

impl FakeProxy {
    fn start(refuse: usize) -> FakeProxy {
        FakeProxy::with_plan(Plan {
            first_refused: refuse,
            rules: Vec::new(),
        })
    }

    fn with_plan(plan: Plan) -> FakeProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            plan,
            received: Arc::new(Mutex::new(Vec::new())),
            attempts: Arc::new(Mutex::new(Vec::new())),
            refused: Arc::new(AtomicUsize::new(0)),
        });
        let proxy = FakeProxy {
            addr,
            received: Arc::clone(&shared.received),
            attempts: Arc::clone(&shared.attempts),
            refused: Arc::clone(&shared.refused),
        };
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        proxy
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

    fn sequences(&self) -> Vec<u64> {
        self.bodies()
            .iter()
            .map(|b| b["sequence"].as_u64().unwrap())
            .collect()
    }

    fn attempts_at(&self, sequence: u64) -> Vec<Attempt> {
        let attempts = self.attempts.lock().unwrap();
        attempts
            .iter()
            .filter(|a| a.sequence == sequence)
            .copied()
            .collect()
    }
}

/// The answer to one `POST /send`: (status, reason, extra header), per the plan.
fn answer_send(shared: &Shared, body: &str) -> (u16, &'static str, Option<String>) {
    let sequence = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["sequence"].as_u64())
        .unwrap_or(0);
    let earlier = shared
        .attempts
        .lock()
        .unwrap()
        .iter()
        .filter(|a| a.sequence == sequence)
        .count();
    let planned = shared
        .plan
        .rules
        .iter()
        .find(|r| r.sequence == sequence && earlier < r.times);
    let (status, reason, extra) = if let Some(r) = planned {
        let extra = r.retry_after.map(|s| format!("Retry-After: {s}\r\n"));
        (r.status, "Refused", extra)
    } else if shared.refused.fetch_add(1, Ordering::SeqCst) < shared.plan.first_refused {
        (503, "Service Unavailable", None)
    } else {
        (200, "OK", None)
    };
    shared.attempts.lock().unwrap().push(Attempt {
        at: Instant::now(),
        unix_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        sequence,
        status,
    });
    if status == 200 {
        shared.received.lock().unwrap().push(body.to_string());
    }
    (status, reason, extra)
}

/// Serves keep-alive HTTP/1.1 requests on one connection until the client closes it,
/// reading them with the workspace's one reader.
fn serve(stream: TcpStream, shared: &Shared) {
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let mut reader = http1::MessageReader::new(stream);
    let limits = http1::Limits::default();
    while let Ok(Some(req)) = reader.read_request(&limits, http1::BodyLimit::Reject(1 << 20)) {
        let body = String::from_utf8_lossy(&req.body).into_owned();
        let path = req.target.split('?').next().unwrap_or("");
        let (status, reason, extra, reply) = match (req.method.as_str(), path) {
            ("GET", "/health") => (200, "OK", None, r#"{"status":"healthy"}"#),
            ("POST", "/send") => match answer_send(shared, &body) {
                (0, ..) => return, // close unanswered: a network error for the module
                (200, reason, extra) => (200, reason, extra, r#"{"message_id":"m"}"#),
                (status, reason, extra) => (status, reason, extra, r#"{"error":"refused"}"#),
            },
            _ => (404, "Not Found", None, "{}"),
        };
        let response = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n{}Content-Length: {}\r\n\r\n{reply}",
            extra.unwrap_or_default(),
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
        // RFC 3339 UTC with milliseconds, e.g. 2026-12-03T07:53:41.123Z.
        let ts = b["timestamp"].as_str().unwrap();
        assert!(
            ts.len() == 24 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T',
            "{ts}"
        );
        assert_eq!(ts.as_bytes()[19], b'.', "{ts}");
        assert!(ts[20..23].bytes().all(|c| c.is_ascii_digit()), "{ts}");
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
    assert_eq!(proxy.sequences(), (1..=8).collect::<Vec<_>>());
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
        // More matching nodes than replicas: placement picks Count of them, one each. The
        // job's `HOSTNAME: env:HOSTNAME` needs the nodes' allow-list to name HOSTNAME.
        .args(["--edge-nodes", "us=3,eu=2", "--allow-env", "^HOSTNAME$"])
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
    assert!(
        per_host.keys().all(|h| h.starts_with("edge-us-")),
        "region=us constraint: {per_host:?}"
    );
    for seqs in per_host.values() {
        assert_eq!(seqs, &[1, 2, 3]);
    }
}

/// Milliseconds from the time of day in an RFC 3339 `...THH:MM:SS.mmmZ` timestamp to the
/// time of day of `unix_ms` (modulo a day, so a run across midnight still compares).
fn ms_between(ts: &str, unix_ms: u64) -> u64 {
    const DAY: u64 = 86_400_000;
    let field = |range: std::ops::Range<usize>| ts[range].parse::<u64>().expect("digits");
    let stamped = field(11..13) * 3_600_000 + field(14..16) * 60_000 + field(17..19) * 1_000;
    let stamped = stamped + field(20..23);
    (unix_ms % DAY + DAY - stamped) % DAY
}

/// Runs the module under `edge-node run` against `proxy` with `--interval=0.1` and extra flags.
fn run_sensor(proxy: &FakeProxy, extra: &[&str]) -> (Output, String) {
    let proxy_flag = format!("--proxy={}", proxy.url());
    let mut args = vec!["--", &proxy_flag, "--region=us", "--interval=0.1"];
    args.extend_from_slice(extra);
    let out = edge_node(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    (out, stderr)
}

/// The permanent statuses of docs/publisher-module.md, one refused sequence each.
const PERMANENT: [(u64, u16); 7] = [
    (2, 400),
    (3, 404),
    (4, 405),
    (5, 411),
    (6, 413),
    (7, 415),
    (8, 422),
];

#[test]
fn permanent_refusals_drop_only_that_message_say_so_and_count_it() {
    let proxy = FakeProxy::with_plan(Plan {
        first_refused: 0,
        rules: PERMANENT
            .map(|(seq, status)| rule(seq, status, ALWAYS))
            .to_vec(),
    });
    let (out, stderr) = run_sensor(&proxy, &["--max-messages=10"]);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        proxy.sequences(),
        [1, 9, 10],
        "the rest flow past the refusals"
    );
    for (seq, status) in PERMANENT {
        assert_eq!(proxy.attempts_at(seq).len(), 1, "{seq} was resent");
        let line = format!("proxy refused message {seq} with HTTP {status}: dropped it for good");
        assert_eq!(stderr.matches(&line).count(), 1, "{line}\n{stderr}");
    }
    let bodies = proxy.bodies();
    assert!(
        bodies[0].get("dropped_permanent").is_none(),
        "{}",
        bodies[0]
    );
    for b in &bodies[1..] {
        assert_eq!(b["dropped_permanent"], 7, "{b}");
        assert!(b.get("dropped_overflow").is_none(), "{b}");
    }
    assert!(
        stderr.contains("delivered 3 of 10 (7 refused by the proxy, 0 dropped from a full outbox)"),
        "{stderr}"
    );
}

#[test]
fn transient_refusals_and_network_errors_keep_the_message_until_it_is_accepted() {
    let transient: [(u64, u16); 9] = [
        (2, 401),
        (3, 403),
        (4, 408),
        (5, 425),
        (6, 429),
        (7, 500),
        (8, 502),
        (9, 503),
        (10, 0), // connection closed unanswered: a network error
    ];
    let proxy = FakeProxy::with_plan(Plan {
        first_refused: 0,
        rules: transient.map(|(seq, status)| rule(seq, status, 2)).to_vec(),
    });
    let (out, stderr) = run_sensor(&proxy, &["--max-messages=11"]);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(proxy.sequences(), (1..=11).collect::<Vec<_>>());
    for (seq, status) in transient {
        let tries: Vec<u16> = proxy.attempts_at(seq).iter().map(|a| a.status).collect();
        assert_eq!(tries, [status, status, 200], "sequence {seq}");
    }
    for b in proxy.bodies() {
        assert!(b.get("dropped_permanent").is_none(), "{b}");
        assert!(b.get("dropped_overflow").is_none(), "{b}");
    }
    // A resent message keeps the timestamp it was generated with: before its first attempt
    // (it may have waited behind the refused ones), and by the whole retry time before the
    // attempt that was accepted.
    for b in proxy.bodies() {
        let seq = b["sequence"].as_u64().unwrap();
        let ts = b["timestamp"].as_str().unwrap();
        let tries = proxy.attempts_at(seq);
        let before = |attempt: &Attempt| ms_between(ts, attempt.unix_ms);
        assert!(
            before(&tries[0]) < 60_000,
            "{seq}: {ts} after its first attempt"
        );
        if let [first, .., last] = tries.as_slice() {
            let waited = last.unix_ms - first.unix_ms;
            assert!(before(last) >= waited, "{seq}: {ts} restamped on resend");
        }
    }
    assert!(stderr.contains("proxy unreachable (HTTP 401)"), "{stderr}");
    assert!(
        stderr.contains("proxy unreachable (network error)"),
        "{stderr}"
    );
    assert!(!stderr.contains("refused message"), "{stderr}");
}

#[test]
fn retry_after_from_the_proxy_paces_the_retry() {
    let proxy = FakeProxy::with_plan(Plan {
        first_refused: 0,
        rules: vec![Rule {
            retry_after: Some(2),
            ..rule(2, 503, 1)
        }],
    });
    let (out, stderr) = run_sensor(&proxy, &["--max-messages=3"]);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(proxy.sequences(), [1, 2, 3]);
    let tries = proxy.attempts_at(2);
    assert_eq!(tries.len(), 2, "{tries:?}");
    let waited = tries[1].at - tries[0].at;
    // Our own backoff would retry after ~200 ms; the proxy asked for 2 s (+ up to 10 % jitter).
    assert!(
        waited >= Duration::from_secs(2) && waited < Duration::from_secs(4),
        "retried after {waited:?}"
    );
}

#[test]
fn drops_at_the_source_show_in_the_node_stats_and_in_later_messages() {
    let proxy = FakeProxy::with_plan(Plan {
        first_refused: 0,
        rules: vec![rule(2, 413, ALWAYS)],
    });
    let stats =
        std::env::temp_dir().join(format!("module-runner-stats-{}.json", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_edge-node"))
        .arg("simulate")
        .arg(module())
        .args(["--nodes", "1", "--region", "us", "--control", "stdin"])
        .arg("--stats-file")
        .arg(&stats)
        .arg("--")
        .arg(format!("--proxy={}", proxy.url()))
        .args([
            "--region=us",
            "--interval=0.1",
            "--max-messages=30",
            "--outbox=3",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn edge-node simulate");
    let node_stats = || -> serde_json::Value {
        std::fs::read_to_string(&stats)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .map(|doc| doc["nodes"][0].clone())
            .unwrap_or_default()
    };
    let mut control = child.stdin.take().expect("stdin");
    edge_tests::wait_until("message 3 delivered", Duration::from_secs(30), || {
        proxy.sequences().contains(&3)
    });
    writeln!(control, "disconnect").expect("control");
    // The sensor reports its overflow count in every retry, so the stats see it while the
    // network is still cut.
    edge_tests::wait_until(
        "outbox overflow in the stats",
        Duration::from_secs(30),
        || node_stats()["dropped_overflow"].as_u64().unwrap_or(0) >= 3,
    );
    writeln!(control, "reconnect").expect("control");
    let out = child.wait_with_output().expect("edge-node simulate");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let seqs = proxy.sequences();
    assert_eq!(*seqs.last().unwrap(), 30, "{seqs:?}");
    // The sensor accounts for each of its 30 messages once: acknowledged, refused for good
    // (the 413), or evicted from its full outbox.
    let node = node_stats();
    std::fs::remove_file(&stats).ok();
    let acked = node["acked"].as_u64().unwrap_or(0);
    let overflow = node["dropped_overflow"].as_u64().unwrap_or(0);
    assert_eq!(node["dropped_permanent"], 1, "{node}");
    assert_eq!(acked + 1 + overflow, 30, "{node}");
    // The proxy saw every acknowledged message (distinct sequences: one resent after a lost
    // answer stands twice) and at most one more: a message it took just as the network was
    // cut, whose answer never arrived, so the sensor kept it and may have evicted it later.
    let delivered: std::collections::BTreeSet<u64> = seqs.iter().copied().collect();
    let seen = delivered.len() as u64;
    assert!(
        seen == acked || seen == acked + 1,
        "proxy saw {delivered:?}; {node}"
    );
    let last = proxy.bodies().pop().expect("a message");
    assert_eq!(last["dropped_permanent"], 1, "{last}");
    assert_eq!(last["dropped_overflow"], overflow, "{last}");
    assert!(stderr.contains("outbox full (3 messages)"), "{stderr}");
}
