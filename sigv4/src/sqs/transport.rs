//! HTTP/1.1 client transport: one keep-alive connection over plain TCP or rustls,
//! reconnecting when the peer closed an idle connection. The wire work is the shared `http1`
//! crate's: every socket operation runs under an overall deadline (connect and TLS handshake
//! by `connect_timeout`, sending by `write_timeout`, the whole answer by the caller's
//! `read_timeout`), so neither a silent TLS endpoint nor a slow-drip peer can hold a thread
//! past it; answers are read with httparse, checked arithmetic and size limits.
//!
//! TLS roots: webpki-roots (see `http1::tls`).
use std::io::Write;
use std::time::{Duration, Instant};

use http1::tls::TlsConnector;
use http1::{BodyLimit, DeadlineStream, Limits, MessageReader, Stream};

use super::config::default_tls;
use super::error::ErrorKind;
use super::url::{Scheme, Url};

/// Ten 1 MiB messages, XML-escaped, fit easily.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// An answer; header names lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

struct Connection {
    scheme: Scheme,
    host: String,
    port: u16,
    io: MessageReader<Stream>,
}

/// Owns at most one open connection, replaced when a request goes to another origin.
pub struct Transport {
    conn: Option<Connection>,
    connect_timeout: Duration,
    write_timeout: Duration,
    /// For https; `None`: the webpki roots.
    tls: Option<TlsConnector>,
}

/// Why one attempt failed, and whether the request may have reached the server.
enum Failure {
    /// A reused connection turned out to be closed before any answer byte: safe to resend.
    Stale(ErrorKind),
    Fatal(ErrorKind),
}

impl Transport {
    pub fn new(connect_timeout: Duration, write_timeout: Duration) -> Transport {
        Transport {
            conn: None,
            connect_timeout,
            write_timeout,
            tls: None,
        }
    }

    /// https endpoints are trusted as `tls` says.
    pub fn with_tls(mut self, tls: Option<TlsConnector>) -> Transport {
        self.tls = tls;
        self
    }

    /// Sends `request` (complete bytes) to `url`'s origin and reads the answer, which must be
    /// complete within `read_timeout` of the request being sent.
    pub fn round_trip(
        &mut self,
        url: &Url,
        request: &[u8],
        read_timeout: Duration,
    ) -> Result<Response, ErrorKind> {
        let reusable = matches!(&self.conn,
            Some(c) if c.scheme == url.scheme && c.host == url.host && c.port == url.port);
        if !reusable {
            self.conn = None;
        }
        let fresh = self.conn.is_none();
        if fresh {
            self.conn = Some(self.connect(url)?);
        }
        match self.attempt(request, read_timeout) {
            Ok(r) => Ok(r),
            Err(Failure::Fatal(kind)) => Err(kind),
            Err(Failure::Stale(kind)) if fresh => Err(kind),
            Err(Failure::Stale(_)) => {
                // The server closed the idle keep-alive connection; one resend on a new one.
                self.conn = Some(self.connect(url)?);
                self.attempt(request, read_timeout).map_err(|f| match f {
                    Failure::Stale(k) | Failure::Fatal(k) => k,
                })
            }
        }
    }

    fn attempt(&mut self, request: &[u8], read_timeout: Duration) -> Result<Response, Failure> {
        let Some(conn) = self.conn.as_mut() else {
            return Err(Failure::Fatal(ErrorKind::Io("no connection".to_string())));
        };
        let result = exchange(conn, request, self.write_timeout, read_timeout);
        match &result {
            Ok((_, keep_alive)) if *keep_alive => {}
            _ => self.conn = None,
        }
        result.map(|(r, _)| r)
    }

    /// Name lookup plus TCP connect within `connect_timeout`, then for https the TLS handshake
    /// within another `connect_timeout`.
    fn connect(&self, url: &Url) -> Result<Connection, ErrorKind> {
        let target = format!("{}:{}", url.host, url.port);
        let connect_by = Instant::now() + self.connect_timeout;
        let addrs = http1::resolve(&url.host, url.port, connect_by)
            .map_err(|e| connect_error(e, &target))?;
        if addrs.is_empty() {
            return Err(ErrorKind::Connect(format!(
                "{target} resolved to no address"
            )));
        }
        let tcp = http1::dial(&addrs, connect_by).map_err(|e| connect_error(e, &target))?;
        let handshake_by = Some(Instant::now() + self.connect_timeout);
        let socket = DeadlineStream::new(tcp, handshake_by);
        let stream = match url.scheme {
            Scheme::Http => Stream::Plain(socket),
            Scheme::Https => {
                let tls = match &self.tls {
                    Some(tls) => tls.clone(),
                    None => default_tls().map_err(ErrorKind::Connect)?,
                };
                let s = tls
                    .connect(socket, &url.host)
                    .map_err(|e| connect_error(e, &target))?;
                Stream::Tls(Box::new(s))
            }
        };
        Ok(Connection {
            scheme: url.scheme,
            host: url.host.clone(),
            port: url.port,
            io: MessageReader::new(stream),
        })
    }
}

fn connect_error(e: http1::Error, target: &str) -> ErrorKind {
    match e {
        http1::Error::TimedOut(m) => ErrorKind::Timeout(format!("{target}: {m}")),
        // A certificate or protocol failure: retrying will not fix it.
        http1::Error::Tls(m) => ErrorKind::Protocol(format!("{target}: tls: {m}")),
        other => ErrorKind::Connect(format!("{target}: {other}")),
    }
}

fn answer_error(e: http1::Error) -> Failure {
    match e {
        http1::Error::ClosedBeforeAnswer => Failure::Stale(ErrorKind::Io(
            "connection closed before an answer".to_string(),
        )),
        http1::Error::TimedOut(m) => {
            Failure::Fatal(ErrorKind::Timeout(format!("reading answer: {m}")))
        }
        http1::Error::Io(m) => Failure::Fatal(ErrorKind::Io(m)),
        http1::Error::Tls(m) => Failure::Fatal(ErrorKind::Protocol(format!("tls: {m}"))),
        e @ (http1::Error::Malformed(_) | http1::Error::TooLarge(_)) => {
            Failure::Fatal(ErrorKind::Protocol(e.to_string()))
        }
    }
}

/// Writes the request and reads one response. Ok carries whether the connection may be reused.
fn exchange(
    conn: &mut Connection,
    request: &[u8],
    write_timeout: Duration,
    read_timeout: Duration,
) -> Result<(Response, bool), Failure> {
    let stream = conn.io.get_mut();
    stream.set_deadline(Some(Instant::now() + write_timeout));
    if let Err(e) = stream.write_all(request).and_then(|_| stream.flush()) {
        return Err(match http1::Error::from_io(&e, "sending request", false) {
            // Closed before we could send: the server never saw the request.
            http1::Error::ClosedBeforeAnswer => {
                Failure::Stale(ErrorKind::Io(format!("sending request: {e}")))
            }
            http1::Error::TimedOut(m) => Failure::Fatal(ErrorKind::Timeout(m)),
            other => Failure::Fatal(ErrorKind::Io(other.to_string())),
        });
    }
    stream.set_deadline(Some(Instant::now() + read_timeout));
    let resp = conn
        .io
        .read_response(false, &Limits::default(), BodyLimit::Reject(MAX_BODY))
        .map_err(answer_error)?;
    let headers = resp
        .headers
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    Ok((
        Response {
            status: resp.status,
            headers,
            body: resp.body,
        },
        resp.keep_alive,
    ))
}
