//! What the canned source hands out: message `n` of the prefill is a sensor message (the
//! schema the sensor module sends) from instance `n % instances` with sequence
//! `n / instances + 1`, so a puller sees every instance's sequences complete and in order.
//! Ids and receipt handles are derived from `n`, so nothing is stored per message but the
//! time it was handed out.
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// The parts of every canned body that do not depend on `n`.
pub struct Canned {
    pub instances: u64,
    /// When the stand-in started, RFC 3339 with milliseconds: the messages' `timestamp`.
    timestamp: String,
    /// The same instant in Unix milliseconds: the messages' `SentTimestamp`.
    pub sent_ms: u64,
}

impl Canned {
    pub fn new(instances: u64) -> Canned {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let sent_ms = now.as_millis() as u64;
        Canned {
            instances: instances.max(1),
            timestamp: rfc3339_ms(sent_ms),
            sent_ms,
        }
    }

    /// Writes message `n`'s body into `out` (cleared first).
    pub fn body(&self, n: u64, out: &mut Vec<u8>) {
        out.clear();
        let (instance, sequence) = (n % self.instances, n / self.instances + 1);
        // Writing into a Vec cannot fail.
        let _ = write!(
            out,
            "{{\"job_id\":\"j-1\",\"execution_id\":\"e-{instance}\",\"hostname\":\"edge-{instance}\",\
             \"job_submission_time\":1711449600,\"icon_name\":\"🚀\",\"timestamp\":\"{}\",\
             \"color\":\"#FF5733\",\"sequence\":{sequence},\"region\":\"us\"}}",
            self.timestamp
        );
    }
}

/// A UUID-shaped message id: `kind` tells sent (1) from canned (0) messages apart.
pub fn push_message_id(kind: u8, n: u64, out: &mut Vec<u8>) {
    let _ = write!(
        out,
        "00000000-0000-4000-8{kind:03x}-{:012x}",
        n & 0xffff_ffff_ffff
    );
}

const HANDLE_PREFIX: &str = "standin-rh-";

pub fn push_receipt_handle(n: u64, out: &mut Vec<u8>) {
    let _ = write!(out, "{HANDLE_PREFIX}{n}");
}

/// The message a receipt handle was made for; `None` for one this stand-in never made.
pub fn parse_receipt_handle(handle: &str) -> Option<u64> {
    let digits = handle.strip_prefix(HANDLE_PREFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for Unix milliseconds (civil date from days: Howard Hinnant's
/// `civil_from_days`, valid for any date after 1970).
fn rfc3339_ms(ms: u64) -> String {
    let (secs, millis) = (ms / 1000, ms % 1000);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_742_992_496_123), "2025-03-26T12:34:56.123Z");
        assert_eq!(rfc3339_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn bodies_spread_over_instances_with_sequences() {
        let canned = Canned::new(3);
        let mut out = Vec::new();
        canned.body(7, &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["hostname"], "edge-1");
        assert_eq!(v["execution_id"], "e-1");
        assert_eq!(v["sequence"], 3);
        assert_eq!(v["region"], "us");
    }

    #[test]
    fn receipt_handles_round_trip_and_strangers_are_refused() {
        let mut out = Vec::new();
        push_receipt_handle(42, &mut out);
        assert_eq!(
            parse_receipt_handle(std::str::from_utf8(&out).unwrap()),
            Some(42)
        );
        for bad in [
            "",
            "standin-rh-",
            "standin-rh--1",
            "standin-rh-1x",
            "other-1",
        ] {
            assert_eq!(parse_receipt_handle(bad), None, "{bad:?}");
        }
        let mut id = Vec::new();
        push_message_id(0, 255, &mut id);
        assert_eq!(id, b"00000000-0000-4000-8000-0000000000ff");
    }
}
