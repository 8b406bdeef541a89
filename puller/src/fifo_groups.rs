//! FIFO order across pollers. SQS FIFO does not hand out a message group's later messages
//! while earlier ones are in flight, but once a batch's visibility runs out (or it is handed
//! back) another poller may receive the same group while the first still holds it. So before
//! delivering, a poller claims every message group of its batch; a poller whose batch shares
//! a group with one being delivered waits for it. A batch claims all its groups at once or
//! none (no poller holds some while waiting for others), so two pollers cannot deadlock.
use std::collections::HashSet;
use std::sync::{Condvar, Mutex, MutexGuard};

#[derive(Default)]
pub struct GroupLocks {
    held: Mutex<HashSet<String>>,
    freed: Condvar,
}

/// The groups of one batch, held until dropped.
pub struct Claim<'a> {
    locks: &'a GroupLocks,
    groups: Vec<String>,
}

impl GroupLocks {
    fn lock(&self) -> MutexGuard<'_, HashSet<String>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until none of `groups` is held by another batch, then holds them all.
    pub fn claim(&self, mut groups: Vec<String>) -> Claim<'_> {
        groups.sort();
        groups.dedup();
        let mut held = self.lock();
        while groups.iter().any(|g| held.contains(g)) {
            held = self.freed.wait(held).unwrap_or_else(|p| p.into_inner());
        }
        held.extend(groups.iter().cloned());
        Claim {
            locks: self,
            groups,
        }
    }

    #[cfg(test)]
    fn held_count(&self) -> usize {
        self.lock().len()
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        let mut held = self.locks.lock();
        for g in &self.groups {
            held.remove(g);
        }
        self.locks.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    #[test]
    fn a_group_is_held_by_one_batch_at_a_time() {
        let locks = GroupLocks::default();
        let first = locks.claim(vec!["a".into(), "b".into(), "a".into()]);
        assert_eq!(locks.held_count(), 2);
        let second_done = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                let _c = locks.claim(vec!["c".into(), "b".into()]);
                second_done.store(true, Ordering::SeqCst);
            });
            // Unrelated groups are not held up.
            drop(locks.claim(vec!["z".into()]));
            std::thread::sleep(Duration::from_millis(100));
            assert!(!second_done.load(Ordering::SeqCst), "b is still held");
            drop(first);
        });
        assert!(second_done.load(Ordering::SeqCst));
        assert_eq!(locks.held_count(), 0);
    }
}
