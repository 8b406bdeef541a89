//! The dashboard's HTTP side: `GET /` (the page), `GET /api/fleet` (the snapshot the page
//! polls once a second). Blocking sockets with deadlines, one acceptor and a small fixed pool.
//!
//! Viewers cost the puller almost nothing and can never grow its memory: the snapshot is
//! rendered at most once per second however many viewers ask ([`SnapshotCache`]) and shared as
//! one `Arc<Vec<u8>>`; each connection carries one request and is closed (no per-viewer
//! state survives between polls); a viewer that does not send its request within
//! [`READ_DEADLINE`] or read its answer within [`WRITE_DEADLINE`] is dropped; when every
//! worker is busy and the queue is full, a new connection gets 503 at once.
use super::page::PAGE;
use super::Dashboard;
use std::io::{self, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Threads answering requests.
const WORKERS: usize = 4;
/// Accepted connections waiting for a worker; beyond it: 503. Sized for a few hundred
/// viewers whose once-a-second polls arrive together (each costs only its socket here).
const QUEUE: usize = 512;
/// A request head must arrive within this.
const READ_DEADLINE: Duration = Duration::from_secs(5);
/// An answer must be taken within this (a slow viewer is dropped, never buffered for).
const WRITE_DEADLINE: Duration = Duration::from_secs(2);
/// Largest request head read.
const MAX_HEAD: usize = 8 * 1024;

/// Starts the acceptor and the workers on `listener`.
pub fn start(listener: TcpListener, dashboard: Arc<Dashboard>) -> io::Result<()> {
    let (tx, rx) = sync_channel::<TcpStream>(QUEUE);
    let rx = Arc::new(Mutex::new(rx));
    for n in 0..WORKERS {
        let rx = Arc::clone(&rx);
        let dashboard = Arc::clone(&dashboard);
        std::thread::Builder::new()
            .name(format!("dashboard-{n}"))
            .spawn(move || worker(&rx, &dashboard))?;
    }
    std::thread::Builder::new()
        .name("dashboard-accept".into())
        .spawn(move || accept_loop(&listener, &tx))?;
    Ok(())
}

fn accept_loop(listener: &TcpListener, tx: &SyncSender<TcpStream>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else {
            // EMFILE and friends: back off briefly instead of spinning.
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        match tx.try_send(stream) {
            Ok(()) => {}
            Err(TrySendError::Full(mut stream)) => {
                let _ = stream.set_write_timeout(Some(WRITE_DEADLINE));
                let _ = respond(&mut stream, 503, "text/plain", b"busy\n", &[]);
            }
            Err(TrySendError::Disconnected(_)) => return,
        }
    }
}

/// Serves connections until the process ends. A panic while serving one connection (a bug)
/// is caught here, so the pool never shrinks: the worker goes on with the next connection.
fn worker(rx: &Mutex<Receiver<TcpStream>>, dashboard: &Dashboard) {
    loop {
        let next = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok(mut stream) = next else { return };
        let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = serve(&mut stream, dashboard);
        }));
        if served.is_err() {
            dashboard.count_panic();
        }
    }
}

fn serve(stream: &mut TcpStream, dashboard: &Dashboard) -> io::Result<()> {
    stream.set_write_timeout(Some(WRITE_DEADLINE))?;
    let Some(request) = read_request(stream)? else {
        return respond(stream, 400, "text/plain", b"bad request\n", &[]);
    };
    let (path, query) = split_target(&request.target);
    if request.method != "GET" {
        return respond(
            stream,
            405,
            "text/plain",
            b"only GET\n",
            &[("Allow", "GET")],
        );
    }
    let header = request
        .header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "));
    if !dashboard.authorized(header.map(str::as_bytes), query_token(query)) {
        let challenge = [("WWW-Authenticate", "Bearer realm=\"puller dashboard\"")];
        return respond(stream, 401, "text/plain", b"token required\n", &challenge);
    }
    match path {
        "/" => respond(
            stream,
            200,
            "text/html; charset=utf-8",
            PAGE.as_bytes(),
            &[],
        ),
        "/api/fleet" => {
            let body = dashboard.snapshot_bytes();
            respond(stream, 200, "application/json", &body, &[])
        }
        _ => respond(stream, 404, "text/plain", b"not found\n", &[]),
    }
}

/// Reads the request with the workspace's one HTTP/1.1 reader, within [`READ_DEADLINE`] in
/// all (a slow drip cannot stretch it) and [`MAX_HEAD`] bytes of head; `None` when it is not
/// HTTP. A GET has no body worth keeping, so any body is refused past a few bytes.
fn read_request(stream: &mut TcpStream) -> io::Result<Option<http1::Request>> {
    let deadline = Instant::now() + READ_DEADLINE;
    // A second handle on the same socket for the reader; answers go out through `stream`.
    let reading = stream.try_clone()?;
    let mut reader = http1::MessageReader::new(http1::DeadlineStream::new(reading, Some(deadline)));
    let limits = http1::Limits {
        max_head: MAX_HEAD,
        max_headers: 32,
    };
    match reader.read_request(&limits, http1::BodyLimit::Reject(1024)) {
        Ok(Some(request)) => Ok(Some(request)),
        Ok(None) => Err(io::ErrorKind::UnexpectedEof.into()),
        Err(http1::Error::Malformed(_) | http1::Error::TooLarge(_)) => Ok(None),
        Err(e) => Err(io::Error::other(e.to_string())),
    }
}

fn split_target(target: &str) -> (&str, &str) {
    target.split_once('?').unwrap_or((target, ""))
}

/// `token=...` from the query: a browser opening the page cannot send a header, so the page
/// URL carries the token and the page's own requests pass it on.
fn query_token(query: &str) -> Option<&[u8]> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
        .map(str::as_bytes)
}

fn respond(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &[u8],
    extra: &[(&str, &str)],
) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Service Unavailable",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\
         Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline'; \
         style-src 'unsafe-inline'; connect-src 'self'; img-src data:\r\n\
         Connection: close\r\n",
        body.len()
    );
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}

/// The snapshot, rendered at most once per second and shared by every viewer.
#[derive(Default)]
pub struct SnapshotCache {
    rendered: Option<(Instant, Arc<Vec<u8>>)>,
}

impl SnapshotCache {
    /// The cached bytes if younger than a second, else `render()`'s.
    pub fn get(&mut self, render: impl FnOnce() -> Vec<u8>) -> Arc<Vec<u8>> {
        if let Some((at, bytes)) = &self.rendered {
            if at.elapsed() < Duration::from_secs(1) {
                return Arc::clone(bytes);
            }
        }
        let bytes = Arc::new(render());
        self.rendered = Some((Instant::now(), Arc::clone(&bytes)));
        bytes
    }
}
