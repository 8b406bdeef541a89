//! Reading HTTP/1.x messages: response and request heads with httparse, bodies framed by
//! Content-Length, `Transfer-Encoding: chunked` (`httparse::parse_chunk_size`) or the end of
//! the connection, following RFC 9112 §6.3. All arithmetic on peer-supplied sizes is checked
//! and every size has a limit, so hostile input gives an [`Error`], never a panic or an
//! unbounded allocation.
use std::io::Read;

use crate::error::Error;

/// How much of a message head the reader accepts.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Start line plus headers (and, separately, a chunked body's trailers), in bytes.
    pub max_head: usize,
    pub max_headers: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_head: 64 * 1024,
            max_headers: 100,
        }
    }
}

/// What to do with a body longer than the caller wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLimit {
    /// Fail with [`Error::TooLarge`].
    Reject(usize),
    /// Keep the first bytes, as Go's `io.LimitReader` does; the connection is then unusable.
    Truncate(usize),
}

impl BodyLimit {
    fn max(self) -> usize {
        match self {
            BodyLimit::Reject(n) | BodyLimit::Truncate(n) => n,
        }
    }
}

/// How a body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Empty,
    Length(u64),
    Chunked,
    UntilClose,
}

/// A response as read from the wire; header names as the peer spelled them, in wire order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub version: u8,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether the connection may carry another exchange.
    pub keep_alive: bool,
    /// The body was cut at a [`BodyLimit::Truncate`] limit.
    pub truncated: bool,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// A response head; `keep_alive` holds once its body has been read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub version: u8,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub framing: Framing,
    pub keep_alive: bool,
}

/// A request as read from the wire (for test stand-ins and small servers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The request target as sent (`/path?query`).
    pub target: String,
    pub version: u8,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// Whether the client wants the connection kept open after the answer.
    pub fn keep_alive(&self) -> bool {
        keep_alive(self.version, &self.headers)
    }
}

/// The first value of header `name` (case-insensitive).
pub fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Whether `token` is in any of the comma-separated values of header `name`.
fn has_token(headers: &[(String, String)], name: &str, token: &str) -> bool {
    headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

fn keep_alive(version: u8, headers: &[(String, String)]) -> bool {
    if version >= 1 {
        !has_token(headers, "connection", "close")
    } else {
        has_token(headers, "connection", "keep-alive")
    }
}

/// The Content-Length, if any: every value (repeated headers, comma lists) must be the same
/// run of digits (RFC 9110 §8.6); anything else is malformed rather than guessed at.
fn content_length(headers: &[(String, String)]) -> Result<Option<u64>, Error> {
    let mut found: Option<u64> = None;
    let values = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .flat_map(|(_, v)| v.split(','));
    for raw in values {
        let v = raw.trim();
        let n = if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
            v.parse::<u64>().ok()
        } else {
            None
        };
        let n = n.ok_or_else(|| Error::Malformed(format!("bad content-length {v:?}")))?;
        if found.is_some_and(|f| f != n) {
            return Err(Error::Malformed("conflicting content-length values".into()));
        }
        found = Some(n);
    }
    Ok(found)
}

/// Whether the last transfer coding is `chunked` (`None`: no Transfer-Encoding at all).
fn chunked(headers: &[(String, String)]) -> Option<bool> {
    let codings: Vec<&str> = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("transfer-encoding"))
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    let last = codings.last()?;
    Some(last.eq_ignore_ascii_case("chunked"))
}

/// RFC 9112 §6.3 for a response to a request with `method_head` saying whether it was HEAD.
pub fn response_framing(
    status: u16,
    method_head: bool,
    headers: &[(String, String)],
) -> Result<Framing, Error> {
    if method_head || (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(Framing::Empty);
    }
    match chunked(headers) {
        Some(true) => Ok(Framing::Chunked),
        Some(false) => Ok(Framing::UntilClose),
        None => Ok(content_length(headers)?.map_or(Framing::UntilClose, Framing::Length)),
    }
}

/// RFC 9112 §6.3 for a request: chunked, a length, or no body.
pub fn request_framing(headers: &[(String, String)]) -> Result<Framing, Error> {
    match chunked(headers) {
        Some(true) => Ok(Framing::Chunked),
        Some(false) => Err(Error::Malformed(
            "request transfer coding does not end in chunked".into(),
        )),
        None => Ok(content_length(headers)?.map_or(Framing::Empty, Framing::Length)),
    }
}

