//! What the proxy's integration tests share: starting the real binary against a fresh
//! LocalStack queue, reading the queue back with sigv4's client, and stand-ins for the SQS
//! endpoint (`endpoint`).
#![allow(dead_code)]
mod endpoint;
// Not every test file uses every stand-in; the util module is compiled into each.
#[allow(unused_imports)]
pub use endpoint::{Behaviour, ReservedPort, Stub, TlsStub};

use edge_tests::{localstack, net, unique_name};
use sigv4::sqs::{Message, ReceiveOptions, SqsClient};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

#[allow(unused_imports)]
pub use edge_tests::sqs::client as sqs_client;

/// How long a proxy expected to stop at start may run: it asks its queue for at most 5 s
/// (`queue_facts::ASK_DEADLINE`), then exits or serves; one still running after this
/// started serving, which such a test must fail on rather than hang.
pub const START_CHECK: Duration = Duration::from_secs(30);

/// A fresh LocalStack queue.
pub struct Queue {
    pub url: String,
    pub endpoint: String,
    client: SqsClient,
}

impl Queue {
    pub fn new(prefix: &str) -> Queue {
        let endpoint = localstack::require();
        let mut client = sqs_client(&endpoint);
        let url = client
            .create_queue(&unique_name(prefix), &[])
            .expect("create queue");
        Queue {
            url,
            endpoint,
            client,
        }
    }

    /// Receives until `want` messages arrived (or 30 s passed), then checks for one more
    /// second that nothing else is there. Messages stay hidden (long visibility timeout), so
    /// a message sent twice shows up twice.
    pub fn receive_exactly(&mut self, want: usize) -> Vec<Message> {
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        let options = ReceiveOptions {
            max_messages: 10,
            wait_seconds: 1,
            visibility_timeout: Some(600),
            system_attributes: vec![],
            message_attributes: vec![],
        };
        while got.len() < want && Instant::now() < deadline {
            got.extend(
                self.client
                    .receive_message(&self.url, &options)
                    .expect("receive"),
            );
        }
        let extra = self
            .client
            .receive_message(&self.url, &options)
            .expect("receive");
        got.extend(extra);
        got
    }
}

/// Counts of each body, to compare multisets.
pub fn multiset<'a>(bodies: impl IntoIterator<Item = &'a str>) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for b in bodies {
        *m.entry(b.to_string()).or_insert(0) += 1;
    }
    m
}

pub fn sensor_body(hostname: &str, job_time: u64, sequence: u64) -> String {
    format!(
        "{{\"job_id\":\"j-1\",\"execution_id\":\"e-1\",\"hostname\":\"{hostname}\",\"job_submission_time\":{job_time},\"icon_name\":\"😀\",\"timestamp\":\"2025-03-26T12:34:56Z\",\"color\":\"#FF5733\",\"sequence\":{sequence},\"region\":\"us\"}}"
    )
}

/// The proxy binary, running.
pub struct Proxy {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Proxy {
    /// Starts the proxy on a free port and waits until /health answers 200.
    pub fn start(queue_url: &str, endpoint: &str, extra: &[&str]) -> Proxy {
        Proxy::start_with(net::free_port(), queue_url, endpoint, extra, &[])
    }

    /// Starts the proxy on `port` with extra environment variables and waits until /health
    /// answers 200.
    pub fn start_with(
        port: u16,
        queue_url: &str,
        endpoint: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Proxy {
        let child = Command::new(env!("CARGO_BIN_EXE_proxy"))
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--queue-url", queue_url, "--endpoint-url", endpoint])
            .args(extra)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .spawn()
            .expect("start proxy");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        assert!(
            net::wait_for_http_ok(addr, "/health", Duration::from_secs(20)),
            "proxy did not become healthy on {addr}"
        );
        Proxy { child, addr }
    }

    pub fn send(&self, body: &str) -> net::Response {
        net::request(self.addr, "POST", "/send", &[], body.as_bytes()).expect("POST /send")
    }

    /// SIGTERM (with the system's `kill`, keeping tests free of unsafe).
    pub fn terminate(&self) {
        self.signal("TERM");
    }

    /// Sends signal `name` (TERM, INT, KILL) with the system's `kill`.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// GET /health: (status, body).
    pub fn health(&self) -> (u16, String) {
        let r = net::request(self.addr, "GET", "/health", &[], b"").expect("GET /health");
        (r.status, r.body_text())
    }

    /// A sample of /metrics without labels.
    pub fn metric(&self, name: &str) -> f64 {
        let text = net::request(self.addr, "GET", "/metrics", &[], b"")
            .expect("GET /metrics")
            .body_text();
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in metrics"))
    }

    /// Waits for the exit, failing after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "proxy did not exit within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// Not every test file polls; the util module is compiled into each.
#[allow(unused_imports)]
pub use edge_tests::wait_until;

/// `POST /send` requests carrying `bodies`, one after another: one write of them pipelines.
pub fn send_requests<S: AsRef<str>>(bodies: &[S]) -> Vec<u8> {
    let mut all = Vec::new();
    for body in bodies {
        let body = body.as_ref();
        all.extend_from_slice(
            format!(
                "POST /send HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        all.extend_from_slice(body.as_bytes());
    }
    all
}

/// POSTs `body` to `/send` on a fresh connection (5 s to connect) and reads the answer
/// (30 s: the HTTP timeout Bacalhau's wasm executor gives the sensor).
pub fn post_fresh(addr: SocketAddr, body: &str) -> std::io::Result<net::Response> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let head = format!(
        "POST /send HTTP/1.1\r\nHost: proxy\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    net::read_response(&mut stream)
}

/// Reads `n` consecutive responses from one connection (pipelining: several may arrive in
/// one read, so the one reader keeps what it read past each answer). Returns (status, body).
pub fn read_responses(stream: &mut impl Read, n: usize) -> Vec<(u16, String)> {
    let mut reader = http1::MessageReader::new(stream);
    let limits = http1::Limits::default();
    let mut out = Vec::new();
    while out.len() < n {
        let resp = reader
            .read_response(false, &limits, http1::BodyLimit::Reject(1 << 20))
            .unwrap_or_else(|e| panic!("response {} of {n}: {e}", out.len() + 1));
        out.push((
            resp.status,
            String::from_utf8_lossy(&resp.body).into_owned(),
        ));
    }
    assert!(
        reader.buffered().is_empty(),
        "unexpected bytes after {n} responses"
    );
    out
}
