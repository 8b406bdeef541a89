//! The LocalStack SQS endpoint tests talk to, and a loud failure when it is not running.
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// Default endpoint, as `scripts/localstack start` serves it.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:4566";

/// The endpoint URL: `LOCALSTACK_ENDPOINT` or [`DEFAULT_ENDPOINT`].
pub fn endpoint() -> String {
    std::env::var("LOCALSTACK_ENDPOINT")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string())
}

/// host:port of the endpoint.
pub fn endpoint_addr() -> SocketAddr {
    let ep = endpoint();
    let hostport = ep
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/');
    hostport
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .unwrap_or_else(|| panic!("LOCALSTACK_ENDPOINT {ep:?} is not host:port"))
}

/// Panics, saying how to start LocalStack, unless its SQS service answers.
/// Every test that needs SQS calls this first, so none passes or skips by accident.
pub fn require() -> String {
    let ep = endpoint();
    let addr = endpoint_addr();
    let ok = crate::net::request(addr, "GET", "/_localstack/health", &[], b"")
        .ok()
        .filter(|r| r.status == 200)
        .map(|r| {
            let text = r.body_text();
            text.contains("\"sqs\": \"available\"")
                || text.contains("\"sqs\": \"running\"")
                || text.contains("\"sqs\":\"available\"")
                || text.contains("\"sqs\":\"running\"")
        })
        .unwrap_or(false);
    assert!(
        ok,
        "LocalStack SQS is not reachable at {ep}. Start it with `scripts/localstack start` \
         (or run the whole suite with `scripts/test`, which starts it), or point \
         LOCALSTACK_ENDPOINT at a running instance."
    );
    ep
}

/// Waits up to `timeout` for LocalStack to come up (used by scripts, not tests).
pub fn wait_ready(timeout: Duration) -> bool {
    crate::net::wait_for_http_ok(endpoint_addr(), "/_localstack/health", timeout)
}
