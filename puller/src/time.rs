//! Wall-clock helpers: RFC 3339 parsing for the sensors' `timestamp` and formatting for the
//! json output's `received_at`. Civil-date arithmetic is
//! `sigv4::date_time`'s, so no date crate is needed.
use sigv4::date_time::{civil_from_days, parse_rfc3339_ms};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for Unix milliseconds.
pub fn format_rfc3339_ms(ms: u64) -> String {
    let secs = (ms / 1000) as i64;
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        ms % 1000
    )
}

/// Parses an RFC 3339 timestamp (`2025-03-26T12:34:56Z`, optional fraction, `Z` or `±HH:MM`)
/// into whole Unix seconds (the fraction is dropped: latency has second resolution).
pub fn parse_rfc3339_secs(text: &str) -> Option<i64> {
    parse_rfc3339_ms(text).map(|ms| ms.div_euclid(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_utc_timestamps() {
        assert_eq!(parse_rfc3339_secs("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_secs("2025-03-26T12:34:56Z"),
            Some(1_742_992_496)
        );
        assert_eq!(
            parse_rfc3339_secs("2024-02-29T23:59:59Z"),
            Some(1_709_251_199)
        );
    }

    #[test]
    fn fraction_is_dropped_and_offsets_applied() {
        assert_eq!(
            parse_rfc3339_secs("2025-03-26T12:34:56.999Z"),
            Some(1_742_992_496)
        );
        assert_eq!(
            parse_rfc3339_secs("2025-03-26T14:34:56+02:00"),
            Some(1_742_992_496)
        );
        assert_eq!(
            parse_rfc3339_secs("2025-03-26T11:34:56-01:00"),
            Some(1_742_992_496)
        );
    }

    #[test]
    fn rejects_malformed_timestamps() {
        for bad in [
            "",
            "2025-03-26",
            "2025-13-01T00:00:00Z",
            "2025-03-26T12:34:56",
            "x025-03-26T12:34:56Z",
            "2025-03-26T12:34:56.Z",
            "2025-03-26T12:34:56+0200",
        ] {
            assert_eq!(parse_rfc3339_secs(bad), None, "{bad}");
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
        for ms in [1_000u64, 951_782_400_000, 4_102_444_800_000] {
            assert_eq!(
                parse_rfc3339_secs(&format_rfc3339_ms(ms)),
                Some((ms / 1000) as i64)
            );
        }
    }
}
