//! Wall-clock helpers. RFC 3339 formatting and parsing (the json output's `received_at`, the
//! sensors' `timestamp`, checked here) are `sigv4::date_time`'s, so no date crate is needed.
pub use sigv4::date_time::{format_rfc3339_ms, write_rfc3339_ms};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigv4::date_time::parse_rfc3339_ms;

    #[test]
    fn sensor_timestamps_keep_their_milliseconds() {
        // Issue 18: sensors send `2026-12-03T07:53:41.123Z`; latency is measured from it.
        assert_eq!(
            parse_rfc3339_ms("2026-12-03T07:53:41.123Z"),
            Some(1_796_284_421_123)
        );
        assert_eq!(
            parse_rfc3339_ms("2026-12-03T07:53:41Z"),
            Some(1_796_284_421_000)
        );
        assert_eq!(
            parse_rfc3339_ms("2026-12-03T08:53:41.5+01:00"),
            Some(1_796_284_421_500)
        );
        for bad in [
            "2026-12-03T07:53:41.Z",
            "2026-12-03T07:53:41.123",
            "2026-12-03",
        ] {
            assert_eq!(parse_rfc3339_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_milliseconds() {
        assert_eq!(format_rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_rfc3339_ms(1_742_992_496_123),
            "2025-03-26T12:34:56.123Z"
        );
        assert_eq!(
            format_rfc3339_ms(1_709_251_199_000),
            "2024-02-29T23:59:59.000Z"
        );
    }

    #[test]
    fn format_and_parse_agree() {
        for ms in [1_000u64, 951_782_400_123, 4_102_444_800_000] {
            assert_eq!(parse_rfc3339_ms(&format_rfc3339_ms(ms)), Some(ms as i64));
        }
    }
}
