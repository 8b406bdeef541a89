//! A small blocking HTTP/1.1 client with a keep-alive connection pool per target host, run
//! on a handful of worker threads (`HttpPool`) so that thousands of suspended guests share a
//! few sockets instead of one thread each.
//!
//! Plain `http://` only: the guests talk to proxies on a private network. An `https://` URL is
//! answered with a network error (documented in the README).
use super::redirect::{follow, MAX_REDIRECTS};
use super::resolve::Resolver;
use super::url::{Scheme, Url};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long Bacalhau's host waits for a whole request (connect + send + answer).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Idle connections kept per host; more than this and the newest returns are closed.
const MAX_IDLE_PER_HOST: usize = 256;

#[derive(Debug, Clone)]
pub struct Request {
    pub method: &'static str,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Why a request got no answer; maps onto Bacalhau's result codes 2 and 3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Network(String),
    Timeout,
}

/// The connection pool and the resolver it dials through.
pub struct Client {
    resolver: Resolver,
    idle: Mutex<HashMap<(String, u16), Vec<TcpStream>>>,
    timeout: Duration,
}

impl Client {
    /// A client whose requests time out after `timeout` (Bacalhau: [`REQUEST_TIMEOUT`]).
    pub fn new(resolver: Resolver, timeout: Duration) -> Client {
        Client {
            resolver,
            idle: Mutex::new(HashMap::new()),
            timeout,
        }
    }

    /// Sends `req` and reads the answer. A body longer than `max_body` is cut there, silently,
    /// as Bacalhau's host does (it reads through a limit reader).
    pub fn send(&self, req: &Request, max_body: usize) -> Result<Response, Failure> {
        self.send_by(req, max_body, Instant::now() + self.timeout)
    }

    /// As [`Client::send`], with the timeout counted from `started` (when the guest called),
    /// so time spent queued for a worker thread counts too.
    pub fn send_started(
        &self,
        req: &Request,
        max_body: usize,
        started: Instant,
    ) -> Result<Response, Failure> {
        self.send_by(req, max_body, started + self.timeout)
    }

    /// Sends `req`, following redirects as Go's client does, until `deadline`.
    fn send_by(
        &self,
        req: &Request,
        max_body: usize,
        deadline: Instant,
    ) -> Result<Response, Failure> {
        let mut resp = self.send_once(req, max_body, deadline)?;
        let mut current = req.clone();
        for _ in 0..MAX_REDIRECTS {
            let Some(next) = follow(&current, &resp) else {
                return Ok(resp);
            };
            resp = self.send_once(&next, max_body, deadline)?;
            current = next;
        }
        match follow(&current, &resp) {
            Some(_) => Err(Failure::Network(format!(
                "stopped after {MAX_REDIRECTS} redirects"
            ))),
            None => Ok(resp),
        }
    }

    fn send_once(
        &self,
        req: &Request,
        max_body: usize,
        deadline: Instant,
    ) -> Result<Response, Failure> {
        if Instant::now() >= deadline {
            return Err(Failure::Timeout);
        }
        if req.url.scheme == Scheme::Https {
            return Err(Failure::Network(
                "https is not supported by this runner (http only)".into(),
            ));
        }
        let wire = encode_request(req);
        // A pooled connection may have been closed by the server while idle; if it fails before
        // any answer byte arrived, the request never reached the application, so one retry on a
        // fresh connection is safe.
        if let Some(conn) = self.take_idle(&req.url) {
            match exchange(conn, &wire, req.method == "HEAD", deadline, max_body) {
                Ok((resp, conn)) => {
                    self.put_idle(&req.url, conn);
                    return Ok(resp);
                }
                Err(Exchange::Stale) => {}
                Err(Exchange::Failed(f)) => return Err(f),
            }
        }
        let conn = self.connect(&req.url, deadline)?;
        match exchange(conn, &wire, req.method == "HEAD", deadline, max_body) {
            Ok((resp, conn)) => {
                self.put_idle(&req.url, conn);
                Ok(resp)
            }
            Err(Exchange::Stale) => Err(Failure::Network(
                "connection closed before an answer".into(),
            )),
            Err(Exchange::Failed(f)) => Err(f),
        }
    }

