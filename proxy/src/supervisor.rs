//! Keeps `--forwarders` forwarders running. A forwarder that fails (a panic: its batch is
//! answered by the forwarder's guard) is restarted after a backoff that doubles per failure
//! in a row (100 ms up to 10 s) and is counted in `proxy_forwarder_restarts_total`. One
//! whose SQS call outlasts every deadline the SQS client sets (connect + write + read, plus
//! the request budget) is hung in a call nothing will end: its slot gets a new forwarder and
//! the old thread is left to finish that call and stop. A slot abandons at most one thread at
//! a time (if its replacement hangs too, it is left in place and health says why), so a
//! stalling endpoint cannot pile threads up.
//!
//! Its verdict goes to [`crate::health::Health`]: unhealthy while no forwarder runs, or once
//! an SQS call has been pending longer than half the request budget with no call succeeding
//! meanwhile, until a call succeeds (SQS normally answers in milliseconds; the clients
//! waiting on that call are about to get 503: the proxy cannot forward).
use crate::endpoint::Endpoint;
use crate::forwarder::{Beat, Context, Forwarder};
use crate::log;
use sigv4::sqs::{SqsClient, SqsConfig};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the supervisor looks at its forwarders.
const TICK: Duration = Duration::from_millis(100);
const FIRST_RESTART_DELAY: Duration = Duration::from_millis(100);
const MAX_RESTART_DELAY: Duration = Duration::from_secs(10);
/// A forwarder that ran this long without failing starts its backoff afresh.
const STABLE_AFTER: Duration = Duration::from_secs(30);

/// A forwarder thread ended.
struct Exit {
    slot: usize,
    generation: u64,
    /// The panic message, or `None` for a normal end (queue closed and empty).
    panic: Option<String>,
}

enum State {
    Running { since: Instant },
    Restarting { at: Instant },
    Finished,
}

struct Slot {
    /// The current forwarder's heartbeat and generation (which thread is current).
    beat: Arc<Beat>,
    generation: u64,
    state: State,
    failures_in_a_row: u32,
    last_failure: String,
    /// A superseded forwarder of this slot is still inside its hung call.
    abandoned: bool,
}

/// The workers' own SQS calls, as far as the supervisor looks after them: their oldest call
/// in progress counts for the "unanswered" rule, and the endpoint's addresses are looked up
/// again here, off the event loops.
#[derive(Default)]
pub struct Lanes {
    pub beats: Vec<Arc<Beat>>,
    pub endpoint: Option<Arc<Endpoint>>,
}

pub struct Supervisor {
    sqs: SqsConfig,
    lanes: Lanes,
    ctx: Arc<Context>,
    slots: Vec<Slot>,
    exits: Receiver<Exit>,
    exits_tx: Sender<Exit>,
    budget: Duration,
    /// A call pending this long with no call succeeding meanwhile makes the proxy unhealthy.
    unanswered_after: Duration,
    /// When the call found unanswered began; cleared by a later successful call.
    silent_since: Option<Instant>,
    stuck_after: Duration,
}

/// The running supervisor; `wait` returns once every forwarder ended after shutdown.
pub struct Handle {
    done: Receiver<()>,
}

impl Handle {
    /// Waits until the forwarders are done or `deadline`; true when they are done.
    pub fn wait(&self, deadline: Instant) -> bool {
        let left = deadline.saturating_duration_since(Instant::now());
        !matches!(self.done.recv_timeout(left), Err(RecvTimeoutError::Timeout))
    }
}

impl Supervisor {
    /// `budget` is the request budget; a call is hung after `stuck_after`.
    pub fn start(
        forwarders: usize,
        sqs: SqsConfig,
        ctx: Arc<Context>,
        budget: Duration,
        lanes: Lanes,
    ) -> Result<Handle, String> {
        let mut supervisor = Supervisor::new(forwarders, sqs, ctx, budget);
        supervisor.lanes = lanes;
        for i in 0..forwarders {
            supervisor.spawn(i, Instant::now())?;
        }
        let (done_tx, done) = mpsc::channel();
        std::thread::Builder::new()
            .name("supervisor".into())
            .spawn(move || {
                supervisor.run();
                let _ = done_tx.send(());
            })
            .map_err(|e| format!("starting the forwarder supervisor: {e}"))?;
        Ok(Handle { done })
    }

    /// The slots, none running yet.
    fn new(forwarders: usize, sqs: SqsConfig, ctx: Arc<Context>, budget: Duration) -> Supervisor {
        let (exits_tx, exits) = mpsc::channel();
        let stuck_after = budget + sqs.connect_timeout + 2 * sqs.io_timeout;
        let slots = (0..forwarders)
            .map(|_| Slot {
                beat: Arc::new(Beat::default()),
                generation: 0,
                state: State::Restarting { at: Instant::now() },
                failures_in_a_row: 0,
                last_failure: String::new(),
                abandoned: false,
            })
            .collect();
        Supervisor {
            sqs,
            lanes: Lanes::default(),
            ctx,
            slots,
            exits,
            exits_tx,
            budget,
            unanswered_after: budget / 2,
            silent_since: None,
            stuck_after,
        }
    }

