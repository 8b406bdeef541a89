//! Logging to stderr: startup configuration, errors and state changes always; per-request
//! detail only with `-v` (kept off by default: at 50,000 messages/s a line each would cost
//! more than the forwarding).
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

static VERBOSE: AtomicBool = AtomicBool::new(false);

pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Relaxed);
}

pub fn verbose() -> bool {
    VERBOSE.load(Relaxed)
}

pub fn info(message: &str) {
    eprintln!("proxy: {message}");
}

pub fn error(message: &str) {
    eprintln!("proxy: error: {message}");
}

pub fn debug(message: impl FnOnce() -> String) {
    if verbose() {
        eprintln!("proxy: debug: {}", message());
    }
}
