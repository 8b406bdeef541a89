//! Bounded parallelism for docker invocations: at most `limit` calls in flight, so 300 edge
//! nodes do not fork 300 docker CLIs at once (each is a ~40 MB Go process and the daemon
//! serialises much of the work anyway).
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Runs `work` on every item with at most `limit` threads; `done` is called (serialised) after
/// each item. Once an item fails, no new item is started (in-flight ones finish), so a broken
/// image fails fast instead of producing 300 identical errors. Returns the failures in order.
pub fn run_bounded<T, E, W, D>(items: &[T], limit: usize, work: W, done: D) -> Vec<(usize, E)>
where
    T: Sync,
    E: Send,
    W: Fn(&T) -> Result<(), E> + Sync,
    D: Fn(&T, bool) + Send,
{
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let errors = Mutex::new(Vec::new());
    let done = Mutex::new(done);
    let threads = limit.clamp(1, items.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                if failed.load(Ordering::SeqCst) {
                    return;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(item) = items.get(i) else { return };
                let result = work(item);
                let ok = result.is_ok();
                if let Err(e) = result {
                    failed.store(true, Ordering::SeqCst);
                    errors
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((i, e));
                }
                (done.lock().unwrap_or_else(|p| p.into_inner()))(item, ok);
            });
        }
    });
    let mut errors = errors.into_inner().unwrap_or_else(|p| p.into_inner());
    errors.sort_by_key(|(i, _)| *i);
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_everything_within_the_limit() {
        let in_flight = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let count = AtomicUsize::new(0);
        let items: Vec<u32> = (0..40).collect();
        let errors = run_bounded(
            &items,
            4,
            |_| -> Result<(), ()> {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(2));
                in_flight.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            },
            |_, ok| {
                assert!(ok);
                count.fetch_add(1, Ordering::SeqCst);
            },
        );
        assert!(errors.is_empty());
        assert_eq!(count.load(Ordering::SeqCst), 40);
        assert!(peak.load(Ordering::SeqCst) <= 4);
    }

    #[test]
    fn stops_starting_work_after_a_failure() {
        let started = AtomicUsize::new(0);
        let items: Vec<u32> = (0..100).collect();
        let errors = run_bounded(
            &items,
            2,
            |i| {
                started.fetch_add(1, Ordering::SeqCst);
                if *i == 3 {
                    Err(format!("item {i} broke"))
                } else {
                    Ok(())
                }
            },
            |_, _| {},
        );
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].1, "item 3 broke");
        assert!(started.load(Ordering::SeqCst) < 10);
    }
}
