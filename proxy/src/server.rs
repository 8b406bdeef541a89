//! Startup and shutdown: binds one listener per worker, starts the forwarder supervisor and
//! the workers, waits for SIGTERM/SIGINT (or a failed worker), then stops in order: workers
//! stop accepting and answer what they received until the drain cutoff (`--drain-timeout`),
//! forwarders send what they can until then, everything SQS has not accepted by the cutoff
//! is answered 503, and the process exits — within the drain time plus about a second
//! whatever SQS does. A second signal exits at once.
use crate::args::Config;
use crate::batcher::Queue;
use crate::cutoff::Cutoff;
use crate::direct::Direct;
use crate::endpoint::Endpoint;
use crate::envelope::Rules;
use crate::fault::Fault;
use crate::filter::Filter;
use crate::forwarder::{Context, RetryPolicy, WorkerLink};
use crate::health::Health;
use crate::ingress::Ingress;
use crate::log;
use crate::metrics::Metrics;
use crate::queue_facts::{self, QueueFacts};
use crate::shared::Shared;
use crate::supervisor::{self, Lanes, Supervisor};
use crate::sys;
use crate::worker::{Worker, FINAL_WRITE};
use http1::Scheme;
use sigv4::sqs::{Protocol, SqsClient, SqsConfig};
use std::net::TcpListener;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Consecutive failed SQS calls before /health reports unhealthy.
const UNHEALTHY_AFTER: u32 = 3;
/// After the drain cutoff, how long shutdown waits for forwarders to finish their call
/// (their clients were answered 503 at the cutoff; the wait only spares a duplicate).
const FORWARDER_GRACE: Duration = Duration::from_millis(500);

enum Event {
    Signal(&'static str),
    WorkerFailed(usize, String),
}

/// Runs the proxy until a shutdown signal; `Err` describes a startup or runtime failure.
pub fn run(mut config: Config, ingress: Ingress) -> Result<(), String> {
    prepare_process()?;
    let sqs = sqs_config(&config)?;
    let listeners = bind(&config)?;
    let fault = Fault::from_env()?;
    let facts = queue_facts::learn(&sqs, &config.sqs.queue_url)?;
    let rules = message_rules(&mut config, &facts, &sqs)?;
    log_startup(&config, &sqs, &rules, fault.as_ref());
    log::info(&format!("serving {}", ingress.describe()));
    let mut queue =
        Queue::new(config.queue_capacity, config.linger).with_batch_bytes(rules.max_message_bytes);
    if rules.fifo.is_some() {
        queue = queue.fifo();
    }
    let shared = Arc::new(Shared {
        queue: Arc::new(queue),
        filter: Filter::new(config.filter_capacity),
        rules,
        metrics: Arc::new(Metrics::default()),
        health: Arc::new(Health::new(UNHEALTHY_AFTER)),
        stopping: AtomicBool::new(false),
        cutoff: Arc::new(Cutoff::default()),
        ingress,
        config,
    });
    let endpoint = direct_endpoint(&sqs, &shared, fault.is_some());
    let (workers, links) = make_workers(listeners, &shared, &sqs, endpoint.as_ref())?;
    let beats = workers.iter().filter_map(Worker::direct_beat).collect();
    let lanes = Lanes { beats, endpoint };
    let forwarders = start_forwarders(&shared, links.clone(), sqs, fault, lanes)?;
    let (events_tx, events) = mpsc::channel();
    let worker_threads = start_workers(workers, &events_tx)?;
    start_signal_thread(events_tx, Arc::clone(&shared))?;
    let failure = wait_for_stop(&events, &shared);
    shut_down(&shared, &links, worker_threads, &forwarders);
    log_totals(&shared);
    failure.map_or(Ok(()), Err)
}

fn prepare_process() -> Result<(), String> {
    sys::block_shutdown_signals().map_err(|e| format!("blocking signals: {e}"))?;
    match sys::raise_nofile_limit() {
        Ok(n) => log::debug(|| format!("open files limit {n}")),
        Err(e) => log::error(&format!("could not raise the open files limit: {e}")),
    }
    Ok(())
}

fn sqs_config(config: &Config) -> Result<SqsConfig, String> {
    let mut sqs = config
        .sqs
        .sqs_config()
        .map_err(|e| format!("sqs configuration: {e}"))?;
    // Fail a dead endpoint fast: a client waiting for its 200 is better served by a quick
    // 503, and an answer after the request budget comes too late for anyone.
    sqs.connect_timeout = Duration::from_secs(2);
    sqs.io_timeout = config.request_budget.min(Duration::from_secs(10));
    Ok(sqs)
}

/// The rules for each message from the flags and what the queue said: FIFO when the flags
/// or the queue say so (a standard queue refuses MessageDeduplicationId, so `--fifo` on one
/// is an error), and a body limit never above the queue's MaximumMessageSize.
fn message_rules(
    config: &mut Config,
    facts: &QueueFacts,
    sqs: &SqsConfig,
) -> Result<Rules, String> {
    match facts.fifo {
        Some(true) if !config.fifo => {
            log::info("the queue is a FIFO queue (FifoQueue=true): FIFO mode on");
            config.fifo = true;
        }
        Some(false) if config.fifo => {
            return Err(format!(
                "FIFO mode (--fifo or a .fifo queue URL) but {} is a standard queue",
                safe_text::inert(&config.sqs.queue_url)
            ))
        }
        _ => {}
    }
    if config.max_body > facts.max_message_bytes {
        config.max_body = facts.max_message_bytes;
    }
    Ok(Rules {
        fifo: config.fifo.then_some(config.group_by),
        attributes: config.attributes.clone(),
        proxy_region: config
            .proxy_region
            .clone()
            .unwrap_or_else(|| sqs.region.clone()),
        max_message_bytes: facts.max_message_bytes,
    })
}

/// One `SO_REUSEPORT` listener per worker.
fn bind(config: &Config) -> Result<Vec<TcpListener>, String> {
    // SO_REUSEPORT would let a second proxy silently share a port another one already serves.
    // A plain bind first fails with "address in use" if anything listens there (a bind
    // without SO_REUSEPORT cannot join a reuse-port group), and is released at once.
    TcpListener::bind(config.addr).map_err(|e| {
        format!(
            "listening on {}: {e} (is another proxy running there?)",
            config.addr
        )
    })?;
    (0..config.workers)
        .map(|_| sys::reuseport_listener(config.addr, 1024))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("listening on {}: {e}", config.addr))
}

