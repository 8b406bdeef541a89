//! One non-blocking HTTP/1.1 connection from a worker's event loop to SQS, carrying one
//! request at a time (a *lane*). The worker writes a prepared, signed request into it and is
//! told when the whole answer is in; the lane knows nothing of batches or messages.
//!
//! Plain HTTP or TLS (`crate::wire`). The connection is kept alive between calls; if the
//! peer closed it while idle (as servers do with idle keep-alive connections) the request goes
//! once more on a new connection, but only if not a byte of answer had come, as the
//! forwarders' transport does.
//! Answers are read with `http1`'s reader (Content-Length, chunked, limits) over the bytes
//! received so far; an incomplete answer just waits for more. Deadlines are the caller's.
use crate::wire::{Failure, Wire};
use http1::tls::TlsConnector;
use http1::{BodyLimit, Framing, Limits, MessageReader};
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use std::io;
use std::net::SocketAddr;
use Failure::{Broken, Stale};

/// SendMessageBatch answers are a few KiB; an error page has no reason to be larger.
const MAX_ANSWER: usize = 1024 * 1024;

/// Where a call stands after the lane did what the socket allowed.
#[derive(Debug)]
pub enum Progress {
    Waiting,
    Answered(http1::Response),
    Failed(String),
}

/// TLS with `host` (the name its certificate must carry), trusted as `connector` says.
#[derive(Clone)]
pub struct Tls {
    pub connector: TlsConnector,
    pub host: String,
}

pub struct Lane {
    token: Token,
    tls: Option<Tls>,
    wire: Option<Wire>,
    /// The non-blocking connect has completed.
    connected: bool,
    /// The connection has carried a whole call before (it may have gone stale since).
    reused: bool,
    request: Vec<u8>,
    written: usize,
    answer: Vec<u8>,
    busy: bool,
    /// Which of the endpoint's addresses the next connection tries.
    next_addr: usize,
    /// The address of the open connection (a stale one's resend goes there again).
    addr: Option<SocketAddr>,
}

impl Lane {
    pub fn new(token: Token, tls: Option<Tls>) -> Lane {
        Lane {
            token,
            tls,
            wire: None,
            connected: false,
            reused: false,
            request: Vec::new(),
            written: 0,
            answer: Vec::new(),
            busy: false,
            next_addr: 0,
            addr: None,
        }
    }

    pub fn token(&self) -> Token {
        self.token
    }

    pub fn is_busy(&self) -> bool {
        self.busy
    }

    /// Sends `request` (connecting to one of `addrs` first if no connection is open) as far
    /// as the socket takes it now.
    pub fn start(
        &mut self,
        registry: &Registry,
        addrs: &[SocketAddr],
        request: Vec<u8>,
    ) -> Progress {
        self.request = request;
        self.written = 0;
        self.answer.clear();
        self.busy = true;
        if self.wire.is_none() {
            if let Err(e) = self.connect(registry, addrs) {
                return self.fail(registry, e);
            }
        }
        self.advance(registry)
    }

    /// Moves the call on after a readiness event (or at any time: it only does what the
    /// socket allows). An idle lane checks whether the peer closed its connection.
    pub fn advance(&mut self, registry: &Registry) -> Progress {
        if !self.busy {
            self.check_idle(registry);
            return Progress::Waiting;
        }
        match self.exchange() {
            Ok(Some(answer)) => {
                self.busy = false;
                self.reused = true;
                if !answer.keep_alive {
                    self.disconnect(registry);
                }
                Progress::Answered(answer)
            }
            Ok(None) => Progress::Waiting,
            Err(Stale) if self.reused && self.answer.is_empty() => self.resend(registry),
            Err(Stale) => self.fail(
                registry,
                "sqs closed the connection before answering".into(),
            ),
            Err(Broken(why)) => self.fail(registry, why),
        }
    }

    /// Gives up the call in progress (its deadline passed): the connection is closed, since
    /// an answer may still be on its way.
    pub fn abandon(&mut self, registry: &Registry) {
        self.busy = false;
        self.disconnect(registry);
    }