/// A head parsed by httparse, owned.
struct Head {
    version: u8,
    /// Status code (responses) or method and target (requests).
    status: u16,
    reason: String,
    method: String,
    target: String,
    headers: Vec<(String, String)>,
}

fn owned_headers(headers: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|h| {
            let value = String::from_utf8_lossy(h.value).trim().to_string();
            (h.name.to_string(), value)
        })
        .collect()
}

fn head_error(e: httparse::Error) -> Error {
    match e {
        httparse::Error::TooManyHeaders => Error::TooLarge("too many header fields".into()),
        other => Error::Malformed(other.to_string()),
    }
}

fn parse_response_head(buf: &[u8], slots: usize) -> Result<Option<(usize, Head)>, Error> {
    let mut headers = vec![httparse::EMPTY_HEADER; slots];
    let mut r = httparse::Response::new(&mut headers);
    match r.parse(buf).map_err(head_error)? {
        httparse::Status::Partial => Ok(None),
        httparse::Status::Complete(n) => Ok(Some((
            n,
            Head {
                version: r.version.unwrap_or(1),
                status: r.code.unwrap_or(0),
                reason: r.reason.unwrap_or("").to_string(),
                method: String::new(),
                target: String::new(),
                headers: owned_headers(r.headers),
            },
        ))),
    }
}

fn parse_request_head(buf: &[u8], slots: usize) -> Result<Option<(usize, Head)>, Error> {
    let mut headers = vec![httparse::EMPTY_HEADER; slots];
    let mut r = httparse::Request::new(&mut headers);
    match r.parse(buf).map_err(head_error)? {
        httparse::Status::Partial => Ok(None),
        httparse::Status::Complete(n) => Ok(Some((
            n,
            Head {
                version: r.version.unwrap_or(1),
                status: 0,
                reason: String::new(),
                method: r.method.unwrap_or("").to_string(),
                target: r.path.unwrap_or("").to_string(),
                headers: owned_headers(r.headers),
            },
        ))),
    }
}

type HeadParser = fn(&[u8], usize) -> Result<Option<(usize, Head)>, Error>;

/// The longest chunk-size line (size and extensions) accepted.
const MAX_CHUNK_LINE: usize = 4096;
/// How much is read from the peer at a time.
const READ_SIZE: usize = 16 * 1024;

/// A buffered reader of HTTP/1.x messages over `R`; bytes after one message stay buffered for
/// the next (keep-alive, pipelining).
pub struct MessageReader<R> {
    inner: R,
    /// Received bytes are `buf[pos..end]`. The rest of `buf` is initialized space for the
    /// next read, kept between reads so each one does not zero READ_SIZE bytes again.
    buf: Vec<u8>,
    pos: usize,
    end: usize,
}

impl<R: Read> MessageReader<R> {
    pub fn new(inner: R) -> MessageReader<R> {
        MessageReader {
            inner,
            buf: Vec::new(),
            pos: 0,
            end: 0,
        }
    }

