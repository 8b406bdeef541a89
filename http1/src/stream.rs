//! Connecting under a deadline, and one stream type for plain TCP and TLS.
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::Instant;

use crate::deadline::DeadlineStream;
use crate::error::Error;
use crate::tls::TlsStream;

/// A client connection, plain or TLS, every read and write bounded by its deadline.
pub enum Stream {
    Plain(DeadlineStream<TcpStream>),
    Tls(Box<TlsStream>),
}

impl Stream {
    fn socket(&self) -> &DeadlineStream<TcpStream> {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.sock,
        }
    }

    /// Every later read and write (TLS records included) must finish by `deadline`.
    pub fn set_deadline(&mut self, deadline: Option<Instant>) {
        match self {
            Stream::Plain(s) => s.set_deadline(deadline),
            Stream::Tls(s) => s.sock.set_deadline(deadline),
        }
    }

    pub fn tcp(&self) -> &TcpStream {
        self.socket().get_ref()
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

/// Connects to the first of `addrs` that answers, all attempts together by `deadline`.
/// Nagle is off: requests are written whole.
pub fn dial(addrs: &[SocketAddr], deadline: Instant) -> Result<TcpStream, Error> {
    let mut last = Error::Io("no address to connect to".to_string());
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::TimedOut(format!("connecting to {addr}")));
        }
        match TcpStream::connect_timeout(addr, left) {
            Ok(s) => {
                s.set_nodelay(true)
                    .map_err(|e| Error::Io(format!("configuring socket to {addr}: {e}")))?;
                return Ok(s);
            }
            Err(e) => last = Error::from_io(&e, &format!("connecting to {addr}"), true),
        }
    }
    Err(last)
}

/// Resolves `host:port` through the system resolver by `deadline`. `getaddrinfo` cannot be
/// interrupted, so it runs on a short-lived thread that is abandoned (and ends on its own)
/// when the deadline passes first. IP literals skip the resolver.
pub fn resolve(host: &str, port: u16, deadline: Instant) -> Result<Vec<SocketAddr>, Error> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = mpsc::channel();
    let name = host.to_string();
    std::thread::Builder::new()
        .name("resolve".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let result = (name.as_str(), port)
                .to_socket_addrs()
                .map(Iterator::collect);
            let _ = tx.send(result);
        })
        .map_err(|e| Error::Io(format!("resolving {host}: cannot start a thread: {e}")))?;
    let left = deadline.saturating_duration_since(Instant::now());
    match rx.recv_timeout(left) {
        Ok(Ok(addrs)) => Ok(addrs),
        Ok(Err(e)) => Err(Error::Io(format!("lookup {host}: {e}"))),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(Error::TimedOut(format!("resolving {host}"))),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err(Error::Io(format!("lookup {host}: resolver thread failed")))
        }
    }
}