    fn connect(&mut self, registry: &Registry, addrs: &[SocketAddr]) -> Result<(), String> {
        let Some(&addr) = addrs.get(self.next_addr % addrs.len().max(1)) else {
            return Err("sqs endpoint has no address".to_string());
        };
        let session = match &self.tls {
            Some(tls) => Some(Box::new(
                tls.connector
                    .session(&tls.host)
                    .map_err(|e| format!("sqs at {addr}: {e}"))?,
            )),
            None => None,
        };
        let mut stream =
            TcpStream::connect(addr).map_err(|e| format!("connecting to sqs at {addr}: {e}"))?;
        registry
            .register(
                &mut stream,
                self.token,
                Interest::READABLE | Interest::WRITABLE,
            )
            .map_err(|e| format!("registering the sqs connection: {e}"))?;
        // Requests are written whole; no reason to wait for an ACK before the next segment.
        let _ = stream.set_nodelay(true);
        self.wire = Some(Wire::new(stream, session));
        self.addr = Some(addr);
        self.connected = false;
        self.reused = false;
        Ok(())
    }

    /// The idle keep-alive connection went stale: once more on a new one.
    fn resend(&mut self, registry: &Registry) -> Progress {
        // Its own address: a reset socket may no longer say who its peer was.
        let addrs: Vec<SocketAddr> = self.addr.into_iter().collect();
        self.disconnect(registry);
        let request = std::mem::take(&mut self.request);
        match self.connect(registry, &addrs) {
            Ok(()) => {
                self.request = request;
                self.written = 0;
                self.advance(registry)
            }
            Err(e) => self.fail(registry, e),
        }
    }

    fn fail(&mut self, registry: &Registry, why: String) -> Progress {
        self.busy = false;
        self.disconnect(registry);
        // The next connection tries the endpoint's next address.
        self.next_addr = self.next_addr.wrapping_add(1);
        Progress::Failed(why)
    }

    fn disconnect(&mut self, registry: &Registry) {
        if let Some(mut wire) = self.wire.take() {
            let _ = registry.deregister(&mut wire.stream);
        }
        self.connected = false;
        self.reused = false;
    }

    /// An idle connection that the peer closed, or that brought bytes nobody asked for, is
    /// of no more use. (TLS session tickets after a handshake are the session's business.)
    fn check_idle(&mut self, registry: &Registry) {
        let Some(wire) = self.wire.as_mut() else {
            return;
        };
        let mut unasked = Vec::new();
        match wire.receive(&mut unasked, MAX_ANSWER) {
            Ok(false) if unasked.is_empty() => {}
            _ => self.disconnect(registry),
        }
    }

    /// Writes what is unsent, reads what arrived; `Some` once the whole answer is in.
    fn exchange(&mut self) -> Result<Option<http1::Response>, Failure> {
        let Some(wire) = self.wire.as_mut() else {
            return Err(Broken("no connection".to_string()));
        };
        if !self.connected {
            if let Ok(Some(e)) | Err(e) = wire.stream.take_error() {
                return Err(Broken(format!("connecting to sqs: {e}")));
            }
            match wire.stream.peer_addr() {
                Ok(_) => self.connected = true,
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return Ok(None),
                Err(e) => return Err(Broken(format!("connecting to sqs: {e}"))),
            }
        }
        wire.send(&self.request, &mut self.written)?;
        let closed = wire.receive(&mut self.answer, MAX_ANSWER)?;
        parse(&self.answer, closed)
    }
}

/// The whole answer if `received` holds it. What is missing is waited for unless the peer
/// closed; what can never become an answer fails now.
fn parse(received: &[u8], closed: bool) -> Result<Option<http1::Response>, Failure> {
    if received.is_empty() {
        return if closed { Err(Stale) } else { Ok(None) };
    }
    // The bytes are handed over as received: a complete answer is read without the
    // reader's own read buffer (which a fresh reader would allocate and zero first).
    let mut reader = MessageReader::with_buffered(io::empty(), received.to_vec());
    let head = match reader.read_response_head(false, &Limits::default()) {
        Ok(head) => head,
        Err(e) => return incomplete_or_broken(e, closed),
    };
    if head.framing == Framing::UntilClose && !closed {
        return Ok(None);
    }
    let (body, _) = match reader.read_body(head.framing, BodyLimit::Reject(MAX_ANSWER)) {
        Ok(body) => body,
        Err(e) => return incomplete_or_broken(e, closed),
    };
    // Bytes beyond the answer were never asked for: the connection is not reused.
    let keep_alive = head.keep_alive && !closed && reader.buffered().is_empty();
    Ok(Some(http1::Response {
        version: head.version,
        status: head.status,
        reason: head.reason,
        headers: head.headers,
        body,
        keep_alive,
        truncated: false,
    }))
}

