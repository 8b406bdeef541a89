//! The HTTP/1.1 server side of one connection as a state machine with no I/O: the worker
//! feeds it the bytes it read, it hands back complete requests, the worker answers them (at
//! once or later, when SQS acknowledged), and it produces the bytes to write, strictly in
//! request order. Unit-tested with byte strings below.
//!
//! States: `ReadingHead` (waiting for `\r\n\r\n`), `ReadingBody` (head parsed, `remaining`
//! body bytes to come), `Closing` (an error answer was queued or the peer asked to close: read
//! nothing more, flush, then close). Requests that wait for their answer sit in `pending`,
//! a FIFO, so a pipelined request answered early still leaves after the earlier ones.
use crate::response::{Response, CONTINUE};
use std::borrow::Cow;
use std::collections::VecDeque;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes of request line + headers (431 beyond).
    pub max_head: usize,
    /// Number of header fields (431 beyond).
    pub max_headers: usize,
    /// Content-Length limit (413 beyond).
    pub max_body: usize,
    /// Unanswered requests per connection before we stop reading from it (back-pressure).
    pub max_pipeline: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_head: 8 * 1024,
            max_headers: 64,
            max_body: 256 * 1024,
            max_pipeline: 64,
        }
    }
}

/// A complete request, handed to the router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Per-connection sequence number; the answer is given back with it.
    pub id: u64,
    pub method: Cow<'static, str>,
    pub path: Cow<'static, str>,
    /// The `Authorization` header's value, for `--auth-token-file`.
    pub authorization: Option<String>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Head {
    method: Cow<'static, str>,
    path: Cow<'static, str>,
    close: bool,
    authorization: Option<String>,
}

/// What a parsed head says that matters here.
struct HeadFields {
    head: Head,
    length: Option<usize>,
    expect_continue: bool,
}

/// The methods and targets nearly every request of the proxy has (its routes, `routes.rs`):
/// these are kept without a copy.
const COMMON_METHODS: [&str; 2] = ["POST", "GET"];
const COMMON_PATHS: [&str; 3] = ["/send", "/health", "/metrics"];

