//! The visibility heartbeat: while a poller's batch has not been accepted by the sink (a slow
//! webhook, a sink retrying, a FIFO group waiting its turn), its messages' visibility is
//! extended with ChangeMessageVisibilityBatch every half visibility timeout, so SQS does not
//! hand them to another consumer meanwhile (which would deliver them twice). SQS caps a
//! message's hidden time at 12 hours from its receipt (AWS SQS developer guide, "Visibility
//! timeout"); extensions stop there.
//!
//! One heartbeat thread per poller, with its own SQS connection. The poller `watch`es a batch
//! right after receiving it and `unwatch`es it once the sink answered for good (accepted or
//! failed): from then on the batch is deleted or left to the usual redelivery. An extension
//! is sent while holding the state lock, so `unwatch` returns only once none is under way:
//! a message the poller then releases (visibility 0) is not hidden again behind its back.
//!
//! The poller wakes the heartbeat thread only when a new batch is due before the thread
//! would wake anyway ([`Wait::wakes_after`]): batches come every few milliseconds under load
//! and are due a half visibility timeout later, so a thread asleep until the previous batch's
//! due time finds the new one then, and a batch costs no wake-up of it.
use sigv4::sqs::{ChangeVisibilityEntry, ChangeVisibilityOutcome, Message, SqsClient};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// SQS's cap on how long a message may stay hidden after one receipt.
pub const MAX_HIDDEN: Duration = Duration::from_secs(43_200);
/// Extensions are never sent more often than this, however short the timeout.
const MIN_PERIOD: Duration = Duration::from_millis(200);

#[derive(Default)]
pub struct Heartbeat {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Default)]
struct State {
    watch: Option<Watch>,
    stopped: bool,
    /// What the heartbeat thread is doing, so `watch` knows whether to wake it.
    waiting: Wait,
}

/// The heartbeat thread's state as `watch` sees it (always updated under the state lock).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// Not waiting: it looks at the watch before it waits again.
    #[default]
    Running,
    /// Waiting for a watch, with no timeout.
    Forever,
    /// Waiting until this instant.
    Until(Instant),
}

impl Wait {
    /// Whether a batch due at `due` would be late unless the thread is woken now.
    fn wakes_after(self, due: Instant) -> bool {
        match self {
            Wait::Running => false,
            Wait::Forever => true,
            Wait::Until(at) => at > due,
        }
    }
}

struct Watch {
    /// The batch, shared with the poller (its receipt handles are read only when due).
    batch: Arc<[Message]>,
    received: Instant,
    next: Instant,
}

impl Heartbeat {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts extending these messages (received at `received`) every half `timeout`.
    pub fn watch(&self, batch: Arc<[Message]>, received: Instant, timeout: u32) {
        if timeout == 0 || batch.is_empty() {
            return; // visible again at once anyway: nothing to keep hidden
        }
        let next = received + period(timeout);
        let mut state = self.lock();
        state.watch = Some(Watch {
            batch,
            received,
            next,
        });
        if state.waiting.wakes_after(next) {
            self.wake.notify_all();
        }
    }

    /// Stops extending; returns once no extension is under way.
    pub fn unwatch(&self) {
        self.lock().watch = None;
    }

    /// Ends `run`.
    pub fn stop(&self) {
        self.lock().stopped = true;
        self.wake.notify_all();
    }

