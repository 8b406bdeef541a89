//! Forwarder threads: each owns one `SqsClient` (one keep-alive connection), takes batches
//! from the [`Queue`] and sends them with `SendMessageBatch`, so several batches are in flight
//! at once. Every message gets exactly one [`Outcome`], sent back to the worker that owns its
//! connection through a channel plus a `mio::Waker`. A message is `Accepted` only when SQS
//! listed its entry as successful; retryable failures (whole call or single entries) are
//! retried with bounded exponential backoff, but never past the message's request budget or
//! the shutdown cutoff (its client has been answered 503 by then: sending it later would only
//! make a duplicate), after which the message is `Unavailable` (503). A retry sends the same
//! entry: on a FIFO queue its deduplication id (fixed when the request arrived) lets SQS drop
//! a copy it already stored. When a batch is answered its FIFO groups are released
//! ([`Queue::release`]) so their next messages may go.
//!
//! The batch a forwarder holds lives in a guard ([`Held`]): if the forwarder dies (a panic),
//! the guard still answers every message of it — `Accepted` if SQS had accepted it, else
//! `Unavailable` — so a failure costs a 503, never a lost or unanswered message. The
//! forwarder reports when its current SQS call began ([`Beat`]) so the supervisor can tell a
//! hung call from a slow one.
use crate::batcher::{Job, Queue, ReplyTo};
use crate::cutoff::Cutoff;
use crate::fault::{Fault, Stage};
use crate::health::Health;
use crate::log;
use crate::metrics::Metrics;
use sigv4::sqs::{entry_id, BatchEntry, BatchOutcome, SqsClient};
use sigv4::Backoff;
use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Accepted {
        message_id: String,
    },
    /// SQS refused the entry itself (sender fault): retrying would not help.
    Refused {
        reason: String,
    },
    /// SQS could not be reached or kept failing within the retry budget.
    Unavailable {
        reason: String,
    },
}

#[derive(Debug)]
pub struct Completion {
    pub reply: ReplyTo,
    pub outcome: Outcome,
    pub enqueued: Instant,
}

/// How a forwarder reaches a worker.
#[derive(Clone)]
pub struct WorkerLink {
    pub completions: Sender<Completion>,
    pub waker: Arc<mio::Waker>,
}

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Calls after the first one.
    pub max_retries: u32,
    pub base: Duration,
    pub max_delay: Duration,
}

/// What every forwarder shares.
pub struct Context {
    pub queue_url: String,
    pub queue: Arc<Queue>,
    pub links: Vec<WorkerLink>,
    pub metrics: Arc<Metrics>,
    pub health: Arc<Health>,
    pub retry: RetryPolicy,
    pub cutoff: Arc<Cutoff>,
    pub fault: Option<Fault>,
}

/// A forwarder's heartbeat, read by the supervisor: since when its current SQS call runs,
/// and whether the supervisor gave up on it (hung in a call: it stops after that call).
pub struct Beat {
    base: Instant,
    /// Nanoseconds after `base` + 1 when the current call began; 0 while no call runs.
    busy_since: AtomicU64,
    superseded: AtomicBool,
}

impl Default for Beat {
    fn default() -> Beat {
        Beat {
            base: Instant::now(),
            busy_since: AtomicU64::new(0),
            superseded: AtomicBool::new(false),
        }
    }
}

impl Beat {
    pub(crate) fn busy(&self) {
        self.set_busy_since(Some(Instant::now()));
    }

    fn idle(&self) {
        self.busy_since.store(0, Relaxed);
    }

    /// Busy since `since` (the oldest call in progress), or idle: for a worker's own calls.
    pub(crate) fn set_busy_since(&self, since: Option<Instant>) {
        let nanos = since.map_or(0, |s| {
            let n = s.saturating_duration_since(self.base).as_nanos();
            u64::try_from(n).unwrap_or(u64::MAX - 1) + 1
        });
        self.busy_since.store(nanos, Relaxed);
    }

