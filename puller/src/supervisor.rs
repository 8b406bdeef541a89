//! Keeps `--concurrency` poller threads alive. A poller that dies (a panic, or a thread that
//! could not be started) is restarted after an exponential backoff with jitter and counted;
//! when the pollers keep dying and none of them completes a poll in between, the puller
//! cannot poll at all and stops with a fatal reason (exit 1) instead of idling on.
//!
//! Progress is [`Shutdown::progress`]: it moves whenever any poller finishes a receive (empty
//! or not) and its batch. A poison message that kills the poller handling it therefore does
//! not stop a puller whose other pollers still get work done.
use crate::shutdown::{Reason, Shutdown};
use sigv4::Backoff;
use std::any::Any;
use std::io;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Deaths in a row without progress, per poller slot, before the run is given up.
const DEATHS_PER_SLOT: u32 = 3;
const FIRST_RESTART: Duration = Duration::from_millis(100);
const MAX_RESTART: Duration = Duration::from_secs(10);

/// Starts poller `slot` on a new thread.
pub type Spawn<'a> = dyn FnMut(usize) -> io::Result<JoinHandle<()>> + 'a;

struct Slot {
    handle: Option<JoinHandle<()>>,
    restart_at: Option<Instant>,
    backoff: Backoff,
}

pub struct Supervisor<'a> {
    slots: Vec<Slot>,
    spawn: Box<Spawn<'a>>,
    deaths_without_progress: u32,
    progress_seen: u64,
    /// Restarts so far (for the counters).
    pub restarts: u64,
}

impl<'a> Supervisor<'a> {
    /// Starts `count` pollers; one that cannot be started is retried like a dead one.
    pub fn start(
        count: usize,
        shutdown: &Shutdown,
        spawn: impl FnMut(usize) -> io::Result<JoinHandle<()>> + 'a,
    ) -> Supervisor<'a> {
        let mut supervisor = Supervisor {
            slots: (0..count)
                .map(|_| Slot {
                    handle: None,
                    restart_at: Some(Instant::now()),
                    backoff: Backoff::new(FIRST_RESTART, MAX_RESTART),
                })
                .collect(),
            spawn: Box::new(spawn),
            deaths_without_progress: 0,
            progress_seen: shutdown.progress(),
            restarts: 0,
        };
        supervisor.check(shutdown);
        supervisor.restarts = 0;
        supervisor
    }

    /// Reaps dead pollers, schedules and performs restarts. Call it regularly while the run
    /// is not stopping.
    pub fn check(&mut self, shutdown: &Shutdown) {
        let progress = shutdown.progress();
        if progress != self.progress_seen {
            self.progress_seen = progress;
            self.deaths_without_progress = 0;
            for slot in &mut self.slots {
                slot.backoff.reset();
            }
        }
        for n in 0..self.slots.len() {
            self.reap(n, shutdown);
            self.restart_if_due(n, shutdown);
        }
    }

    /// Joins slot `n`'s poller if it ended; one that ended while the run was not stopping died.
    fn reap(&mut self, n: usize, shutdown: &Shutdown) {
        let slot = &mut self.slots[n];
        let Some(handle) = slot.handle.take_if(|h| h.is_finished()) else {
            return;
        };
        let why = match handle.join() {
            Ok(()) if shutdown.is_stopping() => return,
            Ok(()) => "it returned".to_string(),
            Err(payload) => format!("it panicked: {}", panic_text(payload.as_ref())),
        };
        self.died(n, &format!("poller {n} died ({why})"), shutdown);
    }

    fn died(&mut self, n: usize, what: &str, shutdown: &Shutdown) {
        self.deaths_without_progress += 1;
        let limit = DEATHS_PER_SLOT * self.slots.len() as u32;
        if self.deaths_without_progress >= limit {
            shutdown.stop(Reason::CannotPoll(format!(
                "pollers died {} times in a row without completing a poll; last: {what}",
                self.deaths_without_progress
            )));
            return;
        }
        let slot = &mut self.slots[n];
        let delay = slot.backoff.next_delay();
        slot.restart_at = Some(Instant::now() + delay);
        eprintln!(
            "puller: error: {}; restarting it in {delay:.1?}",
            safe_text::inert(what)
        );
    }

    fn restart_if_due(&mut self, n: usize, shutdown: &Shutdown) {
        if shutdown.is_stopping() {
            return;
        }
        let slot = &mut self.slots[n];
        if slot.handle.is_some() || slot.restart_at.is_none_or(|at| Instant::now() < at) {
            return;
        }
        slot.restart_at = None;
        match (self.spawn)(n) {
            Ok(handle) => {
                slot.handle = Some(handle);
                self.restarts += 1;
            }
            Err(e) => self.died(n, &format!("cannot start poller {n}: {e}"), shutdown),
        }
    }

    /// True when no poller thread is running any more.
    pub fn all_finished(&self) -> bool {
        self.slots
            .iter()
            .all(|s| s.handle.as_ref().is_none_or(JoinHandle::is_finished))
    }
}