    /// The heartbeat thread's loop: extends the watched batch when due, until `stop`.
    /// `on_extended(n)` counts the messages whose visibility was extended.
    pub fn run(
        &self,
        mut client: SqsClient,
        queue_url: &str,
        timeout: u32,
        on_extended: &dyn Fn(u64),
    ) {
        let mut state = self.lock();
        loop {
            if state.stopped {
                return;
            }
            let due = state.watch.as_ref().map(|w| w.next);
            let now = Instant::now();
            match due {
                None => {
                    state.waiting = Wait::Forever;
                    state = self.wake.wait(state).unwrap_or_else(|p| p.into_inner());
                    state.waiting = Wait::Running;
                }
                Some(at) if at > now => {
                    state.waiting = Wait::Until(at);
                    state = self
                        .wake
                        .wait_timeout(state, at - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                    state.waiting = Wait::Running;
                }
                Some(_) => {
                    // The lock stays held during the call: see the module comment.
                    if let Some(watch) = state.watch.as_mut() {
                        let extended = extend(&mut client, queue_url, watch, timeout);
                        on_extended(extended);
                    }
                }
            }
        }
    }
}

fn period(timeout: u32) -> Duration {
    (Duration::from_secs(u64::from(timeout)) / 2).max(MIN_PERIOD)
}

/// The timeout the next extension sets: `timeout`, or less so that the message is visible
/// again before the 12-hour cap (a second of margin: SQS refuses an extension past it).
fn next_timeout(timeout: u32, hidden_so_far: Duration) -> u32 {
    let left = MAX_HIDDEN.saturating_sub(hidden_so_far).as_secs();
    u64::from(timeout).min(left.saturating_sub(1)) as u32
}

/// One ChangeMessageVisibilityBatch setting the watched messages' timeout to `timeout` from
/// now (less near the 12-hour cap); schedules the next. Returns how many were extended.
fn extend(client: &mut SqsClient, queue_url: &str, watch: &mut Watch, timeout: u32) -> u64 {
    let seconds = next_timeout(timeout, watch.received.elapsed());
    if seconds == 0 {
        warn(&format!(
            "{} message(s) reached SQS's 12-hour visibility cap; they may be redelivered",
            watch.batch.len()
        ));
        watch.next = Instant::now() + MAX_HIDDEN; // never again for this batch
        return 0;
    }
    watch.next = Instant::now() + period(seconds);
    let mut extended = 0;
    for (chunk_no, chunk) in watch.batch.chunks(10).enumerate() {
        let ids: Vec<String> = (0..chunk.len())
            .map(|i| format!("{chunk_no}-{i}"))
            .collect();
        let entries: Vec<ChangeVisibilityEntry<'_>> = chunk
            .iter()
            .zip(&ids)
            .map(|(message, id)| ChangeVisibilityEntry {
                id,
                receipt_handle: &message.receipt_handle,
                visibility_timeout: seconds,
            })
            .collect();
        match client.change_message_visibility_batch(queue_url, &entries) {
            Ok(outcomes) => {
                extended += outcomes
                    .iter()
                    .filter(|o| matches!(o, ChangeVisibilityOutcome::Changed { .. }))
                    .count() as u64;
            }
            Err(e) => warn(&format!(
                "cannot extend the visibility of {} message(s), retrying in {:.1?}: {e}",
                chunk.len(),
                period(seconds)
            )),
        }
    }
    extended
}

fn warn(message: &str) {
    eprintln!("puller: warning: {}", safe_text::inert(message));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A batch of one message with this receipt handle.
    fn batch(receipt_handle: &str) -> Arc<[Message]> {
        let message = Message {
            receipt_handle: receipt_handle.to_string(),
            ..Message::default()
        };
        Arc::from(vec![message])
    }

    #[test]
    fn period_is_half_the_timeout_with_a_floor() {
        assert_eq!(period(30), Duration::from_secs(15));
        assert_eq!(period(2), Duration::from_secs(1));
        assert_eq!(period(1), Duration::from_millis(500));
        assert_eq!(period(0), MIN_PERIOD);
    }

    #[test]
    fn extensions_stop_at_the_12_hour_cap() {
        assert_eq!(next_timeout(30, Duration::from_secs(10)), 30);
        let near = MAX_HIDDEN - Duration::from_secs(11);
        assert_eq!(next_timeout(30, near), 10, "only up to the cap");
        assert_eq!(next_timeout(30, MAX_HIDDEN - Duration::from_secs(1)), 0);
        assert_eq!(next_timeout(30, MAX_HIDDEN + Duration::from_secs(5)), 0);
    }

    #[test]
    fn a_waiting_thread_is_woken_only_for_a_batch_due_before_it_wakes() {
        let now = Instant::now();
        let later = now + Duration::from_secs(1);
        assert!(!Wait::Running.wakes_after(now), "it looks before it waits");
        assert!(Wait::Forever.wakes_after(later));
        assert!(Wait::Until(later).wakes_after(now), "due before it wakes");
        assert!(
            !Wait::Until(now).wakes_after(later),
            "it wakes first and finds it"
        );
        assert!(!Wait::Until(now).wakes_after(now));
    }

    /// When a ChangeMessageVisibilityBatch arrived, and its receipt handles (as JSON).
    type Calls = Arc<Mutex<Vec<(Instant, Vec<String>)>>>;

    /// A stand-in answering every ChangeMessageVisibilityBatch as successful, recording each.
    fn visibility_standin() -> (String, Calls) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let calls = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&calls);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let Ok(mut writer) = stream.try_clone() else {
                    return;
                };
                let mut reader = http1::MessageReader::new(stream);
                while let Some((_, body)) = edge_tests::sqs::next_json_request(&mut reader) {
                    let entries = body["Entries"].as_array().cloned().unwrap_or_default();
                    let handles = entries.iter().map(|e| e["ReceiptHandle"].to_string());
                    log.lock()
                        .expect("log")
                        .push((Instant::now(), handles.collect()));
                    let answer = edge_tests::sqs::all_successful(&body);
                    if edge_tests::sqs::write_json_answer(&mut writer, 200, &answer).is_err() {
                        break;
                    }
                }
            }
        });
        (url, calls)
    }

    #[test]
    fn a_batch_watched_while_the_thread_sleeps_is_extended_on_time() {
        let (url, calls) = visibility_standin();
        let heartbeat = Heartbeat::default();
        let queue_url = format!("{url}/000000000000/q");
        std::thread::scope(|scope| {
            let client = edge_tests::sqs::client(&url);
            scope.spawn(|| heartbeat.run(client, &queue_url, 2, &|_| {}));
            // Batch A (extensions every second) wakes the idle thread, which then sleeps
            // until A is due; A is done before that.
            let t0 = Instant::now();
            heartbeat.watch(batch("a"), t0, 2);
            edge_tests::wait_until("the thread waits for A", Duration::from_secs(5), || {
                heartbeat.lock().waiting == Wait::Until(t0 + Duration::from_secs(1))
            });
            heartbeat.unwatch();
            // Batch B, received 100 ms after A so due later than A was: no wake-up; the
            // thread finds it at A's due time and must still extend it when B is due, not a
            // period late.
            let b = t0 + Duration::from_millis(100);
            heartbeat.watch(batch("b"), b, 2);
            let due = b + Duration::from_secs(1);
            edge_tests::wait_until("B extended", Duration::from_secs(5), || {
                !calls.lock().expect("log").is_empty()
            });
            heartbeat.unwatch();
            heartbeat.stop();
            let calls = calls.lock().expect("log").clone();
            assert_eq!(calls.len(), 1, "only B, once: {calls:?}");
            let (at, handles) = &calls[0];
            assert_eq!(handles, &["\"b\"".to_string()]);
            assert!(*at >= due, "not before it is due");
            assert!(
                *at < due + Duration::from_millis(300),
                "extended {:?} after it was due",
                at.saturating_duration_since(due)
            );
        });
    }

    #[test]
    fn nothing_is_watched_with_a_zero_timeout() {
        let h = Heartbeat::default();
        h.watch(batch("r"), Instant::now(), 0);
        assert!(h.lock().watch.is_none());
        h.watch(batch("r"), Instant::now(), 5);
        assert!(h.lock().watch.is_some());
        h.unwatch();
        assert!(h.lock().watch.is_none());
    }
}