    fn connect(&self, url: &Url, deadline: Instant) -> Result<TcpStream, Failure> {
        let addrs = self.resolver.resolve(&url.host, url.port);
        if addrs.is_empty() {
            return Err(Failure::Network(format!(
                "cannot resolve host '{}'",
                url.host
            )));
        }
        let mut last = String::new();
        for addr in addrs {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Failure::Timeout);
            }
            match TcpStream::connect_timeout(&addr, left) {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    return Ok(s);
                }
                Err(e) if e.kind() == io::ErrorKind::TimedOut => return Err(Failure::Timeout),
                Err(e) => last = format!("connect {addr}: {e}"),
            }
        }
        Err(Failure::Network(last))
    }

    fn take_idle(&self, url: &Url) -> Option<TcpStream> {
        let mut idle = self.idle.lock().ok()?;
        idle.get_mut(&(url.host.clone(), url.port))
            .and_then(Vec::pop)
    }

    fn put_idle(&self, url: &Url, conn: Option<TcpStream>) {
        let (Some(conn), Ok(mut idle)) = (conn, self.idle.lock()) else {
            return;
        };
        let list = idle.entry((url.host.clone(), url.port)).or_default();
        if list.len() < MAX_IDLE_PER_HOST {
            list.push(conn);
        }
    }
}

fn encode_request(req: &Request) -> Vec<u8> {
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.url.path);
    let has = |name: &str| {
        req.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    };
    if !has("host") {
        head.push_str(&format!("Host: {}\r\n", req.url.host_header()));
    }
    for (k, v) in &req.headers {
        // The framing headers are ours to set: a guest-supplied length could desynchronise the
        // pooled connection for every other guest using it.
        if ["content-length", "transfer-encoding", "connection"]
            .iter()
            .any(|h| k.eq_ignore_ascii_case(h))
        {
            continue;
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !req.body.is_empty() || matches!(req.method, "POST" | "PUT" | "PATCH") {
        head.push_str(&format!("Content-Length: {}\r\n", req.body.len()));
    }
    head.push_str("Connection: keep-alive\r\n\r\n");
    let mut wire = head.into_bytes();
    wire.extend_from_slice(&req.body);
    wire
}

enum Exchange {
    /// Nothing came back on a reused connection: retry on a fresh one.
    Stale,
    Failed(Failure),
}

fn io_failure(e: io::Error) -> Exchange {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Exchange::Failed(Failure::Timeout),
        _ => Exchange::Failed(Failure::Network(e.to_string())),
    }
}

/// Writes the request and reads one response; returns the connection if it may be reused.
fn exchange(
    mut conn: TcpStream,
    wire: &[u8],
    head_only: bool,
    deadline: Instant,
    max_body: usize,
) -> Result<(Response, Option<TcpStream>), Exchange> {
    set_deadline(&conn, deadline)?;
    if conn.write_all(wire).is_err() {
        return Err(Exchange::Stale);
    }
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 8192];
    let (status, headers, body_start) = loop {
        set_deadline(&conn, deadline)?;
        let n = match conn.read(&mut chunk) {
            Ok(0) if buf.is_empty() => return Err(Exchange::Stale),
            Ok(0) => {
                return Err(Exchange::Failed(Failure::Network(
                    "connection closed mid-answer".into(),
                )))
            }
            Ok(n) => n,
            Err(e) if buf.is_empty() && e.kind() == io::ErrorKind::ConnectionReset => {
                return Err(Exchange::Stale)
            }
            Err(e) => return Err(io_failure(e)),
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut slots = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Response::new(&mut slots);
        match parsed.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let status = parsed.code.unwrap_or(0);
                let headers = parsed
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_string(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect::<Vec<_>>();
                // 1xx interim answers carry no body: drop them and read the real one.
                if (100..200).contains(&status) {
                    buf.drain(..len);
                    continue;
                }
                break (status, headers, len);
            }
            Ok(httparse::Status::Partial) if buf.len() > 64 * 1024 => {
                return Err(Exchange::Failed(Failure::Network(
                    "response head too large".into(),
                )))
            }
            Ok(httparse::Status::Partial) => {}
            Err(e) => {
                return Err(Exchange::Failed(Failure::Network(format!(
                    "bad response: {e}"
                ))))
            }
        }
    };
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    };
    let mut reusable = !header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
    let mut rest = buf.split_off(body_start);
    let body = if head_only || status == 204 || status == 304 {
        Vec::new()
    } else if header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        let (body, keep) = read_chunked(&mut conn, rest, deadline, max_body)?;
        reusable &= keep;
        body
    } else if let Some(len) = header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| Exchange::Failed(Failure::Network("bad content-length".into())))?;
        if len > max_body {
            // Not worth draining a huge body to keep the connection: drop it after the cut.
            reusable = false;
        }
        while rest.len() < len.min(max_body) {
            set_deadline(&conn, deadline)?;
            match conn.read(&mut chunk) {
                Ok(0) => {
                    return Err(Exchange::Failed(Failure::Network(
                        "connection closed mid-body".into(),
                    )))
                }
                Ok(n) => rest.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(io_failure(e)),
            }
        }
        rest.truncate(len.min(max_body));
        rest
    } else {
        reusable = false;
        loop {
            if rest.len() >= max_body {
                rest.truncate(max_body);
                break rest;
            }
            set_deadline(&conn, deadline)?;
            match conn.read(&mut chunk) {
                Ok(0) => break rest,
                Ok(n) => rest.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(io_failure(e)),
            }
        }
    };
    let conn = reusable.then_some(conn);
    Ok((
        Response {
            status,
            headers,
            body,
        },
        conn,
    ))
}

