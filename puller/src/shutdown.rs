//! The one stop switch every poller checks between batches, and why it was thrown. Pollers
//! check it only *between* batches: a batch already received is always delivered and deleted.
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Shutdown {
    stopping: AtomicBool,
    reason: Mutex<Option<Reason>>,
    started: Instant,
    /// Milliseconds since `started` when a receive last returned messages (for --exit-when-idle).
    last_message_ms: AtomicU64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    Signal(&'static str),
    Idle(Duration),
    StopAfter(u64),
    /// Stdout closed (e.g. `puller | head`): the undelivered batch stays in the queue.
    OutputClosed,
    /// An SQS error retries cannot fix; the run exits 1.
    Fatal(String),
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Signal(name) => write!(f, "{name} received"),
            Reason::Idle(d) => write!(f, "no message for {}s", d.as_secs()),
            Reason::StopAfter(n) => write!(f, "{n} messages delivered"),
            Reason::OutputClosed => f.write_str("output closed"),
            Reason::Fatal(e) => write!(f, "fatal error: {e}"),
        }
    }
}

impl Default for Shutdown {
    fn default() -> Shutdown {
        Shutdown::new()
    }
}

impl Shutdown {
    pub fn new() -> Shutdown {
        Shutdown {
            stopping: AtomicBool::new(false),
            reason: Mutex::new(None),
            started: Instant::now(),
            last_message_ms: AtomicU64::new(0),
        }
    }

    /// Asks everyone to stop; the first reason given is the one reported.
    pub fn stop(&self, reason: Reason) {
        if let Ok(mut slot) = self.reason.lock() {
            if slot.is_none() {
                *slot = Some(reason);
            }
        }
        self.stopping.store(true, Ordering::SeqCst);
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    pub fn reason(&self) -> Option<Reason> {
        self.reason.lock().ok().and_then(|r| r.clone())
    }

    /// Notes that a receive just returned messages.
    pub fn saw_messages(&self) {
        let ms = self.started.elapsed().as_millis() as u64;
        self.last_message_ms.fetch_max(ms, Ordering::SeqCst);
    }

    /// From start until the last batch was handled: the drain time benchmarks divide by
    /// (the idle wait of --exit-when-idle excluded).
    pub fn busy_for(&self) -> Duration {
        Duration::from_millis(self.last_message_ms.load(Ordering::SeqCst))
    }

    /// How long since the last message (or since start when none came yet).
    pub fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_message_ms.load(Ordering::SeqCst));
        self.started.elapsed().saturating_sub(last)
    }

    /// Sleeps up to `delay`, waking early when a stop is requested.
    pub fn sleep(&self, delay: Duration) {
        let deadline = Instant::now() + delay;
        while !self.is_stopping() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(50)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_reason_wins() {
        let s = Shutdown::new();
        assert!(!s.is_stopping());
        s.stop(Reason::Signal("SIGTERM"));
        s.stop(Reason::OutputClosed);
        assert!(s.is_stopping());
        assert_eq!(s.reason(), Some(Reason::Signal("SIGTERM")));
    }

    #[test]
    fn sleep_returns_at_once_when_stopping() {
        let s = Shutdown::new();
        s.stop(Reason::StopAfter(1));
        let t = Instant::now();
        s.sleep(Duration::from_secs(30));
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn idle_resets_on_messages() {
        let s = Shutdown::new();
        std::thread::sleep(Duration::from_millis(30));
        assert!(s.idle_for() >= Duration::from_millis(30));
        s.saw_messages();
        assert!(s.idle_for() < Duration::from_millis(30));
    }
}
