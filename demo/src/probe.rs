//! Readiness checks over plain HTTP/1.1: LocalStack's health route and the proxies' `/health`.
use crate::children::Service;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

/// `GET path` on `addr` (the workspace's one HTTP/1.1 client and reader, 2.5 s for all of
/// it); the status code and body, or `None` when nothing (valid) answered.
pub fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let resp = http1::once::get(addr, path, Duration::from_millis(2500)).ok()?;
    Some((
        resp.status,
        String::from_utf8_lossy(&resp.body).into_owned(),
    ))
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
