//! HTTP/1.1 client transport: one keep-alive connection over plain TCP or rustls, with
//! connect/read/write timeouts, reconnecting when the peer closed an idle connection.
//!
//! Responses are read as: status line, headers, then a body delimited by
//! `Transfer-Encoding: chunked`, `Content-Length`, or the end of the connection.
//!
//! TLS roots: webpki-roots (Mozilla's root program compiled into the binary). The edge and
//! container images this runs in may have no CA bundle at all, and a compiled-in store makes
//! behaviour identical everywhere; the cost is that a root change needs a crate update.
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::error::ErrorKind;
use super::url::{Scheme, Url};

const MAX_HEAD_LINE: u64 = 16 * 1024;
const MAX_HEADERS: usize = 128;
/// Ten 1 MiB messages, XML-escaped, fit easily.
const MAX_BODY: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.sock,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

struct Connection {
    scheme: Scheme,
    host: String,
    port: u16,
    io: BufReader<Stream>,
}

/// Owns at most one open connection, replaced when a request goes to another origin.
pub struct Transport {
    conn: Option<Connection>,
    connect_timeout: Duration,
    write_timeout: Duration,
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
        }
    }

    /// Sends `request` (complete bytes) to `url`'s origin and reads the answer, waiting at
    /// most `read_timeout` between bytes.
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
        let result = exchange(conn, request, read_timeout);
        match &result {
            Ok((_, keep_alive)) if *keep_alive => {}
            _ => self.conn = None,
        }
        result.map(|(r, _)| r)
    }

    fn connect(&self, url: &Url) -> Result<Connection, ErrorKind> {
        let target = format!("{}:{}", url.host, url.port);
        let addrs: Vec<_> = (url.host.as_str(), url.port)
            .to_socket_addrs()
            .map_err(|e| ErrorKind::Connect(format!("resolving {target}: {e}")))?
            .collect();
        let mut last = ErrorKind::Connect(format!("{target} resolved to no address"));
        let mut tcp = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.connect_timeout) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) if is_timeout(&e) => {
                    last = ErrorKind::Timeout(format!(
                        "connecting to {addr} took over {:?}",
                        self.connect_timeout
                    ))
                }
                Err(e) => last = ErrorKind::Connect(format!("connecting to {addr}: {e}")),
            }
        }
        let tcp = tcp.ok_or(last)?;
        let io_err = |e: io::Error| ErrorKind::Io(format!("configuring socket to {target}: {e}"));
        tcp.set_nodelay(true).map_err(io_err)?;
        tcp.set_write_timeout(Some(self.write_timeout))
            .map_err(io_err)?;
        let stream = match url.scheme {
            Scheme::Http => Stream::Plain(tcp),
            Scheme::Https => {
                let config = tls_config().map_err(ErrorKind::Connect)?;
                let name =
                    rustls::pki_types::ServerName::try_from(url.host.clone()).map_err(|e| {
                        ErrorKind::Connect(format!("tls server name {}: {e}", url.host))
                    })?;
                let conn = rustls::ClientConnection::new(config, name)
                    .map_err(|e| ErrorKind::Connect(format!("tls setup for {target}: {e}")))?;
                Stream::Tls(Box::new(rustls::StreamOwned::new(conn, tcp)))
            }
        };
        Ok(Connection {
            scheme: url.scheme,
            host: url.host.clone(),
            port: url.port,
            io: BufReader::with_capacity(64 * 1024, stream),
        })
    }
}

fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
                .map_err(|e| format!("tls configuration: {e}"))
        })
        .clone()
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

fn io_kind(e: &io::Error, doing: &str) -> ErrorKind {
    if is_timeout(e) {
        ErrorKind::Timeout(format!("{doing}: {e}"))
    } else if e.kind() == io::ErrorKind::InvalidData {
        // rustls reports handshake and certificate failures (and we report over-long header
        // lines) as InvalidData: retrying will not fix those.
        ErrorKind::Protocol(format!("{doing}: {e}"))
    } else {
        ErrorKind::Io(format!("{doing}: {e}"))
    }
}

fn is_closed(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
            | io::ErrorKind::NotConnected
    )
}

