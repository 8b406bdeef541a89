//! The webhook sink: each batch is one HTTP/1.1 POST (a JSON array of the records, or NDJSON),
//! answered 2xx or not at all. Only a 2xx answer counts as accepted, so a batch is deleted
//! whole or not at all. Every step has a deadline (`--sink-timeout` for connect, for writing
//! the request and for the answer's head); a failed POST is retried with backoff
//! (`--sink-retries`) unless the endpoint's answer says retrying cannot help (a 4xx other
//! than 408/429).
//!
//! Plain `http://` only: the connection is a `std::net::TcpStream` and the answer's head is
//! read with httparse (the body is not needed and not read).
use crate::args::{BatchFormat, WebhookSettings};
use sigv4::Backoff;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// An answer's head larger than this is refused (a hostile endpoint cannot grow memory).
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Where POSTs go: `http://HOST[:PORT][/PATH][?QUERY]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    host: String,
    port: u16,
    /// Path and query, starting with '/'.
    target: String,
}

impl WebhookUrl {
    pub fn parse(text: &str) -> Result<WebhookUrl, String> {
        if text.starts_with("https://") {
            return Err(format!(
                "webhook '{text}': https is not supported yet (use http:// behind a local \
                 TLS-terminating proxy)"
            ));
        }
        let rest = text
            .strip_prefix("http://")
            .ok_or_else(|| format!("webhook '{text}' must start with http://"))?;
        let (authority, target) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_string()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_string()),
        };
        let bad = |why: &str| format!("webhook '{text}': {why}");
        if authority.contains('@') {
            return Err(bad(
                "credentials in the URL are not supported; use --sink-token-file",
            ));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
                let port = p.parse::<u16>().map_err(|_| bad("invalid port"))?;
                (h, port)
            }
            _ => (authority, 80),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let valid_host = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b));
        if !valid_host || port == 0 {
            return Err(bad("invalid host or port"));
        }
        if target.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(bad(
                "the path must not contain spaces or control characters",
            ));
        }
        Ok(WebhookUrl {
            host: host.to_string(),
            port,
            target,
        })
    }

    fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 80 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

pub struct Webhook {
    url: WebhookUrl,
    settings: WebhookSettings,
}

/// Why one POST did not count as accepted, and whether another try may do better.
struct Failure {
    why: String,
    retry: bool,
}

impl Webhook {
    pub fn new(url: WebhookUrl, settings: WebhookSettings) -> Webhook {
        Webhook { url, settings }
    }

    /// POSTs the records as one body until a 2xx answer, at most `1 + retries` times. An
    /// error means the endpoint did not accept the batch: none of it may be deleted.
    pub fn post_batch(&mut self, lines: &[String]) -> io::Result<()> {
        let body = batch_body(self.settings.format, lines);
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        let attempts = 1 + self.settings.retries;
        for attempt in 1..=attempts {
            match self.post_once(&body) {
                Ok(()) => return Ok(()),
                Err(f) if f.retry && attempt < attempts => {
                    let delay = backoff.next_delay();
                    eprintln!(
                        "puller: warning: webhook POST failed (attempt {attempt} of {attempts}), \
                         retrying in {delay:.1?}: {}",
                        safe_text::inert(&f.why)
                    );
                    std::thread::sleep(delay);
                }
                Err(f) => return Err(io::Error::other(format!("webhook: {}", f.why))),
            }
        }
        Err(io::Error::other("webhook: no attempt was made"))
    }

    fn post_once(&self, body: &[u8]) -> Result<(), Failure> {
        let timeout = self.settings.timeout;
        let retry = |why: String| Failure { why, retry: true };
        let mut stream = connect(&self.url, timeout).map_err(retry)?;
        let io = |what: &str, e: io::Error| Failure {
            why: match timed_out(&e) {
                true => format!("{what}: not done before the deadline ({timeout:?})"),
                false => format!("{what}: {e}"),
            },
            retry: true,
        };
        stream
            .set_write_timeout(Some(timeout))
            .map_err(|e| io("set write deadline", e))?;
        stream
            .set_read_timeout(Some(timeout))
            .map_err(|e| io("set read deadline", e))?;
        let request = self.request_head(body.len());
        stream
            .write_all(request.as_bytes())
            .and_then(|()| stream.write_all(body))
            .and_then(|()| stream.flush())
            .map_err(|e| io("sending the batch", e))?;
        let status = read_status(&mut stream, Instant::now() + timeout)?;
        match status {
            200..=299 => Ok(()),
            408 | 429 | 500..=599 => Err(retry(format!("endpoint answered {status}"))),
            _ => Err(Failure {
                why: format!("endpoint answered {status} (not retried)"),
                retry: false,
            }),
        }
    }

    fn request_head(&self, length: usize) -> String {
        let content_type = match self.settings.format {
            BatchFormat::JsonArray => "application/json",
            BatchFormat::Ndjson => "application/x-ndjson",
        };
        let mut head = format!(
            "POST {} HTTP/1.1\r\nhost: {}\r\ncontent-type: {content_type}\r\n\
             content-length: {length}\r\nconnection: close\r\nuser-agent: edge-sensors-puller\r\n",
            self.url.target,
            self.url.host_header()
        );
        if let Some(token) = &self.settings.token {
            head.push_str(&format!("authorization: Bearer {token}\r\n"));
        }
        head.push_str("\r\n");
        head
    }
}

/// `[r1,r2]` or `r1\nr2\n`: the records are already JSON objects, so no re-encoding.
pub fn batch_body(format: BatchFormat, lines: &[String]) -> Vec<u8> {
    let size: usize = lines.iter().map(|l| l.len() + 1).sum::<usize>() + 2;
    let mut body = Vec::with_capacity(size);
    match format {
        BatchFormat::JsonArray => {
            body.push(b'[');
            for (i, line) in lines.iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(line.as_bytes());
            }
            body.push(b']');
        }
        BatchFormat::Ndjson => {
            for line in lines {
                body.extend_from_slice(line.as_bytes());
                body.push(b'\n');
            }
        }
    }
    body
}

/// Connects to the first address that answers within `timeout`. (Name resolution itself has
/// no deadline in std; a numeric host needs none.)
fn connect(url: &WebhookUrl, timeout: Duration) -> Result<TcpStream, String> {
    let addrs: Vec<SocketAddr> = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", url.host))?
        .collect();
    let mut last = format!("{} resolved to no address", url.host);
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = format!("cannot connect to {addr}: {e}"),
        }
    }
    Err(last)
}

/// A socket deadline passing shows as WouldBlock on Unix, TimedOut elsewhere.
fn timed_out(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Reads until the answer's head is complete (or the deadline passes) and returns its status.
fn read_status(stream: &mut TcpStream, deadline: Instant) -> Result<u16, Failure> {
    let retry = |why: String| Failure { why, retry: true };
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&head) {
            Ok(httparse::Status::Complete(_)) => {
                return response
                    .code
                    .ok_or_else(|| retry("answer without a status".into()))
            }
            Ok(httparse::Status::Partial) => {}
            Err(e) => return Err(retry(format!("malformed answer: {e}"))),
        }
        if head.len() > MAX_HEAD_BYTES {
            return Err(retry(format!(
                "answer head larger than {MAX_HEAD_BYTES} bytes"
            )));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(retry("no answer before the deadline".into()));
        }
        let _ = stream.set_read_timeout(Some(left));
        match stream.read(&mut chunk) {
            Ok(0) => return Err(retry("connection closed before an answer".into())),
            Ok(n) => head.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if timed_out(&e) => return Err(retry("no answer before the deadline".into())),
            Err(e) => return Err(retry(format!("reading the answer: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let u = WebhookUrl::parse("http://127.0.0.1:8080/hook?x=1").expect("url");
        assert_eq!((u.host.as_str(), u.port), ("127.0.0.1", 8080));
        assert_eq!(u.target, "/hook?x=1");
        assert_eq!(u.host_header(), "127.0.0.1:8080");
        let u = WebhookUrl::parse("http://example.com").expect("url");
        assert_eq!((u.port, u.target.as_str()), (80, "/"));
        assert_eq!(u.host_header(), "example.com");
        let u = WebhookUrl::parse("http://[::1]:9000/a").expect("url");
        assert_eq!((u.host.as_str(), u.port), ("::1", 9000));
        assert_eq!(u.host_header(), "[::1]:9000");
        for bad in [
            "ftp://x",
            "http://",
            "http://h:0/",
            "http://h:99999/",
            "http://u:p@h/",
            "http://h/a b",
            "http://h/a\r\nx: y",
        ] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad}");
        }
        assert!(WebhookUrl::parse("https://h/")
            .unwrap_err()
            .contains("not supported"));
    }

    #[test]
    fn batch_bodies() {
        let lines = vec!["{\"a\":1}".to_string(), "{\"b\":\"x\\ny\"}".to_string()];
        let array = batch_body(BatchFormat::JsonArray, &lines);
        let parsed: serde_json::Value = serde_json::from_slice(&array).expect("json");
        assert_eq!(parsed.as_array().map(Vec::len), Some(2));
        let nd = String::from_utf8(batch_body(BatchFormat::Ndjson, &lines)).expect("utf8");
        assert_eq!(nd, "{\"a\":1}\n{\"b\":\"x\\ny\"}\n");
    }
}
