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
//! While the batch waits for the sink (and, FIFO, for its message groups to be free), the
//! `heartbeat` keeps it hidden. With a RedrivePolicy on the queue, a refused message is left
//! for SQS to move to its dead-letter queue instead of the file.
//!
//! FIFO queues (`fifo_groups`): a batch's messages reach the sink in the order received, a
//! message group is in one poller's hands at a time, a message behind a refused one of its
//! group is left in the queue with it rather than delivered ahead of it, and a receive retried after an
//! error carries the same ReceiveRequestAttemptId (SQS then returns the same messages).
//!
//! The stop switch is checked before a receive and right after one: a batch received before
//! the stop is always finished; one received after it (a long poll the control loop did not
//! wait for) is handed back with ChangeMessageVisibilityBatch(0), not delivered.
use crate::dead_letter;
use crate::format::{self, Record};
use crate::heartbeat::Heartbeat;
use crate::run::Shared;
use crate::sensor::Body;
use crate::shutdown::Reason;
use crate::sink::SinkSpec;
use crate::time::unix_ms;
use sigv4::sqs::{
    entry_id, ChangeVisibilityEntry, ChangeVisibilityOutcome, DeleteEntry, DeleteOutcome, Message,
    ReceiveExtras, ReceiveOptions, SqsClient,
};
use sigv4::Backoff;
use std::borrow::Cow;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// How often a delete batch is tried before its messages are left to be redelivered.
const DELETE_ATTEMPTS: u32 = 6;

