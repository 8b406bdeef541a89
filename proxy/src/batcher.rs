//! The bounded pending queue between workers and forwarders, with group commit: a forwarder
//! takes a batch when 10 messages (SendMessageBatch's maximum) or the batch byte limit (the
//! queue's MaximumMessageSize, bodies plus attributes) are waiting, or when the oldest waiting
//! message has lingered `linger`. Under load batches fill at once; when quiet a message waits
//! at most `linger` for company. A batch closes on entries or bytes, whichever comes first,
//! so SQS never gets a SendMessageBatch it would refuse as `BatchRequestTooLong`.
//!
//! On a FIFO queue ([`Queue::fifo`]) a message group is held by at most one batch at a time:
//! a forwarder skips the messages of groups another batch holds until that batch is done
//! ([`Queue::release`]), so the messages of one group reach SQS in arrival order even with
//! several forwarders (within a batch SQS keeps the entries' order).
use crate::envelope::Extras;
use std::collections::{HashMap, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub const MAX_BATCH_ENTRIES: usize = 10;
/// The largest SendMessageBatch SQS takes (bodies plus attributes), and the largest message.
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;

/// Where the answer for a message goes: the worker thread, its connection and the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyTo {
    pub worker: usize,
    pub token: usize,
    pub request: u64,
}

#[derive(Debug)]
pub struct Job {
    pub reply: ReplyTo,
    pub body: String,
    /// FIFO ids and message attributes, fixed when the request arrived.
    pub extras: Extras,
    pub enqueued: Instant,
    /// The end of the request budget: by then the client has its answer (503 if SQS has not
    /// accepted the message), so the message is not sent after it.
    pub deadline: Instant,
}

impl Job {
    /// What the message counts toward SQS's size limits: body plus attributes.
    pub fn size(&self) -> usize {
        self.body.len() + self.extras.size()
    }

    fn group(&self) -> Option<&str> {
        self.extras.group_id.as_deref()
    }
}

struct State {
    jobs: VecDeque<Job>,
    bytes: usize,
    closed: bool,
    /// FIFO: message groups held by a batch in flight, with how many batches hold each.
    busy_groups: HashMap<String, usize>,
    /// Forwarders in a timed wait for the oldest message's linger to end: while there is
    /// one, a partial batch left behind needs no wake-up, it will be taken when due.
    lingering: usize,
}

impl State {
    fn eligible(&self, job: &Job) -> bool {
        job.group()
            .is_none_or(|g| !self.busy_groups.contains_key(g))
    }
}

pub struct Queue {
    state: Mutex<State>,
    ready: Condvar,
    capacity: usize,
    linger: Duration,
    max_batch_bytes: usize,
    fifo: bool,
}

/// What a forwarder could take now: messages, their bytes, the oldest one's arrival.
struct Due {
    count: usize,
    bytes: usize,
    oldest: Option<Instant>,
}

impl Queue {
    pub fn new(capacity: usize, linger: Duration) -> Queue {
        Queue {
            state: Mutex::new(State {
                jobs: VecDeque::new(),
                bytes: 0,
                closed: false,
                busy_groups: HashMap::new(),
                lingering: 0,
            }),
            ready: Condvar::new(),
            capacity,
            linger,
            max_batch_bytes: MAX_BATCH_BYTES,
            fifo: false,
        }
    }

    /// Batches stay within `bytes` (bodies plus attributes): the queue's MaximumMessageSize.
    pub fn with_batch_bytes(mut self, bytes: usize) -> Queue {
        self.max_batch_bytes = bytes.clamp(1, MAX_BATCH_BYTES);
        self
    }

