//! What the proxy's integration tests share: starting the real binary against a fresh
//! LocalStack queue, reading the queue back with sigv4's client, and a TCP relay that plays
//! an SQS endpoint going away and coming back.
#![allow(dead_code)]
use edge_tests::{localstack, net, unique_name};
use sigv4::sqs::{Message, ReceiveOptions, SqsClient};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[allow(unused_imports)]
pub use edge_tests::sqs::client as sqs_client;

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
        let port = net::free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_proxy"))
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--queue-url", queue_url, "--endpoint-url", endpoint])
            .args(extra)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
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
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
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

/// A TCP relay from a local port to LocalStack: the SQS endpoint the proxy sees. Dropping
/// it closes the listener and every relayed connection, so SQS is unreachable again.
pub struct Relay {
    stop: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    addr: SocketAddr,
}

impl Relay {
    pub fn start(port: u16, target: SocketAddr) -> Relay {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind relay port");
        let addr = listener.local_addr().expect("relay addr");
        let stop = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (stop2, conns2) = (Arc::clone(&stop), Arc::clone(&conns));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(upstream) = TcpStream::connect(target) else {
                    continue;
                };
                let mut list = conns2.lock().unwrap();
                list.push(client.try_clone().unwrap());
                list.push(upstream.try_clone().unwrap());
                pipe(client.try_clone().unwrap(), upstream.try_clone().unwrap());
                pipe(upstream, client);
            }
        });
        Relay { stop, conns, addr }
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag and drops the listener.
        let _ = TcpStream::connect(self.addr);
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

/// Reads `n` consecutive responses from one connection (pipelining: several may arrive in
/// one read, so the one reader keeps what it read past each answer). Returns (status, body).
pub fn read_responses(stream: &mut TcpStream, n: usize) -> Vec<(u16, String)> {
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