    /// When the SQS call in progress began, if one is.
    pub fn busy_since(&self) -> Option<Instant> {
        match self.busy_since.load(Relaxed) {
            0 => None,
            n => Some(self.base + Duration::from_nanos(n - 1)),
        }
    }

    /// The forwarder's slot went to a new forwarder: stop after the current call.
    pub fn supersede(&self) {
        self.superseded.store(true, Relaxed);
    }

    fn superseded(&self) -> bool {
        self.superseded.load(Relaxed)
    }
}

pub struct Forwarder {
    pub id: usize,
    pub client: SqsClient,
    pub beat: Arc<Beat>,
    pub ctx: Arc<Context>,
}

impl Forwarder {
    /// Runs until the queue is closed and empty, or until the supervisor gave the slot to a
    /// newer forwarder.
    pub fn run(mut self) {
        while !self.beat.superseded() {
            let Some(batch) = self.ctx.queue.take_batch() else {
                return;
            };
            let ctx = Arc::clone(&self.ctx);
            let mut held = Held::new(self.id, batch, &ctx);
            self.send(&mut held);
            held.deliver();
        }
    }

    /// Sends one batch, retrying what is retryable within the messages' deadlines.
    fn send(&mut self, held: &mut Held<'_>) {
        let ctx = Arc::clone(&self.ctx);
        let mut backoff = Backoff::new(ctx.retry.base, ctx.retry.max_delay);
        let mut last_error = String::new();
        ctx.metrics.batch(held.jobs.len());
        // While SQS is known to be failing, each batch makes one attempt (a probe) instead of
        // a full retry sequence: clients get their 503 quickly, and the first success
        // restores normal retries.
        let retries = if ctx.health.problem().is_some() {
            0
        } else {
            ctx.retry.max_retries
        };
        for attempt in 0..=retries {
            if attempt > 0 {
                ctx.metrics.sqs_retries.fetch_add(1, Relaxed);
                std::thread::sleep(backoff.next_delay());
            }
            held.expire(Instant::now());
            let todo = held.unanswered();
            if todo.is_empty() || !self.attempt(&ctx, held, &todo, &mut last_error) {
                break;
            }
        }
        held.settle(&last_error);
    }

    /// One SendMessageBatch call with the entries `todo`; returns whether a retry may help
    /// (never once every entry has its answer: a retry would only sleep a backoff).
    fn attempt(
        &mut self,
        ctx: &Context,
        held: &mut Held<'_>,
        todo: &[usize],
        last_error: &mut String,
    ) -> bool {
        // Entry ids are indexes into the batch.
        let ids: Vec<Cow<'static, str>> = todo.iter().map(|&i| entry_id(i)).collect();
        let entries: Vec<BatchEntry<'_>> = todo
            .iter()
            .zip(&ids)
            .map(|(&i, id)| {
                let job = &held.jobs[i];
                BatchEntry {
                    id,
                    body: &job.body,
                    group_id: job.extras.group_id.as_deref(),
                    deduplication_id: job.extras.deduplication_id.as_deref(),
                    attributes: &job.extras.attributes,
                }
            })
            .collect();
        if let Some(fault) = &ctx.fault {
            fault.check(Stage::BeforeSend, &held.jobs);
        }
        ctx.metrics.sqs_calls.fetch_add(1, Relaxed);
        held.in_call = true;
        let began = Instant::now();
        self.beat.busy();
        let result = self.client.send_message_batch(&ctx.queue_url, &entries);
        self.beat.idle();
        ctx.metrics.sqs_call_time(began.elapsed());
        held.in_call = false;
        let retry = match result {
            Ok(results) => {
                ctx.health.success();
                held.record(results, last_error);
                !held.unanswered().is_empty()
            }
            Err(e) => {
                ctx.metrics.sqs_errors.fetch_add(1, Relaxed);
                *last_error = e.to_string();
                ctx.health.failure(last_error);
                e.is_retryable()
            }
        };
        if let Some(fault) = &ctx.fault {
            fault.check(Stage::AfterSend, &held.jobs);
        }
        retry
    }
}