fn log_startup(config: &Config, sqs: &SqsConfig, rules: &Rules, fault: Option<&Fault>) {
    let kind = match rules.fifo {
        Some(by) => format!("FIFO, message group per {}", by.name()),
        None => "standard".to_string(),
    };
    let attributes: Vec<&str> = rules.attributes.iter().map(|a| a.name()).collect();
    log::info(&format!(
        "queue kind {kind}; message limit {} B (body plus attributes); attributes [{}]; proxy region {}",
        rules.max_message_bytes,
        attributes.join(","),
        safe_text::inert(&rules.proxy_region),
    ));
    log::info(&format!(
        "listening on {} with {} workers; queue {} via {} (region {}); {} forwarders, linger {:?}, queue capacity {}, max body {} B, max connections {}, request budget {:?}",
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
        config.request_budget,
    ));
    if let Some(f) = fault {
        log::error(&format!(
            "debug build with fault injection armed: forwarders panic {}",
            f.describe()
        ));
    }
}

/// Where workers send SQS calls themselves (`crate::direct`), when they may: a standard
/// queue with the JSON protocol, and no fault injection (whose tests are about the
/// forwarders). Otherwise every message goes through the forwarders.
fn direct_endpoint(sqs: &SqsConfig, shared: &Shared, fault: bool) -> Option<Arc<Endpoint>> {
    let client = SqsClient::new(sqs.clone());
    let origin = match client.json_origin(&shared.config.sqs.queue_url) {
        Ok(origin) => origin,
        Err(e) => {
            log::info(&format!("all batches go through the forwarders: {e}"));
            return None;
        }
    };
    let why_not = if shared.config.worker_connections == 0 {
        Some("--worker-connections 0".to_string())
    } else if fault {
        Some("fault injection is armed".to_string())
    } else if shared.rules.fifo.is_some() {
        Some("the queue is FIFO (the forwarders keep each group in order)".to_string())
    } else if sqs.protocol != Protocol::Json {
        Some("the query protocol is configured".to_string())
    } else {
        None
    };
    let tls = match origin.scheme {
        Scheme::Http => Ok(None),
        Scheme::Https => sqs.tls_connector().map(Some),
    };
    let tls = match (why_not, tls) {
        (Some(why), _) | (None, Err(why)) => {
            log::info(&format!("all batches go through the forwarders: {why}"));
            return None;
        }
        (None, Ok(tls)) => tls,
    };
    let (endpoint, found) = Endpoint::resolve(&origin.host, origin.port, tls);
    match found {
        Ok(()) => log::info("workers send batches to sqs themselves; forwarders take the rest"),
        Err(why) => log::info(&format!(
            "workers send batches to sqs themselves once {why:?} succeeds (tried again every \
             few seconds); until then the forwarders take every batch"
        )),
    }
    Some(Arc::new(endpoint))
}

fn make_workers(
    listeners: Vec<TcpListener>,
    shared: &Arc<Shared>,
    sqs: &SqsConfig,
    endpoint: Option<&Arc<Endpoint>>,
) -> Result<(Vec<Worker>, Vec<WorkerLink>), String> {
    let mut workers = Vec::new();
    let mut links = Vec::new();
    for (id, listener) in listeners.into_iter().enumerate() {
        let direct =
            endpoint.map(|ep| Direct::new(SqsClient::new(sqs.clone()), Arc::clone(ep), shared));
        let (worker, link) = Worker::new(id, listener, Arc::clone(shared), direct)
            .map_err(|e| format!("starting worker {id}: {e}"))?;
        workers.push(worker);
        links.push(link);
    }
    Ok((workers, links))
}