    fn run(&mut self) {
        loop {
            match self.exits.recv_timeout(TICK) {
                Ok(exit) => self.on_exit(exit),
                Err(RecvTimeoutError::Timeout) => {}
                // Unreachable: `self` holds a sender.
                Err(RecvTimeoutError::Disconnected) => return,
            }
            while let Ok(exit) = self.exits.try_recv() {
                self.on_exit(exit);
            }
            let now = Instant::now();
            if let Some(endpoint) = &self.lanes.endpoint {
                endpoint.refresh_if_due(now);
            }
            self.abandon_hung(now);
            self.restart_due(now);
            let problem = self.problem(now);
            self.ctx.health.set_forwarding_problem(problem);
            if self
                .slots
                .iter()
                .all(|s| matches!(s.state, State::Finished))
            {
                return;
            }
        }
    }

    fn on_exit(&mut self, exit: Exit) {
        let now = Instant::now();
        let Some(slot) = self.slots.get_mut(exit.slot) else {
            return;
        };
        if exit.generation != slot.generation {
            // The abandoned forwarder's hung call ended at last.
            slot.abandoned = false;
            return;
        }
        let Some(message) = exit.panic else {
            slot.state = State::Finished;
            return;
        };
        let delay = self.failed(exit.slot, now, message);
        log::error(&format!(
            "forwarder {} failed: {}; restarting in {delay:?}",
            exit.slot, self.slots[exit.slot].last_failure,
        ));
    }

    /// Records a failure of `slot`, schedules its restart and returns the delay.
    fn failed(&mut self, i: usize, now: Instant, reason: String) -> Duration {
        self.ctx.metrics.forwarder_restarts.fetch_add(1, Relaxed);
        let slot = &mut self.slots[i];
        if matches!(slot.state, State::Running { since } if now.duration_since(since) > STABLE_AFTER)
        {
            slot.failures_in_a_row = 0;
        }
        let delay = FIRST_RESTART_DELAY
            .saturating_mul(1 << slot.failures_in_a_row.min(10))
            .min(MAX_RESTART_DELAY);
        slot.failures_in_a_row = slot.failures_in_a_row.saturating_add(1);
        slot.last_failure = reason;
        slot.state = State::Restarting { at: now + delay };
        delay
    }

    /// Gives the slot of a forwarder hung in a call to a new forwarder.
    fn abandon_hung(&mut self, now: Instant) {
        for i in 0..self.slots.len() {
            let slot = &self.slots[i];
            let hung = matches!(slot.state, State::Running { .. })
                && !slot.abandoned
                && slot
                    .beat
                    .busy_since()
                    .is_some_and(|s| now.duration_since(s) > self.stuck_after);
            if !hung {
                continue;
            }
            self.ctx.metrics.forwarders_hung.fetch_add(1, Relaxed);
            self.slots[i].beat.supersede();
            self.slots[i].abandoned = true;
            let reason = format!(
                "its sqs call stayed unanswered for over {:?}",
                self.stuck_after
            );
            let delay = self.failed(i, now, reason);
            log::error(&format!(
                "forwarder {i} hung: {}; starting another in {delay:?}",
                self.slots[i].last_failure
            ));
        }
    }

    fn restart_due(&mut self, now: Instant) {
        for i in 0..self.slots.len() {
            let due = matches!(self.slots[i].state, State::Restarting { at } if now >= at);
            if due {
                if let Err(e) = self.spawn(i, now) {
                    log::error(&e);
                    self.slots[i].state = State::Restarting {
                        at: now + MAX_RESTART_DELAY,
                    };
                }
            }
        }
    }

    fn spawn(&mut self, i: usize, now: Instant) -> Result<(), String> {
        let slot = &mut self.slots[i];
        slot.generation += 1;
        slot.beat = Arc::new(Beat::default());
        let generation = slot.generation;
        let forwarder = Forwarder {
            id: i,
            client: SqsClient::new(self.sqs.clone()),
            beat: Arc::clone(&slot.beat),
            ctx: Arc::clone(&self.ctx),
        };
        let exits = self.exits_tx.clone();
        std::thread::Builder::new()
            .name(format!("forwarder-{i}"))
            .spawn(move || {
                let result = catch_unwind(AssertUnwindSafe(|| forwarder.run()));
                let _ = exits.send(Exit {
                    slot: i,
                    generation,
                    panic: result.err().map(|p| panic_message(p.as_ref())),
                });
            })
            .map_err(|e| format!("starting forwarder {i}: {e}"))?;
        slot.state = State::Running { since: now };
        Ok(())
    }

