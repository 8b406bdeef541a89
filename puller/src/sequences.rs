//! The set of sequence numbers seen from one publisher instance, stored as merged inclusive
//! ranges so memory follows the number of gaps, not of messages — and at most [`MAX_RANGES`]
//! ranges: past that, the two lowest (oldest) ranges are joined. The sequences between them
//! stay counted as missing for good (`gaps` does not change), but are no longer listed, and
//! one of them arriving later is taken for a duplicate. A sender with a pathological pattern
//! (every other number) therefore costs a few KiB, not memory in proportion to its messages.

/// Ranges kept per instance.
pub const MAX_RANGES: usize = 128;

#[derive(Debug, Default, Clone)]
pub struct SequenceSet {
    /// (start, end) inclusive, sorted; ranges never overlap or touch.
    ranges: Vec<(u64, u64)>,
    distinct: u64,
}

impl SequenceSet {
    /// Records `seq`; false when it was already seen (a duplicate).
    pub fn insert(&mut self, seq: u64) -> bool {
        // The first range ending at or after seq.
        let i = self.ranges.partition_point(|&(_, end)| end < seq);
        if self.ranges.get(i).is_some_and(|&(start, _)| start <= seq) {
            return false;
        }
        let joins_before = i > 0 && self.ranges[i - 1].1.checked_add(1) == Some(seq);
        let joins_after = self
            .ranges
            .get(i)
            .is_some_and(|&(start, _)| seq.checked_add(1) == Some(start));
        match (joins_before, joins_after) {
            (true, true) => {
                self.ranges[i - 1].1 = self.ranges[i].1;
                self.ranges.remove(i);
            }
            (true, false) => self.ranges[i - 1].1 = seq,
            (false, true) => self.ranges[i].0 = seq,
            (false, false) => self.ranges.insert(i, (seq, seq)),
        }
        if self.ranges.len() > MAX_RANGES {
            // Forget the oldest hole: it stays counted in gaps() (distinct is unchanged).
            self.ranges[0].1 = self.ranges[1].1;
            self.ranges.remove(1);
        }
        self.distinct += 1;
        true
    }

    pub fn distinct(&self) -> u64 {
        self.distinct
    }

    pub fn min(&self) -> Option<u64> {
        self.ranges.first().map(|&(start, _)| start)
    }

    pub fn max(&self) -> Option<u64> {
        self.ranges.last().map(|&(_, end)| end)
    }

    /// Sequences missing between the lowest and highest seen.
    pub fn gaps(&self) -> u64 {
        match (self.min(), self.max()) {
            (Some(min), Some(max)) => (max - min).saturating_add(1).saturating_sub(self.distinct),
            _ => 0,
        }
    }

    /// Sequences missing before the first one seen (publishers count from 1). Reported
    /// separately: a puller started after earlier messages were consumed sees them as missing.
    pub fn missing_before_first(&self) -> u64 {
        self.min().map_or(0, |min| min.saturating_sub(1))
    }

    /// The missing ranges within min..=max still listed, for reports (at most `limit`).
    pub fn missing_ranges(&self, limit: usize) -> Vec<(u64, u64)> {
        self.ranges
            .windows(2)
            .map(|w| (w[0].1 + 1, w[1].0 - 1))
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
    fn ranges_are_bounded_and_forgotten_holes_stay_counted() {
        let odd: Vec<u64> = (0..1000).map(|n| 2 * n + 1).collect();
        let (s, dups) = set(&odd);
        assert_eq!(dups, 0);
        assert_eq!(s.ranges.len(), MAX_RANGES);
        assert_eq!((s.distinct(), s.gaps()), (1000, 999));
        // The 127 highest odd numbers are still single ranges; below them, one merged range.
        assert_eq!(s.missing_ranges(1), vec![(1746, 1746)]);
    }

    #[test]
    fn empty_set() {
        let s = SequenceSet::default();
        assert_eq!((s.gaps(), s.missing_before_first(), s.min()), (0, 0, None));
    }
}
