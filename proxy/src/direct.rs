//! A worker's own SendMessageBatch calls, made from its event loop over
//! `--worker-connections` non-blocking connections ([`Lane`]): the common case (SQS
//! healthy, a standard queue, AWS JSON 1.0, over HTTP or HTTPS) goes to SQS without passing
//! messages to a forwarder thread and answers back, which saves two thread hand-offs per
//! batch (measured: bench/RESULTS.md, `proxy-ab`).
//!
//! Everything else stays with the forwarders, which keep every rule of theirs (retries with
//! backoff, credentials renewal, hung-call supervision, FIFO order): messages while SQS is
//! unhealthy or the credentials need a fetch, the ones that find every lane busy for longer
//! than `--linger-ms`, entries SQS failed for a reason worth a retry, and whole calls that
//! failed (connection, answer, status or the call's deadline). So a failure here costs a
//! hand-off, never a message: a message leaves this module either answered by SQS or handed
//! to the shared queue. The oldest call in progress is published in a [`Beat`] so the
//! supervisor's "unanswered call" rule sees these calls too.
use crate::batcher::Job;
use crate::endpoint::Endpoint;
use crate::forwarder::{Beat, Completion, Outcome};
use crate::lane::{Lane, Progress};
use crate::log;
use crate::shared::Shared;
use mio::{Registry, Token};
use sigv4::sqs::{entry_id, BatchEntry, BatchOutcome, PreparedBatch, SqsClient};
use std::borrow::Cow;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Lane tokens count down from the top; connection tokens count up from 2 and never get
/// near them.
const FIRST_LANE_TOKEN: usize = usize::MAX;

/// What finished calls produced: answers for the worker's clients, and messages for the
/// forwarders.
#[derive(Default)]
pub struct Finished {
    pub completions: Vec<Completion>,
    pub handoff: Vec<Job>,
}

struct Call {
    jobs: Vec<Job>,
    prepared: PreparedBatch,
    began: Instant,
}

pub struct Direct {
    lanes: Vec<Lane>,
    calls: Vec<Option<Call>>,
    /// Signs requests (its keep-alive transport is never used).
    client: SqsClient,
    endpoint: Arc<Endpoint>,
    /// Messages waiting for a lane to come free, and since when the first of them waits.
    held: Vec<Job>,
    held_since: Option<Instant>,
    /// How long messages wait for a lane before they go to the forwarders (`--linger-ms`).
    hold: Duration,
    max_batch_bytes: usize,
    /// A call not answered within this is given up (the forwarders' connect + io timeouts).
    call_timeout: Duration,
    beat: Arc<Beat>,
}

impl Direct {
    pub fn new(client: SqsClient, endpoint: Arc<Endpoint>, shared: &Shared) -> Direct {
        let sqs = client.config();
        let call_timeout = sqs.connect_timeout + sqs.io_timeout;
        let lanes = shared.config.worker_connections;
        Direct {
            lanes: (0..lanes)
                .map(|i| Lane::new(Token(FIRST_LANE_TOKEN - i), endpoint.tls()))
                .collect(),
            calls: (0..lanes).map(|_| None).collect(),
            client,
            endpoint,
            held: Vec::new(),
            held_since: None,
            hold: shared.config.linger,
            max_batch_bytes: shared.rules.max_message_bytes,
            call_timeout,
            beat: Arc::new(Beat::default()),
        }
    }

    pub fn beat(&self) -> Arc<Beat> {
        Arc::clone(&self.beat)
    }

    /// The lane a poll token belongs to.
    pub fn lane_of(&self, token: Token) -> Option<usize> {
        self.lanes.iter().position(|l| l.token() == token)
    }

    /// When [`check`](Self::check) has something to do next (held messages' wait ends).
    pub fn next_due(&self) -> Option<Instant> {
        self.held_since.map(|since| since + self.hold)
    }

    /// Takes what it can send from `outbox` (earliest first) into free lanes, holds up to a
    /// batch more for the next free lane, and leaves the rest for the forwarders.
    pub fn take(
        &mut self,
        outbox: &mut Vec<Job>,
        registry: &Registry,
        shared: &Shared,
        out: &mut Finished,
    ) {
        if self.held.is_empty() && outbox.is_empty() {
            return;
        }
        let now = Instant::now();
        // Past its budget a message has been answered 503: it is not sent.
        outbox.retain(|job| job.deadline > now);
        let Some(credentials) = self.usable(shared) else {
            outbox.splice(0..0, self.held.drain(..));
            self.held_since = None;
            return;
        };
        self.held.append(outbox);
        while !self.held.is_empty() {
            let Some(i) = self.lanes.iter().position(|l| !l.is_busy()) else {
                break;
            };
            let jobs = self.next_batch();
            self.start(i, jobs, &credentials, registry, shared, out);
        }
        if self.held.len() > sigv4::sqs::MAX_BATCH_ENTRIES {
            // More than the next free lane takes: those go to the forwarders now.
            outbox.extend(self.held.drain(sigv4::sqs::MAX_BATCH_ENTRIES..));
        }
        self.held_since = match self.held.is_empty() {
            true => None,
            false => Some(self.held_since.unwrap_or(now)),
        };
    }

    /// The credentials to sign with, if this path may be used now.
    fn usable(&self, shared: &Shared) -> Option<Arc<sigv4::Credentials>> {
        if shared.health.problem().is_some() {
            // The forwarders' single-attempt probe decides when SQS is back.
            return None;
        }
        if self.endpoint.addrs().is_empty() {
            // The endpoint's name has not resolved yet (the supervisor keeps trying).
            return None;
        }
        self.client.config().credentials.current_if_valid()
    }

