//! One long-poll loop (one thread, one SQS connection). Per batch:
//!
//! ```text
//! Receive ──▶ Classify ──▶ Deliver (sink lock: write + flush [+ fsync]) ──▶ Account
//!                             │ refused / sink failed
//!                             ▼
//!                   received ≥ --max-receives ? ──yes──▶ dead-letter file (fsync)
//!                             │ no: leave it; SQS redelivers after the visibility timeout
//!                             ▼
//!            DeleteMessageBatch(delivered + dead-lettered), partial failures retried
//! ```
//!
//! The stop switch is only checked before a receive, so a received batch is always finished.
use crate::dead_letter;
use crate::format::{self, Record};
use crate::run::Shared;
use crate::sensor::Body;
use crate::shutdown::Reason;
use crate::sink::SinkSpec;
use crate::time::unix_ms;
use sigv4::sqs::{DeleteEntry, DeleteOutcome, Message, ReceiveOptions, SqsClient};
use sigv4::Backoff;
use std::collections::HashSet;
use std::io;
use std::time::{Duration, SystemTime};

/// How often a delete batch is tried before its messages are left to be redelivered.
const DELETE_ATTEMPTS: u32 = 6;

pub struct Poller<'a> {
    shared: &'a Shared,
    client: SqsClient,
    options: ReceiveOptions,
    /// Backoff for receive errors and sink failures (reset by a successful receive).
    backoff: Backoff,
}

