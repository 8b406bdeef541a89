//! Forwarder threads: each owns one `SqsClient` (one keep-alive connection), takes batches
//! from the [`Queue`] and sends them with `SendMessageBatch`, so several batches are in flight
//! at once. Every message gets exactly one [`Outcome`], sent back to the worker that owns its
//! connection through a channel plus a `mio::Waker`. A message is `Accepted` only when SQS
//! listed its entry as successful; retryable failures (whole call or single entries) are
//! retried with bounded exponential backoff, after which the message is `Unavailable` (503).
use crate::batcher::{Job, Queue, ReplyTo};
use crate::health::Health;
use crate::log;
use crate::metrics::Metrics;
use sigv4::sqs::{BatchEntry, BatchOutcome, SqsClient};
use sigv4::Backoff;
use std::sync::atomic::Ordering::Relaxed;
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

pub struct Forwarder {
    pub client: SqsClient,
    pub queue_url: String,
    pub queue: Arc<Queue>,
    pub links: Vec<WorkerLink>,
    pub metrics: Arc<Metrics>,
    pub health: Arc<Health>,
    pub retry: RetryPolicy,
}

impl Forwarder {
    /// Runs until the queue is closed and empty.
    pub fn run(mut self) {
        while let Some(batch) = self.queue.take_batch() {
            let outcomes = self.send(&batch);
            self.deliver(batch, outcomes);
        }
    }

    /// Sends one batch, retrying what is retryable; one outcome per job, in order.
    fn send(&mut self, batch: &[Job]) -> Vec<Outcome> {
        let ids: Vec<String> = (0..batch.len()).map(|i| i.to_string()).collect();
        let mut outcomes: Vec<Option<Outcome>> = vec![None; batch.len()];
        let mut backoff = Backoff::new(self.retry.base, self.retry.max_delay);
        let mut last_error = String::new();
        self.metrics.batch(batch.len());
        // While SQS is known to be failing, each batch makes one attempt (a probe) instead of
        // a full retry sequence: clients get their 503 quickly, and the first success
        // restores normal retries.
        let retries = if self.health.problem().is_some() {
            0
        } else {
            self.retry.max_retries
        };
        for attempt in 0..=retries {
            let todo: Vec<usize> = (0..batch.len())
                .filter(|&i| outcomes[i].is_none())
                .collect();
            if todo.is_empty() {
                break;
            }
            if attempt > 0 {
                self.metrics.sqs_retries.fetch_add(1, Relaxed);
                std::thread::sleep(backoff.next_delay());
            }
            let entries: Vec<BatchEntry<'_>> = todo
                .iter()
                .map(|&i| BatchEntry {
                    id: &ids[i],
                    body: &batch[i].body,
                })
                .collect();
            self.metrics.sqs_calls.fetch_add(1, Relaxed);
            match self.client.send_message_batch(&self.queue_url, &entries) {
                Ok(results) => {
                    self.health.success();
                    for result in results {
                        let Ok(i) = result.id().parse::<usize>() else {
                            continue;
                        };
                        if i >= batch.len() {
                            continue;
                        }
                        match result {
                            BatchOutcome::Sent { message_id, .. } => {
                                outcomes[i] = Some(Outcome::Accepted { message_id })
                            }
                            BatchOutcome::Failed {
                                code,
                                message,
                                sender_fault,
                                ..
                            } => {
                                self.metrics.sqs_errors.fetch_add(1, Relaxed);
                                last_error = format!("sqs refused entry: {code}: {message}");
                                if sender_fault {
                                    outcomes[i] = Some(Outcome::Refused {
                                        reason: format!("{code}: {message}"),
                                    });
                                }
                            }
                        }
                    }
                }
                Err(e) => {
                    self.metrics.sqs_errors.fetch_add(1, Relaxed);
                    last_error = e.to_string();
                    self.health.failure(&last_error);
                    if !e.is_retryable() {
                        break;
                    }
                }
            }
        }
        outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| Outcome::Unavailable {
                    reason: last_error.clone(),
                })
            })
            .collect()
    }

    /// Hands each outcome to its worker, waking each worker once per batch.
    fn deliver(&self, batch: Vec<Job>, outcomes: Vec<Outcome>) {
        let mut woken = vec![false; self.links.len()];
        for (job, outcome) in batch.into_iter().zip(outcomes) {
            match &outcome {
                Outcome::Accepted { .. } => self.metrics.forwarded.fetch_add(1, Relaxed),
                Outcome::Refused { .. } => self.metrics.failed_rejected.fetch_add(1, Relaxed),
                Outcome::Unavailable { .. } => {
                    self.metrics.failed_unavailable.fetch_add(1, Relaxed)
                }
            };
            let Some(link) = self.links.get(job.reply.worker) else {
                continue;
            };
            let completion = Completion {
                reply: job.reply,
                outcome,
                enqueued: job.enqueued,
            };
            // A send error means the worker has exited (shutdown after its drain deadline);
            // the message was still forwarded, only its client is gone.
            if link.completions.send(completion).is_ok() {
                woken[job.reply.worker] = true;
            }
        }
        for (i, wake) in woken.into_iter().enumerate() {
            if wake {
                if let Err(e) = self.links[i].waker.wake() {
                    log::error(&format!("waking worker {i}: {e}"));
                }
            }
        }
    }
}