/// The reader ran out of bytes (more may come) or found something no answer can be.
fn incomplete_or_broken<T>(e: http1::Error, closed: bool) -> Result<Option<T>, Failure> {
    match e {
        http1::Error::Malformed(_) | http1::Error::TooLarge(_) | http1::Error::Tls(_) => {
            Err(Broken(format!("sqs answer: {e}")))
        }
        _ if closed => Err(Broken(format!("sqs closed the connection mid-answer: {e}"))),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(bytes: &[u8], closed: bool) -> Result<Option<http1::Response>, String> {
        parse(bytes, closed).map_err(|f| match f {
            Stale => "stale".to_string(),
            Broken(why) => why,
        })
    }

    #[test]
    fn an_answer_is_complete_only_when_its_body_is() {
        let whole = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        for cut in 0..whole.len() {
            assert!(
                answer(&whole[..cut], false).unwrap().is_none(),
                "cut at {cut}"
            );
        }
        let got = answer(whole, false).unwrap().unwrap();
        assert_eq!(
            (got.status, &got.body[..], got.keep_alive),
            (200, &b"hello"[..], true)
        );
    }

    #[test]
    fn chunked_answers_are_read_and_garbage_fails_at_once() {
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
        assert!(answer(&chunked[..chunked.len() - 3], false)
            .unwrap()
            .is_none());
        assert_eq!(answer(chunked, false).unwrap().unwrap().body, b"hello");
        let garbage = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                        5\r\nhello\r\nffffffffffffffff\r\n";
        assert!(answer(garbage, false).is_err());
        assert!(answer(b"NOT HTTP AT ALL\r\n\r\n", false).is_err());
    }

    #[test]
    fn a_close_ends_an_answer_or_breaks_it() {
        assert_eq!(answer(b"", true).unwrap_err(), "stale");
        let until_close = b"HTTP/1.1 200 OK\r\n\r\nabc";
        assert!(answer(until_close, false).unwrap().is_none());
        let got = answer(until_close, true).unwrap().unwrap();
        assert_eq!((&got.body[..], got.keep_alive), (&b"abc"[..], false));
        let short = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc";
        assert!(answer(short, true).unwrap_err().contains("mid-answer"));
        let extra = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naEXTRA";
        assert!(!answer(extra, false).unwrap().unwrap().keep_alive);
    }

    /// Drives `lane` with a poll until its call ends (10 s at most).
    fn finish(lane: &mut Lane, poll: &mut mio::Poll, mut progress: Progress) -> Progress {
        let mut events = mio::Events::with_capacity(8);
        let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while matches!(progress, Progress::Waiting) && std::time::Instant::now() < end {
            poll.poll(&mut events, Some(std::time::Duration::from_millis(100)))
                .unwrap();
            progress = lane.advance(poll.registry());
        }
        progress
    }

    #[test]
    fn a_keep_alive_connection_the_peer_closed_gets_the_request_once_more() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // Answers one request per connection, then closes it: the second call finds the
        // first connection stale (it said nothing of closing) and must go again.
        let server = std::thread::spawn(move || {
            for n in 0..2 {
                let (mut conn, _) = listener.accept().unwrap();
                let mut buf = [0u8; 1024];
                let _ = conn.read(&mut buf).unwrap();
                let body = format!("answer {n}");
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
                conn.write_all(format!("{head}{body}").as_bytes()).unwrap();
            }
        });
        let mut poll = mio::Poll::new().unwrap();
        let mut lane = Lane::new(Token(7), None);
        let request = b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n".to_vec();
        for n in 0..2 {
            let started = lane.start(poll.registry(), &[addr], request.clone());
            match finish(&mut lane, &mut poll, started) {
                Progress::Answered(a) => assert_eq!(a.body, format!("answer {n}").as_bytes()),
                other => panic!("call {n}: {other:?}"),
            }
        }
        server.join().unwrap();
    }
}