impl<'a> Poller<'a> {
    pub fn new(shared: &'a Shared, client: SqsClient) -> Poller<'a> {
        let config = &shared.config;
        // With --exit-when-idle a long poll must not outlast the idle limit, or the exit
        // would come up to 20 s late.
        let wait = match config.exit_when_idle {
            Some(idle) => config.wait_seconds.min(idle.as_secs().min(20) as u8),
            None => config.wait_seconds,
        };
        let options = ReceiveOptions {
            max_messages: config.max_messages,
            wait_seconds: wait,
            visibility_timeout: config.visibility_timeout,
            system_attributes: vec!["ApproximateReceiveCount".into(), "SentTimestamp".into()],
        };
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        Poller {
            shared,
            client,
            options,
            backoff,
        }
    }

    /// Polls until the stop switch is thrown.
    pub fn run(mut self) {
        let shutdown = &self.shared.shutdown;
        while !shutdown.is_stopping() {
            let url = &self.shared.config.sqs.queue_url;
            match self.client.receive_message(url, &self.options) {
                Ok(messages) => {
                    self.backoff.reset();
                    let n = messages.len() as u64;
                    self.shared.with_accounting(|a| {
                        a.receive_calls += 1;
                        a.received += n;
                    });
                    if messages.is_empty() {
                        shutdown.empty_receive();
                    } else {
                        shutdown.batch_started();
                        self.handle_batch(&messages);
                        shutdown.batch_finished();
                    }
                }
                Err(e) if e.is_retryable() => {
                    self.shared.with_accounting(|a| a.receive_errors += 1);
                    let delay = self.backoff.next_delay();
                    warn(&format!("receive failed, retrying in {delay:.1?}: {e}"));
                    shutdown.sleep(delay);
                }
                Err(e) => {
                    shutdown.stop(Reason::Fatal(format!("receive from {url} failed: {e}")));
                }
            }
        }
    }

    fn handle_batch(&mut self, messages: &[Message]) {
        let received_ms = unix_ms(SystemTime::now());
        let classes: Vec<Body> = messages.iter().map(|m| Body::classify(&m.body)).collect();
        let (accepted, mut refused) = triage(&classes, self.shared.config.require_schema);
        let mut to_delete: Vec<usize> = Vec::with_capacity(messages.len());
        if !accepted.is_empty() {
            match self.deliver(messages, &classes, &accepted, received_ms) {
                Ok(()) => to_delete.extend_from_slice(&accepted),
                Err(e)
                    if e.kind() == io::ErrorKind::BrokenPipe
                        && self.shared.config.sink == SinkSpec::Stdout =>
                {
                    // Nobody reads any more: stop, and leave this batch in the queue.
                    self.shared.shutdown.stop(Reason::OutputClosed);
                    return;
                }
                Err(e) => {
                    self.shared.with_accounting(|a| a.sink_failures += 1);
                    warn(&format!("sink refused a batch of {}: {e}", accepted.len()));
                    let reason = format!("sink write failed: {e}");
                    refused.extend(accepted.iter().map(|&i| (i, reason.clone())));
                    self.shared.shutdown.sleep(self.backoff.next_delay());
                }
            }
        }
        for (i, reason) in &refused {
            if self.dead_letter_if_due(&messages[*i], reason) {
                to_delete.push(*i);
            }
        }
        self.delete(messages, &to_delete);
    }

    /// Writes the accepted messages as one batch, then accounts them.
    fn deliver(
        &self,
        messages: &[Message],
        classes: &[Body],
        accepted: &[usize],
        received_ms: u64,
    ) -> io::Result<()> {
        let format = self.shared.config.format;
        let lines: Vec<String> = accepted
            .iter()
            .map(|&i| {
                let m = &messages[i];
                format::line(
                    format,
                    &Record {
                        message_id: &m.message_id,
                        body: &m.body,
                        class: &classes[i],
                        received_ms,
                        receive_count: m.approximate_receive_count(),
                        sent_timestamp_ms: m.sent_timestamp_ms(),
                    },
                )
            })
            .collect();
        self.shared.write_to_sink(&lines)?;
        let received_secs = (received_ms / 1000) as i64;
        let total = self.shared.with_accounting(|a| {
            for &i in accepted {
                a.delivered(&classes[i], received_secs);
            }
            a.messages
        });
        if let Some(dashboard) = &self.shared.dashboard {
            dashboard.observe(accepted.iter().map(|&i| &classes[i]), received_ms);
        }
        if let Some(limit) = self.shared.config.stop_after {
            if total >= limit {
                self.shared.shutdown.stop(Reason::StopAfter(limit));
            }
        }
        Ok(())
    }

    /// A refused message: counted; once received `--max-receives` times it is written to the
    /// dead-letter file. True when it may now be deleted.
    fn dead_letter_if_due(&self, message: &Message, reason: &str) -> bool {
        self.shared.with_accounting(|a| a.rejected += 1);
        let receives = message.approximate_receive_count().unwrap_or(1);
        if !dead_letter_due(
            message.approximate_receive_count(),
            self.shared.config.max_receives,
        ) {
            return false;
        }
        let entry = dead_letter::Entry {
            message_id: &message.message_id,
            body: &message.body,
            reason,
            receive_count: receives,
            at_ms: unix_ms(SystemTime::now()),
        };
        match self.shared.write_dead_letter(&entry) {
            Ok(()) => {
                self.shared.with_accounting(|a| a.dead_lettered += 1);
                true
            }
            Err(e) => {
                warn(&format!(
                    "cannot dead-letter message {} ({e}); it stays in the queue",
                    message.message_id
                ));
                false
            }
        }
    }

    /// Deletes `indices` of `messages` with DeleteMessageBatch, retrying failed entries that
    /// are not the sender's fault. Whatever cannot be deleted will be redelivered (and then
    /// shows up as a duplicate), which is the at-least-once contract.
    fn delete(&mut self, messages: &[Message], indices: &[usize]) {
        let mut pending: Vec<usize> = indices.to_vec();
        let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(2));
        let url = self.shared.config.sqs.queue_url.clone();
        for attempt in 1..=DELETE_ATTEMPTS {
            if pending.is_empty() {
                return;
            }
            let ids: Vec<String> = pending.iter().map(|i| i.to_string()).collect();
            let entries: Vec<DeleteEntry<'_>> = pending
                .iter()
                .zip(&ids)
                .map(|(&i, id)| DeleteEntry {
                    id,
                    receipt_handle: &messages[i].receipt_handle,
                })
                .collect();
            self.shared.with_accounting(|a| a.delete_calls += 1);
            match self.client.delete_message_batch(&url, &entries) {
                Ok(outcomes) => {
                    let mut done: HashSet<usize> = HashSet::new();
                    for outcome in outcomes {
                        let index = outcome.id().parse::<usize>().ok();
                        match outcome {
                            DeleteOutcome::Deleted { .. } => done.extend(index),
                            DeleteOutcome::Failed {
                                code,
                                message,
                                sender_fault: true,
                                ..
                            } => {
                                // The receipt handle itself is bad (e.g. expired): retrying
                                // the same handle cannot work.
                                done.extend(index);
                                self.shared.with_accounting(|a| a.delete_failures += 1);
                                warn(&format!("delete refused ({code}: {message}); the message will be redelivered"));
                            }
                            DeleteOutcome::Failed { .. } => {}
                        }
                    }
                    pending.retain(|i| !done.contains(i));
                }
                Err(e) if e.is_retryable() && attempt < DELETE_ATTEMPTS => {
                    warn(&format!(
                        "delete batch failed (attempt {attempt}), retrying: {e}"
                    ));
                }
                Err(e) => {
                    warn(&format!("delete batch failed: {e}"));
                    break;
                }
            }
            if !pending.is_empty() && attempt < DELETE_ATTEMPTS {
                self.shared.with_accounting(|a| a.delete_retries += 1);
                // Not interruptible by the stop switch: finishing this delete is the point.
                std::thread::sleep(backoff.next_delay());
            }
        }
        if !pending.is_empty() {
            let n = pending.len() as u64;
            self.shared.with_accounting(|a| a.delete_failures += n);
            warn(&format!(
                "gave up deleting {n} messages; they will be redelivered"
            ));
        }
    }
}

