//! Why reading or exchanging an HTTP/1.1 message failed.
use std::fmt;
use std::io;

/// A failure with a message fit for a log line; the variant says what a caller may do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The peer closed (or reset) the connection before sending any byte of the message: on a
    /// reused keep-alive connection the request may be resent on a fresh one.
    ClosedBeforeAnswer,
    /// The deadline passed or the socket timed out.
    TimedOut(String),
    /// The connection failed or closed in the middle of a message.
    Io(String),
    /// The TLS handshake or a TLS record failed (certificate, protocol, alert).
    Tls(String),
    /// The bytes are not a valid HTTP/1.x message.
    Malformed(String),
    /// A size limit (head, header count, body, chunk line) was exceeded.
    TooLarge(String),
}

impl Error {
    /// Classifies an I/O error met while `doing` something; `started` says whether any byte of
    /// the current message had arrived (a close before that is [`Error::ClosedBeforeAnswer`]).
    pub fn from_io(e: &io::Error, doing: &str, started: bool) -> Error {
        match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                Error::TimedOut(format!("{doing}: {e}"))
            }
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
                if !started =>
            {
                Error::ClosedBeforeAnswer
            }
            // rustls reports handshake, certificate and record failures as InvalidData.
            io::ErrorKind::InvalidData => Error::Tls(format!("{doing}: {e}")),
            _ => Error::Io(format!("{doing}: {e}")),
        }
    }

    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::TimedOut(_))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ClosedBeforeAnswer => f.write_str("connection closed before an answer"),
            Error::TimedOut(m) => write!(f, "timed out {m}"),
            Error::Io(m) => f.write_str(m),
            Error::Tls(m) => write!(f, "tls: {m}"),
            Error::Malformed(m) => write!(f, "malformed HTTP message: {m}"),
            Error::TooLarge(m) => write!(f, "HTTP message too large: {m}"),
        }
    }
}

impl std::error::Error for Error {}
