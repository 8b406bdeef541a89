//! One plain-http request on a fresh connection (`Connection: close`), everything within one
//! timeout: readiness probes and test clients, which should not each write their own reader.
use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::deadline::DeadlineStream;
use crate::error::Error;
use crate::reader::{BodyLimit, Limits, MessageReader, Response};
use crate::stream::dial;

/// What to send: `method target`, the `Host` value, extra headers and a body (sent with a
/// Content-Length when not empty or when the method carries one).
pub struct OneRequest<'a> {
    pub method: &'a str,
    pub target: &'a str,
    pub host: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

impl OneRequest<'_> {
    /// Sends the request to `addr` and reads the answer (body up to `max_body`), connect,
    /// send and answer all within `timeout`.
    pub fn send(
        &self,
        addr: SocketAddr,
        timeout: Duration,
        max_body: usize,
    ) -> Result<Response, Error> {
        let deadline = Instant::now() + timeout;
        let tcp = dial(&[addr], deadline)?;
        let mut stream = DeadlineStream::new(tcp, Some(deadline));
        stream
            .write_all(&self.encode())
            .map_err(|e| Error::from_io(&e, "sending request", true))?;
        MessageReader::new(stream).read_response(
            self.method == "HEAD",
            &Limits::default(),
            BodyLimit::Reject(max_body),
        )
    }

    fn encode(&self) -> Vec<u8> {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.method, self.target, self.host
        );
        if !self.body.is_empty() || matches!(self.method, "POST" | "PUT" | "PATCH") {
            head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        for (k, v) in self.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut wire = head.into_bytes();
        wire.extend_from_slice(self.body);
        wire
    }
}

/// `GET target` on `addr` within `timeout`; the answer with a body up to 1 MiB.
pub fn get(addr: SocketAddr, target: &str, timeout: Duration) -> Result<Response, Error> {
    let host = addr.to_string();
    let request = OneRequest {
        method: "GET",
        target,
        host: &host,
        headers: &[],
        body: b"",
    };
    request.send(addr, timeout, 1 << 20)
}
