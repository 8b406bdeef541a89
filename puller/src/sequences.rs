//! The set of sequence numbers seen from one publisher instance, stored as merged inclusive
//! ranges so a long-running puller uses memory in proportion to the number of gaps, not the
//! number of messages.
use std::collections::BTreeMap;

#[derive(Debug, Default, Clone)]
pub struct SequenceSet {
    /// start → end (inclusive); ranges never overlap or touch.
    ranges: BTreeMap<u64, u64>,
    distinct: u64,
}

impl SequenceSet {
    /// Records `seq`; false when it was already seen (a duplicate).
    pub fn insert(&mut self, seq: u64) -> bool {
        let before = self.ranges.range(..=seq).next_back().map(|(s, e)| (*s, *e));
        if let Some((_, end)) = before {
            if end >= seq {
                return false;
            }
        }
        let after_start = seq.checked_add(1).filter(|n| self.ranges.contains_key(n));
        let joins_before = before.filter(|(_, end)| end.checked_add(1) == Some(seq));
        match (joins_before, after_start) {
            (Some((start, _)), Some(next)) => {
                let next_end = self.ranges.remove(&next).unwrap_or(next);
                self.ranges.insert(start, next_end);
            }
            (Some((start, _)), None) => {
                self.ranges.insert(start, seq);
            }
            (None, Some(next)) => {
                let next_end = self.ranges.remove(&next).unwrap_or(next);
                self.ranges.insert(seq, next_end);
            }
            (None, None) => {
                self.ranges.insert(seq, seq);
            }
        }
        self.distinct += 1;
        true
    }

    pub fn distinct(&self) -> u64 {
        self.distinct
    }

    pub fn min(&self) -> Option<u64> {
        self.ranges.keys().next().copied()
    }

    pub fn max(&self) -> Option<u64> {
        self.ranges.values().next_back().copied()
    }

    /// Sequences missing between the lowest and highest seen.
    pub fn gaps(&self) -> u64 {
        match (self.min(), self.max()) {
            (Some(min), Some(max)) => (max - min + 1) - self.distinct,
            _ => 0,
        }
    }

    /// Sequences missing before the first one seen (publishers count from 1). Reported
    /// separately: a puller started after earlier messages were consumed sees them as missing.
    pub fn missing_before_first(&self) -> u64 {
        self.min().map_or(0, |min| min.saturating_sub(1))
    }

    /// The missing ranges within min..=max, for reports (at most `limit`).
    pub fn missing_ranges(&self, limit: usize) -> Vec<(u64, u64)> {
        self.ranges
            .iter()
            .zip(self.ranges.iter().skip(1))
            .map(|((_, end), (next_start, _))| (end + 1, next_start - 1))
            .take(limit)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(seqs: &[u64]) -> (SequenceSet, u64) {
        let mut s = SequenceSet::default();
        let dups = seqs.iter().filter(|&&n| !s.insert(n)).count() as u64;
        (s, dups)
    }

    #[test]
    fn contiguous_run_has_no_gaps() {
        let (s, dups) = set(&[1, 2, 3, 4, 5]);
        assert_eq!(
            (s.gaps(), dups, s.distinct(), s.min(), s.max()),
            (0, 0, 5, Some(1), Some(5))
        );
        assert_eq!(s.missing_ranges(10), vec![]);
    }

    #[test]
    fn out_of_order_arrival_merges() {
        let (s, dups) = set(&[5, 3, 1, 2, 4]);
        assert_eq!((s.gaps(), dups, s.distinct()), (0, 0, 5));
        assert_eq!(s.ranges.len(), 1);
    }

    #[test]
    fn gaps_are_counted_and_listed() {
        let (s, _) = set(&[1, 2, 5, 9, 10]);
        assert_eq!(s.gaps(), 5);
        assert_eq!(s.missing_ranges(10), vec![(3, 4), (6, 8)]);
        assert_eq!(s.missing_ranges(1), vec![(3, 4)]);
    }

    #[test]
    fn duplicates_are_detected_anywhere_in_a_range() {
        let (s, dups) = set(&[1, 2, 3, 2, 3, 1, 7, 7]);
        assert_eq!(dups, 4);
        assert_eq!(s.distinct(), 4);
        assert_eq!(s.gaps(), 3);
    }

    #[test]
    fn late_start_is_not_a_gap() {
        let (s, _) = set(&[100, 101, 103]);
        assert_eq!((s.gaps(), s.missing_before_first()), (1, 99));
    }

    #[test]
    fn filling_a_hole_joins_both_sides() {
        let (s, _) = set(&[1, 3, 2]);
        assert_eq!(s.ranges.len(), 1);
        assert_eq!(s.gaps(), 0);
    }

    #[test]
    fn extreme_values_do_not_overflow() {
        let (s, dups) = set(&[u64::MAX, u64::MAX - 1, u64::MAX]);
        assert_eq!((dups, s.distinct(), s.gaps()), (1, 2, 0));
    }

    #[test]
    fn empty_set() {
        let s = SequenceSet::default();
        assert_eq!((s.gaps(), s.missing_before_first(), s.min()), (0, 0, None));
    }
}