/// Reads a chunked body; the flag says whether the connection is still usable.
fn read_chunked(
    conn: &mut TcpStream,
    mut raw: Vec<u8>,
    deadline: Instant,
    max_body: usize,
) -> Result<(Vec<u8>, bool), Exchange> {
    let mut body = Vec::new();
    let mut pos = 0;
    let mut chunk = [0u8; 8192];
    loop {
        // Parse as many complete chunks as the buffer holds.
        loop {
            match httparse::parse_chunk_size(&raw[pos..]) {
                Ok(httparse::Status::Complete((used, size))) => {
                    let size = usize::try_from(size).unwrap_or(usize::MAX);
                    if size == 0 {
                        // Trailer section: we need the final CRLF; accept once present.
                        if raw[pos + used..].windows(2).any(|w| w == b"\r\n") {
                            return Ok((body, true));
                        }
                        break;
                    }
                    let start = pos + used;
                    if raw.len() < start.saturating_add(size).saturating_add(2) {
                        if body.len() + raw.len() - start >= max_body {
                            // Enough for the guest: keep the cut, drop the connection.
                            body.extend_from_slice(&raw[start..]);
                            body.truncate(max_body);
                            return Ok((body, false));
                        }
                        break;
                    }
                    body.extend_from_slice(&raw[start..start + size]);
                    if body.len() >= max_body {
                        body.truncate(max_body);
                        return Ok((body, false));
                    }
                    pos = start + size + 2;
                }
                Ok(httparse::Status::Partial) => break,
                Err(_) => {
                    return Err(Exchange::Failed(Failure::Network(
                        "bad chunked encoding".into(),
                    )))
                }
            }
        }
        set_deadline(conn, deadline)?;
        match conn.read(&mut chunk) {
            Ok(0) => {
                return Err(Exchange::Failed(Failure::Network(
                    "connection closed mid-body".into(),
                )))
            }
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(io_failure(e)),
        }
    }
}

fn set_deadline(conn: &TcpStream, deadline: Instant) -> Result<(), Exchange> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Exchange::Failed(Failure::Timeout));
    }
    conn.set_read_timeout(Some(left)).map_err(io_failure)?;
    conn.set_write_timeout(Some(left)).map_err(io_failure)
}

/// One queued request and what to do with its outcome.
pub struct Job {
    pub request: Request,
    pub max_body: usize,
    /// When the guest made the call: the 30 s timeout runs from here.
    pub started: Instant,
    pub reply: Box<dyn FnOnce(Result<Response, Failure>) + Send>,
}

/// A fixed set of threads performing requests for all guests.
pub struct HttpPool {
    tx: Sender<Job>,
}

impl HttpPool {
    pub fn start(client: Client, threads: usize) -> io::Result<HttpPool> {
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let client = Arc::new(client);
        for i in 0..threads.max(1) {
            let rx = Arc::clone(&rx);
            let client = Arc::clone(&client);
            std::thread::Builder::new()
                .name(format!("http-{i}"))
                .stack_size(256 * 1024)
                .spawn(move || worker(&client, &rx))?;
        }
        Ok(HttpPool { tx })
    }

    /// Queues a request; `false` when the pool has shut down.
    pub fn submit(&self, job: Job) -> bool {
        self.tx.send(job).is_ok()
    }
}

fn worker(client: &Client, rx: &Mutex<Receiver<Job>>) {
    loop {
        let job = match rx.lock() {
            Ok(guard) => match guard.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
            Err(_) => return,
        };
        let result = client.send_started(&job.request, job.max_body, job.started);
        (job.reply)(result);
    }
}
