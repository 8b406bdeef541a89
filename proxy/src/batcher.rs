//! The bounded pending queue between workers and forwarders, with group commit: a forwarder
//! takes a batch when 10 messages (SendMessageBatch's maximum) or 1 MiB are waiting, or when
//! the oldest waiting message has lingered `linger`. Under load batches fill at once; when
//! quiet a message waits at most `linger` for company.
use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub const MAX_BATCH_ENTRIES: usize = 10;
/// SendMessageBatch's limit on the sum of the bodies.
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
    pub enqueued: Instant,
    /// The end of the request budget: by then the client has its answer (503 if SQS has not
    /// accepted the message), so the message is not sent after it.
    pub deadline: Instant,
}

struct State {
    jobs: VecDeque<Job>,
    bytes: usize,
    closed: bool,
}

pub struct Queue {
    state: Mutex<State>,
    ready: Condvar,
    capacity: usize,
    linger: Duration,
}

impl Queue {
    pub fn new(capacity: usize, linger: Duration) -> Queue {
        Queue {
            state: Mutex::new(State {
                jobs: VecDeque::new(),
                bytes: 0,
                closed: false,
            }),
            ready: Condvar::new(),
            capacity,
            linger,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent across a panic (each update is one push or pop).
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a job, or gives it back when the queue is full or closed: the caller answers 503
    /// at once instead of letting memory grow.
    pub fn push(&self, job: Job) -> Result<(), Job> {
        let mut s = self.lock();
        if s.closed || s.jobs.len() >= self.capacity {
            return Err(job);
        }
        s.bytes += job.body.len();
        s.jobs.push_back(job);
        // Wake a forwarder only when it has something new to do: start lingering on a first
        // message, or take a full batch. Saves a futex wake per message under load.
        let n = s.jobs.len();
        if n == 1 || n % MAX_BATCH_ENTRIES == 0 || s.bytes >= MAX_BATCH_BYTES {
            self.ready.notify_one();
        }
        Ok(())
    }

    /// Blocks until a batch is due and returns it; `None` once closed and empty.
    pub fn take_batch(&self) -> Option<Vec<Job>> {
        let mut s = self.lock();
        loop {
            while s.jobs.is_empty() {
                if s.closed {
                    return None;
                }
                s = self.ready.wait(s).unwrap_or_else(|p| p.into_inner());
            }
            let deadline = s.jobs[0].enqueued + self.linger;
            let now = Instant::now();
            let full = s.jobs.len() >= MAX_BATCH_ENTRIES || s.bytes >= MAX_BATCH_BYTES;
            if full || s.closed || now >= deadline {
                break;
            }
            s = self
                .ready
                .wait_timeout(s, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        let mut batch = Vec::with_capacity(MAX_BATCH_ENTRIES);
        let mut bytes = 0;
        while let Some(front) = s.jobs.front() {
            let full = batch.len() == MAX_BATCH_ENTRIES
                || (!batch.is_empty() && bytes + front.body.len() > MAX_BATCH_BYTES);
            if full {
                break;
            }
            bytes += front.body.len();
            if let Some(job) = s.jobs.pop_front() {
                batch.push(job);
            }
        }
        s.bytes -= bytes;
        if !s.jobs.is_empty() {
            // More is waiting: let another forwarder start on it (several batches in flight).
            self.ready.notify_one();
        }
        Some(batch)
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
