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
    eprintln!("{}", line("", message));
}

pub fn error(message: &str) {
    eprintln!("{}", line("error: ", message));
}

pub fn debug(message: impl FnOnce() -> String) {
    if verbose() {
        eprintln!("{}", line("debug: ", &message()));
    }
}

/// One log line: our prefix, then the message made inert.
fn line(level: &str, message: &str) -> String {
    format!("proxy: {level}{}", safe_text::inert(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_outside_cannot_escape_its_line() {
        let l = line(
            "error: ",
            "sqs said: \u{1b}[2J\u{1b}]0;pwned\u{7}\nforged line \u{202e}x",
        );
        assert!(l.starts_with("proxy: error: sqs said: "), "{l}");
        assert!(!l.chars().any(safe_text::is_hostile), "{l}");
        assert!(l.contains("\\u{1b}[2J"), "shown escaped: {l}");
    }
}
