//! The guests' HTTP/1.1 client, behaving as Go's `net/http` client under Bacalhau's host
//! (pkg/executor/wasm/funcs/http/http.go at v1.7.0: `http.Client{Timeout: 30s}` on Go's
//! default transport): http and https (rustls, webpki roots plus `--ca-file`), keep-alive
//! connections pooled per origin, redirects as `redirect.rs` describes, one deadline for the
//! whole request (from the guest's call) on every socket operation.
//!
//! Failures map as Bacalhau maps Go's errors: a timeout before the response head is complete
//! (connect, TLS handshake, send, head) is [`Failure::Timeout`] (code 3); everything else,
//! including a timeout or a broken connection while reading the body, is
//! [`Failure::Network`] (code 2).
use super::headers::{canonical_key, encode_request, wants_close};
use super::message::{Failure, Request, Response};
use super::redirect::{follow, MAX_REDIRECTS};
use super::resolve::Resolver;
use super::url::{Scheme, Url};
use http1::tls::TlsConnector;
use http1::{BodyLimit, DeadlineStream, Limits, MessageReader, ResponseHead, Stream};
use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long Bacalhau's host waits for a whole request (connect + send + answer).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Go's `DefaultTransport.TLSHandshakeTimeout`; its expiry is a timeout error (code 3).
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle connections kept per origin; more than this and the newest returns are closed.
const MAX_IDLE_PER_HOST: usize = 256;

type Conn = MessageReader<Stream>;
type Origin = (Scheme, String, u16);

/// The connection pool, the resolver it dials through and the TLS trust it verifies with.
pub struct Client {
    resolver: Resolver,
    tls: TlsConnector,
    idle: Mutex<HashMap<Origin, Vec<Conn>>>,
    timeout: Duration,
}

/// Why one exchange on one connection failed.
enum Exchange {
    /// Nothing came back on a reused connection: retry on a fresh one.
    Stale,
    Failed(Failure),
}

impl Client {
    /// A client whose requests time out after `timeout` (Bacalhau: [`REQUEST_TIMEOUT`]).
    pub fn new(resolver: Resolver, timeout: Duration, tls: TlsConnector) -> Client {
        Client {
            resolver,
            tls,
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
        let mut current = req.clone();
        let mut requests = 0;
        loop {
            let resp = self.send_once(&current, max_body, deadline)?;
            requests += 1;
            let Some(next) = follow(req, &current, &resp)? else {
                return Ok(resp);
            };
            if requests >= MAX_REDIRECTS {
                return Err(Failure::Network(format!(
                    "stopped after {MAX_REDIRECTS} redirects"
                )));
            }
            current = next;
        }
    }

    /// One request on a pooled connection, or a fresh one when the pooled one was stale.
    fn send_once(
        &self,
        req: &Request,
        max_body: usize,
        deadline: Instant,
    ) -> Result<Response, Failure> {
        if Instant::now() >= deadline {
            return Err(Failure::Timeout);
        }
        let target = req.url.target().map_err(Failure::Network)?;
        let wire = encode_request(req, &target).map_err(Failure::Network)?;
        let origin: Origin = (target.scheme, target.host.clone(), target.port);
        let job = Job {
            wire: &wire,
            head_only: req.method == "HEAD",
            close: wants_close(req),
            deadline,
            max_body,
        };
        // A pooled connection may have been closed by the server while idle; if it fails before
        // any answer byte arrived, the request never reached the application, so one retry on a
        // fresh connection is safe.
        if let Some(conn) = self.take_idle(&origin) {
            match job.run(conn) {
                Ok((resp, conn)) => {
                    self.put_idle(origin, conn);
                    return Ok(resp);
                }
                Err(Exchange::Stale) => {}
                Err(Exchange::Failed(f)) => return Err(f),
            }
        }
        let conn = self.connect(&target, deadline)?;
        match job.run(conn) {
            Ok((resp, conn)) => {
                self.put_idle(origin, conn);
                Ok(resp)
            }
            Err(Exchange::Stale) => Err(Failure::Network(
                "connection closed before an answer".into(),
            )),
            Err(Exchange::Failed(f)) => Err(f),
        }
    }

    /// Resolves, connects and (for https) handshakes, all by `deadline` (a lookup or connect
    /// timeout is code 3, as Go's dialer reports it); the handshake also
    /// within Go's [`TLS_HANDSHAKE_TIMEOUT`].
    fn connect(&self, url: &Url, deadline: Instant) -> Result<Conn, Failure> {
        let addrs = self
            .resolver
            .resolve(&url.host, url.port, deadline)
            .map_err(failure)?;
        if addrs.is_empty() {
            return Err(Failure::Network(format!(
                "lookup {}: no such host",
                url.host
            )));
        }
        let tcp = http1::dial(&addrs, deadline).map_err(failure)?;
        let stream = match url.scheme {
            Scheme::Http => Stream::Plain(DeadlineStream::new(tcp, Some(deadline))),
            Scheme::Https => {
                let handshake_by = deadline.min(Instant::now() + TLS_HANDSHAKE_TIMEOUT);
                let socket = DeadlineStream::new(tcp, Some(handshake_by));
                let mut tls = self.tls.connect(socket, &url.host).map_err(failure)?;
                tls.sock.set_deadline(Some(deadline));
                Stream::Tls(Box::new(tls))
            }
        };
        Ok(MessageReader::new(stream))
    }

    fn take_idle(&self, origin: &Origin) -> Option<Conn> {
        let mut idle = self.idle.lock().ok()?;
        idle.get_mut(origin).and_then(Vec::pop)
    }

    fn put_idle(&self, origin: Origin, conn: Option<Conn>) {
        let (Some(conn), Ok(mut idle)) = (conn, self.idle.lock()) else {
            return;
        };
        let list = idle.entry(origin).or_default();
        if list.len() < MAX_IDLE_PER_HOST {
            list.push(conn);
        }
    }
}

/// A failure before the response head was complete: timeouts are code 3, as Go's
/// `url.Error.Timeout()` reports them.
fn failure(e: http1::Error) -> Failure {
    match e {
        http1::Error::TimedOut(_) => Failure::Timeout,
        other => Failure::Network(other.to_string()),
    }
}

/// One exchange's inputs.
struct Job<'a> {
    wire: &'a [u8],
    head_only: bool,
    /// The guest sent `Connection: close`.
    close: bool,
    deadline: Instant,
    max_body: usize,
}

