//! End-to-end latency (receive time − the message's own timestamp) in milliseconds, kept as a
//! log-linear histogram: values below 64 ms exactly, larger ones in buckets 1/32 of their
//! power of two wide (within ~3 % of the true value). At most ~3,800 buckets can ever exist
//! (both signs), however long the puller runs; in practice a few dozen are used.
//!
//! Negative latencies mean clock skew between sensor and puller; they are kept, not hidden.

#[derive(Debug, Default, Clone)]
pub struct Latency {
    /// (bucket, count), sorted by bucket; bucket order is value order.
    buckets: Vec<(i16, u64)>,
    total: u64,
}

/// Values below this many ms get a bucket each.
const EXACT: u64 = 64;
/// Sub-buckets per power of two above [`EXACT`] (5 bits).
const SUB_BITS: u32 = 5;

/// The bucket of a non-negative value.
fn magnitude_bucket(ms: u64) -> i16 {
    if ms < EXACT {
        return ms as i16;
    }
    let top = 63 - ms.leading_zeros(); // ≥ 6
    let shift = top - SUB_BITS;
    let sub = (ms >> shift) & ((1 << SUB_BITS) - 1);
    (EXACT + u64::from(top - 6) * (1 << SUB_BITS) + sub) as i16
}

/// The midpoint of a non-negative bucket.
fn magnitude_value(bucket: i16) -> u64 {
    let b = bucket as u64;
    if b < EXACT {
        return b;
    }
    let top = (b - EXACT) / (1 << SUB_BITS) + 6;
    let sub = (b - EXACT) % (1 << SUB_BITS);
    let shift = top as u32 - SUB_BITS;
    let low = ((1 << SUB_BITS) + sub) << shift;
    low + ((1u64 << shift) >> 1)
}

fn bucket_of(ms: i64) -> i16 {
    if ms >= 0 {
        magnitude_bucket(ms as u64)
    } else {
        -magnitude_bucket(ms.unsigned_abs()) - 1
    }
}

fn value_of(bucket: i16) -> i64 {
    let clamp = |v: u64| v.min(i64::MAX as u64) as i64;
    if bucket >= 0 {
        clamp(magnitude_value(bucket))
    } else {
        -clamp(magnitude_value(-(bucket + 1)))
    }
}

impl Latency {
    pub fn record(&mut self, ms: i64) {
        let bucket = bucket_of(ms);
        match self.buckets.binary_search_by_key(&bucket, |&(b, _)| b) {
            Ok(i) => self.buckets[i].1 += 1,
            Err(i) => self.buckets.insert(i, (bucket, 1)),
        }
        self.total += 1;
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    /// The latency (ms, its bucket's midpoint) at or below which `q` (0..=1) of the samples
    /// fall.
    pub fn quantile_ms(&self, q: f64) -> Option<i64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for &(bucket, n) in &self.buckets {
            seen += n;
            if seen >= rank {
                return Some(value_of(bucket));
            }
        }
        self.buckets.last().map(|&(b, _)| value_of(b))
    }

    /// [`Latency::quantile_ms`] in seconds, for reports.
    pub fn quantile_secs(&self, q: f64) -> Option<f64> {
        self.quantile_ms(q).map(|ms| ms as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_are_exact() {
        let mut l = Latency::default();
        for ms in 1..=50 {
            l.record(ms);
        }
        assert_eq!(l.quantile_ms(0.5), Some(25));
        assert_eq!(l.quantile_ms(1.0), Some(50));
        assert_eq!(l.quantile_ms(0.0), Some(1));
    }

    #[test]
    fn buckets_are_ordered_and_within_three_percent() {
        let mut previous = i16::MIN;
        let mut values: Vec<i64> = (-5_000..5_000).collect();
        values.extend([i64::MIN, -86_400_000, 86_400_000, 3_600_123, i64::MAX]);
        values.sort_unstable();
        for v in values {
            let b = bucket_of(v);
            assert!(b >= previous, "{v}: bucket {b} < {previous}");
            previous = b;
            let shown = value_of(b);
            let error = (shown as i128 - v as i128).unsigned_abs();
            assert!(
                error <= (v.unsigned_abs() as u128) / 32 + 1,
                "{v} shown as {shown}"
            );
        }
    }

    #[test]
    fn percentiles_of_spread_latencies() {
        let mut l = Latency::default();
        for ms in 1..=1000 {
            l.record(ms * 10);
        }
        let p50 = l.quantile_ms(0.5).expect("p50");
        let p99 = l.quantile_ms(0.99).expect("p99");
        assert!((4_850..=5_150).contains(&p50), "{p50}");
        assert!((9_600..=10_200).contains(&p99), "{p99}");
        assert!(l.buckets.len() < 300, "{}", l.buckets.len());
    }

    #[test]
    fn skew_stays_negative() {
        let mut l = Latency::default();
        l.record(-1_500);
        let p = l.quantile_ms(0.5).expect("p50");
        assert!((-1_550..=-1_450).contains(&p), "{p}");
    }

    #[test]
    fn empty_has_no_percentiles() {
        assert_eq!(Latency::default().quantile_ms(0.5), None);
    }
}
