//! One client socket plus its HTTP state machine and timers. The I/O lives here, the protocol
//! in [`crate::http`]. With `--tls-cert` a `rustls::ServerConnection` sits between the two:
//! bytes from the socket go through it to the state machine and answers back through it, on
//! the same non-blocking socket and event loop as plain HTTP.
use crate::http::{HttpConn, Limits, Request};
use mio::net::TcpStream;
use mio::Interest;
use rustls::ServerConnection;
use std::io::{self, Read, Write};
use std::time::Instant;

pub struct Connection {
    pub stream: TcpStream,
    /// The TLS session when serving HTTPS.
    tls: Option<Box<ServerConnection>>,
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
    pub fn new(
        stream: TcpStream,
        tls: Option<Box<ServerConnection>>,
        limits: Limits,
        now: Instant,
    ) -> Connection {
        Connection {
            stream,
            tls,
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
        if self.tls.is_some() {
            return self.read_tls(buf, now, requests);
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

    /// [`Connection::read`] through TLS: decrypted bytes are taken before more are read from
    /// the socket, until it would block or the state machine wants no more input. A protocol
    /// error (e.g. plain HTTP sent to the HTTPS port) gets rustls's alert, then the close.
    fn read_tls(&mut self, buf: &mut [u8], now: Instant, mut requests: Vec<Request>) -> ReadResult {
        let Some(tls) = self.tls.as_mut() else {
            return ReadResult::Requests(requests);
        };
        'socket: loop {
            loop {
                if !self.http.wants_read() {
                    self.read_paused = true;
                    break 'socket;
                }
                match tls.reader().read(buf) {
                    // close_notify: the peer sends nothing more.
                    Ok(0) => {
                        self.peer_closed = true;
                        break 'socket;
                    }
                    Ok(n) => requests.extend(self.http.feed(&buf[..n])),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return ReadResult::Failed(e),
                }
            }
            if self.peer_closed {
                break;
            }
            match tls.read_tls(&mut self.stream) {
                Ok(0) => self.peer_closed = true,
                Ok(_) => {
                    self.last_activity = now;
                    if let Err(e) = tls.process_new_packets() {
                        let _ = tls.write_tls(&mut self.stream);
                        return ReadResult::Failed(io::Error::new(io::ErrorKind::InvalidData, e));
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

    /// The TLS handshake has started (bytes came) but is not complete: the slow-client timer
    /// runs, as it does for a request that is partly received.
    pub fn handshaking(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.is_handshaking())
    }

    pub fn update_request_timer(&mut self, now: Instant) {
        if self.http.mid_request() || self.handshaking() {
            self.request_started.get_or_insert(now);
        } else {
            self.request_started = None;
        }
    }

    /// Writes pending output until done or the socket would block; what is not written stays
    /// in the state machine for the next WRITABLE event.
    pub fn write(&mut self, now: Instant) -> io::Result<()> {
        if let Some(tls) = self.tls.as_mut() {
            loop {
                if !self.http.output().is_empty() {
                    // rustls takes what fits its buffer (and holds it until the handshake is done).
                    let n = tls.writer().write(self.http.output())?;
                    self.http.consumed(n);
                }
                if !tls.wants_write() {
                    return Ok(());
                }
                match tls.write_tls(&mut self.stream) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(_) => self.last_activity = now,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
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

    /// Answer bytes not yet taken by the socket (in the state machine or, with TLS, in rustls).
    pub fn unsent(&self) -> bool {
        !self.http.output().is_empty() || self.tls.as_ref().is_some_and(|t| t.wants_write())
    }

    /// Nothing more will happen on this connection: close it.
    pub fn done(&self) -> bool {
        let tls_unsent = self.tls.as_ref().is_some_and(|t| t.wants_write());
        !tls_unsent && (self.http.finished() || (self.peer_closed && !self.http.busy()))
    }

    /// Before closing: a TLS peer is told with close_notify (best effort; the socket may be
    /// gone already), so it can tell the end of the answers from a truncation.
    pub fn goodbye(&mut self) {
        if let Some(tls) = self.tls.as_mut() {
            tls.send_close_notify();
            let _ = tls.write_tls(&mut self.stream);
        }
    }

    /// READABLE always (a peer reset is seen through it); WRITABLE only while output waits,
    /// so an idle connection costs no wakeups.
    pub fn wanted_interest(&self) -> Interest {
        let tls_unsent = self.tls.as_ref().is_some_and(|t| t.wants_write());
        if self.http.output().is_empty() && !tls_unsent {
            Interest::READABLE
        } else {
            Interest::READABLE | Interest::WRITABLE
        }
    }
}