/// Writes the request and reads one response. Ok carries whether the connection may be reused.
fn exchange(
    conn: &mut Connection,
    request: &[u8],
    read_timeout: Duration,
) -> Result<(Response, bool), Failure> {
    let stream = conn.io.get_mut();
    if let Err(e) = stream.write_all(request).and_then(|_| stream.flush()) {
        let kind = io_kind(&e, "sending request");
        return Err(if is_closed(&e) {
            Failure::Stale(kind)
        } else {
            Failure::Fatal(kind)
        });
    }
    stream
        .tcp()
        .set_read_timeout(Some(read_timeout))
        .map_err(|e| Failure::Fatal(io_kind(&e, "setting read timeout")))?;

    // Status line and headers; interim 1xx answers are skipped.
    let (version, status, headers) = loop {
        let line = match read_line(&mut conn.io) {
            Ok(Some(l)) => l,
            Ok(None) => {
                return Err(Failure::Stale(ErrorKind::Io(
                    "connection closed before an answer".to_string(),
                )))
            }
            Err(e) if is_closed(&e) => return Err(Failure::Stale(io_kind(&e, "reading answer"))),
            Err(e) => return Err(Failure::Fatal(io_kind(&e, "reading answer"))),
        };
        let (version, status) = parse_status_line(&line).map_err(Failure::Fatal)?;
        let headers = read_headers(&mut conn.io).map_err(Failure::Fatal)?;
        if !(100..200).contains(&status) {
            break (version, status, headers);
        }
    };
    let header = |name: &'static str| {
        headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.to_ascii_lowercase())
    };
    let connection_tokens: Vec<String> = header("connection").collect();
    let mut keep_alive = if version == 1 {
        !connection_tokens.iter().any(|v| v.contains("close"))
    } else {
        connection_tokens.iter().any(|v| v.contains("keep-alive"))
    };
    let chunked = header("transfer-encoding").any(|v| v.contains("chunked"));
    let body = if status == 204 || status == 304 {
        Vec::new()
    } else if chunked {
        read_chunked(&mut conn.io).map_err(Failure::Fatal)?
    } else if let Some(len) = header("content-length").next() {
        let len: usize = len.parse().map_err(|_| {
            Failure::Fatal(ErrorKind::Protocol(format!("bad content-length {len:?}")))
        })?;
        if len > MAX_BODY {
            return Err(Failure::Fatal(ErrorKind::Protocol(format!(
                "answer body of {len} bytes is over the {MAX_BODY}-byte limit"
            ))));
        }
        let mut body = vec![0; len];
        conn.io
            .read_exact(&mut body)
            .map_err(|e| Failure::Fatal(io_kind(&e, "reading answer body")))?;
        body
    } else {
        // Delimited by the end of the connection, which therefore cannot be reused.
        keep_alive = false;
        let mut body = Vec::new();
        conn.io
            .by_ref()
            .take(MAX_BODY as u64 + 1)
            .read_to_end(&mut body)
            .map_err(|e| Failure::Fatal(io_kind(&e, "reading answer body")))?;
        if body.len() > MAX_BODY {
            return Err(Failure::Fatal(ErrorKind::Protocol(
                "answer body over the size limit".to_string(),
            )));
        }
        body
    };
    Ok((
        Response {
            status,
            headers,
            body,
        },
        keep_alive,
    ))
}

/// `size[;ext]\r\n data \r\n` ... `0\r\n` trailers `\r\n`.
fn read_chunked(r: &mut BufReader<Stream>) -> Result<Vec<u8>, ErrorKind> {
    let mut body = Vec::new();
    loop {
        let line = read_line(r)
            .map_err(|e| io_kind(&e, "reading chunk size"))?
            .ok_or_else(|| ErrorKind::Io("connection closed inside a chunked body".to_string()))?;
        let text = String::from_utf8_lossy(&line);
        let size_text = text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| ErrorKind::Protocol(format!("bad chunk size {size_text:?}")))?;
        if size == 0 {
            // Trailers (ignored) end with an empty line.
            loop {
                let t = read_line(r)
                    .map_err(|e| io_kind(&e, "reading trailers"))?
                    .ok_or_else(|| ErrorKind::Io("connection closed in trailers".to_string()))?;
                if t.is_empty() {
                    return Ok(body);
                }
            }
        }
        if body.len() + size > MAX_BODY {
            return Err(ErrorKind::Protocol(
                "chunked answer over the size limit".to_string(),
            ));
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..])
            .map_err(|e| io_kind(&e, "reading chunk"))?;
        let end = read_line(r).map_err(|e| io_kind(&e, "reading chunk end"))?;
        if end.as_deref() != Some(&[][..]) {
            return Err(ErrorKind::Protocol(
                "chunk not followed by CRLF".to_string(),
            ));
        }
    }
}

fn read_line(r: &mut BufReader<Stream>) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let n = r
        .by_ref()
        .take(MAX_HEAD_LINE)
        .read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        if n as u64 >= MAX_HEAD_LINE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "header line too long",
            ));
        }
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed mid-line",
        ));
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Some(line))
}

fn parse_status_line(line: &[u8]) -> Result<(u8, u16), ErrorKind> {
    let text = std::str::from_utf8(line)
        .map_err(|_| ErrorKind::Protocol("status line is not utf-8".to_string()))?;
    let mut parts = text.splitn(3, ' ');
    let version = match parts.next() {
        Some("HTTP/1.1") => 1,
        Some("HTTP/1.0") => 0,
        _ => {
            return Err(ErrorKind::Protocol(format!(
                "not an HTTP/1.x status line: {text:?}"
            )))
        }
    };
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..1000).contains(s))
        .ok_or_else(|| ErrorKind::Protocol(format!("bad status line: {text:?}")))?;
    Ok((version, status))
}

fn read_headers(r: &mut BufReader<Stream>) -> Result<Vec<(String, String)>, ErrorKind> {
    let mut headers = Vec::new();
    loop {
        let line = read_line(r)
            .map_err(|e| io_kind(&e, "reading headers"))?
            .ok_or_else(|| ErrorKind::Io("connection closed inside headers".to_string()))?;
        if line.is_empty() {
            return Ok(headers);
        }
        if headers.len() >= MAX_HEADERS {
            return Err(ErrorKind::Protocol("too many headers".to_string()));
        }
        let text = String::from_utf8_lossy(&line);
        let (name, value) = text
            .split_once(':')
            .ok_or_else(|| ErrorKind::Protocol(format!("bad header line: {text:?}")))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
}
