//! Shared pieces of the runner tests: the wasm encoder, guests built with it, an in-test
//! HTTP server, and a way to run `edge-node`.
#![allow(dead_code)]
pub mod wasm;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use wasm::{Body, Module, I32, I64};

pub fn edge_node() -> Command {
    Command::new(env!("CARGO_BIN_EXE_edge-node"))
}

/// Runs `edge-node ARGS...` to completion.
pub fn run(args: &[&str]) -> Output {
    edge_node()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("spawn edge-node")
}

pub fn run_module(module: &Path, flags: &[&str], params: &[&str]) -> Output {
    let mut args = vec!["run", module.to_str().expect("utf-8 path")];
    args.extend_from_slice(flags);
    args.push("--");
    args.extend_from_slice(params);
    run(&args)
}

/// One request the test server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

type Answer = fn(&Seen) -> (u16, Vec<(String, String)>, Vec<u8>);

/// A keep-alive HTTP/1.1 server on a free port, one thread per connection, that records
/// every request and answers with `answer`.
pub struct Server {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

#[allow(unused_imports)] // only the https tests name fixture files
pub use edge_tests::tls::fixture;

impl Server {
    pub fn start(answer: Answer) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let log = Arc::clone(&log);
                std::thread::spawn(move || serve(conn, &log, answer));
            }
        });
        Server { addr, seen }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}

/// Serves one connection (plain or TLS) with the workspace's one HTTP/1.1 reader.
fn serve<S: Read + Write>(conn: S, log: &Mutex<Vec<Seen>>, answer: Answer) {
    let mut reader = http1::MessageReader::new(conn);
    let limits = http1::Limits::default();
    while let Ok(Some(req)) = reader.read_request(&limits, http1::BodyLimit::Reject(16 << 20)) {
        let seen = Seen {
            method: req.method,
            path: req.target,
            headers: req.headers,
            body: req.body,
        };
        let (status, extra, reply) = answer(&seen);
        log.lock().expect("lock").push(seen);
        let mut head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", reply.len());
        for (k, v) in extra {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend(reply);
        let conn = reader.get_mut();
        if conn.write_all(&out).and_then(|_| conn.flush()).is_err() {
            return;
        }
    }
}

impl Server {
    /// As [`Server::start`], speaking TLS with the fixture certificate (for `localhost` and
    /// 127.0.0.1, signed by tests/fixtures/test-ca.pem).
    pub fn start_tls(answer: Answer) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let config = edge_tests::tls::server_config();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(60)));
                let Ok(tls) = rustls::ServerConnection::new(Arc::clone(&config)) else {
                    continue;
                };
                let log = Arc::clone(&log);
                std::thread::spawn(move || {
                    serve(rustls::StreamOwned::new(tls, conn), &log, answer)
                });
            }
        });
        Server { addr, seen }
    }
}

/// Answers every request `200 {"message_id":"m-1"}` with a JSON content type.
pub fn ack(_: &Seen) -> (u16, Vec<(String, String)>, Vec<u8>) {
    (
        200,
        vec![("Content-Type".into(), "application/json".into())],
        br#"{"message_id":"m-1"}"#.to_vec(),
    )
}

// Guest memory layout used by the guests below.
pub const STATUS: i32 = 16;
pub const RESP_HEADERS_LEN: i32 = 20;
pub const RESP_BODY_LEN: i32 = 24;
const IOV: i32 = 32;
const NWRITTEN: i32 = 48;
const URL: i32 = 256;
const REQ_HEADERS: i32 = 1024;
const REQ_BODY: i32 = 2048;
pub const RESP_HEADERS: i32 = 4096;
pub const RESP_BODY: i32 = 8192;
const SCRATCH: i32 = 16384;

/// One `http_request` call with every argument under the test's control.
#[derive(Clone)]
pub struct AbiCall {
    pub method: i32,
    pub url: String,
    pub headers: String,
    pub body: String,
    pub headers_cap: i32,
    pub body_cap: i32,
    pub url_ptr: i32,
    pub body_ptr: i32,
    pub resp_headers: i32,
    pub resp_headers_len: i32,
    pub resp_body: i32,
    pub resp_body_len: i32,
    pub status: i32,
    /// Exit with the HTTP status (low 8 bits) instead of the result code.
    pub exit_with_status: bool,
}

impl AbiCall {
    pub fn new(method: i32, url: &str) -> AbiCall {
        AbiCall {
            method,
            url: url.to_string(),
            headers: String::new(),
            body: String::new(),
            headers_cap: 4096,
            body_cap: 8192,
            url_ptr: URL,
            body_ptr: REQ_BODY,
            resp_headers: RESP_HEADERS,
            resp_headers_len: RESP_HEADERS_LEN,
            resp_body: RESP_BODY,
            resp_body_len: RESP_BODY_LEN,
            status: STATUS,
            exit_with_status: false,
        }
    }

