//! What an answer from the proxy means for the message that got it, and how long the proxy
//! asked us to wait. The table is documented in docs/publisher-module.md ("Which answers
//! drop a message").
//!
//! The split is the usual one of retrying HTTP clients, read from the status semantics of
//! RFC 9110 §15: a status that says *this request* is wrong can never succeed on a resend, so the message is dropped (and counted) instead of blocking
//! every later message behind it forever; a status that says *the server, the credentials or
//! the moment* is wrong may clear up, so the message is kept and retried with backoff.

/// What to do with the message the proxy answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx: the proxy took it (`filtered` included); it leaves the outbox.
    Delivered,
    /// The proxy refused this message for good: resending the same bytes cannot succeed.
    Refused,
    /// Keep it and retry later: the proxy, SQS, the credentials or the network may recover.
    Retry,
}

/// Statuses that are permanent for the one message that got them:
/// 400 Bad Request (not JSON, not an object, SQS refused it as invalid), 404 Not Found,
/// 405 Method Not Allowed, 411 Length Required, 413 Content Too Large,
/// 415 Unsupported Media Type, 422 Unprocessable Content.
pub const PERMANENT: [u32; 7] = [400, 404, 405, 411, 413, 415, 422];

/// The verdict for an HTTP status. Anything not listed as permanent is retried: 401 and 403
/// (a token being rotated), 408, 425, 429 and 5xx by design, and unknown statuses because
/// dropping on a guess would lose data silently, while a stuck sensor is visible in its log.
pub fn verdict(status: u32) -> Verdict {
    if (200..300).contains(&status) {
        Verdict::Delivered
    } else if PERMANENT.contains(&status) {
        Verdict::Refused
    } else {
        Verdict::Retry
    }
}

/// Longest wait a `Retry-After` can impose: a proxy (or something posing as one) must not
/// park a sensor for hours; after a minute we ask again, and the answer can say wait again.
pub const RETRY_AFTER_MAX_SECS: u32 = 60;

/// `Retry-After` in delta-seconds from the response headers as the host hands them over
/// (`Name: value` lines separated by `\n`; the name matched case-insensitively), capped at
/// [`RETRY_AFTER_MAX_SECS`]. The HTTP-date form (RFC 9110 §10.2.3) is not used by our proxy
/// and is ignored: the normal backoff applies instead.
pub fn retry_after_secs(headers: &[u8]) -> Option<u32> {
    const NAME: &[u8] = b"retry-after:";
    headers.split(|&b| b == b'\n').find_map(|line| {
        let value = line
            .get(..NAME.len())
            .filter(|head| head.eq_ignore_ascii_case(NAME))
            .map(|_| trim(&line[NAME.len()..]))?;
        if value.is_empty() || value.len() > 10 || !value.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let secs = value.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        Some(secs.min(u64::from(RETRY_AFTER_MAX_SECS)) as u32)
    })
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t' | b'\r', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t' | b'\r'] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_class_gets_its_verdict() {
        for s in [200, 201, 202, 204, 299] {
            assert_eq!(verdict(s), Verdict::Delivered, "{s}");
        }
        for s in PERMANENT {
            assert_eq!(verdict(s), Verdict::Refused, "{s}");
        }
        for s in [401, 403, 408, 425, 429, 500, 502, 503, 504, 599] {
            assert_eq!(verdict(s), Verdict::Retry, "{s}");
        }
        for s in [0, 100, 301, 302, 409, 410, 418, 431, 600] {
            assert_eq!(verdict(s), Verdict::Retry, "unknown {s} is kept");
        }
    }

    #[test]
    fn retry_after_in_seconds_case_insensitive_and_capped() {
        let h = b"Content-Type: application/json\nRetry-After: 3\nContent-Length: 2";
        assert_eq!(retry_after_secs(h), Some(3));
        assert_eq!(retry_after_secs(b"retry-after:7\r"), Some(7));
        assert_eq!(retry_after_secs(b"RETRY-AFTER:  0 "), Some(0));
        assert_eq!(retry_after_secs(b"Retry-After: 86400"), Some(60));
        assert_eq!(retry_after_secs(b"Retry-After: 99999999999999"), None);
        assert_eq!(
            retry_after_secs(b"Retry-After: Wed, 21 Oct 2015 07:28:00 GMT"),
            None
        );
        assert_eq!(retry_after_secs(b"Retry-After: -1"), None);
        assert_eq!(retry_after_secs(b"X-Retry-After: 5"), None);
        assert_eq!(retry_after_secs(b""), None);
    }
}