/// The batch a forwarder holds, with the outcomes known so far. Dropping it unanswered (the
/// forwarder panicked) answers every message still open with 503.
struct Held<'a> {
    forwarder: usize,
    ctx: &'a Context,
    jobs: Vec<Job>,
    outcomes: Vec<Option<Outcome>>,
    /// An SQS call is in progress (a panic now counts as a failed call).
    in_call: bool,
    delivered: bool,
}

impl<'a> Held<'a> {
    fn new(forwarder: usize, jobs: Vec<Job>, ctx: &'a Context) -> Held<'a> {
        Held {
            forwarder,
            ctx,
            outcomes: vec![None; jobs.len()],
            jobs,
            in_call: false,
            delivered: false,
        }
    }

    fn unanswered(&self) -> Vec<usize> {
        (0..self.jobs.len())
            .filter(|&i| self.outcomes[i].is_none())
            .collect()
    }

    /// Gives up on messages whose client has been (or is now being) answered 503 by its
    /// worker: their request budget is spent or shutdown cut forwarding off.
    fn expire(&mut self, now: Instant) {
        let cut = self.ctx.cutoff.passed(now);
        for (job, outcome) in self.jobs.iter().zip(self.outcomes.iter_mut()) {
            if outcome.is_none() && (cut || now >= job.deadline) {
                *outcome = Some(Outcome::Unavailable {
                    reason: if cut {
                        "the proxy is shutting down".to_string()
                    } else {
                        "no answer from sqs within the request budget".to_string()
                    },
                });
            }
        }
    }

    /// Records SQS's per-entry answers; failed entries that are the sender's fault are final.
    fn record(&mut self, results: Vec<BatchOutcome>, last_error: &mut String) {
        for result in results {
            let Ok(i) = result.id().parse::<usize>() else {
                continue;
            };
            if i >= self.jobs.len() {
                continue;
            }
            match result {
                BatchOutcome::Sent { message_id, .. } => {
                    self.outcomes[i] = Some(Outcome::Accepted { message_id })
                }
                BatchOutcome::Failed {
                    code,
                    message,
                    sender_fault,
                    ..
                } => {
                    self.ctx.metrics.sqs_errors.fetch_add(1, Relaxed);
                    *last_error = format!("sqs refused entry: {code}: {message}");
                    if sender_fault {
                        self.outcomes[i] = Some(Outcome::Refused {
                            reason: format!("{code}: {message}"),
                        });
                    }
                }
            }
        }
    }

    /// Every message still open is unavailable for `reason`.
    fn settle(&mut self, reason: &str) {
        for outcome in self.outcomes.iter_mut().filter(|o| o.is_none()) {
            *outcome = Some(Outcome::Unavailable {
                reason: reason.to_string(),
            });
        }
    }

    /// Hands each outcome to its worker, waking each worker once per batch.
    fn deliver(mut self) {
        self.send_outcomes();
    }

    fn send_outcomes(&mut self) {
        self.delivered = true;
        let ctx = self.ctx;
        // SQS has answered (or will never get) these messages: a FIFO group they hold may
        // go out in the next batch.
        ctx.queue.release(&self.jobs);
        let mut woken = vec![false; ctx.links.len()];
        let jobs = std::mem::take(&mut self.jobs);
        let outcomes = std::mem::take(&mut self.outcomes);
        for (job, outcome) in jobs.into_iter().zip(outcomes) {
            let outcome = outcome.unwrap_or_else(|| Outcome::Unavailable {
                reason: "not sent".to_string(),
            });
            // 503s are counted by the worker that gives them: it may have answered already.
            match &outcome {
                Outcome::Accepted { .. } => ctx.metrics.forwarded.fetch_add(1, Relaxed),
                Outcome::Refused { .. } => ctx.metrics.failed_rejected.fetch_add(1, Relaxed),
                Outcome::Unavailable { .. } => 0,
            };
            let Some(link) = ctx.links.get(job.reply.worker) else {
                continue;
            };
            let completion = Completion {
                reply: job.reply,
                outcome,
                enqueued: job.enqueued,
            };
            // A send error means the worker has exited (shutdown after its drain deadline);
            // its client was answered 503 before that.
            if link.completions.send(completion).is_ok() {
                woken[job.reply.worker] = true;
            }
        }
        for (i, wake) in woken.into_iter().enumerate() {
            if wake {
                if let Err(e) = ctx.links[i].waker.wake() {
                    log::error(&format!("waking worker {i}: {e}"));
                }
            }
        }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if self.delivered {
            return;
        }
        // Only a panic gets here: answer what SQS accepted with 200, the rest with 503.
        let reason = format!(
            "forwarder {} failed while holding this message; not forwarded",
            self.forwarder
        );
        if self.in_call {
            self.ctx.health.failure(&format!(
                "forwarder {} failed during an sqs call",
                self.forwarder
            ));
        }
        self.settle(&reason);
        self.send_outcomes();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::mpsc::{self, Receiver};

    /// A context whose one worker link ends in the returned receiver (the poll keeps the
    /// waker valid).
    pub(crate) fn context() -> (Context, Receiver<Completion>, mio::Poll) {
        let poll = mio::Poll::new().unwrap();
        let waker = Arc::new(mio::Waker::new(poll.registry(), mio::Token(1)).unwrap());
        let (completions, rx) = mpsc::channel();
        let ctx = Context {
            queue_url: "http://127.0.0.1:1/000000000000/q".into(),
            queue: Arc::new(Queue::new(10, Duration::ZERO)),
            links: vec![WorkerLink { completions, waker }],
            metrics: Arc::new(Metrics::default()),
            health: Arc::new(Health::new(1)),
            retry: RetryPolicy {
                max_retries: 0,
                base: Duration::ZERO,
                max_delay: Duration::ZERO,
            },
            cutoff: Arc::new(Cutoff::default()),
            fault: None,
        };
        (ctx, rx, poll)
    }

    fn job(request: u64, deadline: Instant) -> Job {
        Job {
            reply: ReplyTo {
                worker: 0,
                token: 2,
                request,
            },
            body: "{}".into(),
            extras: Default::default(),
            enqueued: Instant::now(),
            deadline,
        }
    }

    #[test]
    fn a_batch_dropped_by_a_panic_answers_what_sqs_accepted_and_503_for_the_rest() {
        let (ctx, rx, _poll) = context();
        let later = Instant::now() + Duration::from_secs(10);
        {
            let mut held = Held::new(0, vec![job(0, later), job(1, later)], &ctx);
            held.outcomes[0] = Some(Outcome::Accepted {
                message_id: "m-0".into(),
            });
            held.in_call = true;
            // Dropped without `deliver`, as unwinding does.
        }
        let got: Vec<Completion> = rx.try_iter().collect();
        assert_eq!(got.len(), 2);
        assert!(matches!(&got[0].outcome, Outcome::Accepted { message_id } if message_id == "m-0"));
        assert!(
            matches!(&got[1].outcome, Outcome::Unavailable { reason } if reason.contains("failed"))
        );
        assert!(ctx.health.problem().is_some(), "the failed call counts");
    }

    #[test]
    fn messages_past_their_budget_or_the_cutoff_are_not_sent() {
        let (ctx, _rx, _poll) = context();
        let now = Instant::now();
        let mut held = Held::new(
            0,
            vec![job(0, now), job(1, now + Duration::from_secs(10))],
            &ctx,
        );
        held.expire(now);
        assert_eq!(held.unanswered(), vec![1]);
        ctx.cutoff.set(now);
        held.expire(now);
        assert!(held.unanswered().is_empty());
        held.deliver();
    }
}