/// `token` without a copy when it is one of `known`.
fn common(token: &str, known: &[&'static str]) -> Cow<'static, str> {
    match known.iter().find(|k| **k == token) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(token.to_string()),
    }
}

impl HeadFields {
    /// Reads the framing and connection headers; `Err` is the status and message to fail with.
    fn from_request(req: &httparse::Request<'_, '_>) -> Result<HeadFields, (u16, String)> {
        let mut fields = HeadFields {
            head: Head {
                method: common(req.method.unwrap_or_default(), &COMMON_METHODS),
                path: common(req.path.unwrap_or_default(), &COMMON_PATHS),
                close: req.version == Some(0),
                authorization: None,
            },
            length: None,
            expect_continue: false,
        };
        for h in req.headers.iter() {
            fields.header(h.name, h.value)?;
        }
        Ok(fields)
    }

    fn header(&mut self, name: &str, value: &[u8]) -> Result<(), (u16, String)> {
        const READ: [&str; 5] = [
            "content-length",
            "transfer-encoding",
            "connection",
            "authorization",
            "expect",
        ];
        // Only the headers read here are decoded (Host, Content-Type, User-Agent... are not).
        if !READ.iter().any(|r| name.eq_ignore_ascii_case(r)) {
            return Ok(());
        }
        let value = String::from_utf8_lossy(value);
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let parsed = match value.parse::<usize>() {
                Ok(n) if value.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => return Err((400, "invalid Content-Length".to_string())),
            };
            if self.length.is_some_and(|l| l != parsed) {
                return Err((400, "conflicting Content-Length headers".to_string()));
            }
            self.length = Some(parsed);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // Chunked bodies are refused rather than half-supported: every client we serve
            // knows its body length up front.
            return Err((
                411,
                "chunked request bodies are not supported; send Content-Length".to_string(),
            ));
        } else if name.eq_ignore_ascii_case("connection") {
            let v = value.to_ascii_lowercase();
            if v.contains("close") {
                self.head.close = true;
            } else if v.contains("keep-alive") {
                self.head.close = false;
            }
        } else if name.eq_ignore_ascii_case("authorization") {
            self.head.authorization = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("expect") {
            self.expect_continue = value.eq_ignore_ascii_case("100-continue");
        }
        Ok(())
    }

    /// The body length, or the status and message when it is missing or too large.
    fn body_length(&self, max_body: usize) -> Result<usize, (u16, String)> {
        let length = match self.length {
            Some(n) => n,
            None if self.head.method == "POST" || self.head.method == "PUT" => {
                return Err((411, "Content-Length required".to_string()));
            }
            None => 0,
        };
        if length > max_body {
            return Err((
                413,
                format!("body of {length} bytes exceeds the {max_body} byte limit"),
            ));
        }
        Ok(length)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    ReadingHead,
    ReadingBody { head: Head, remaining: usize },
    Closing,
}

#[derive(Debug)]
enum Slot {
    /// Waiting for the router/forwarder; `close` = answer with `Connection: close`.
    Waiting { id: u64, close: bool },
    /// Encoded, waiting only for the slots before it.
    Ready(Vec<u8>),
}

#[derive(Debug)]
pub struct HttpConn {
    limits: Limits,
    state: State,
    input: Vec<u8>,
    output: Vec<u8>,
    pending: VecDeque<Slot>,
    next_id: u64,
    /// Set by [`HttpConn::drain`]: answer what was received, accept no new requests.
    draining: bool,
    /// Statuses of error answers this machine produced itself, for the metrics.
    failures: Vec<u16>,
}

impl HttpConn {
    pub fn new(limits: Limits) -> HttpConn {
        HttpConn {
            limits,
            state: State::ReadingHead,
            input: Vec::new(),
            output: Vec::new(),
            pending: VecDeque::new(),
            next_id: 0,
            draining: false,
            failures: Vec::new(),
        }
    }

    /// Takes bytes read from the socket and returns the requests they completed.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Request> {
        if self.state != State::Closing && !self.draining {
            self.input.extend_from_slice(bytes);
        }
        self.parse()
    }

    /// Parses requests already buffered (call after answers freed room in the pipeline).
    pub fn parse(&mut self) -> Vec<Request> {
        let mut requests = Vec::new();
        let mut pos = 0;
        while self.pending.len() < self.limits.max_pipeline && !self.draining {
            match self.step(pos) {
                Step::Consumed(n, request) => {
                    pos += n;
                    requests.extend(request);
                }
                Step::NeedMore => break,
            }
        }
        if self.state == State::Closing {
            // Bytes after an error or after `Connection: close` are never read.
            self.input.clear();
        } else {
            self.input.drain(..pos);
        }
        requests
    }

    fn step(&mut self, pos: usize) -> Step {
        let buf = &self.input[pos..];
        match std::mem::replace(&mut self.state, State::ReadingHead) {
            State::Closing => {
                self.state = State::Closing;
                Step::NeedMore
            }
            State::ReadingBody { head, remaining } => {
                if buf.len() < remaining {
                    self.state = State::ReadingBody { head, remaining };
                    return Step::NeedMore;
                }
                let body = buf[..remaining].to_vec();
                Step::Consumed(remaining, Some(self.accept(head, body)))
            }
            State::ReadingHead => self.parse_head(pos),
        }
    }

    /// In `ReadingHead`: parses a complete head, checks it and either accepts a body-less
    /// request or moves on to reading the body.
    fn parse_head(&mut self, pos: usize) -> Step {
        if self.input.len() <= pos {
            return Step::NeedMore;
        }
        let (head_len, fields) = match self.read_head(pos) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return Step::NeedMore,
            Err((status, message)) => return self.fail(status, &message),
        };
        let length = match fields.body_length(self.limits.max_body) {
            Ok(n) => n,
            Err((status, message)) => return self.fail(status, &message),
        };
        let head = fields.head;
        if length == 0 {
            return Step::Consumed(head_len, Some(self.accept(head, Vec::new())));
        }
        if fields.expect_continue && self.input.len() - pos == head_len {
            // The interim answer goes through the FIFO so it cannot overtake earlier answers.
            self.pending.push_back(Slot::Ready(CONTINUE.to_vec()));
            self.flush_ready();
        }
        self.state = State::ReadingBody {
            head,
            remaining: length,
        };
        Step::Consumed(head_len, None)
    }

    /// Runs httparse over the buffered head: `Ok(None)` when it is not complete yet, else its
    /// length and fields; `Err` is the status and message to fail with.
    fn read_head(&self, pos: usize) -> Result<Option<(usize, HeadFields)>, (u16, String)> {
        let buf = &self.input[pos..];
        // The common limit fits on the stack; only a raised --max-headers allocates.
        let mut on_stack = [httparse::EMPTY_HEADER; 64];
        let mut on_heap = Vec::new();
        let headers: &mut [httparse::Header<'_>] = if self.limits.max_headers <= on_stack.len() {
            &mut on_stack[..self.limits.max_headers]
        } else {
            on_heap.resize(self.limits.max_headers, httparse::EMPTY_HEADER);
            &mut on_heap
        };
        let too_large = || (431, "request head too large".to_string());
        let mut req = httparse::Request::new(headers);
        let head_len = match req.parse(buf) {
            Ok(httparse::Status::Complete(n)) if n <= self.limits.max_head => n,
            Ok(httparse::Status::Complete(_)) => return Err(too_large()),
            Ok(httparse::Status::Partial) if buf.len() > self.limits.max_head => {
                return Err(too_large())
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => {
                return Err((431, "too many header fields".to_string()))
            }
            Err(e) => return Err((400, format!("malformed request: {e}"))),
        };
        HeadFields::from_request(&req).map(|fields| Some((head_len, fields)))
    }
    /// Records a complete request as waiting for its answer.
    fn accept(&mut self, head: Head, body: Vec<u8>) -> Request {
        let id = self.next_id;
        self.next_id += 1;
        self.pending.push_back(Slot::Waiting {
            id,
            close: head.close,
        });
        if head.close {
            // Nothing after a `Connection: close` request is read.
            self.state = State::Closing;
        }
        Request {
            id,
            method: head.method,
            path: head.path,
            authorization: head.authorization,
            body,
        }
    }

    /// Queues an error answer, then closes: after a framing error the byte stream can't be
    /// trusted to contain a next request.
    fn fail(&mut self, status: u16, message: &str) -> Step {
        let mut bytes = Vec::new();
        Response::error(status, message).encode(true, &mut bytes);
        self.failures.push(status);
        self.pending.push_back(Slot::Ready(bytes));
        self.state = State::Closing;
        self.flush_ready();
        Step::NeedMore
    }

    /// Gives request `id` its answer; false (and nothing happens) when it is not waiting for
    /// one (already answered, e.g. 503 when its request budget ran out).
    pub fn respond(&mut self, id: u64, response: &Response) -> bool {
        let found = self
            .pending
            .iter()
            .enumerate()
            .find_map(|(i, slot)| match *slot {
                Slot::Waiting { id: waiting, close } if waiting == id => Some((i, close)),
                _ => None,
            });
        let Some((at, close)) = found else {
            return false;
        };
        let close = close || self.draining;
        if at == 0 {
            // The next answer due (the usual case): straight into the output, no copy.
            response.encode(close, &mut self.output);
            self.pending.pop_front();
        } else {
            let mut bytes = Vec::with_capacity(response.encoded_len_hint());
            response.encode(close, &mut bytes);
            self.pending[at] = Slot::Ready(bytes);
        }
        self.flush_ready();
        true
    }

    /// Whether request `id` still waits for its answer.
    pub fn is_waiting(&self, id: u64) -> bool {
        self.pending
            .iter()
            .any(|slot| matches!(slot, Slot::Waiting { id: w, .. } if *w == id))
    }

    /// Gives every request still waiting `response`; returns how many there were.
    pub fn answer_all_waiting(&mut self, response: &Response) -> usize {
        let waiting: Vec<u64> = self
            .pending
            .iter()
            .filter_map(|slot| match slot {
                Slot::Waiting { id, .. } => Some(*id),
                Slot::Ready(_) => None,
            })
            .collect();
        for &id in &waiting {
            self.respond(id, response);
        }
        waiting.len()
    }

    /// Moves answers at the head of the FIFO to the output.
    fn flush_ready(&mut self) {
        while let Some(Slot::Ready(_)) = self.pending.front() {
            if let Some(Slot::Ready(bytes)) = self.pending.pop_front() {
                self.output.extend_from_slice(&bytes);
            }
        }
    }

    /// Bytes waiting to be written.
    pub fn output(&self) -> &[u8] {
        &self.output
    }

    /// The socket took `n` bytes of [`HttpConn::output`]; the rest stays for the next write.
    pub fn consumed(&mut self, n: usize) {
        self.output.drain(..n.min(self.output.len()));
    }

    /// Whether reading more is useful (not closing, pipeline not full, not draining).
    pub fn wants_read(&self) -> bool {
        self.state != State::Closing
            && !self.draining
            && self.pending.len() < self.limits.max_pipeline
    }

    /// True when the connection should be closed now: it is closing or draining and every
    /// answer has been written.
    pub fn finished(&self) -> bool {
        (self.state == State::Closing || self.draining)
            && self.pending.is_empty()
            && self.output.is_empty()
    }

    /// A request is partly received (the slow-client timer runs).
    pub fn mid_request(&self) -> bool {
        !self.input.is_empty() || matches!(self.state, State::ReadingBody { .. })
    }

    /// Answers are owed or unwritten (the idle timer does not run).
    pub fn busy(&self) -> bool {
        !self.pending.is_empty() || !self.output.is_empty()
    }

    /// The client was too slow sending its request: answer 408 (after earlier answers) and close.
    pub fn timed_out(&mut self) {
        if self.state != State::Closing {
            self.fail(408, "request not received in time");
            self.input.clear();
        }
    }

    /// Shutdown: answer what was received, then close; later bytes are ignored.
    pub fn drain(&mut self) {
        self.draining = true;
        self.input.clear();
    }

    /// Error statuses answered by the state machine since the last call.
    pub fn take_failures(&mut self) -> Vec<u16> {
        std::mem::take(&mut self.failures)
    }
}

enum Step {
    /// `n` input bytes were used, possibly completing a request.
    Consumed(usize, Option<Request>),
    NeedMore,
}

#[cfg(test)]
mod tests;
