//! What the publisher needs from its host, as a trait: the WASI implementation lives in
//! `sys.rs`, a simulated one in the tests. Keeping the protocol logic behind this seam is
//! what lets `cargo test` check "no loss, no gap" natively, with simulated time.

/// HTTP method codes of Bacalhau's `http_request` ABI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get = 0,
    Post = 1,
}

/// A completed HTTP exchange (`http_request` returned 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    pub status: u32,
    /// The body said `"filtered"`: the proxy accepted the message but dropped it because a
    /// newer deployment sends from this host. That still counts as delivered.
    pub filtered: bool,
    /// The answer's `Retry-After`, in seconds (capped), when it had one.
    pub retry_after_secs: Option<u32>,
}

/// A failed `http_request`, by its ABI result code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpError(pub u32);

impl HttpError {
    pub const INVALID_URL: HttpError = HttpError(1);
    #[cfg_attr(not(test), allow(dead_code))] // the host reports it; tests simulate it
    pub const NETWORK: HttpError = HttpError(2);
    pub const NOT_ALLOWED: HttpError = HttpError(4);
    pub const BAD_INPUT: HttpError = HttpError(6);
    pub const MEMORY: HttpError = HttpError(7);

    /// The ABI's name for the code.
    pub fn describe(self) -> &'static str {
        match self.0 {
            1 => "invalid URL",
            2 => "network error",
            3 => "timeout",
            4 => "host not allowed by the job's network policy",
            5 => "too large",
            6 => "bad input",
            7 => "memory error",
            _ => "unknown http_request error",
        }
    }

    /// Errors that retrying cannot fix: the URL or the job's network policy is wrong.
    pub fn is_permanent(self) -> bool {
        matches!(
            self,
            Self::INVALID_URL | Self::NOT_ALLOWED | Self::BAD_INPUT | Self::MEMORY
        )
    }
}

pub trait Host {
    /// Monotonic clock, nanoseconds.
    fn monotonic_ns(&mut self) -> u64;
    /// Wall clock, nanoseconds since the Unix epoch.
    fn realtime_ns(&mut self) -> u64;
    fn sleep_ns(&mut self, ns: u64);
    fn http(
        &mut self,
        method: Method,
        url: &str,
        headers: &str,
        body: &[u8],
    ) -> Result<Reply, HttpError>;
    /// Writes one line (without newline) to stderr.
    fn log(&mut self, line: &str);
    /// Writes text to stdout (the usage text).
    fn print(&mut self, text: &str);
}

/// A log line built on the stack: logging must not allocate, so the steady state of the
/// module never touches the allocator. Longer lines are cut, never lost entirely.
pub struct LogLine {
    buf: [u8; 320],
    len: usize,
}

impl LogLine {
    pub fn new() -> LogLine {
        let mut line = LogLine {
            buf: [0; 320],
            len: 0,
        };
        line.push("sqs-publisher: ");
        line
    }

    pub fn push(&mut self, s: &str) -> &mut LogLine {
        let mut take = s.len().min(self.buf.len() - self.len);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.buf[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        self
    }

    pub fn num(&mut self, n: u64) -> &mut LogLine {
        let mut digits = [0u8; 20];
        let s = format_u64(n, &mut digits);
        self.push(s)
    }

    pub fn as_str(&self) -> &str {
        // Only whole UTF-8 strings cut at char boundaries were pushed.
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("sqs-publisher: (bad log line)")
    }
}

/// Decimal digits of `n` in `out`, without allocating.
pub fn format_u64(mut n: u64, out: &mut [u8; 20]) -> &str {
    let mut i = out.len();
    loop {
        i -= 1;
        out[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    core::str::from_utf8(&out[i..]).unwrap_or("0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_truncation() {
        let mut d = [0; 20];
        assert_eq!(format_u64(0, &mut d), "0");
        assert_eq!(format_u64(u64::MAX, &mut d), "18446744073709551615");
        let mut line = LogLine::new();
        line.push("held ").num(42);
        assert_eq!(line.as_str(), "sqs-publisher: held 42");
        let long = "é".repeat(400);
        let mut line = LogLine::new();
        line.push(&long);
        assert!(line.as_str().len() <= 320 && line.as_str().ends_with('é'));
    }
}
