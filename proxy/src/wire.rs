//! The bytes of one non-blocking connection to SQS: plain TCP, or a rustls client session
//! over it (the same rustls the blocking client uses, driven by hand: ciphertext moves with
//! `read_tls`/`write_tls` when the socket allows, plaintext through the session's buffers).
//! Edge-triggered readiness needs every call to go on until the socket would block.
use mio::net::TcpStream;
use rustls::ClientConnection;
use std::io::{self, Read, Write};

/// Why a connection stopped being of use.
pub enum Failure {
    /// The peer closed or reset it (before any answer byte, if nothing was received).
    Stale,
    Broken(String),
}
use Failure::{Broken, Stale};

pub struct Wire {
    pub stream: TcpStream,
    tls: Option<Box<ClientConnection>>,
}

impl Wire {
    pub fn new(stream: TcpStream, mut tls: Option<Box<ClientConnection>>) -> Wire {
        if let Some(session) = tls.as_mut() {
            // A whole request is handed over at once, even before the handshake is done.
            session.set_buffer_limit(None);
        }
        Wire { stream, tls }
    }

    /// Sends `request[*written..]` as far as the socket takes it, advancing `written`.
    pub fn send(&mut self, request: &[u8], written: &mut usize) -> Result<(), Failure> {
        let Some(session) = self.tls.as_mut() else {
            return write_plain(&mut self.stream, request, written);
        };
        if *written < request.len() {
            session
                .writer()
                .write_all(&request[*written..])
                .map_err(|e| Broken(format!("tls: {e}")))?;
            *written = request.len();
        }
        flush_tls(&mut self.stream, session)
    }

    /// Appends what arrived (decrypted) to `into`, at most `max` bytes in all; true when the
    /// peer closed its side.
    pub fn receive(&mut self, into: &mut Vec<u8>, max: usize) -> Result<bool, Failure> {
        let Some(session) = self.tls.as_mut() else {
            return read_plain(&mut self.stream, into, max);
        };
        let closed = read_tls(&mut self.stream, session, into, max)?;
        // Handshake messages, and the request once the handshake is done, go out now.
        flush_tls(&mut self.stream, session)?;
        Ok(closed)
    }
}

/// An I/O error as http1 classifies it (one place decides what a reset means): a close or
/// reset before any byte of the answer (`started` false) is [`Stale`], the rest broken.
fn failure(e: &io::Error, doing: &str, started: bool) -> Failure {
    match http1::Error::from_io(e, doing, started) {
        http1::Error::ClosedBeforeAnswer => Stale,
        other => Broken(other.to_string()),
    }
}

fn write_plain(stream: &mut TcpStream, request: &[u8], written: &mut usize) -> Result<(), Failure> {
    while *written < request.len() {
        match stream.write(&request[*written..]) {
            Ok(0) => return Err(Stale),
            Ok(n) => *written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(failure(&e, "sending to sqs", false)),
        }
    }
    Ok(())
}

fn read_plain(stream: &mut TcpStream, into: &mut Vec<u8>, max: usize) -> Result<bool, Failure> {
    match read_available(stream, into, max) {
        Ok(Some(closed)) => Ok(closed),
        Ok(None) => Err(over(max)),
        Err(e) => Err(failure(&e, "reading from sqs", !into.is_empty())),
    }
}

/// Appends what `reader` has to `into` until it would block or ends: `Some(true)` at its
/// end, `Some(false)` when it would block, `None` once `into` would pass `max` bytes.
/// `read_to_end` reads straight into the vector's spare room: a chunk on the stack would be
/// zeroed first on every call, 16 KiB per answer for a 1 KiB answer.
fn read_available(reader: impl Read, into: &mut Vec<u8>, max: usize) -> io::Result<Option<bool>> {
    // One byte past `max`: reaching the limit then means too much, not the end.
    let room = (max + 1).saturating_sub(into.len()) as u64;
    let got = reader.take(room).read_to_end(into);
    if into.len() > max {
        return Ok(None);
    }
    match got {
        Ok(_) => Ok(Some(true)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Some(false)),
        Err(e) => Err(e),
    }
}

fn over(max: usize) -> Failure {
    Broken(format!("sqs answer over {max} bytes"))
}

/// Writes the session's pending ciphertext until it is all out or the socket would block.
fn flush_tls(stream: &mut TcpStream, session: &mut ClientConnection) -> Result<(), Failure> {
    while session.wants_write() {
        match session.write_tls(stream) {
            Ok(0) => return Err(Stale),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(failure(&e, "sending to sqs", false)),
        }
    }
    Ok(())
}

/// Reads ciphertext until the socket would block, taking the plaintext out as it comes (so
/// the session's receive buffer never fills); true when the peer closed.
fn read_tls(
    stream: &mut TcpStream,
    session: &mut ClientConnection,
    into: &mut Vec<u8>,
    max: usize,
) -> Result<bool, Failure> {
    loop {
        if drain_plaintext(session, into, max)? {
            return Ok(true);
        }
        match session.read_tls(stream) {
            Ok(0) => return drain_plaintext(session, into, max).map(|_| true),
            Ok(_) => {
                if let Err(e) = session.process_new_packets() {
                    // Tell the peer why (an alert), then give up on the connection.
                    let _ = session.write_tls(stream);
                    return Err(Broken(format!("tls with sqs: {e}")));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(failure(&e, "reading from sqs", !into.is_empty())),
        }
    }
}

/// Moves decrypted bytes into `into`; true once the peer closed (close_notify, or the TCP
/// end without one: the answer's own framing says whether that cut it short).
fn drain_plaintext(
    session: &mut ClientConnection,
    into: &mut Vec<u8>,
    max: usize,
) -> Result<bool, Failure> {
    match read_available(session.reader(), into, max) {
        Ok(Some(closed)) => Ok(closed),
        Ok(None) => Err(over(max)),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(true),
        Err(e) => Err(Broken(format!("tls with sqs: {e}"))),
    }
}
