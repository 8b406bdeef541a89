//! Loopback networking helpers: free ports, readiness checks and a tiny HTTP/1.1 client.
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// Waits until `addr` accepts TCP connections, up to `timeout`. Returns false on timeout.
pub fn wait_for_port(addr: SocketAddr, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Waits until `GET path` on `addr` answers 200, up to `timeout`. Returns false on timeout.
pub fn wait_for_http_ok(addr: SocketAddr, path: &str, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(resp) = request(addr, "GET", path, &[], b"") {
            if resp.status == 200 {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A parsed HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("response body is not JSON ({e}): {}", self.body_text()))
    }
}

/// One request on a fresh connection (`Connection: close`), 15 s for all of it.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Response> {
    let host = addr.to_string();
    let request = http1::once::OneRequest {
        method,
        target: path,
        host: &host,
        headers,
        body,
    };
    let resp = request
        .send(addr, Duration::from_secs(15), 64 << 20)
        .map_err(io_error)?;
    Ok(Response {
        status: resp.status,
        headers: resp.headers,
        body: resp.body,
    })
}

/// Sends raw bytes and reads one response until the server closes or Content-Length is met.
pub fn raw_exchange(addr: SocketAddr, bytes: &[u8]) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(bytes)?;
    read_response(&mut stream)
}

/// Reads one HTTP/1.1 response from `stream` with the workspace's one reader (`http1`):
/// Content-Length, chunked or read-to-close bodies; a malformed answer is an `InvalidData`
/// error. Bytes after the response are not kept, so use it for one answer per call.
pub fn read_response(stream: &mut impl Read) -> std::io::Result<Response> {
    let mut reader = http1::MessageReader::new(stream);
    let limits = http1::Limits::default();
    let resp = reader
        .read_response(false, &limits, http1::BodyLimit::Reject(64 << 20))
        .map_err(io_error)?;
    Ok(Response {
        status: resp.status,
        headers: resp.headers,
        body: resp.body,
    })
}

fn io_error(e: http1::Error) -> std::io::Error {
    let kind = match e {
        http1::Error::TimedOut(_) => std::io::ErrorKind::TimedOut,
        http1::Error::ClosedBeforeAnswer | http1::Error::Io(_) => std::io::ErrorKind::UnexpectedEof,
        _ => std::io::ErrorKind::InvalidData,
    };
    std::io::Error::new(kind, e.to_string())
}