pub struct Poller<'a> {
    shared: &'a Shared,
    client: SqsClient,
    options: ReceiveOptions,
    /// Message attributes (all) and, FIFO, the attempt id of the receive being retried.
    extras: ReceiveExtras,
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
            system_attributes: system_attributes(shared.queue.fifo),
            message_attributes: vec!["All".into()],
        };
        let extras = ReceiveExtras { attempt_id: None };
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        Poller {
            shared,
            client,
            options,
            extras,
            backoff,
        }
    }

    /// Polls until the stop switch is thrown, with this poller's heartbeat thread beside it.
    pub fn run(self) {
        let heartbeat = Heartbeat::default();
        let heartbeat_client = SqsClient::new(self.client.config().clone());
        let shared = self.shared;
        std::thread::scope(|scope| {
            // Ends the heartbeat however the poll loop ends (a panic included), so the scope
            // can close and the supervisor sees this poller finish.
            struct StopOnDrop<'h>(&'h Heartbeat);
            impl Drop for StopOnDrop<'_> {
                fn drop(&mut self) {
                    self.0.stop();
                }
            }
            let _stop = StopOnDrop(&heartbeat);
            let beat = &heartbeat;
            scope.spawn(move || {
                let url = &shared.config.sqs.queue_url;
                let count = |n: u64| shared.with_accounting(|a| a.visibility_extended += n);
                beat.run(
                    heartbeat_client,
                    url,
                    shared.queue.visibility_timeout,
                    &count,
                );
            });
            self.poll(&heartbeat);
        });
    }

    fn poll(mut self, heartbeat: &Heartbeat) {
        let shutdown = &self.shared.shutdown;
        while !shutdown.is_stopping() {
            let url = &self.shared.config.sqs.queue_url;
            if self.shared.queue.fifo && self.extras.attempt_id.is_none() {
                self.extras.attempt_id = Some(new_attempt_id());
            }
            let receiving = shutdown.receive_started();
            let result = self
                .client
                .receive_message_with(url, &self.options, &self.extras);
            drop(receiving);
            match result {
                Ok(messages) => {
                    // A fresh attempt id for the next receive; only a failed one is repeated.
                    self.extras.attempt_id = None;
                    self.backoff.reset();
                    let n = messages.len() as u64;
                    self.shared.with_accounting(|a| {
                        a.receive_calls += 1;
                        a.received += n;
                    });
                    if messages.is_empty() {
                        shutdown.empty_receive();
                        continue;
                    }
                    let _in_flight = shutdown.batch_started();
                    // Shared with the heartbeat thread, not copied for it.
                    let messages: Arc<[Message]> = messages.into();
                    if shutdown.is_stopping() {
                        // A long poll that outlived the stop: nobody will handle this batch.
                        self.release(&messages, "received after the stop");
                    } else {
                        self.handle_batch(&messages, heartbeat);
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

    /// Hands `messages` back to SQS (visibility timeout 0) so another consumer gets them at
    /// once. Should that fail, they still come back after their visibility timeout.
    fn release(&mut self, messages: &[Message], why: &str) {
        let ids: Vec<String> = (0..messages.len()).map(|i| i.to_string()).collect();
        let entries: Vec<ChangeVisibilityEntry<'_>> = messages
            .iter()
            .zip(&ids)
            .map(|(m, id)| ChangeVisibilityEntry {
                id,
                receipt_handle: &m.receipt_handle,
                visibility_timeout: 0,
            })
            .collect();
        let url = &self.shared.config.sqs.queue_url;
        let released = match self.client.change_message_visibility_batch(url, &entries) {
            Ok(outcomes) => outcomes
                .iter()
                .filter(|o| matches!(o, ChangeVisibilityOutcome::Changed { .. }))
                .count(),
            Err(e) => {
                warn(&format!("cannot release messages: {e}"));
                0
            }
        };
        let kept = messages.len() - released;
        self.shared
            .with_accounting(|a| a.released += released as u64);
        if kept > 0 {
            warn(&format!(
                "{kept} message(s) {why} could not be released; \
                 they come back after their visibility timeout"
            ));
        }
    }

    fn handle_batch(&mut self, batch: &Arc<[Message]>, heartbeat: &Heartbeat) {
        let received_ms = unix_ms(SystemTime::now());
        heartbeat.watch(
            Arc::clone(batch),
            Instant::now(),
            self.shared.queue.visibility_timeout,
        );
        let messages: &[Message] = batch;
        let fifo = self.shared.queue.fifo;
        // FIFO: held until this batch is deleted, so no other poller delivers its groups.
        let _groups = fifo.then(|| {
            let groups = messages.iter().map(|m| group_of(m).to_string()).collect();
            self.shared.groups.claim(groups)
        });
        let classes: Vec<Body> = messages.iter().map(|m| Body::classify(&m.body)).collect();
        let (accepted, mut refused) = triage(&classes, self.shared.config.require_schema);
        let (accepted, held_back) = match fifo {
            true => hold_back_behind_refusals(messages, accepted, &refused),
            false => (accepted, Vec::new()),
        };
        let mut to_delete: Vec<usize> = Vec::with_capacity(messages.len());
        let delivered = match accepted.is_empty() {
            true => Ok(()),
            false => self.deliver(messages, &classes, &accepted, received_ms),
        };
        // The sink answered for good: from here the batch is deleted or left to redelivery.
        heartbeat.unwatch();
        match delivered {
            Ok(()) => to_delete.extend_from_slice(&accepted),
            Err(e)
                if e.kind() == io::ErrorKind::BrokenPipe
                    && self.shared.config.sink == SinkSpec::Stdout =>
            {
                // Nobody reads any more: stop, and hand this batch back.
                self.shared.shutdown.stop(Reason::OutputClosed);
                self.release(messages, "not written (output closed)");
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
        for (i, reason) in &refused {
            if self.dead_letter_if_due(&messages[*i], reason) {
                to_delete.push(*i);
            }
        }
        self.delete(messages, &to_delete);
        if !held_back.is_empty() {
            // Left in flight, not released: they become visible together with the refused
            // message ahead of them, and SQS FIFO then hands out the group in order again.
            let n = held_back.len() as u64;
            self.shared.with_accounting(|a| a.held_back += n);
        }
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
                        attributes: &m.message_attributes,
                        group_id: m.attribute("MessageGroupId"),
                        sequence_number: m.attribute("SequenceNumber"),
                    },
                )
            })
            .collect();
        self.shared.write_to_sink(&lines)?;
        let total = self.shared.with_accounting(|a| {
            for &i in accepted {
                a.delivered(&classes[i], received_ms);
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
    /// With a RedrivePolicy on the queue the message is left for SQS to move to the queue's
    /// dead-letter queue once received often enough: never deleted, never written here.
    fn dead_letter_if_due(&self, message: &Message, reason: &str) -> bool {
        self.shared.with_accounting(|a| a.rejected += 1);
        let receives = message.approximate_receive_count().unwrap_or(1);
        if let Some(redrive) = &self.shared.queue.redrive {
            self.shared.with_accounting(|a| a.left_for_redrive += 1);
            warn(&format!(
                "message {} refused ({reason}); ApproximateReceiveCount {receives} of \
                 maxReceiveCount {}: left for the queue's RedrivePolicy",
                message.message_id, redrive.max_receive_count
            ));
            return false;
        }
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
        let shared = self.shared;
        let url = &shared.config.sqs.queue_url;
        for attempt in 1..=DELETE_ATTEMPTS {
            if pending.is_empty() {
                return;
            }
            // Entry ids are the messages' indexes in the batch.
            let ids: Vec<Cow<'static, str>> = pending.iter().map(|&i| entry_id(i)).collect();
            let entries: Vec<DeleteEntry<'_>> = pending
                .iter()
                .zip(&ids)
                .map(|(&i, id)| DeleteEntry {
                    id,
                    receipt_handle: &messages[i].receipt_handle,
                })
                .collect();
            shared.with_accounting(|a| a.delete_calls += 1);
            match self.client.delete_message_batch(url, &entries) {
                Ok(outcomes) => {
                    let done = settled(shared, outcomes);
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
                shared.with_accounting(|a| a.delete_retries += 1);
                // Not interruptible by the stop switch: finishing this delete is the point.
                std::thread::sleep(backoff.next_delay());
            }
        }
        if !pending.is_empty() {
            let n = pending.len() as u64;
            shared.with_accounting(|a| a.delete_failures += n);
            warn(&format!(
                "gave up deleting {n} messages; they will be redelivered"
            ));
        }
    }
}

/// The batch indexes a DeleteMessageBatch answer settled: deleted, or refused for good (the
/// receipt handle itself is bad, e.g. expired: retrying the same handle cannot work).
fn settled(shared: &Shared, outcomes: Vec<DeleteOutcome>) -> Vec<usize> {
    let mut done = Vec::with_capacity(outcomes.len());
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
                done.extend(index);
                shared.with_accounting(|a| a.delete_failures += 1);
                warn(&format!(
                    "delete refused ({code}: {message}); the message will be redelivered"
                ));
            }
            DeleteOutcome::Failed { .. } => {}
        }
    }
    done
}

/// The system attributes each receive asks for.
fn system_attributes(fifo: bool) -> Vec<String> {
    let mut names = vec![
        "ApproximateReceiveCount".to_string(),
        "SentTimestamp".into(),
    ];
    if fifo {
        names.extend(["MessageGroupId".to_string(), "SequenceNumber".into()]);
    }
    names
}

/// A message's FIFO group; one without (not a FIFO message) is a group of its own.
fn group_of(message: &Message) -> &str {
    message
        .attribute("MessageGroupId")
        .unwrap_or(&message.message_id)
}

/// FIFO: an accepted message that comes after a refused one of its group would overtake it;
/// it is held back (neither delivered nor deleted) instead. Returns (to deliver, held back).
fn hold_back_behind_refusals(
    messages: &[Message],
    accepted: Vec<usize>,
    refused: &[(usize, String)],
) -> (Vec<usize>, Vec<usize>) {
    accepted.into_iter().partition(|&i| {
        !refused
            .iter()
            .any(|&(j, _)| j < i && group_of(&messages[j]) == group_of(&messages[i]))
    })
}

/// A ReceiveRequestAttemptId unique to this process, poller and receive.
fn new_attempt_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!(
        "puller-{}-{}-{n}",
        std::process::id(),
        unix_ms(SystemTime::now())
    )
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

/// One warning line on stderr. Warnings quote SQS errors and message ids, text another party
/// chose, so the whole line is made inert (it is one line: nothing of ours is escaped).
fn warn(message: &str) {
    eprintln!("puller: warning: {}", safe_text::inert(message));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::SinkSpec;

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

    /// A long poll still waiting when the stop comes is not waited for; if it then returns a
    /// message, the poller hands it back at once instead of delivering it (LocalStack).
    #[test]
    fn a_batch_arriving_after_the_stop_is_released_not_delivered() {
        let endpoint = edge_tests::localstack::require();
        let mut sqs = edge_tests::sqs::client(&endpoint);
        let url = sqs
            .create_queue(&edge_tests::unique_name("puller-release"), &[])
            .expect("create queue");
        let low = crate::args::LowArgs {
            sqs: sigv4::sqs::cli::SqsArgs {
                queue_url: Some(url.clone()),
                endpoint_url: Some(endpoint.clone()),
                ..Default::default()
            },
            visibility_timeout: Some(600),
            ..Default::default()
        };
        let config = crate::args::Config::from_low(low, false).expect("config");
        let sink_path = std::env::temp_dir().join(edge_tests::unique_name("puller-release"));
        let sink =
            crate::sink::Sink::open(&SinkSpec::Jsonl(sink_path.clone()), false).expect("sink");
        let shared = std::sync::Arc::new(Shared::new(config, sink, None));
        let for_poller = std::sync::Arc::clone(&shared);
        let client = edge_tests::sqs::client(&endpoint);
        let poller = std::thread::spawn(move || Poller::new(&for_poller, client).run());
        edge_tests::wait_until("a long poll in flight", Duration::from_secs(10), || {
            shared.shutdown.receives_in_flight() == 1
        });
        shared.shutdown.stop(Reason::Signal("SIGTERM"));
        sqs.send_message(&url, "arrives after the stop")
            .expect("send");
        poller.join().expect("poller ends after its long poll");
        let (released, delivered) = shared.with_accounting(|a| (a.released, a.messages));
        assert_eq!((released, delivered), (1, 0));
        assert_eq!(std::fs::read_to_string(&sink_path).unwrap_or_default(), "");
        let attrs = sqs
            .get_queue_attributes(&url, &["ApproximateNumberOfMessages"])
            .expect("attributes");
        assert_eq!(
            attrs,
            vec![("ApproximateNumberOfMessages".to_string(), "1".to_string())],
            "visible again at once, not after the 600 s visibility timeout"
        );
        let _ = std::fs::remove_file(&sink_path);
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
