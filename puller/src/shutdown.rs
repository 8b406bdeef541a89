//! The one stop switch every poller checks, why it was thrown, and what is in flight.
//!
//! Pollers check it between receives and right after one: a batch received before the stop is
//! delivered and deleted; one that arrives after it (a long poll abandoned at shutdown) is
//! handed back to SQS at once. The control loop waits only for batches in flight
//! ([`Shutdown::batches_in_flight`]), never for a long poll, which may last 20 s.
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Shutdown {
    stopping: AtomicBool,
    reason: Mutex<Option<Reason>>,
    started: Instant,
    /// Milliseconds since `started` when a batch last arrived or finished (--exit-when-idle).
    last_message_ms: AtomicU64,
    /// 1 + milliseconds since `started` when a receive last came back empty; 0 = never.
    last_empty_ms: AtomicU64,
    /// Batches received and not yet finished.
    in_flight: AtomicUsize,
    /// ReceiveMessage calls waiting for an answer (a gauge for /metrics).
    receives: AtomicUsize,
    /// Bumped whenever a receive and its batch are done: the supervisor's sign of life.
    progress: AtomicU64,
}

/// A batch being handled; dropping it (a panic included) marks the batch finished.
#[must_use]
pub struct InFlight<'a>(&'a Shutdown);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.batch_finished();
    }
}

/// A receive waiting for its answer; dropping it ends the wait.
#[must_use]
pub struct Receiving<'a>(&'a Shutdown);

impl Drop for Receiving<'_> {
    fn drop(&mut self) {
        self.0.receives.fetch_sub(1, Ordering::SeqCst);
    }
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
    /// The pollers keep dying (see `supervisor`); the run exits 1.
    CannotPoll(String),
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Signal(name) => write!(f, "{name} received"),
            Reason::Idle(d) => write!(f, "no message for {}s", d.as_secs()),
            Reason::StopAfter(n) => write!(f, "{n} messages delivered"),
            Reason::OutputClosed => f.write_str("output closed"),
            Reason::Fatal(e) => write!(f, "fatal error: {e}"),
            Reason::CannotPoll(e) => write!(f, "cannot poll: {e}"),
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
            last_empty_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            receives: AtomicUsize::new(0),
            progress: AtomicU64::new(0),
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

    /// A receive is about to be sent.
    pub fn receive_started(&self) -> Receiving<'_> {
        self.receives.fetch_add(1, Ordering::SeqCst);
        Receiving(self)
    }

    pub fn receives_in_flight(&self) -> usize {
        self.receives.load(Ordering::SeqCst)
    }

    /// A receive returned messages; the batch is being handled until the guard is dropped.
    pub fn batch_started(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.last_message_ms
            .fetch_max(self.now_ms(), Ordering::SeqCst);
        InFlight(self)
    }

    fn batch_finished(&self) {
        self.last_message_ms
            .fetch_max(self.now_ms(), Ordering::SeqCst);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.progress.fetch_add(1, Ordering::SeqCst);
    }

    /// Batches received and not yet delivered and deleted (or handed back).
    pub fn batches_in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// A receive returned no message.
    pub fn empty_receive(&self) {
        // Stored +1 so that 0 can mean "never".
        self.last_empty_ms
            .fetch_max(self.now_ms() + 1, Ordering::SeqCst);
        self.progress.fetch_add(1, Ordering::SeqCst);
    }

    /// Moves on every completed poll (see [`crate::supervisor`]).
    pub fn progress(&self) -> u64 {
        self.progress.load(Ordering::SeqCst)
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// From start until the last batch was handled: the drain time benchmarks divide by
    /// (the idle wait of --exit-when-idle excluded).
    pub fn busy_for(&self) -> Duration {
        Duration::from_millis(self.last_message_ms.load(Ordering::SeqCst))
    }

    /// How long the queue has looked empty: `None` while a batch is in flight or while no
    /// receive has come back empty since the last message. Merely slow answers from SQS
    /// (a loaded LocalStack can take seconds) are therefore never mistaken for an empty queue.
    pub fn idle_for(&self) -> Option<Duration> {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let last_message = self.last_message_ms.load(Ordering::SeqCst);
        match self.last_empty_ms.load(Ordering::SeqCst) {
            0 => None,
            empty_plus_one if empty_plus_one - 1 < last_message => None,
            _ => Some(Duration::from_millis(
                self.now_ms().saturating_sub(last_message),
            )),
        }
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
    fn idle_needs_an_empty_receive_after_the_last_message() {
        let s = Shutdown::new();
        assert_eq!(
            s.idle_for(),
            None,
            "nothing answered yet: not idle, maybe just slow"
        );
        std::thread::sleep(Duration::from_millis(20));
        s.empty_receive();
        assert!(s.idle_for().is_some_and(|d| d >= Duration::from_millis(20)));
        std::thread::sleep(Duration::from_millis(5));
        let batch = s.batch_started();
        assert_eq!(s.idle_for(), None, "a batch is in flight");
        assert_eq!(s.batches_in_flight(), 1);
        drop(batch);
        assert_eq!(s.batches_in_flight(), 0);
        assert_eq!(s.idle_for(), None, "no empty receive since that batch");
        std::thread::sleep(Duration::from_millis(5));
        s.empty_receive();
        assert!(s.idle_for().is_some_and(|d| d < Duration::from_secs(5)));
    }
}