    /// Why no forwarder can send, if that is so.
    fn problem(&mut self, now: Instant) -> Option<String> {
        let health = &self.ctx.health;
        // Sticky until a call succeeds: a hung call that finally times out proves nothing.
        if self.silent_since.is_some_and(|s| health.succeeded_since(s)) {
            self.silent_since = None;
        }
        if self.silent_since.is_none() {
            let oldest_call = self
                .slots
                .iter()
                .filter(|s| matches!(s.state, State::Running { .. }))
                .filter_map(|s| s.beat.busy_since())
                .chain(self.lanes.beats.iter().filter_map(|b| b.busy_since()))
                .min();
            self.silent_since = oldest_call.filter(|&since| {
                now.duration_since(since) > self.unanswered_after && !health.succeeded_since(since)
            });
        }
        if self.silent_since.is_some() {
            return Some(format!(
                "sqs left a SendMessageBatch call unanswered for over {:?} and no call has \
                 succeeded since (request budget {:?})",
                self.unanswered_after, self.budget
            ));
        }
        let running = self
            .slots
            .iter()
            .any(|s| matches!(s.state, State::Running { .. } | State::Finished));
        if running {
            return None;
        }
        let last = self
            .slots
            .iter()
            .map(|s| s.last_failure.as_str())
            .find(|f| !f.is_empty())
            .unwrap_or("unknown");
        Some(format!(
            "no forwarder running (last failure: {last}); restarting"
        ))
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-text payload".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forwarder::tests::context;
    use sigv4::Credentials;

    fn supervisor(forwarders: usize) -> (Supervisor, mio::Poll) {
        let (ctx, _rx, poll) = context();
        // Forwarders started here find the queue closed and end at once.
        ctx.queue.close();
        let mut sqs = SqsConfig::new(
            "us-east-1",
            Some("http://127.0.0.1:1".into()),
            Credentials::new("a", "b", None),
        );
        sqs.connect_timeout = Duration::from_secs(1);
        sqs.io_timeout = Duration::from_secs(1);
        let s = Supervisor::new(forwarders, sqs, Arc::new(ctx), Duration::from_secs(2));
        (s, poll)
    }

    fn restarts(s: &Supervisor) -> u64 {
        s.ctx.metrics.forwarder_restarts.load(Relaxed)
    }

    #[test]
    fn a_failed_forwarder_restarts_after_a_doubling_backoff_and_is_counted() {
        let (mut s, _poll) = supervisor(1);
        let now = Instant::now();
        s.spawn(0, now).unwrap();
        let generation = s.slots[0].generation;
        let exit = |g| Exit {
            slot: 0,
            generation: g,
            panic: Some("boom".into()),
        };
        s.on_exit(exit(generation));
        assert_eq!(restarts(&s), 1);
        assert!(matches!(s.slots[0].state, State::Restarting { at } if at > now));
        let problem = s.problem(now).unwrap();
        assert!(problem.contains("no forwarder running") && problem.contains("boom"));
        s.restart_due(now + Duration::from_secs(1));
        assert!(matches!(s.slots[0].state, State::Running { .. }));
        s.on_exit(exit(s.slots[0].generation));
        let State::Restarting { at } = s.slots[0].state else {
            panic!("not restarting");
        };
        assert!(
            at.duration_since(Instant::now()) > FIRST_RESTART_DELAY,
            "doubled"
        );
        // A normal end (queue closed and empty) is final.
        s.restart_due(at);
        s.on_exit(Exit {
            slot: 0,
            generation: s.slots[0].generation,
            panic: None,
        });
        assert!(matches!(s.slots[0].state, State::Finished));
        assert_eq!(restarts(&s), 2);
    }

    #[test]
    fn a_forwarder_hung_in_a_call_is_replaced_and_at_most_one_thread_is_abandoned() {
        let (mut s, _poll) = supervisor(1);
        let now = Instant::now();
        s.spawn(0, now).unwrap();
        let old = s.slots[0].generation;
        s.slots[0].beat.busy();
        let later = now + s.stuck_after + Duration::from_secs(1);
        assert!(
            s.problem(later).unwrap().contains("unanswered"),
            "silent sqs"
        );
        s.abandon_hung(later);
        assert_eq!(s.ctx.metrics.forwarders_hung.load(Relaxed), 1);
        assert!(s.slots[0].abandoned);
        s.restart_due(later + MAX_RESTART_DELAY);
        assert!(s.slots[0].generation > old, "a new forwarder owns the slot");
        // The replacement hangs too: it is left in place (one abandoned thread per slot).
        s.slots[0].beat.busy();
        s.abandon_hung(later + s.stuck_after * 3);
        assert_eq!(s.ctx.metrics.forwarders_hung.load(Relaxed), 1);
        // The abandoned thread's call ends at last: the slot may abandon again.
        s.on_exit(Exit {
            slot: 0,
            generation: old,
            panic: None,
        });
        assert!(!s.slots[0].abandoned);
        assert!(matches!(s.slots[0].state, State::Running { .. }));
    }
}
