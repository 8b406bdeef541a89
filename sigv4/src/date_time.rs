//! UTC calendar formatting for SigV4 (`YYYYMMDDTHHMMSSZ` and `YYYYMMDD`).
//!
//! Done by hand (Howard Hinnant's `civil_from_days`) so the crate needs no time library.
use std::time::{SystemTime, UNIX_EPOCH};

/// A UTC instant broken into calendar fields, second precision (all SigV4 needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmzDateTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl AmzDateTime {
    /// Times before 1970 (a badly set clock) are clamped to the epoch rather than failing.
    pub fn from_system_time(time: SystemTime) -> AmzDateTime {
        let secs = time
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        AmzDateTime::from_unix_seconds(secs)
    }

    pub fn from_unix_seconds(secs: u64) -> AmzDateTime {
        let days = (secs / 86_400) as i64;
        let rem = (secs % 86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        AmzDateTime {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem % 3600 / 60,
            second: rem % 60,
        }
    }

    /// `X-Amz-Date` form, e.g. `20150830T123600Z`.
    pub fn timestamp(&self) -> String {
        format!(
            "{}T{:02}{:02}{:02}Z",
            self.date_stamp(),
            self.hour,
            self.minute,
            self.second
        )
    }

    /// Credential-scope date, e.g. `20150830`.
    pub fn date_stamp(&self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }
}