    /// Up to SendMessageBatch's limits (entries and bytes) from the front of `held`.
    fn next_batch(&mut self) -> Vec<Job> {
        let mut bytes = 0;
        let mut n = 0;
        for job in self.held.iter().take(sigv4::sqs::MAX_BATCH_ENTRIES) {
            if n > 0 && bytes + job.size() > self.max_batch_bytes {
                break;
            }
            bytes += job.size();
            n += 1;
        }
        self.held.drain(..n).collect()
    }

    fn start(
        &mut self,
        i: usize,
        jobs: Vec<Job>,
        credentials: &sigv4::Credentials,
        registry: &Registry,
        shared: &Shared,
        out: &mut Finished,
    ) {
        let queue_url = &shared.config.sqs.queue_url;
        let Ok(mut prepared) = self.prepare(queue_url, &jobs, credentials) else {
            // Input the forwarders' client refuses the same way; they answer it.
            out.handoff.extend(jobs);
            return;
        };
        let metrics = &shared.metrics;
        metrics.batch(jobs.len());
        metrics.sqs_calls.fetch_add(1, Relaxed);
        metrics.sqs_calls_by_workers.fetch_add(1, Relaxed);
        let request = prepared.take_bytes();
        self.calls[i] = Some(Call {
            jobs,
            prepared,
            began: Instant::now(),
        });
        let progress = self.lanes[i].start(registry, &self.endpoint.addrs(), request);
        self.settle(i, progress, shared, out);
    }

    /// The signed SendMessageBatch of `jobs` (entry ids are their indexes).
    fn prepare(
        &mut self,
        queue_url: &str,
        jobs: &[Job],
        credentials: &sigv4::Credentials,
    ) -> Result<PreparedBatch, sigv4::sqs::Error> {
        let ids: Vec<Cow<'static, str>> = (0..jobs.len()).map(entry_id).collect();
        let entries: Vec<BatchEntry<'_>> = jobs
            .iter()
            .zip(&ids)
            .map(|(job, id)| BatchEntry {
                id,
                body: &job.body,
                group_id: None,
                deduplication_id: None,
                attributes: &job.extras.attributes,
            })
            .collect();
        self.client
            .prepare_send_message_batch(queue_url, &entries, credentials)
    }

    /// After a readiness event for lane `i`.
    pub fn on_event(&mut self, i: usize, registry: &Registry, shared: &Shared, out: &mut Finished) {
        let progress = self.lanes[i].advance(registry);
        self.settle(i, progress, shared, out);
    }

    /// Ends calls past their deadline and sends held messages that waited too long to the
    /// forwarders.
    pub fn check(
        &mut self,
        now: Instant,
        registry: &Registry,
        shared: &Shared,
        out: &mut Finished,
    ) {
        for i in 0..self.lanes.len() {
            let late = self.calls[i]
                .as_ref()
                .is_some_and(|c| now.duration_since(c.began) > self.call_timeout);
            if late {
                self.lanes[i].abandon(registry);
                let why = format!("no answer from sqs within {:?}", self.call_timeout);
                self.settle(i, Progress::Failed(why), shared, out);
            }
        }
        if self.next_due().is_some_and(|due| now >= due) {
            out.handoff.append(&mut self.held);
            self.held_since = None;
        }
    }

    fn settle(&mut self, i: usize, progress: Progress, shared: &Shared, out: &mut Finished) {
        let result = match progress {
            Progress::Waiting => None,
            Progress::Answered(answer) => Some(Ok(answer)),
            Progress::Failed(why) => Some(Err(why)),
        };
        if let Some(result) = result {
            if let Some(call) = self.calls[i].take() {
                finish(call, result, shared, out);
            }
        }
        let oldest = self.calls.iter().flatten().map(|c| c.began).min();
        self.beat.set_busy_since(oldest);
    }
}

/// Turns a call's end into answers and hand-offs, counted as the forwarders count them.
fn finish(
    call: Call,
    result: Result<http1::Response, String>,
    shared: &Shared,
    out: &mut Finished,
) {
    let metrics = &shared.metrics;
    metrics.sqs_call_time(call.began.elapsed());
    let outcomes = result.and_then(|answer| {
        call.prepared
            .outcomes(answer.status, &answer.headers, &answer.body)
            .map_err(|e| e.to_string())
    });
    let outcomes = match outcomes {
        Ok(outcomes) => outcomes,
        Err(why) => {
            metrics.sqs_errors.fetch_add(1, Relaxed);
            log::debug(|| {
                let n = call.jobs.len();
                format!("a worker's sqs call failed ({why}); {n} messages to the forwarders")
            });
            shared.health.failure(&why);
            out.handoff.extend(call.jobs);
            return;
        }
    };
    shared.health.success();
    for (job, outcome) in call.jobs.into_iter().zip(outcomes) {
        let outcome = match outcome {
            BatchOutcome::Sent { message_id, .. } => {
                metrics.forwarded.fetch_add(1, Relaxed);
                Outcome::Accepted { message_id }
            }
            BatchOutcome::Failed {
                code,
                message,
                sender_fault,
                ..
            } => {
                metrics.sqs_errors.fetch_add(1, Relaxed);
                if !sender_fault {
                    out.handoff.push(job);
                    continue;
                }
                metrics.failed_rejected.fetch_add(1, Relaxed);
                Outcome::Refused {
                    reason: format!("{code}: {message}"),
                }
            }
        };
        out.completions.push(Completion {
            reply: job.reply,
            outcome,
            enqueued: job.enqueued,
        });
    }
}