    /// FIFO: one batch in flight per message group.
    pub fn fifo(mut self) -> Queue {
        self.fifo = true;
        self
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent across a panic (each update is one push or pop).
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds the jobs (leaving `jobs` empty) under one lock, and gives back the ones that did
    /// not fit because the queue is full or closed: the caller answers those 503 at once
    /// instead of letting memory grow. A worker pushes everything one turn of its event loop
    /// read in one call, so the lock is taken once per turn, not once per message.
    pub fn push_all(&self, jobs: &mut Vec<Job>) -> Vec<Job> {
        let mut refused = Vec::new();
        let mut s = self.lock();
        let before = s.jobs.len();
        for job in jobs.drain(..) {
            if s.closed || s.jobs.len() >= self.capacity {
                refused.push(job);
                continue;
            }
            s.bytes += job.size();
            s.jobs.push_back(job);
        }
        // Wake a forwarder only when it has something new to do: start lingering on a first
        // message, or take a full batch (a forwarder that takes one wakes the next if more
        // is due). Saves a futex wake per message under load. (FIFO: a new message may be
        // the first one not held back by a busy group.)
        let n = s.jobs.len();
        let first = before == 0 && n > 0;
        let filled = n / MAX_BATCH_ENTRIES > before / MAX_BATCH_ENTRIES;
        if n > before && (self.fifo || first || filled || s.bytes >= self.max_batch_bytes) {
            self.ready.notify_one();
        }
        refused
    }

    /// One job: `push_all` of one.
    #[cfg(test)]
    #[allow(clippy::result_large_err)]
    pub fn push(&self, job: Job) -> Result<(), Job> {
        match self.push_all(&mut vec![job]).pop() {
            Some(job) => Err(job),
            None => Ok(()),
        }
    }

    /// Blocks until a batch is due and returns it; `None` once closed and empty.
    pub fn take_batch(&self) -> Option<Vec<Job>> {
        let mut s = self.lock();
        loop {
            if s.jobs.is_empty() && s.closed {
                return None;
            }
            let due = self.due(&s);
            let Some(oldest) = due.oldest else {
                // Nothing, or only messages of busy groups: a push or a release wakes us.
                s = self.ready.wait(s).unwrap_or_else(|p| p.into_inner());
                continue;
            };
            let deadline = oldest + self.linger;
            let now = Instant::now();
            if self.is_full(&due) || s.closed || now >= deadline {
                break;
            }
            s.lingering += 1;
            s = self
                .ready
                .wait_timeout(s, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
            s.lingering -= 1;
        }
        let batch = self.take(&mut s);
        // More is waiting: let another forwarder start on it (several batches in flight)
        // if it is a full batch, or if no forwarder lingers to take it when it is due.
        // Waking one for a partial batch while another lingers only costs two futex calls.
        let rest = self.due(&s);
        if rest.oldest.is_some() && (self.is_full(&rest) || s.lingering == 0 || s.closed) {
            self.ready.notify_one();
        }
        Some(batch)
    }

    fn is_full(&self, due: &Due) -> bool {
        due.count >= MAX_BATCH_ENTRIES || due.bytes >= self.max_batch_bytes
    }

    /// The messages a batch could take now (counting stops at a full batch).
    fn due(&self, s: &State) -> Due {
        if s.busy_groups.is_empty() {
            return Due {
                count: s.jobs.len(),
                bytes: s.bytes,
                oldest: s.jobs.front().map(|j| j.enqueued),
            };
        }
        let mut due = Due {
            count: 0,
            bytes: 0,
            oldest: None,
        };
        for job in s.jobs.iter().filter(|j| s.eligible(j)) {
            due.oldest.get_or_insert(job.enqueued);
            due.count += 1;
            due.bytes += job.size();
            if due.count >= MAX_BATCH_ENTRIES || due.bytes >= self.max_batch_bytes {
                break;
            }
        }
        due
    }

    /// Takes up to 10 eligible messages in arrival order, stopping before the one that would
    /// take the batch over its byte limit (skipping it could reorder its group); marks their
    /// groups busy.
    fn take(&self, s: &mut State) -> Vec<Job> {
        let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH_ENTRIES);
        let mut bytes = 0;
        let mut i = 0;
        while i < s.jobs.len() && batch.len() < MAX_BATCH_ENTRIES {
            if !s.eligible(&s.jobs[i]) {
                i += 1;
                continue;
            }
            let size = s.jobs[i].size();
            if !batch.is_empty() && bytes + size > self.max_batch_bytes {
                break;
            }
            bytes += size;
            if let Some(job) = s.jobs.remove(i) {
                batch.push(job);
            }
        }
        s.bytes -= bytes;
        for group in distinct_groups(&batch) {
            *s.busy_groups.entry(group.to_string()).or_insert(0) += 1;
        }
        batch
    }

    /// The batch `jobs` (as taken) is done: its groups may go out again.
    pub fn release(&self, jobs: &[Job]) {
        let groups = distinct_groups(jobs);
        if groups.is_empty() {
            return;
        }
        let mut s = self.lock();
        for group in groups {
            if let Some(n) = s.busy_groups.get_mut(group) {
                *n -= 1;
                if *n == 0 {
                    s.busy_groups.remove(group);
                }
            }
        }
        self.ready.notify_all();
    }

    /// No more pushes; forwarders empty the queue without lingering and then stop.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    pub fn len(&self) -> usize {
        self.lock().jobs.len()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

fn distinct_groups(jobs: &[Job]) -> Vec<&str> {
    let mut groups: Vec<&str> = Vec::new();
    for g in jobs.iter().filter_map(Job::group) {
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(i: u64, size: usize) -> Job {
        Job {
            reply: ReplyTo {
                worker: 0,
                token: 2,
                request: i,
            },
            body: "x".repeat(size),
            extras: Extras::default(),
            enqueued: Instant::now(),
            deadline: Instant::now() + Duration::from_secs(10),
        }
    }

    #[test]
    fn full_batch_leaves_without_lingering() {
        let q = Queue::new(100, Duration::from_secs(3600));
        for i in 0..25 {
            q.push(job(i, 10)).unwrap();
        }
        let b = q.take_batch().unwrap();
        assert_eq!(b.len(), 10);
        assert_eq!(b[0].reply.request, 0, "FIFO");
        assert_eq!(q.take_batch().unwrap().len(), 10);
        assert_eq!(q.len(), 5);
    }

    #[test]
    fn the_rest_of_a_burst_is_taken_by_a_waiting_forwarder() {
        // Two forwarders wait on an empty queue; a burst of 12 arrives in one push. One takes
        // a full batch; the other must be woken for the remaining 2 (nobody lingers yet),
        // and takes them once they lingered.
        let q = std::sync::Arc::new(Queue::new(100, Duration::from_millis(20)));
        let (tx, rx) = std::sync::mpsc::channel();
        for _ in 0..2 {
            let (q, tx) = (std::sync::Arc::clone(&q), tx.clone());
            std::thread::spawn(move || tx.send(q.take_batch().map_or(0, |b| b.len())));
        }
        // Give both time to wait (if they have not yet, they find the jobs anyway).
        std::thread::sleep(Duration::from_millis(20));
        let mut burst: Vec<Job> = (0..12).map(|i| job(i, 1)).collect();
        assert!(q.push_all(&mut burst).is_empty());
        // A forwarder left asleep would never answer: fail instead of hanging.
        let mut sizes: Vec<usize> = (0..2)
            .map(|_| rx.recv_timeout(Duration::from_secs(5)).expect("a batch"))
            .collect();
        sizes.sort_unstable();
        assert_eq!(sizes, vec![2, 10]);
    }

    #[test]
    fn partial_batch_leaves_after_linger() {
        let q = Queue::new(100, Duration::from_millis(20));
        q.push(job(0, 10)).unwrap();
        let start = Instant::now();
        let b = q.take_batch().unwrap();
        assert_eq!(b.len(), 1);
        assert!(start.elapsed() >= Duration::from_millis(15));
    }

    #[test]
    fn batch_bytes_stay_within_one_mib() {
        let q = Queue::new(100, Duration::from_secs(3600));
        for i in 0..4 {
            q.push(job(i, 300 * 1024)).unwrap();
        }
        let b = q.take_batch().unwrap();
        assert_eq!(b.len(), 3);
        assert!(b.iter().map(|j| j.body.len()).sum::<usize>() <= MAX_BATCH_BYTES);
    }

    fn with_attributes(i: u64, size: usize, group: Option<&str>) -> Job {
        let mut j = job(i, size);
        j.extras.group_id = group.map(str::to_string);
        j.extras.attributes = vec![sigv4::sqs::MessageAttribute::string("hostname", "h")];
        j
    }

    #[test]
    fn batches_close_on_bytes_with_attributes_counted() {
        let limit = 262_144;
        let q = Queue::new(100, Duration::from_secs(3600)).with_batch_bytes(limit);
        // Two bodies of half the limit fit by their bodies alone, not with attributes.
        for i in 0..3 {
            q.push(with_attributes(i, limit / 2, None)).unwrap();
        }
        let b = q.take_batch().unwrap();
        assert_eq!(b.len(), 1, "the second would take the batch over the limit");
        assert!(b.iter().map(Job::size).sum::<usize>() <= limit);
        // A message of exactly the limit goes alone.
        let q = Queue::new(100, Duration::from_secs(3600)).with_batch_bytes(limit);
        let size = limit - with_attributes(0, 0, None).size();
        q.push(with_attributes(0, size, None)).unwrap();
        q.push(with_attributes(1, 1, None)).unwrap();
        assert_eq!(q.take_batch().unwrap().len(), 1);
    }

    #[test]
    fn fifo_holds_a_group_back_while_a_batch_of_it_is_in_flight() {
        let q = Queue::new(100, Duration::ZERO).fifo();
        q.push(with_attributes(0, 1, Some("a"))).unwrap();
        q.push(with_attributes(1, 1, Some("b"))).unwrap();
        let first = q.take_batch().unwrap();
        assert_eq!(first.len(), 2);
        q.push(with_attributes(2, 1, Some("a"))).unwrap();
        q.push(with_attributes(3, 1, Some("c"))).unwrap();
        q.push(with_attributes(4, 1, Some("a"))).unwrap();
        let second = q.take_batch().unwrap();
        let ids: Vec<u64> = second.iter().map(|j| j.reply.request).collect();
        assert_eq!(ids, [3], "a is busy; c may go");
        q.release(&first);
        let third = q.take_batch().unwrap();
        let ids: Vec<u64> = third.iter().map(|j| j.reply.request).collect();
        assert_eq!(ids, [2, 4], "a's messages in arrival order, once a is free");
        q.release(&second);
        q.release(&third);
        assert_eq!(q.lock().busy_groups.len(), 0);
    }

    #[test]
    fn a_forwarder_waiting_on_a_busy_group_wakes_on_release() {
        let q = std::sync::Arc::new(Queue::new(100, Duration::ZERO).fifo());
        q.push(with_attributes(0, 1, Some("a"))).unwrap();
        let first = q.take_batch().unwrap();
        q.push(with_attributes(1, 1, Some("a"))).unwrap();
        let q2 = std::sync::Arc::clone(&q);
        let waiter = std::thread::spawn(move || q2.take_batch().unwrap()[0].reply.request);
        std::thread::sleep(Duration::from_millis(50));
        assert!(!waiter.is_finished(), "held back while a is in flight");
        q.release(&first);
        assert_eq!(waiter.join().unwrap(), 1);
    }

    #[test]
    fn full_queue_gives_the_job_back() {
        let q = Queue::new(2, Duration::from_millis(1));
        q.push(job(0, 1)).unwrap();
        q.push(job(1, 1)).unwrap();
        assert_eq!(q.push(job(2, 1)).unwrap_err().reply.request, 2);
    }

    #[test]
    fn close_flushes_then_ends() {
        let q = Queue::new(10, Duration::from_secs(3600));
        q.push(job(0, 1)).unwrap();
        q.close();
        assert!(q.push(job(1, 1)).is_err());
        assert_eq!(q.take_batch().unwrap().len(), 1, "no linger once closed");
        assert!(q.take_batch().is_none());
    }
}
