//! The outbox: messages generated but not yet acknowledged, oldest first.
//!
//! A message is fully determined by its sequence number and its timestamp (everything else
//! is fixed, and the drop counts are current at send time), so the outbox stores only an
//! 8-byte millisecond timestamp per message and the sequence of the oldest one; sequences are
//! consecutive by construction, so none can be skipped. A resent message keeps the timestamp
//! it was generated with. The ring starts small and doubles only while the proxy is away, up
//! to `capacity`; when full, the oldest message is dropped (and counted) to make room.
use alloc::vec;
use alloc::vec::Vec;

pub struct Outbox {
    ring: Vec<u64>,
    head: usize,
    len: usize,
    capacity: usize,
    front_sequence: u64,
}

/// What [`Outbox::push`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    Stored {
        sequence: u64,
    },
    /// Stored after dropping the oldest message to make room.
    DroppedOldest {
        sequence: u64,
    },
}

const INITIAL_SLOTS: usize = 16;

impl Outbox {
    /// An empty outbox whose first message will get sequence 1.
    pub fn new(capacity: usize) -> Outbox {
        let capacity = capacity.max(1);
        Outbox {
            ring: vec![0; INITIAL_SLOTS.min(capacity)],
            head: 0,
            len: 0,
            capacity,
            front_sequence: 1,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sequence the next pushed message gets.
    pub fn next_sequence(&self) -> u64 {
        self.front_sequence + self.len as u64
    }

    /// Appends a message generated at `unix_ms`.
    pub fn push(&mut self, unix_ms: u64) -> Pushed {
        let sequence = self.next_sequence();
        let mut dropped = false;
        if self.len == self.ring.len() {
            if self.ring.len() < self.capacity {
                self.grow();
            } else {
                self.pop();
                dropped = true;
            }
        }
        let slot = (self.head + self.len) % self.ring.len();
        self.ring[slot] = unix_ms;
        self.len += 1;
        if dropped {
            Pushed::DroppedOldest { sequence }
        } else {
            Pushed::Stored { sequence }
        }
    }

    /// The oldest message: (sequence, unix milliseconds).
    pub fn front(&self) -> Option<(u64, u64)> {
        (self.len > 0).then(|| (self.front_sequence, self.ring[self.head]))
    }

    /// Removes the oldest message (acknowledged, refused for good, or dropped for room).
    pub fn pop(&mut self) {
        if self.len > 0 {
            self.head = (self.head + 1) % self.ring.len();
            self.len -= 1;
            self.front_sequence += 1;
        }
    }

    fn grow(&mut self) {
        // Unwrap the ring so the live messages are contiguous, then extend at the end.
        self.ring.rotate_left(self.head);
        self.head = 0;
        let new_len = (self.ring.len() * 2).min(self.capacity);
        self.ring.resize(new_len, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_with_consecutive_sequences_across_growth_and_wrap() {
        let mut o = Outbox::new(100);
        for t in 0..10 {
            o.push(1000 + t);
        }
        for t in 0..5 {
            assert_eq!(o.front(), Some((t + 1, 1000 + t)));
            o.pop();
        }
        for t in 10..40 {
            assert_eq!(o.push(1000 + t), Pushed::Stored { sequence: t + 1 });
        }
        let mut expect = 6;
        while let Some((seq, ts)) = o.front() {
            assert_eq!((seq, ts), (expect, 1000 + expect - 1));
            o.pop();
            expect += 1;
        }
        assert_eq!(expect, 41);
        assert!(o.is_empty());
        assert_eq!(o.next_sequence(), 41);
    }

    #[test]
    fn overflow_drops_the_oldest() {
        let mut o = Outbox::new(3);
        o.push(1);
        o.push(2);
        o.push(3);
        assert_eq!(o.push(4), Pushed::DroppedOldest { sequence: 4 });
        assert_eq!(o.len(), 3);
        assert_eq!(o.front(), Some((2, 2)));
        assert_eq!(o.ring.len(), 3, "never grows past capacity");
    }
}
