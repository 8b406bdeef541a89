//! A fixed set of threads performing guest requests (`HttpPool`), so that thousands of
//! suspended guests share a few sockets instead of one thread each.
use super::client::Client;
use super::message::{Failure, Request, Response};
use std::io;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// One queued request and what to do with its outcome.
pub struct Job {
    pub request: Request,
    pub max_body: usize,
    /// When the guest made the call: the 30 s timeout runs from here.
    pub started: Instant,
    pub reply: Box<dyn FnOnce(Result<Response, Failure>) + Send>,
}

/// A fixed set of threads performing requests for all guests.
pub struct HttpPool {
    tx: Sender<Job>,
}

impl HttpPool {
    pub fn start(client: Client, threads: usize) -> io::Result<HttpPool> {
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let client = Arc::new(client);
        for i in 0..threads.max(1) {
            let rx = Arc::clone(&rx);
            let client = Arc::clone(&client);
            std::thread::Builder::new()
                .name(format!("http-{i}"))
                .stack_size(256 * 1024)
                .spawn(move || worker(&client, &rx))?;
        }
        Ok(HttpPool { tx })
    }

    /// Queues a request; `false` when the pool has shut down.
    pub fn submit(&self, job: Job) -> bool {
        self.tx.send(job).is_ok()
    }
}

fn worker(client: &Client, rx: &Mutex<Receiver<Job>>) {
    loop {
        let job = match rx.lock() {
            Ok(guard) => match guard.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
            Err(_) => return,
        };
        let result = client.send_started(&job.request, job.max_body, job.started);
        (job.reply)(result);
    }
}