/// The message of a panic payload (`panic!("...")` carries a `&str` or a `String`).
fn panic_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "no message".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    fn run_until(shutdown: &Shutdown, sup: &mut Supervisor<'_>, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done() && Instant::now() < deadline {
            sup.check(shutdown);
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn a_dead_poller_is_restarted_and_counted() {
        let shutdown = Arc::new(Shutdown::new());
        let starts = Arc::new(AtomicUsize::new(0));
        let (s, st) = (Arc::clone(&shutdown), Arc::clone(&starts));
        let mut sup = Supervisor::start(2, &shutdown, move |slot| {
            let (s, n) = (Arc::clone(&s), st.fetch_add(1, Ordering::SeqCst));
            std::thread::Builder::new().spawn(move || {
                if slot == 0 && n < 2 {
                    panic!("injected failure");
                }
                // The restarted poller works: it makes progress until stopped.
                s.empty_receive();
                s.sleep(Duration::from_secs(60));
            })
        });
        run_until(&shutdown, &mut sup, || starts.load(Ordering::SeqCst) >= 3);
        assert_eq!(sup.restarts, 1, "slot 0 restarted once");
        assert!(!shutdown.is_stopping(), "{:?}", shutdown.reason());
        shutdown.stop(Reason::Signal("SIGTERM"));
        let deadline = Instant::now() + Duration::from_secs(20);
        while !sup.all_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(sup.all_finished(), "pollers end once stopped");
    }

    #[test]
    fn pollers_that_keep_dying_stop_the_run_with_the_reason() {
        let shutdown = Shutdown::new();
        let mut sup = Supervisor::start(2, &shutdown, |_| {
            std::thread::Builder::new().spawn(|| panic!("queue handler broken"))
        });
        run_until(&shutdown, &mut sup, || shutdown.is_stopping());
        match shutdown.reason() {
            Some(Reason::CannotPoll(why)) => {
                assert!(why.starts_with("pollers died 6 times"), "{why}");
                assert!(why.contains("queue handler broken"), "{why}");
            }
            other => panic!("expected a cannot-poll stop, got {other:?}"),
        }
        // Two first starts; each death but the last is followed by a restart, and the fifth
        // one may or may not have happened before the sixth death.
        assert!((4..=5).contains(&sup.restarts), "{}", sup.restarts);
    }

    #[test]
    fn threads_that_cannot_start_count_as_deaths() {
        let shutdown = Shutdown::new();
        let mut sup = Supervisor::start(1, &shutdown, |_| Err(io::Error::other("no threads")));
        run_until(&shutdown, &mut sup, || shutdown.is_stopping());
        assert!(
            matches!(shutdown.reason(), Some(Reason::CannotPoll(w)) if w.contains("no threads")),
            "{:?}",
            shutdown.reason()
        );
    }
}
