//! Readiness checks over plain HTTP/1.1: LocalStack's health route and the proxies' `/health`.
use crate::children::Service;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// `GET path` on `addr`; the status code and body, or `None` when nothing answered.
pub fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

/// host:port of an `http://host:port` endpoint.
pub fn endpoint_addr(endpoint: &str) -> Option<SocketAddr> {
    let hostport = endpoint.trim_start_matches("http://").split('/').next()?;
    hostport.to_socket_addrs().ok()?.next()
}

/// Whether LocalStack's SQS answers at `endpoint`.
pub fn localstack_ready(endpoint: &str) -> bool {
    let Some(addr) = endpoint_addr(endpoint) else {
        return false;
    };
    get(addr, "/_localstack/health").is_some_and(|(status, body)| {
        status == 200
            && (body.contains("\"sqs\": \"available\"") || body.contains("\"sqs\": \"running\""))
    })
}

/// Waits until `GET /health` on 127.0.0.1:`port` answers 200, giving up early if the
/// process behind it exits.
pub fn wait_healthy(port: u16, timeout: Duration, service: &mut Service) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if get(addr, "/health").is_some_and(|(status, _)| status == 200) {
            return true;
        }
        if service.exited().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}