fn start_forwarders(
    shared: &Shared,
    links: Vec<WorkerLink>,
    sqs: SqsConfig,
    fault: Option<Fault>,
    lanes: Lanes,
) -> Result<supervisor::Handle, String> {
    let c = &shared.config;
    let ctx = Context {
        queue_url: c.sqs.queue_url.clone(),
        queue: Arc::clone(&shared.queue),
        links,
        metrics: Arc::clone(&shared.metrics),
        health: Arc::clone(&shared.health),
        retry: RetryPolicy {
            max_retries: c.max_retries,
            base: Duration::from_millis(50),
            max_delay: Duration::from_millis(500),
        },
        cutoff: Arc::clone(&shared.cutoff),
        fault,
    };
    Supervisor::start(c.forwarders, sqs, Arc::new(ctx), c.request_budget, lanes)
}

fn start_workers(
    workers: Vec<Worker>,
    events: &Sender<Event>,
) -> Result<Vec<JoinHandle<()>>, String> {
    let mut threads = Vec::new();
    for (id, worker) in workers.into_iter().enumerate() {
        let tx = events.clone();
        let handle = std::thread::Builder::new()
            .name(format!("worker-{id}"))
            .spawn(move || {
                let failure = match catch_unwind(AssertUnwindSafe(|| worker.run())) {
                    Ok(Ok(())) => return,
                    Ok(Err(e)) => e.to_string(),
                    Err(_) => "panicked".to_string(),
                };
                let _ = tx.send(Event::WorkerFailed(id, failure));
            })
            .map_err(|e| format!("starting worker {id}: {e}"))?;
        threads.push(handle);
    }
    Ok(threads)
}

/// Receives SIGTERM/SIGINT: the first starts the shutdown, a second (or one arriving while
/// shutting down for another reason) ends the process at once.
fn start_signal_thread(events: Sender<Event>, shared: Arc<Shared>) -> Result<(), String> {
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || loop {
            let name = match sys::wait_for_signal() {
                Ok(sys::Signal::Reload) => {
                    reload(&shared);
                    continue;
                }
                Ok(sys::Signal::Stop(name)) => name,
                Err(e) => {
                    log::error(&format!("waiting for signals: {e}"));
                    return;
                }
            };
            if shared.stopping.load(Relaxed) {
                log::error(&format!(
                    "{name} while shutting down: exiting at once; requests still waiting get no answer"
                ));
                std::process::exit(1);
            }
            let _ = events.send(Event::Signal(name));
            // A second signal must find the flag set even before the main thread sets it.
            shared.stopping.store(true, Relaxed);
        })
        .map(|_| ())
        .map_err(|e| format!("starting the signal thread: {e}"))
}

/// SIGHUP: the token and certificate files are read again; a bad file keeps the old value.
fn reload(shared: &Shared) {
    let report = shared.ingress.reload();
    if report.is_empty() {
        log::info("SIGHUP: nothing to reload (no --auth-token-file, no --tls-cert)");
    }
    for line in report {
        match line {
            Ok(done) => log::info(&format!("SIGHUP: {done}")),
            Err(e) => log::error(&format!("SIGHUP: {e}")),
        }
    }
}

/// Blocks until a signal or a failed worker; returns the failure, if that was it.
fn wait_for_stop(events: &Receiver<Event>, shared: &Shared) -> Option<String> {
    match events.recv() {
        Ok(Event::Signal(name)) => {
            log::info(&format!(
                "{name}: stopped accepting; answering in-flight requests (up to {:?})",
                shared.config.drain_timeout
            ));
            None
        }
        Ok(Event::WorkerFailed(id, e)) => Some(format!("worker {id} failed: {e}")),
        Err(_) => Some("all workers ended unexpectedly".to_string()),
    }
}

/// Sets the drain cutoff, lets workers answer (503 for what SQS has not accepted by the
/// cutoff) and gives forwarders a short grace after it; never waits on SQS beyond that.
fn shut_down(
    shared: &Shared,
    links: &[WorkerLink],
    worker_threads: Vec<JoinHandle<()>>,
    forwarders: &supervisor::Handle,
) {
    let cutoff = Instant::now() + shared.config.drain_timeout;
    shared.cutoff.set(cutoff);
    shared.stopping.store(true, Relaxed);
    // No new messages; forwarders send what is queued without lingering, then end.
    shared.queue.close();
    for link in links {
        let _ = link.waker.wake();
    }
    for handle in worker_threads {
        let _ = handle.join();
    }
    // Workers are done by cutoff + FINAL_WRITE at the latest.
    if !forwarders.wait(cutoff + FINAL_WRITE + FORWARDER_GRACE) {
        log::info(
            "forwarders still inside sqs calls at exit; their messages were answered 503 \
             (the senders keep them)",
        );
    }
}

fn log_totals(shared: &Shared) {
    let m = &shared.metrics;
    log::info(&format!(
        "stopped: {} messages forwarded, {} filtered, {} answered 503",
        m.forwarded.load(Relaxed),
        m.filtered.load(Relaxed),
        m.failed_unavailable.load(Relaxed)
            + m.rejected_queue_full.load(Relaxed)
            + m.expired.load(Relaxed)
            + m.cut_off.load(Relaxed),
    ));
}
