//! Startup and shutdown: binds one listener per worker, starts the forwarders and workers,
//! waits for SIGTERM/SIGINT (or a failed worker), then stops in order: workers stop accepting
//! and answer what they received (bounded by the drain time), the queue is closed, forwarders
//! send what is left, and the process exits.
use crate::args::Config;
use crate::batcher::Queue;
use crate::filter::Filter;
use crate::forwarder::{Forwarder, RetryPolicy};
use crate::health::Health;
use crate::log;
use crate::metrics::{Gauges, Metrics};
use crate::response::Response;
use crate::sys;
use crate::worker::Worker;
use serde_json::json;
use sigv4::sqs::SqsClient;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// State every worker thread shares.
pub struct Shared {
    pub config: Config,
    pub queue: Arc<Queue>,
    pub filter: Filter,
    pub metrics: Arc<Metrics>,
    pub health: Arc<Health>,
    pub stopping: AtomicBool,
}

impl Shared {
    pub fn health_response(&self) -> Response {
        match self.health.problem() {
            None => Response::json(200, &json!({ "status": "healthy" })),
            Some(reason) => {
                Response::json(503, &json!({ "status": "unhealthy", "reason": reason }))
                    .with_header("Retry-After", "1".to_string())
            }
        }
    }

    pub fn metrics_response(&self) -> Response {
        let text = self.metrics.render(&Gauges {
            queue_depth: self.queue.len(),
            queue_capacity: self.queue.capacity(),
            filter_hosts: self.filter.len(),
            filter_evicted: self.filter.evicted(),
            healthy: self.health.problem().is_none(),
            cpu_seconds: sys::process_cpu_seconds(),
        });
        Response::new(200, "text/plain; version=0.0.4", text)
    }
}

/// Consecutive failed SQS calls before /health reports unhealthy.
const UNHEALTHY_AFTER: u32 = 3;

enum Event {
    Signal(&'static str),
    WorkerFailed(usize, String),
}

/// Runs the proxy until a shutdown signal; `Err` describes a startup or runtime failure.
pub fn run(config: Config) -> Result<(), String> {
    sys::block_shutdown_signals().map_err(|e| format!("blocking signals: {e}"))?;
    match sys::raise_nofile_limit() {
        Ok(n) => log::debug(|| format!("open files limit {n}")),
        Err(e) => log::error(&format!("could not raise the open files limit: {e}")),
    }
    let mut sqs = config
        .sqs
        .sqs_config()
        .map_err(|e| format!("sqs configuration: {e}"))?;
    // Fail a dead endpoint fast: a client waiting for its 200 is better served by a quick 503.
    sqs.connect_timeout = Duration::from_secs(2);
    sqs.io_timeout = Duration::from_secs(10);
    // SO_REUSEPORT would let a second proxy silently share a port another one already serves.
    // A plain bind first fails with "address in use" if anything listens there (a bind
    // without SO_REUSEPORT cannot join a reuse-port group), and is released at once.
    std::net::TcpListener::bind(config.addr).map_err(|e| {
        format!(
            "listening on {}: {e} (is another proxy running there?)",
            config.addr
        )
    })?;
    let listeners = (0..config.workers)
        .map(|_| sys::reuseport_listener(config.addr, 1024))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("listening on {}: {e}", config.addr))?;
    log::info(&format!(
        "listening on {} with {} workers; queue {} via {} (region {}); {} forwarders, linger {:?}, queue capacity {}, max body {} B, max connections {}",
        config.addr,
        config.workers,
        config.sqs.queue_url,
        sqs.endpoint_url.as_deref().unwrap_or("the queue URL's host"),
        sqs.region,
        config.forwarders,
        config.linger,
        config.queue_capacity,
        config.max_body,
        config.max_connections,
    ));

    let shared = Arc::new(Shared {
        queue: Arc::new(Queue::new(config.queue_capacity, config.linger)),
        filter: Filter::new(config.filter_capacity),
        metrics: Arc::new(Metrics::default()),
        health: Arc::new(Health::new(UNHEALTHY_AFTER)),
        stopping: AtomicBool::new(false),
        config,
    });
    let mut workers = Vec::new();
    let mut links = Vec::new();
    for (id, listener) in listeners.into_iter().enumerate() {
        let (worker, link) = Worker::new(id, listener, Arc::clone(&shared))
            .map_err(|e| format!("starting worker {id}: {e}"))?;
        workers.push(worker);
        links.push(link);
    }

    let retry = RetryPolicy {
        max_retries: shared.config.max_retries,
        base: Duration::from_millis(50),
        max_delay: Duration::from_millis(500),
    };
    let mut forwarder_threads = Vec::new();
    for i in 0..shared.config.forwarders {
        let forwarder = Forwarder {
            client: SqsClient::new(sqs.clone()),
            queue_url: shared.config.sqs.queue_url.clone(),
            queue: Arc::clone(&shared.queue),
            links: links.clone(),
            metrics: Arc::clone(&shared.metrics),
            health: Arc::clone(&shared.health),
            retry,
        };
        let handle = std::thread::Builder::new()
            .name(format!("forwarder-{i}"))
            .spawn(move || forwarder.run())
            .map_err(|e| format!("starting forwarder {i}: {e}"))?;
        forwarder_threads.push(handle);
    }

    let (events_tx, events) = mpsc::channel();
    let mut worker_threads = Vec::new();
    for (id, worker) in workers.into_iter().enumerate() {
        let tx = events_tx.clone();
        let handle = std::thread::Builder::new()
            .name(format!("worker-{id}"))
            .spawn(move || {
                if let Err(e) = worker.run() {
                    let _ = tx.send(Event::WorkerFailed(id, e.to_string()));
                }
            })
            .map_err(|e| format!("starting worker {id}: {e}"))?;
        worker_threads.push(handle);
    }
    let signal_tx = events_tx;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || match sys::wait_for_signal() {
            Ok(name) => {
                let _ = signal_tx.send(Event::Signal(name));
            }
            Err(e) => log::error(&format!("waiting for signals: {e}")),
        })
        .map_err(|e| format!("starting the signal thread: {e}"))?;

    let failure = match events.recv() {
        Ok(Event::Signal(name)) => {
            log::info(&format!(
                "{name}: stopped accepting; answering in-flight requests (up to {:?})",
                shared.config.drain_timeout
            ));
            None
        }
        Ok(Event::WorkerFailed(id, e)) => Some(format!("worker {id} failed: {e}")),
        Err(_) => Some("all workers ended unexpectedly".to_string()),
    };
    shared.stopping.store(true, Relaxed);
    for link in &links {
        let _ = link.waker.wake();
    }
    for handle in worker_threads {
        let _ = handle.join();
    }
    shared.queue.close();
    for handle in forwarder_threads {
        let _ = handle.join();
    }
    let m = &shared.metrics;
    log::info(&format!(
        "stopped: {} messages forwarded, {} filtered, {} answered 503",
        m.forwarded.load(Relaxed),
        m.filtered.load(Relaxed),
        m.failed_unavailable.load(Relaxed) + m.rejected_queue_full.load(Relaxed),
    ));
    match failure {
        None => Ok(()),
        Some(e) => Err(e),
    }
}
