//! HTTP/1.1 wire pieces shared by our clients and test stand-ins, so that there is one reader
//! per protocol in the workspace:
//!
//! - [`reader`]: a buffered [`reader::MessageReader`] that reads response heads, request heads
//!   and bodies (Content-Length, chunked, until close) with httparse, checked arithmetic and
//!   size [`reader::Limits`]; every failure is a clear [`Error`], never a panic.
//! - [`deadline`]: [`deadline::DeadlineStream`], a socket whose every read and write is bounded
//!   by one overall deadline (the socket timeout is set to the *remaining* time before each
//!   call), so a slow-drip peer cannot stretch an exchange past it.
//! - [`tls`]: the rustls client connector (webpki roots plus an optional extra CA file) whose
//!   handshake runs under the same deadline.
//! - [`stream`]: plain-or-TLS [`stream::Stream`], [`stream::resolve`] and [`stream::dial`]
//!   (name lookup and connect under a deadline).
//! - [`once`]: one plain-http request on a fresh connection (probes, test clients).
//! - [`url`]: one URL parser: Go's lenient `url.Parse` ([`url::GoUrl`]) and the strict
//!   `http(s)://` endpoint form ([`url::Url`]) built on it.
#![forbid(unsafe_code)]

pub mod deadline;
mod error;
pub mod once;
pub mod reader;
pub mod stream;
pub mod tls;
pub mod url;

pub use deadline::DeadlineStream;
pub use error::Error;
pub use reader::{BodyLimit, Framing, Limits, MessageReader, Request, Response, ResponseHead};
pub use stream::{dial, resolve, Stream};
pub use url::{GoUrl, Scheme, Url};
