//! Wall-clock helpers: RFC 3339 parsing for the sensors' `timestamp` and formatting for the
//! json output's `received_at`. Civil-date arithmetic is
//! `sigv4::date_time`'s, so no date crate is needed.
use sigv4::date_time::{civil_from_days, days_from_civil};
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
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = text.get(range)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset_secs = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let ob = rest.as_bytes();
            if ob.len() != 6 || ob[3] != b':' {
                return None;
            }
            let hours: i64 = rest[1..3].parse().ok()?;
            let minutes: i64 = rest[4..6].parse().ok()?;
            sign * (hours * 3600 + minutes * 60)
        }
    };
    let days = days_from_civil(i64::from(year), month, day);
    let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Some(secs - offset_secs)
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