/// Splits a batch into the indices the sink takes and the ones it refuses (with why).
/// Without `--require-schema` every body is taken: odd bodies are delivered and counted.
fn triage(classes: &[Body], require_schema: bool) -> (Vec<usize>, Vec<(usize, String)>) {
    let mut accepted = Vec::with_capacity(classes.len());
    let mut refused = Vec::new();
    for (i, class) in classes.iter().enumerate() {
        match class {
            Body::SchemaLess(why) if require_schema => {
                refused.push((i, format!("not a sensor message: {why}")))
            }
            Body::NonJson(why) if require_schema => refused.push((i, format!("not JSON: {why}"))),
            _ => accepted.push(i),
        }
    }
    (accepted, refused)
}

/// Whether a refused message has been received often enough to be dead-lettered. Without
/// the ApproximateReceiveCount attribute, assume a first receive: never dead-letter early.
fn dead_letter_due(receive_count: Option<u32>, max_receives: u32) -> bool {
    receive_count.unwrap_or(1) >= max_receives
}

fn warn(message: &str) {
    eprintln!("puller: warning: {message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes() -> Vec<Body> {
        [
            "{\"sequence\": 1}",
            "not json",
            &crate::sensor::tests::sample("e", 1),
        ]
        .iter()
        .map(|b| Body::classify(b))
        .collect()
    }

    #[test]
    fn odd_bodies_are_delivered_by_default() {
        let (accepted, refused) = triage(&classes(), false);
        assert_eq!((accepted, refused.len()), (vec![0, 1, 2], 0));
    }

    #[test]
    fn require_schema_refuses_odd_bodies_with_reasons() {
        let (accepted, refused) = triage(&classes(), true);
        assert_eq!(accepted, vec![2]);
        assert_eq!(refused.len(), 2);
        assert!(
            refused[0].1.starts_with("not a sensor message: field"),
            "{:?}",
            refused[0]
        );
        assert!(refused[1].1.starts_with("not JSON: "), "{:?}", refused[1]);
    }

    #[test]
    fn dead_letter_threshold() {
        assert!(!dead_letter_due(Some(4), 5));
        assert!(dead_letter_due(Some(5), 5));
        assert!(dead_letter_due(Some(9), 5));
        assert!(!dead_letter_due(None, 5), "unknown count: never early");
        assert!(dead_letter_due(None, 1));
    }
}