/// (year, month 1..=12, day 1..=31) → days since 1970-01-01, proleptic Gregorian. Public
/// because the puller and the demo need the same UTC arithmetic for sensor timestamps.
/// See <https://howardhinnant.github.io/date_algorithms.html#days_from_civil>.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400; // 0..=399
    let mp = i64::from((month + 9) % 12); // March-based month 0..=11
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1; // 0..=365
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // 0..=146096
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 → (year, month 1..=12, day 1..=31), proleptic Gregorian.
/// See <https://howardhinnant.github.io/date_algorithms.html#civil_from_days>.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097; // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // 0..=365
    let mp = (5 * doy + 2) / 153; // March-based month 0..=11
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` (RFC 3339, UTC, milliseconds) for Unix milliseconds: the
/// sensors' `timestamp` format and the puller's `received_at`.
pub fn format_rfc3339_ms(ms: u64) -> String {
    let mut out = Vec::with_capacity(24);
    write_rfc3339_ms(ms, &mut out);
    // Only ASCII digits and punctuation were written.
    String::from_utf8(out).unwrap_or_default()
}

/// [`format_rfc3339_ms`] appended to `out` without formatting machinery: the puller writes
/// one per delivered message.
pub fn write_rfc3339_ms(ms: u64, out: &mut Vec<u8>) {
    let secs = (ms / 1000) as i64;
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400) as u32;
    let millis = (ms % 1000) as u32;
    let Some(year) = u32::try_from(year).ok().filter(|y| *y <= 9999) else {
        // Past year 9999 no clock is right; the general formatter writes the longer year.
        let text = format!(
            "{year}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
            rem / 3600,
            rem / 60 % 60,
            rem % 60
        );
        return out.extend_from_slice(text.as_bytes());
    };
    for (n, width, then) in [
        (year, 4, b'-'),
        (month, 2, b'-'),
        (day, 2, b'T'),
        (rem / 3600, 2, b':'),
        (rem / 60 % 60, 2, b':'),
        (rem % 60, 2, b'.'),
        (millis, 3, b'Z'),
    ] {
        digits(n, width, out);
        out.push(then);
    }
}

/// The last `width` decimal digits of `n`, zero-padded.
fn digits(n: u32, width: u32, out: &mut Vec<u8>) {
    for place in (0..width).rev() {
        out.push(b'0' + (n / 10u32.pow(place) % 10) as u8);
    }
}

/// Parses an RFC 3339 timestamp (`2025-03-26T12:34:56Z`, optional fraction, `Z` or `±HH:MM`)
/// into Unix milliseconds (fraction digits past the third are dropped). The sensors'
/// `timestamp` field is read this way by the puller and the demo.
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
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
    let mut millis = 0i64;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        for (i, c) in fraction
            .bytes()
            .take(3)
            .take_while(u8::is_ascii_digit)
            .enumerate()
        {
            millis += i64::from(c - b'0') * [100, 10, 1][i];
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
    Some((secs - offset_secs) * 1000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_what_it_parses() {
        for ms in [0u64, 1_796_284_421_123, 951_782_400_999] {
            let text = format_rfc3339_ms(ms);
            assert_eq!(parse_rfc3339_ms(&text), Some(ms as i64), "{text}");
        }
        assert_eq!(
            format_rfc3339_ms(1_796_284_421_123),
            "2026-12-03T07:53:41.123Z"
        );
    }

    #[test]
    fn parses_rfc3339_to_milliseconds() {
        assert_eq!(
            parse_rfc3339_ms("2025-03-26T12:34:56Z"),
            Some(1_742_992_496_000)
        );
        assert_eq!(
            parse_rfc3339_ms("2025-03-26T12:34:56.5Z"),
            Some(1_742_992_496_500)
        );
        assert_eq!(
            parse_rfc3339_ms("2025-03-26T12:34:56.123456Z"),
            Some(1_742_992_496_123)
        );
        assert_eq!(
            parse_rfc3339_ms("2025-03-26T13:34:56+01:00"),
            Some(1_742_992_496_000)
        );
        for bad in [
            "",
            "2025-03-26",
            "2025-13-26T12:34:56Z",
            "2025-03-26T12:34:56",
            "2025-03-26T12:34:56.Z",
        ] {
            assert_eq!(parse_rfc3339_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn civil_days_round_trip() {
        for days in [-719_468, -1, 0, 59, 60, 11_016, 16_677, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn formats_the_aws_test_suite_instant() {
        // 2015-08-30T12:36:00Z
        let t = AmzDateTime::from_unix_seconds(1_440_938_160);
        assert_eq!(t.timestamp(), "20150830T123600Z");
        assert_eq!(t.date_stamp(), "20150830");
    }

    #[test]
    fn handles_epoch_leap_days_and_year_ends() {
        assert_eq!(
            AmzDateTime::from_unix_seconds(0).timestamp(),
            "19700101T000000Z"
        );
        // 2000-02-29T23:59:59Z (divisible-by-400 leap year)
        assert_eq!(
            AmzDateTime::from_unix_seconds(951_868_799).timestamp(),
            "20000229T235959Z"
        );
        // 2024-12-31T23:59:59Z and the next second
        assert_eq!(
            AmzDateTime::from_unix_seconds(1_735_689_599).timestamp(),
            "20241231T235959Z"
        );
        assert_eq!(
            AmzDateTime::from_unix_seconds(1_735_689_600).timestamp(),
            "20250101T000000Z"
        );
        // 2100-03-01 (2100 is not a leap year)
        assert_eq!(
            AmzDateTime::from_unix_seconds(4_107_542_400).date_stamp(),
            "21000301"
        );
    }

    #[test]
    fn pre_epoch_clock_is_clamped() {
        let t = UNIX_EPOCH - std::time::Duration::from_secs(10);
        assert_eq!(
            AmzDateTime::from_system_time(t).timestamp(),
            "19700101T000000Z"
        );
    }

    #[test]
    fn rfc3339_writer_matches_the_formatter() {
        // The formatter the writer replaced, as the reference.
        let reference = |ms: u64| {
            let secs = (ms / 1000) as i64;
            let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
            let rem = secs.rem_euclid(86_400);
            let (h, m, s) = (rem / 3600, rem / 60 % 60, rem % 60);
            format!(
                "{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{:03}Z",
                ms % 1000
            )
        };
        let edges = [
            0,
            999,
            951_868_799_999,     // 2000-02-29T23:59:59.999Z
            1_735_689_600_000,   // 2025-01-01T00:00:00.000Z
            1_796_284_421_123,   // 2026-12-03T07:53:41.123Z
            253_402_300_799_999, // 9999-12-31T23:59:59.999Z
            253_402_300_800_000, // 10000-01-01: the general formatter
            u64::MAX,
        ];
        let spread = (0..2_000u64).map(|i| i * 7_919_000_003 + i % 1000);
        for ms in edges.into_iter().chain(spread) {
            assert_eq!(format_rfc3339_ms(ms), reference(ms), "{ms}");
        }
        assert_eq!(
            format_rfc3339_ms(1_796_284_421_123),
            "2026-12-03T07:53:41.123Z"
        );
        assert_eq!(
            format_rfc3339_ms(253_402_300_800_000),
            "10000-01-01T00:00:00.000Z"
        );
    }
}
