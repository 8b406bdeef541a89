//! RFC 3339 UTC timestamps with millisecond precision ("2025-03-26T12:34:56.123Z"): the seed's
//! format plus a fraction, which every RFC 3339 parser (Go's `time.RFC3339` included) accepts,
//! so latency downstream is measured rather than rounded to a second. Computed from Unix
//! milliseconds without any date library.

/// Length of the text [`format`] writes.
pub const LEN: usize = 24;

/// Writes `YYYY-MM-DDTHH:MM:SS.mmmZ` for `unix_ms`.
pub fn format(unix_ms: u64, out: &mut [u8; LEN]) {
    let unix_secs = unix_ms / 1000;
    let days = unix_secs / 86_400;
    let secs_of_day = unix_secs % 86_400;
    let (year, month, day) = civil_from_days(days as i64);
    let year = year.clamp(0, 9999) as u64;
    let fields = [
        (0, 4, year),
        (5, 2, month as u64),
        (8, 2, day as u64),
        (11, 2, secs_of_day / 3600),
        (14, 2, secs_of_day % 3600 / 60),
        (17, 2, secs_of_day % 60),
        (20, 3, unix_ms % 1000),
    ];
    *out = *b"0000-00-00T00:00:00.000Z";
    for (start, width, mut value) in fields {
        for i in (start..start + width).rev() {
            out[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, public-domain algorithm, re-derived here).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(ms: u64) -> String {
        let mut out = [0; LEN];
        format(ms, &mut out);
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn known_instants() {
        assert_eq!(f(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(f(1_711_456_496_000), "2024-03-26T12:34:56.000Z");
        assert_eq!(f(951_782_400_007), "2000-02-29T00:00:00.007Z");
        assert_eq!(f(4_102_444_799_999), "2099-12-31T23:59:59.999Z");
        assert_eq!(f(1_742_992_496_123), "2025-03-26T12:34:56.123Z");
        assert_eq!(f(1_796_284_421_123), "2026-12-03T07:53:41.123Z");
    }
}
