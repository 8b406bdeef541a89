//! `sqs-publisher`: the edge sensor, a WebAssembly module for Bacalhau's WASM executor.
//!
//! It reads its flags (compatible with the original TinyGo publisher's job specs), waits for
//! `GET <proxy>/health`, then emits one JSON message per `--interval` and POSTs it to
//! `<proxy>/send` through the host's `wasi:http/requests`.`http_request`. Unlike the original
//! it loses nothing while the proxy is away for up to `--outbox` × `--interval`:
//! unacknowledged messages stay in a bounded outbox and are re-sent oldest first; past the
//! bound the oldest are dropped, and those drops, like messages the proxy refuses for good,
//! are counted and reported in later messages (see [`publisher`] and [`status`]).
//!
//! Build: `scripts/build-wasm` (wasm32-wasip1, no dependencies, well under 100 KB, one 64 KiB memory
//! page per instance). On wasm32 the crate is `no_std` and exports its own `_start`
//! (`sys.rs` holds every WASI import and all `unsafe`). Natively it only builds for `cargo test`, which exercises everything but
//! the WASI glue against a simulated host.
#![cfg_attr(target_arch = "wasm32", no_std, no_main)]
// Natively only the tests drive the logic (the entry point is wasm32-only).
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

extern crate alloc;

mod config;
mod host;
mod message;
mod outbox;
mod publisher;
mod rfc3339;
mod rng;
mod status;
#[cfg(target_arch = "wasm32")]
mod sys;

/// Natively there is nothing to run: say how to build the real thing.
#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    eprintln!(
        "sqs-publisher is a wasm32-wasip1 module: build it with scripts/build-wasm and run it \
         under Bacalhau or `edge-node run target/modules/publisher.wasm -- ...`"
    );
    std::process::ExitCode::from(2)
}