    /// A reader whose first bytes were already received (`buffered`); more, if needed, come
    /// from `inner`. For a caller that gathers bytes itself (a non-blocking loop): a
    /// complete message in `buffered` is read without any call on `inner`.
    pub fn with_buffered(inner: R, buffered: Vec<u8>) -> MessageReader<R> {
        let end = buffered.len();
        MessageReader {
            inner,
            buf: buffered,
            pos: 0,
            end,
        }
    }

    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The underlying stream, e.g. to write the next request. Buffered bytes stay here.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Bytes received but not yet consumed.
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    /// Reads more bytes from the peer; `Ok(0)` at the end of the connection.
    fn fill(&mut self, doing: &str, started: bool) -> Result<usize, Error> {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        let len = self.end;
        if self.buf.len() < len + READ_SIZE {
            self.buf.resize(len + READ_SIZE, 0);
        }
        let result = loop {
            match self.inner.read(&mut self.buf[len..len + READ_SIZE]) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // rustls reports a peer that closed without close_notify this way. Where the
                // end matters (heads, lengths, chunks) the callers detect it as a short read;
                // a body delimited by the close ends there, as Go's client takes it.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break Ok(0),
                other => break other,
            }
        };
        self.end = len + result.as_ref().map_or(0, |n| *n);
        result.map_err(|e| Error::from_io(&e, doing, started))
    }

    /// Takes up to `max` buffered bytes.
    fn take(&mut self, max: usize) -> &[u8] {
        let n = max.min(self.end - self.pos);
        let start = self.pos;
        self.pos += n;
        &self.buf[start..start + n]
    }

    /// Reads one head; `Ok(None)` when the peer closed before sending any byte of it.
    fn read_head(
        &mut self,
        limits: &Limits,
        parse: HeadParser,
        what: &str,
    ) -> Result<Option<Head>, Error> {
        loop {
            let pending = &self.buf[self.pos..self.end];
            if let Some((used, head)) = parse(pending, limits.max_headers)? {
                if used > limits.max_head {
                    return Err(Error::TooLarge(format!(
                        "{what} head over {} bytes",
                        limits.max_head
                    )));
                }
                self.pos += used;
                return Ok(Some(head));
            }
            if pending.len() > limits.max_head {
                return Err(Error::TooLarge(format!(
                    "{what} head over {} bytes",
                    limits.max_head
                )));
            }
            let started = !pending.is_empty();
            if self.fill(&format!("reading the {what} head"), started)? == 0 {
                if !started {
                    return Ok(None);
                }
                return Err(Error::Io(format!(
                    "connection closed inside the {what} head"
                )));
            }
        }
    }

    /// Reads one response head (to a HEAD request when `method_head`), skipping interim 1xx
    /// answers (101 excepted, which ends HTTP/1.1 on the connection). The body follows with
    /// [`MessageReader::read_body`] and the head's `framing`.
    pub fn read_response_head(
        &mut self,
        method_head: bool,
        limits: &Limits,
    ) -> Result<ResponseHead, Error> {
        let head = loop {
            let head = self
                .read_head(limits, parse_response_head, "response")?
                .ok_or(Error::ClosedBeforeAnswer)?;
            if head.status < 100 {
                return Err(Error::Malformed(format!("status code {:03}", head.status)));
            }
            if !(100..200).contains(&head.status) || head.status == 101 {
                break head;
            }
        };
        let framing = response_framing(head.status, method_head, &head.headers)?;
        let keep_alive = head.status != 101
            && framing != Framing::UntilClose
            && keep_alive(head.version, &head.headers);
        Ok(ResponseHead {
            version: head.version,
            status: head.status,
            reason: head.reason,
            headers: head.headers,
            framing,
            keep_alive,
        })
    }

    /// Reads one whole response: [`MessageReader::read_response_head`], then the body.
    pub fn read_response(
        &mut self,
        method_head: bool,
        limits: &Limits,
        body_limit: BodyLimit,
    ) -> Result<Response, Error> {
        let head = self.read_response_head(method_head, limits)?;
        let (body, complete) = self.read_body(head.framing, body_limit)?;
        Ok(Response {
            version: head.version,
            status: head.status,
            reason: head.reason,
            headers: head.headers,
            body,
            keep_alive: head.keep_alive && complete,
            truncated: !complete,
        })
    }

    /// Reads one request; `Ok(None)` when the client closed the connection between requests.
    pub fn read_request(
        &mut self,
        limits: &Limits,
        body_limit: BodyLimit,
    ) -> Result<Option<Request>, Error> {
        let Some(head) = self.read_head(limits, parse_request_head, "request")? else {
            return Ok(None);
        };
        let framing = request_framing(&head.headers)?;
        let (body, _) = self.read_body(framing, body_limit)?;
        Ok(Some(Request {
            method: head.method,
            target: head.target,
            version: head.version,
            headers: head.headers,
            body,
        }))
    }

    /// Reads a body framed as `framing`; the flag is false when it was cut at the limit.
    pub fn read_body(
        &mut self,
        framing: Framing,
        limit: BodyLimit,
    ) -> Result<(Vec<u8>, bool), Error> {
        match framing {
            Framing::Empty => Ok((Vec::new(), true)),
            Framing::Length(n) => self.read_length(n, limit),
            Framing::Chunked => self.read_chunked(limit),
            Framing::UntilClose => self.read_until_close(limit),
        }
    }

    fn read_length(&mut self, len: u64, limit: BodyLimit) -> Result<(Vec<u8>, bool), Error> {
        let max = limit.max();
        let fits = usize::try_from(len).ok().filter(|l| *l <= max);
        let want = match (fits, limit) {
            (Some(l), _) => l,
            (None, BodyLimit::Reject(_)) => {
                return Err(Error::TooLarge(format!("body of {len} bytes, limit {max}")))
            }
            (None, BodyLimit::Truncate(_)) => max,
        };
        let mut body = Vec::new();
        self.append(&mut body, want, "reading the body")?;
        Ok((body, fits.is_some()))
    }

    /// Appends exactly `n` more bytes to `body`.
    fn append(&mut self, body: &mut Vec<u8>, n: usize, doing: &str) -> Result<(), Error> {
        let mut left = n;
        while left > 0 {
            if self.pos == self.end && self.fill(doing, true)? == 0 {
                return Err(Error::Io(format!(
                    "connection closed {doing} ({left} bytes missing)"
                )));
            }
            let got = self.take(left);
            left -= got.len();
            body.extend_from_slice(got);
        }
        Ok(())
    }

    fn read_until_close(&mut self, limit: BodyLimit) -> Result<(Vec<u8>, bool), Error> {
        let max = limit.max();
        let mut body = Vec::new();
        loop {
            let room = max - body.len();
            let got = self.take(room.saturating_add(1));
            body.extend_from_slice(got);
            if body.len() > max {
                return match limit {
                    BodyLimit::Reject(_) => Err(Error::TooLarge(format!("body over {max} bytes"))),
                    BodyLimit::Truncate(_) => {
                        body.truncate(max);
                        Ok((body, false))
                    }
                };
            }
            if self.fill("reading the body", true)? == 0 {
                return Ok((body, true));
            }
        }
    }

    /// The next chunk-size line: `hex[;ext]CRLF`, at least one hex digit, size as u64.
    fn chunk_size(&mut self) -> Result<u64, Error> {
        loop {
            let pending = &self.buf[self.pos..self.end];
            if let Some(first) = pending.first() {
                if !first.is_ascii_hexdigit() {
                    return Err(Error::Malformed(format!(
                        "bad chunk size line starting {:?}",
                        *first as char
                    )));
                }
            }
            match httparse::parse_chunk_size(pending) {
                Ok(httparse::Status::Complete((used, size))) => {
                    self.pos += used;
                    return Ok(size);
                }
                Ok(httparse::Status::Partial) => {}
                Err(_) => return Err(Error::Malformed("bad chunk size line".into())),
            }
            if pending.len() > MAX_CHUNK_LINE {
                return Err(Error::TooLarge(format!(
                    "chunk size line over {MAX_CHUNK_LINE} bytes"
                )));
            }
            if self.fill("reading a chunk size", true)? == 0 {
                return Err(Error::Io("connection closed inside a chunked body".into()));
            }
        }
    }

    fn read_chunked(&mut self, limit: BodyLimit) -> Result<(Vec<u8>, bool), Error> {
        let max = limit.max();
        let mut body = Vec::new();
        loop {
            let size = self.chunk_size()?;
            if size == 0 {
                self.skip_trailers()?;
                return Ok((body, true));
            }
            let total = usize::try_from(size)
                .ok()
                .and_then(|s| body.len().checked_add(s));
            match (total.filter(|t| *t <= max), limit) {
                (Some(_), _) => {}
                (None, BodyLimit::Reject(_)) => {
                    return Err(Error::TooLarge(format!(
                        "chunked body over {max} bytes (chunk of {size})"
                    )))
                }
                (None, BodyLimit::Truncate(_)) => {
                    let room = max - body.len();
                    self.append(&mut body, room, "reading a chunk")?;
                    return Ok((body, false));
                }
            }
            // `size` fits: total <= max, a usize.
            let size = usize::try_from(size).unwrap_or(0);
            self.append(&mut body, size, "reading a chunk")?;
            let mut crlf = Vec::with_capacity(2);
            self.append(&mut crlf, 2, "reading a chunk end")?;
            if crlf != b"\r\n" {
                return Err(Error::Malformed("chunk data not followed by CRLF".into()));
            }
        }
    }

    /// Trailer fields after the last chunk, up to an empty line: read and dropped (bounded).
    fn skip_trailers(&mut self) -> Result<(), Error> {
        let mut seen = 0usize;
        loop {
            let pending = &self.buf[self.pos..self.end];
            if let Some(i) = pending.iter().position(|b| *b == b'\n') {
                let line_len = i + 1;
                let empty = pending[..i].iter().all(|b| *b == b'\r');
                self.pos += line_len;
                seen = seen.saturating_add(line_len);
                if empty {
                    return Ok(());
                }
            } else if pending.len() > Limits::default().max_head {
                return Err(Error::TooLarge("trailer line too long".into()));
            } else if self.fill("reading trailers", true)? == 0 {
                return Err(Error::Io("connection closed inside the trailers".into()));
            }
            if seen > Limits::default().max_head {
                return Err(Error::TooLarge("trailers too long".into()));
            }
        }
    }
}
