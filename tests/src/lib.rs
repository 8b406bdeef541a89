//! testkit: what every integration test in the workspace shares.
//!
//! - [`localstack`]: the LocalStack endpoint (`LOCALSTACK_ENDPOINT`, default
//!   `http://127.0.0.1:4566`), started on demand when nothing answers there ([`service`]:
//!   once per machine, left running; `scripts/localstack stop` stops it). [`moto`]: the same
//!   for the moto server (a real STS for the credential tests). A test that cannot get its
//!   service fails saying the command that fixes it; tests never skip silently.
//! - [`browser`]: a page loaded in headless Chromium, read through the DevTools protocol.
//! - [`bins`]: paths of the workspace binaries (built by `cargo build --workspace` first).
//! - [`stand_in`]: an HTTP server on 127.0.0.1 for endpoints nothing else provides (the
//!   container credentials endpoint, EC2 IMDS).
//! - [`tls`]: the committed test CA and server certificate, as a rustls server config, and an
//!   https front for a plain-HTTP service (moto's STS behind TLS).
//! - [`sqs`]: a LocalStack SQS client; [`wait_until`]: polling with a deadline.
//! - [`process`]: running a binary expected to exit, killed (and failing) after a deadline.
//! - [`net`]: free ports, waiting for a port or an HTTP health route, a tiny blocking HTTP client
//!   for raw-byte tests.
#![forbid(unsafe_code)]

pub mod bins;
pub mod browser;
pub mod localstack;
pub mod moto;
pub mod net;
pub mod process;
pub mod service;
pub mod sqs;
pub mod stand_in;
pub mod tls;

/// A name unique to this process and call, for queues, files and docker resources.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{n}-{nanos:x}", std::process::id())
}

/// Polls `condition` every 50 ms until it holds, failing with `what` after `timeout`.
pub fn wait_until(what: &str, timeout: std::time::Duration, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
