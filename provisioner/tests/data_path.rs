//! The data path through what `up` wires together: edge nodes on the runner image
//! (`edge-node run publisher.wasm`, the built-in `standin` profile's edge command unchanged)
//! reach their region's proxy port on the host through the bridge gateway.
//!
//! `edge_nodes_publish_to_their_regions_proxy_port` puts a recording HTTP stub on the proxy
//! ports, so it checks the runner → proxy leg without depending on the proxy binary.
//! `runner_proxy_localstack_end_to_end` uses our proxy image against LocalStack, with
//! `up --proxy-token-file`: the proxies refuse a message without a token, so every message
//! that arrives was sent with the token `up` gave the edge nodes.
mod util;

use serde_json::{json, Value};
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use util::{ensure_images, text, Project};

fn require_module() {
    let module = edge_tests::bins::workspace_root().join("target/modules/publisher.wasm");
    assert!(
        module.exists(),
        "{} is missing: run scripts/build-wasm first",
        module.display()
    );
}

/// A recorded request: (listening port, method, path, body).
type Seen = (u16, String, String, String);

/// Serves `/health` and `/send` like the proxy on every connection (keep-alive aware) and
/// reports each request on `tx`.
fn serve_stub(listener: TcpListener, tx: mpsc::Sender<Seen>) {
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let _ = handle(stream, port, &tx);
            });
        }
    });
}

/// Answers one keep-alive connection, reading requests with the workspace's one reader.
fn handle(stream: TcpStream, port: u16, tx: &mpsc::Sender<Seen>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = http1::MessageReader::new(stream);
    let limits = http1::Limits::default();
    while let Ok(Some(req)) = reader.read_request(&limits, http1::BodyLimit::Reject(1 << 20)) {
        let reply = if req.target == "/health" {
            r#"{"status":"healthy"}"#
        } else {
            r#"{"message_id":"stub"}"#
        };
        let body = String::from_utf8_lossy(&req.body).into_owned();
        let _ = tx.send((port, req.method, req.target, body));
        write!(reader.get_mut(), "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{reply}", reply.len())?;
    }
    Ok(())
}

#[test]
fn edge_nodes_publish_to_their_regions_proxy_port() {
    require_module();
    ensure_images(&["standin", "runner"]);
    let (tx, rx) = mpsc::channel();
    let mut ports = Vec::new();
    for _ in 0..3 {
        let listener = TcpListener::bind("0.0.0.0:0").expect("bind stub");
        ports.push(listener.local_addr().expect("addr").port());
        serve_stub(listener, tx.clone());
    }
    // Proxies are stand-ins without published ports: the stubs own the proxy ports.
    let standin = |role: &str| json!({"image": "edge-sensors/standin:local", "command": ["serve", "--role", role]});
    let mut proxy = standin("proxy");
    proxy["ports"] = json!([]);
    proxy["health"] = json!({"exec": ["/standin", "health"]});
    let mut p =
        Project::new(&json!({"base": "standin", "proxy": proxy, "puller": standin("puller")}));
    // The stubs own the proxy ports (the stand-in proxies publish nothing).
    p.ports = ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let out = p.run(&["up", "--replicas", "1", "--batch", "1"]);
    assert!(out.status.success(), "up failed:\n{}", text(&out));

    // Each region's node must POST /send with its own hostname and region to its own port.
    let mut want: Vec<(u16, &str)> = ports.iter().copied().zip(["us", "eu", "as"]).collect();
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut seen_health = false;
    while !want.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        let (port, method, path, body) = rx.recv_timeout(left).unwrap_or_else(|_| {
            panic!(
                "no /send from {want:?} within 90 s; logs:\n{}",
                util::logs(&format!("{}-edge-us-0001", p.name))
            )
        });
        seen_health |= path == "/health";
        if method != "POST" || path != "/send" {
            continue;
        }
        let msg: Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {body}"));
        if let Some(i) = want.iter().position(|(p, _)| *p == port) {
            let region = want[i].1;
            assert_eq!(msg["hostname"], format!("edge-{region}-0001"), "{body}");
            assert_eq!(msg["region"], region, "{body}");
            want.remove(i);
        }
    }
    assert!(seen_health, "the publisher checks /health before sending");
}

/// One SQS query-protocol call to LocalStack (it does not check signatures, but routes by the
/// credential scope, hence the dummy Authorization header).
fn sqs(path: &str, form: &str) -> String {
    let auth = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request, \
                SignedHeaders=host, Signature=0";
    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Authorization", auth),
    ];
    let body = format!("{form}&Version=2012-11-05");
    let addr = edge_tests::localstack::endpoint_addr();
    let resp =
        edge_tests::net::request(addr, "POST", path, &headers, body.as_bytes()).expect("SQS call");
    assert_eq!(resp.status, 200, "SQS {form}: {}", resp.body_text());
    resp.body_text()
}

#[test]
fn runner_proxy_localstack_end_to_end() {
    edge_tests::localstack::require();
    require_module();
    ensure_images(&["standin", "proxy", "runner"]);
    let queue = edge_tests::unique_name("prov-e2e");
    sqs("/", &format!("Action=CreateQueue&QueueName={queue}"));
    let port = edge_tests::localstack::endpoint_addr().port();
    // The built-in standin profile as is, minus the puller (it would drain the queue we read).
    let p = Project::new(&json!({"base": "standin", "puller": {"enabled": false}}));
    let endpoint = format!("http://{{gateway}}:{port}");
    let queue_url = format!("{endpoint}/000000000000/{queue}");
    let tokens = std::env::temp_dir().join(format!("{}-tokens", p.name));
    std::fs::write(
        &tokens,
        "# retired, still accepted\nold-token\nfleet-token-1\n",
    )
    .unwrap();
    let out = p.run(&[
        "up",
        "--replicas",
        "1",
        "--endpoint-url",
        &endpoint,
        "--queue-url",
        &queue_url,
        "--proxy-token-file",
        tokens.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "up failed:\n{}", text(&out));
    let us_port: u16 = p.ports.split(',').next().unwrap().parse().unwrap();
    let us_proxy = std::net::SocketAddr::from(([127, 0, 0, 1], us_port));
    let body = br#"{"hostname":"intruder","job_submission_time":1}"#;
    let anonymous = edge_tests::net::request(us_proxy, "POST", "/send", &[], body).unwrap();
    assert_eq!(anonymous.status, 401, "{}", anonymous.body_text());

    let mut want = vec!["edge-us-0001", "edge-eu-0001", "edge-as-0001"];
    let deadline = Instant::now() + Duration::from_secs(90);
    while !want.is_empty() && Instant::now() < deadline {
        let xml = sqs(
            &format!("/000000000000/{queue}"),
            "Action=ReceiveMessage&MaxNumberOfMessages=10&WaitTimeSeconds=2",
        );
        want.retain(|host| !xml.contains(host));
    }
    assert!(
        want.is_empty(),
        "no message in SQS from {want:?}; proxy logs:\n{}",
        util::logs(&format!("{}-proxy-us", p.name))
    );
    sqs(&format!("/000000000000/{queue}"), "Action=DeleteQueue");
    let _ = std::fs::remove_file(&tokens);
}
