//! The LocalStack SQS endpoint tests talk to, started on demand (see [`crate::service`]).
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use crate::service::Service;

/// Default endpoint, as `scripts/localstack start` serves it.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:4566";

static STARTED: OnceLock<Result<(), String>> = OnceLock::new();

pub static LOCALSTACK: Service = Service {
    name: "LocalStack",
    script: "localstack",
    endpoint_var: "LOCALSTACK_ENDPOINT",
    default_endpoint: DEFAULT_ENDPOINT,
    health_path: "/_localstack/health",
    is_ready: sqs_is_ready,
    started: &STARTED,
};

fn sqs_is_ready(r: &crate::net::Response) -> bool {
    let text = r.body_text();
    r.status == 200
        && ["\"sqs\": \"available\"", "\"sqs\": \"running\""]
            .iter()
            .any(|s| text.contains(s) || text.contains(&s.replace(": ", ":")))
}

/// The endpoint URL: `LOCALSTACK_ENDPOINT` or [`DEFAULT_ENDPOINT`].
pub fn endpoint() -> String {
    LOCALSTACK.endpoint()
}

/// host:port of the endpoint.
pub fn endpoint_addr() -> SocketAddr {
    LOCALSTACK.addr()
}

/// The endpoint of a LocalStack whose SQS answers, started if nothing runs at the default
/// address (never when `LOCALSTACK_ENDPOINT` is set); panics saying what to do otherwise.
/// Every test that needs SQS calls this first, so none passes or skips by accident.
pub fn require() -> String {
    LOCALSTACK.require()
}

/// Waits up to `timeout` for LocalStack to come up (used by scripts, not tests).
pub fn wait_ready(timeout: Duration) -> bool {
    crate::net::wait_for_http_ok(endpoint_addr(), "/_localstack/health", timeout)
}
