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
use sigv4::sqs::{ChangeVisibilityEntry, ChangeVisibilityOutcome, SqsClient};
use std::sync::{Condvar, Mutex, MutexGuard};
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
}

struct Watch {
    receipt_handles: Vec<String>,
    received: Instant,
    next: Instant,
}

impl Heartbeat {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts extending these messages (received at `received`) every half `timeout`.
    pub fn watch(&self, receipt_handles: Vec<String>, received: Instant, timeout: u32) {
        if timeout == 0 || receipt_handles.is_empty() {
            return; // visible again at once anyway: nothing to keep hidden
        }
        let mut state = self.lock();
        state.watch = Some(Watch {
            receipt_handles,
            received,
            next: received + period(timeout),
        });
        self.wake.notify_all();
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
                    state = self.wake.wait(state).unwrap_or_else(|p| p.into_inner());
                }
                Some(at) if at > now => {
                    state = self
                        .wake
                        .wait_timeout(state, at - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
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
            watch.receipt_handles.len()
        ));
        watch.next = Instant::now() + MAX_HIDDEN; // never again for this batch
        return 0;
    }
    watch.next = Instant::now() + period(seconds);
    let mut extended = 0;
    for (chunk_no, chunk) in watch.receipt_handles.chunks(10).enumerate() {
        let ids: Vec<String> = (0..chunk.len())
            .map(|i| format!("{chunk_no}-{i}"))
            .collect();
        let entries: Vec<ChangeVisibilityEntry<'_>> = chunk
            .iter()
            .zip(&ids)
            .map(|(handle, id)| ChangeVisibilityEntry {
                id,
                receipt_handle: handle,
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
    fn nothing_is_watched_with_a_zero_timeout() {
        let h = Heartbeat::default();
        h.watch(vec!["r".into()], Instant::now(), 0);
        assert!(h.lock().watch.is_none());
        h.watch(vec!["r".into()], Instant::now(), 5);
        assert!(h.lock().watch.is_some());
        h.unwatch();
        assert!(h.lock().watch.is_none());
    }
}
