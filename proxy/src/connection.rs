//! One client socket plus its HTTP state machine and timers. The I/O lives here, the protocol
//! in [`crate::http`].
use crate::http::{HttpConn, Limits, Request};
use mio::net::TcpStream;
use mio::Interest;
use std::io::{self, Read, Write};
use std::time::Instant;

pub struct Connection {
    pub stream: TcpStream,
    pub http: HttpConn,
    /// The interest currently registered with the poll.
    pub interest: Interest,
    pub last_activity: Instant,
    /// When the request now being received started (slow-client timer).
    pub request_started: Option<Instant>,
    /// The peer shut down its sending side; answer what it sent, then close.
    pub peer_closed: bool,
    /// We stopped reading because too many answers are owed (back-pressure).
    pub read_paused: bool,
}

pub enum ReadResult {
    /// New requests (maybe none); keep going.
    Requests(Vec<Request>),
    /// The socket failed (reset etc.): close it.
    Failed(io::Error),
}

impl Connection {
    pub fn new(stream: TcpStream, limits: Limits, now: Instant) -> Connection {
        Connection {
            stream,
            http: HttpConn::new(limits),
            interest: Interest::READABLE,
            last_activity: now,
            request_started: None,
            peer_closed: false,
            read_paused: false,
        }
    }

    /// Reads until the socket would block (edge-triggered readiness needs that) or the state
    /// machine wants no more input.
    pub fn read(&mut self, buf: &mut [u8], now: Instant) -> ReadResult {
        let mut requests = Vec::new();
        if self.read_paused {
            // Requests that arrived while the pipeline was full are already buffered.
            self.read_paused = false;
            requests = self.http.parse();
        }
        loop {
            if self.peer_closed {
                break;
            }
            if !self.http.wants_read() {
                self.read_paused = true;
                break;
            }
            match self.stream.read(buf) {
                Ok(0) => self.peer_closed = true,
                Ok(n) => {
                    self.last_activity = now;
                    requests.extend(self.http.feed(&buf[..n]));
                    if n < buf.len() {
                        // A short read emptied the socket buffer; data arriving later raises
                        // a new edge, so the usual extra read that returns EAGAIN can go.
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return ReadResult::Failed(e),
            }
        }
        self.update_request_timer(now);
        ReadResult::Requests(requests)
    }

    pub fn update_request_timer(&mut self, now: Instant) {
        if self.http.mid_request() {
            self.request_started.get_or_insert(now);
        } else {
            self.request_started = None;
        }
    }

    /// Writes pending output until done or the socket would block; what is not written stays
    /// in the state machine for the next WRITABLE event.
    pub fn write(&mut self, now: Instant) -> io::Result<()> {
        while !self.http.output().is_empty() {
            match self.stream.write(self.http.output()) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.http.consumed(n);
                    self.last_activity = now;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Nothing more will happen on this connection: close it.
    pub fn done(&self) -> bool {
        self.http.finished() || (self.peer_closed && !self.http.busy())
    }

    /// READABLE always (a peer reset is seen through it); WRITABLE only while output waits,
    /// so an idle connection costs no wakeups.
    pub fn wanted_interest(&self) -> Interest {
        if self.http.output().is_empty() {
            Interest::READABLE
        } else {
            Interest::READABLE | Interest::WRITABLE
        }
    }
}
