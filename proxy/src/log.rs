//! Logging to stderr: startup configuration, errors and state changes always; per-request
//! detail only with `-v` (kept off by default: at 50,000 messages/s a line each would cost
//! more than the forwarding).
//!
//! Messages carry text from requests and from SQS (error messages, ids, panic messages): every
//! line goes through `safe_text::inert` here, in one place, so no such text can put a terminal
//! escape or a line break of its own into an operator's log.
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

static VERBOSE: AtomicBool = AtomicBool::new(false);

pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Relaxed);
}

pub fn verbose() -> bool {
    VERBOSE.load(Relaxed)
}

pub fn info(message: &str) {
    eprintln!("proxy: {}", safe_text::inert(message));
}

pub fn error(message: &str) {
    eprintln!("proxy: error: {}", safe_text::inert(message));
}

pub fn debug(message: impl FnOnce() -> String) {
    if verbose() {
        eprintln!("proxy: debug: {}", safe_text::inert(&message()));
    }
}
