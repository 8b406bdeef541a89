//! A socket whose reads and writes all end by one overall deadline.
//!
//! `SO_RCVTIMEO` bounds a single `recv`, so a peer that sends one byte per second keeps a
//! fixed timeout from ever firing. [`DeadlineStream`] sets the socket timeout to the time
//! *remaining* before each call and fails once none is left, so the whole exchange (TLS
//! handshake included, because rustls reads and writes through it) ends by the deadline.
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A socket that can bound its next blocking call.
pub trait Timeouts {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()>;
    fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()>;
}

impl Timeouts for TcpStream {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, t)
    }
    fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, t)
    }
}

/// `S` with an overall deadline on every read and write (`None`: no deadline).
#[derive(Debug)]
pub struct DeadlineStream<S> {
    inner: S,
    deadline: Option<Instant>,
}

impl<S: Timeouts> DeadlineStream<S> {
    pub fn new(inner: S, deadline: Option<Instant>) -> DeadlineStream<S> {
        DeadlineStream { inner, deadline }
    }

    /// Every later read and write must finish by `deadline`.
    pub fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    pub fn into_inner(self) -> S {
        self.inner
    }

    /// The time left, or a `TimedOut` error once it is spent.
    fn remaining(&self) -> io::Result<Option<Duration>> {
        let Some(deadline) = self.deadline else {
            return Ok(None);
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "deadline passed"));
        }
        Ok(Some(left))
    }
}

/// Socket timeouts report `WouldBlock` on Unix; callers should see one kind.
fn timed_out(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::WouldBlock {
        io::Error::new(io::ErrorKind::TimedOut, "deadline passed")
    } else {
        e
    }
}

impl<S: Timeouts + Read> Read for DeadlineStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.remaining()?;
        self.inner.set_read_timeout(left)?;
        self.inner.read(buf).map_err(timed_out)
    }
}

impl<S: Timeouts + Write> Write for DeadlineStream<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let left = self.remaining()?;
        self.inner.set_write_timeout(left)?;
        self.inner.write(buf).map_err(timed_out)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