    /// A guest that makes this call, writes the response body to stdout and the response
    /// headers to stderr (the lengths the host wrote back), then exits with the result code.
    pub fn guest(&self) -> Module {
        let mut m = Module::new();
        let fd_write = m.wasi("fd_write", &[I32; 4]);
        let proc_exit = m.wasi("proc_exit", &[I32]);
        let http = m.http();
        m.data(URL as u32, self.url.as_bytes());
        m.data(REQ_HEADERS as u32, self.headers.as_bytes());
        m.data(REQ_BODY as u32, self.body.as_bytes());
        let print = |b: Body, fd: i32, buf: i32, len_at: i32| {
            b.poke(IOV, buf)
                .i32(IOV + 4)
                .i32(len_at)
                .load32()
                .store32()
                .i32(fd)
                .i32(IOV)
                .i32(1)
                .i32(NWRITTEN)
                .call(fd_write)
                .drop_()
        };
        let mut body = Body::new()
            .poke(RESP_HEADERS_LEN, self.headers_cap)
            .poke(RESP_BODY_LEN, self.body_cap)
            .i32(self.method)
            .i32(self.url_ptr)
            .i32(self.url.len() as i32)
            .i32(REQ_HEADERS)
            .i32(self.headers.len() as i32)
            .i32(self.body_ptr)
            .i32(self.body.len() as i32)
            .i32(self.resp_headers)
            .i32(self.resp_headers_len)
            .i32(self.resp_body)
            .i32(self.resp_body_len)
            .i32(self.status)
            .call(http)
            .set(0);
        body = print(body, 1, RESP_BODY, RESP_BODY_LEN);
        body = print(body, 2, RESP_HEADERS, RESP_HEADERS_LEN);
        body = if self.exit_with_status {
            body.i32(STATUS).load32()
        } else {
            body.get(0)
        };
        m.start(1, body.call(proc_exit));
        m
    }
}

/// A guest that loops forever: POST `{"sequence":N}` to `url`, then sleep `sleep_ms`.
/// With `max` > 0 it exits 0 after that many posts.
pub fn poster(url: &str, sleep_ms: i64, max: i32) -> Module {
    let mut m = Module::new();
    let poll = m.wasi("poll_oneoff", &[I32; 4]);
    let proc_exit = m.wasi("proc_exit", &[I32]);
    let http = m.http();
    m.data(URL as u32, url.as_bytes());
    let prefix = br#"{"sequence":"#;
    m.data(REQ_BODY as u32, prefix);
    // Subscription at SCRATCH: userdata 0, tag 0 (clock), clock id 1, timeout, precision 0, flags 0.
    let sub = SCRATCH;
    let digits_at = REQ_BODY + prefix.len() as i32;
    // local 0 = sequence (1..=9 digits written as one ASCII digit cycling, enough for tests: we
    // write the number modulo 10 plus a closing brace, so bodies stay valid JSON).
    let body = Body::new()
        .i32(sub + 8)
        .i32(0)
        .store32()
        .i32(sub + 16)
        .i32(1)
        .store32()
        .i32(sub + 24)
        .i64(sleep_ms * 1_000_000)
        .store64()
        .loop_()
        // sequence += 1
        .get(0)
        .i32(1)
        .op(0x6a)
        .set(0)
        // body[digits_at] = '0' + sequence % 10; body[digits_at+1] = '}'
        .i32(digits_at)
        .get(0)
        .i32(10)
        .op(0x70) // i32.rem_u
        .i32(48)
        .op(0x6a)
        .i32(125 << 8)
        .op(0x72) // i32.or -> two bytes: digit, '}'
        .op(0x3b) // i32.store16
        .op(0x01)
        .op(0x00)
        .poke(RESP_HEADERS_LEN, 1024)
        .poke(RESP_BODY_LEN, 1024)
        .i32(1)
        .i32(URL)
        .i32(url.len() as i32)
        .i32(0)
        .i32(0)
        .i32(REQ_BODY)
        .i32(prefix.len() as i32 + 2)
        .i32(RESP_HEADERS)
        .i32(RESP_HEADERS_LEN)
        .i32(RESP_BODY)
        .i32(RESP_BODY_LEN)
        .i32(STATUS)
        .call(http)
        .drop_()
        .i32(max)
        .if_()
        .get(0)
        .i32(max)
        .op(0x46) // i32.eq
        .if_()
        .i32(0)
        .call(proc_exit)
        .end()
        .end()
        .i32(sub)
        .i32(SCRATCH + 64)
        .i32(1)
        .i32(SCRATCH + 128)
        .call(poll)
        .drop_()
        .br(0)
        .end();
    m.start(1, body);
    let _ = I64;
    m
}