impl Job<'_> {
    /// Writes the request and reads one response; returns the connection if it may be reused.
    fn run(&self, mut conn: Conn) -> Result<(Response, Option<Conn>), Exchange> {
        conn.get_mut().set_deadline(Some(self.deadline));
        self.send(&mut conn)?;
        let head = self.read_head(&mut conn)?;
        // Bacalhau reads the body after `client.Do` returned: any failure now, a timeout
        // included, is its `io.ReadAll` error, code 2.
        let (body, complete) = conn
            .read_body(head.framing, BodyLimit::Truncate(self.max_body))
            .map_err(|e| Exchange::Failed(Failure::Network(format!("reading body: {e}"))))?;
        let reusable = head.keep_alive && complete && !self.close;
        let resp = Response {
            status: head.status,
            headers: go_headers(head.headers),
            body,
        };
        Ok((resp, reusable.then_some(conn)))
    }

    fn send(&self, conn: &mut Conn) -> Result<(), Exchange> {
        let stream = conn.get_mut();
        match stream.write_all(self.wire).and_then(|_| stream.flush()) {
            Ok(()) => Ok(()),
            Err(e) => match http1::Error::from_io(&e, "sending request", false) {
                http1::Error::ClosedBeforeAnswer => Err(Exchange::Stale),
                other => Err(Exchange::Failed(failure(other))),
            },
        }
    }

    fn read_head(&self, conn: &mut Conn) -> Result<ResponseHead, Exchange> {
        match conn.read_response_head(self.head_only, &Limits::default()) {
            Ok(head) => Ok(head),
            Err(http1::Error::ClosedBeforeAnswer) => Err(Exchange::Stale),
            Err(e) => Err(Exchange::Failed(failure(e))),
        }
    }
}

/// Response headers as Go's `http.Response.Header` holds them: canonical names, without
/// `Transfer-Encoding` (Go moves it to `Response.TransferEncoding`).
fn go_headers(headers: Vec<(String, String)>) -> Vec<(String, String)> {
    headers
        .into_iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("transfer-encoding"))
        .map(|(k, v)| (canonical_key(&k), v))
        .collect()
}
