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
    pub method: String,
    pub path: String,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Head {
    method: String,
    path: String,
    close: bool,
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

    fn parse_head(&mut self, pos: usize) -> Step {
        let buf = &self.input[pos..];
        if buf.is_empty() {
            return Step::NeedMore;
        }
        // The common limit fits on the stack; only a raised --max-headers allocates.
        let mut on_stack = [httparse::EMPTY_HEADER; 64];
        let mut on_heap = Vec::new();
        let headers: &mut [httparse::Header<'_>] = if self.limits.max_headers <= on_stack.len() {
            &mut on_stack[..self.limits.max_headers]
        } else {
            on_heap.resize(self.limits.max_headers, httparse::EMPTY_HEADER);
            &mut on_heap
        };
        let mut req = httparse::Request::new(headers);
        let head_len = match req.parse(buf) {
            Ok(httparse::Status::Complete(n)) if n <= self.limits.max_head => n,
            Ok(httparse::Status::Complete(_)) => return self.fail(431, "request head too large"),
            Ok(httparse::Status::Partial) if buf.len() > self.limits.max_head => {
                return self.fail(431, "request head too large")
            }
            Ok(httparse::Status::Partial) => return Step::NeedMore,
            Err(httparse::Error::TooManyHeaders) => {
                return self.fail(431, "too many header fields")
            }
            Err(e) => return self.fail(400, &format!("malformed request: {e}")),
        };
        let method = req.method.unwrap_or_default().to_string();
        let path = req.path.unwrap_or_default().to_string();
        let http10 = req.version == Some(0);
        let mut close = http10;
        let mut length: Option<usize> = None;
        let mut expect_continue = false;
        for h in req.headers.iter() {
            let value = String::from_utf8_lossy(h.value);
            let value = value.trim();
            if h.name.eq_ignore_ascii_case("content-length") {
                let parsed = match value.parse::<usize>() {
                    Ok(n) if value.bytes().all(|b| b.is_ascii_digit()) => n,
                    _ => return self.fail(400, "invalid Content-Length"),
                };
                if length.is_some_and(|l| l != parsed) {
                    return self.fail(400, "conflicting Content-Length headers");
                }
                length = Some(parsed);
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                // Chunked bodies are refused rather than half-supported: every client we
                // serve knows its body length up front.
                return self.fail(
                    411,
                    "chunked request bodies are not supported; send Content-Length",
                );
            } else if h.name.eq_ignore_ascii_case("connection") {
                let v = value.to_ascii_lowercase();
                if v.contains("close") {
                    close = true;
                } else if v.contains("keep-alive") {
                    close = false;
                }
            } else if h.name.eq_ignore_ascii_case("expect") {
                expect_continue = value.eq_ignore_ascii_case("100-continue");
            }
        }
        let head = Head {
            method,
            path,
            close,
        };
        let length = match length {
            Some(n) => n,
            None if head.method == "POST" || head.method == "PUT" => {
                return self.fail(411, "Content-Length required");
            }
            None => 0,
        };
        if length > self.limits.max_body {
            return self.fail(
                413,
                &format!(
                    "body of {length} bytes exceeds the {} byte limit",
                    self.limits.max_body
                ),
            );
        }
        if length == 0 {
            return Step::Consumed(head_len, Some(self.accept(head, Vec::new())));
        }
        if expect_continue && buf.len() == head_len {
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

    /// Gives request `id` its answer. Unknown ids (already answered) are ignored.
    pub fn respond(&mut self, id: u64, response: &Response) {
        for slot in self.pending.iter_mut() {
            if let Slot::Waiting { id: waiting, close } = *slot {
                if waiting == id {
                    let mut bytes = Vec::new();
                    response.encode(close || self.draining, &mut bytes);
                    *slot = Slot::Ready(bytes);
                    break;
                }
            }
        }
        self.flush_ready();
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
mod tests {
    use super::*;

    fn ok(text: &str) -> Response {
        Response::new(200, "text/plain", text)
    }

    fn conn() -> HttpConn {
        HttpConn::new(Limits::default())
    }

    fn out(c: &mut HttpConn) -> String {
        let s = String::from_utf8_lossy(c.output()).into_owned();
        let n = c.output().len();
        c.consumed(n);
        s
    }

    #[test]
    fn get_request_in_one_piece() {
        let mut c = conn();
        let reqs = c.feed(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(reqs.len(), 1);
        assert_eq!(
            (reqs[0].method.as_str(), reqs[0].path.as_str()),
            ("GET", "/health")
        );
        assert!(c.output().is_empty());
        c.respond(reqs[0].id, &ok("a"));
        assert!(out(&mut c).starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(!c.finished(), "keep-alive by default in HTTP/1.1");
    }

    #[test]
    fn request_split_into_single_bytes() {
        let mut c = conn();
        let raw = b"POST /send HTTP/1.1\r\nContent-Length: 7\r\n\r\n{\"a\":1}";
        let mut got = Vec::new();
        for b in raw.iter() {
            got.extend(c.feed(std::slice::from_ref(b)));
        }
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].body, b"{\"a\":1}");
    }

    #[test]
    fn pipelined_answers_leave_in_request_order() {
        let mut c = conn();
        let reqs = c.feed(
            b"POST /send HTTP/1.1\r\nContent-Length: 1\r\n\r\nAGET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
        );
        assert_eq!(reqs.len(), 3);
        c.respond(reqs[2].id, &ok("third"));
        c.respond(reqs[1].id, &ok("second"));
        assert!(c.output().is_empty(), "first is still waiting for its ack");
        c.respond(reqs[0].id, &ok("first"));
        let text = out(&mut c);
        let (a, b, d) = (
            text.find("first").unwrap(),
            text.find("second").unwrap(),
            text.find("third").unwrap(),
        );
        assert!(a < b && b < d, "{text}");
    }

    #[test]
    fn short_writes_keep_the_rest() {
        let mut c = conn();
        let reqs = c.feed(b"GET / HTTP/1.1\r\n\r\n");
        c.respond(reqs[0].id, &ok("hello"));
        let all = c.output().to_vec();
        c.consumed(5);
        assert_eq!(c.output(), &all[5..]);
    }

    #[test]
    fn malformed_request_line_is_400_and_closes() {
        let mut c = conn();
        assert!(c.feed(b"GARBAGE\x01 / HTTP/1.1\r\n\r\n").is_empty());
        assert!(out(&mut c).starts_with("HTTP/1.1 400 "));
        assert!(c.finished());
        assert!(
            c.feed(b"GET / HTTP/1.1\r\n\r\n").is_empty(),
            "nothing read after an error"
        );
    }

    #[test]
    fn oversized_head_is_431_even_before_it_ends() {
        let mut c = conn();
        let mut raw = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
        raw.extend(std::iter::repeat_n(b'a', 9000));
        assert!(c.feed(&raw).is_empty());
        assert!(out(&mut c).starts_with("HTTP/1.1 431 "));
        assert!(c.finished());
    }

    #[test]
    fn too_many_headers_is_431() {
        let mut c = conn();
        let mut raw = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..80 {
            raw.extend(format!("X-{i}: v\r\n").as_bytes());
        }
        raw.extend(b"\r\n");
        c.feed(&raw);
        assert!(out(&mut c).starts_with("HTTP/1.1 431 "));
    }

    #[test]
    fn body_over_limit_is_413_without_reading_it() {
        let mut c = conn();
        c.feed(b"POST /send HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n");
        assert!(out(&mut c).starts_with("HTTP/1.1 413 "));
        assert!(c.finished());
    }

    #[test]
    fn chunked_is_411_and_missing_length_on_post_is_411() {
        let mut c = conn();
        c.feed(b"POST /send HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert!(out(&mut c).starts_with("HTTP/1.1 411 "));
        let mut c = conn();
        c.feed(b"POST /send HTTP/1.1\r\n\r\n");
        assert!(out(&mut c).starts_with("HTTP/1.1 411 "));
    }

    #[test]
    fn bad_and_conflicting_content_length_are_400() {
        for raw in [
            &b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"[..],
            b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        ] {
            let mut c = conn();
            c.feed(raw);
            assert!(out(&mut c).starts_with("HTTP/1.1 400 "));
        }
    }

    #[test]
    fn expect_continue_gets_interim_answer_before_body() {
        let mut c = conn();
        let reqs =
            c.feed(b"POST /send HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
        assert!(reqs.is_empty());
        assert_eq!(out(&mut c), "HTTP/1.1 100 Continue\r\n\r\n");
        let reqs = c.feed(b"{}");
        assert_eq!(reqs[0].body, b"{}");
    }

    #[test]
    fn connection_close_and_http10_close_after_answer() {
        for raw in [
            &b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"[..],
            b"GET / HTTP/1.0\r\n\r\n",
        ] {
            let mut c = conn();
            let reqs = c.feed(raw);
            c.respond(reqs[0].id, &ok("x"));
            assert!(out(&mut c).contains("Connection: close\r\n"));
            assert!(c.finished());
        }
    }

    #[test]
    fn pipeline_limit_stops_parsing_until_answers_go_out() {
        let mut c = HttpConn::new(Limits {
            max_pipeline: 2,
            ..Limits::default()
        });
        let reqs = c.feed(b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n");
        assert_eq!(reqs.len(), 2);
        assert!(!c.wants_read());
        c.respond(reqs[0].id, &ok("1"));
        let more = c.parse();
        assert_eq!(more.len(), 1);
        assert_eq!(more[0].path, "/3");
    }

    #[test]
    fn slow_client_timeout_answers_408_after_earlier_answers() {
        let mut c = conn();
        let reqs = c.feed(b"GET /1 HTTP/1.1\r\n\r\nGET /2 HT");
        assert!(c.mid_request());
        c.timed_out();
        assert!(c.output().is_empty(), "the 408 waits for /1's answer");
        c.respond(reqs[0].id, &ok("one"));
        let text = out(&mut c);
        assert!(text.find("one").unwrap() < text.find("408").unwrap());
        assert!(c.finished());
    }

    #[test]
    fn drain_answers_received_requests_then_finishes() {
        let mut c = conn();
        let reqs = c.feed(b"GET /1 HTTP/1.1\r\n\r\n");
        c.drain();
        assert!(!c.finished());
        c.respond(reqs[0].id, &ok("one"));
        assert!(out(&mut c).contains("Connection: close"));
        assert!(c.finished());
    }
}
