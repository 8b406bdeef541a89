//! RFC 3339 timestamps (the sensors' `timestamp` field) to Unix milliseconds, and back for
//! run-directory names. The civil-date arithmetic is `sigv4::date_time`'s.
use sigv4::date_time::civil_from_days;

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]` into Unix milliseconds (none before 1970).
pub fn parse_rfc3339_ms(text: &str) -> Option<u64> {
    sigv4::date_time::parse_rfc3339_ms(text).and_then(|ms| u64::try_from(ms).ok())
}

/// Now as Unix milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `YYYYMMDD-HHMMSS` (UTC) of Unix milliseconds, for directory names.
pub fn compact_utc(ms: u64) -> String {
    let secs = (ms / 1000) as i64;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}{mo:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_seed_example() {
        assert_eq!(
            parse_rfc3339_ms("2025-03-26T12:34:56Z"),
            Some(1_742_992_496_000)
        );
        assert_eq!(
            parse_rfc3339_ms("2025-03-26T12:34:56.5Z"),
            Some(1_742_992_496_500)
        );
        assert_eq!(
            parse_rfc3339_ms("2025-03-26T13:34:56+01:00"),
            Some(1_742_992_496_000)
        );
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "2025-03-26",
            "2025-13-26T12:34:56Z",
            "2025-03-26T12:34:56",
            "x".repeat(25).as_str(),
        ] {
            assert_eq!(parse_rfc3339_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn compact_round_trip() {
        assert_eq!(compact_utc(1_742_992_496_000), "20250326-123456");
    }
}
