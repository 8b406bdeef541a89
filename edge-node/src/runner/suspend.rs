//! The "errors" host functions return to suspend a guest.
//!
//! wasmi's resumable calls stop the guest when a host function fails with a host error and
//! hand the scheduler a handle to resume it later with the function's results. A sleeping or
//! waiting guest therefore costs no thread: only its store and its (small) wasm stack.
use std::fmt;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suspend {
    /// `poll_oneoff` on a clock: resume with errno 0 at this instant (events are already
    /// written to guest memory).
    Sleep(Instant),
    /// `http_request`: the request is in `NodeCtx::pending_http`; resume with the result code
    /// once the answer is written to guest memory.
    Http,
}

impl fmt::Display for Suspend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Suspend::Sleep(_) => f.write_str("guest suspended in poll_oneoff"),
            Suspend::Http => f.write_str("guest suspended in http_request"),
        }
    }
}

impl wasmi::errors::HostError for Suspend {}
