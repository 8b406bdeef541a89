//! End-to-end latency (receive time − the message's own timestamp) in whole seconds, kept as a
//! count per second value: bounded memory however long the puller runs, exact percentiles.
use std::collections::BTreeMap;

#[derive(Debug, Default, Clone)]
pub struct Latency {
    /// latency in seconds → how many messages had it. Negative values mean clock skew
    /// between publisher and puller; they are kept, not hidden.
    counts: BTreeMap<i64, u64>,
    total: u64,
}

impl Latency {
    pub fn record(&mut self, seconds: i64) {
        *self.counts.entry(seconds).or_insert(0) += 1;
        self.total += 1;
    }

    pub fn merge(&mut self, other: &Latency) {
        for (secs, n) in &other.counts {
            *self.counts.entry(*secs).or_insert(0) += n;
        }
        self.total += other.total;
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    /// The smallest latency at or below which `q` (0..=1) of the samples fall.
    pub fn quantile(&self, q: f64) -> Option<i64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (secs, n) in &self.counts {
            seen += n;
            if seen >= rank {
                return Some(*secs);
            }
        }
        self.counts.keys().next_back().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let mut l = Latency::default();
        for s in 1..=100 {
            l.record(s);
        }
        assert_eq!(l.quantile(0.5), Some(50));
        assert_eq!(l.quantile(0.99), Some(99));
        assert_eq!(l.quantile(1.0), Some(100));
        assert_eq!(l.quantile(0.0), Some(1));
    }

    #[test]
    fn empty_has_no_percentiles() {
        assert_eq!(Latency::default().quantile(0.5), None);
    }

    #[test]
    fn merge_adds_counts() {
        let mut a = Latency::default();
        let mut b = Latency::default();
        a.record(1);
        b.record(3);
        b.record(3);
        a.merge(&b);
        assert_eq!((a.count(), a.quantile(0.5)), (3, Some(3)));
    }
}
