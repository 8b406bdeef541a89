//! Wires a run together: the shared state, N poller threads, the optional metrics thread, and
//! the control loop on the main thread (signals, idle limit, summaries), then the final report.
use crate::accounting::Accounting;
use crate::args::Config;
use crate::dashboard::Dashboard;
use crate::dead_letter::{self, DeadLetter};
use crate::error::{Error, ErrorKind};
use crate::poller::Poller;
use crate::report;
use crate::shutdown::{Reason, Shutdown};
use crate::sink::Sink;
use crate::sys;
use sigv4::sqs::SqsClient;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How often the control loop looks at signals, the idle limit and the summary clock.
const TICK: Duration = Duration::from_millis(50);

/// State the pollers share. Each lock guards one job; none is held while another is taken.
pub struct Shared {
    pub config: Config,
    sink: Mutex<Sink>,
    dead_letter: Mutex<DeadLetter>,
    accounting: Mutex<Accounting>,
    pub shutdown: Shutdown,
    /// `--dashboard`: shown every delivered batch.
    pub dashboard: Option<Arc<Dashboard>>,
}

/// A poisoned lock means a thread panicked while holding it; the data (counters, a file
/// handle) is still usable, so carry on rather than cascade the panic.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub fn with_accounting<R>(&self, f: impl FnOnce(&mut Accounting) -> R) -> R {
        f(&mut lock(&self.accounting))
    }

    pub fn write_to_sink(&self, lines: &[String]) -> io::Result<()> {
        lock(&self.sink).write_batch(lines)
    }

    pub fn write_dead_letter(&self, entry: &dead_letter::Entry<'_>) -> io::Result<()> {
        lock(&self.dead_letter).write(entry)
    }
}

/// Runs until stopped; Ok on a graceful stop, Err on setup failure or a fatal SQS error.
pub fn run(config: Config) -> Result<(), Error> {
    let setup = |e: String| Error::new(ErrorKind::Setup(e));
    sys::install_stop_handlers()
        .map_err(|e| setup(format!("cannot install signal handlers: {e}")))?;
    let sqs = config
        .sqs
        .sqs_config()
        .map_err(|e| setup(format!("sqs configuration: {e}")))?;
    let sink = Sink::open(&config.sink, config.fsync).map_err(|e| setup(e.to_string()))?;
    let dashboard = match &config.dashboard {
        Some(addr) => {
            let d =
                Dashboard::start(addr, config.dashboard_token_file.as_deref()).map_err(setup)?;
            eprintln!("puller: dashboard at http://{addr}/");
            Some(d)
        }
        None => None,
    };
    let shared = Arc::new(Shared {
        dead_letter: Mutex::new(DeadLetter::new(&config.dead_letter)),
        sink: Mutex::new(sink),
        accounting: Mutex::new(Accounting::default()),
        shutdown: Shutdown::new(),
        dashboard,
        config,
    });
    if let Some(port) = shared.config.metrics_port {
        crate::metrics::start(port, Arc::clone(&shared)).map_err(|e| setup(e.to_string()))?;
    }
    eprintln!(
        "puller: draining {} with {} poller{} (region {}, dead letters to {})",
        shared.config.sqs.queue_url,
        shared.config.concurrency,
        if shared.config.concurrency == 1 {
            ""
        } else {
            "s"
        },
        sqs.region,
        lock(&shared.dead_letter).path().display()
    );
    let started = Instant::now();
    let mut pollers = Vec::with_capacity(shared.config.concurrency);
    for n in 0..shared.config.concurrency {
        let for_thread = Arc::clone(&shared);
        let client = SqsClient::new(sqs.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("poller-{n}"))
            .spawn(move || Poller::new(&for_thread, client).run());
        match spawned {
            Ok(handle) => pollers.push(handle),
            Err(e) => {
                // Stop the ones already running (they finish their batches) and report.
                shared
                    .shutdown
                    .stop(Reason::Fatal(format!("cannot start poller thread: {e}")));
                break;
            }
        }
    }
    control_loop(&shared, &pollers, started);
    for handle in pollers {
        if handle.join().is_err() {
            eprintln!("puller: error: a poller thread panicked; its batch will be redelivered");
        }
    }
    finish(&shared, started.elapsed())
}

/// Watches signals, the idle limit and the summary clock until every poller has stopped.
fn control_loop(shared: &Shared, pollers: &[std::thread::JoinHandle<()>], started: Instant) {
    let config = &shared.config;
    let mut last_summary = (Instant::now(), 0u64);
    let mut announced = false;
    while !pollers.iter().all(|p| p.is_finished()) {
        std::thread::sleep(TICK);
        if let Some(signal) = sys::stop_signal() {
            shared
                .shutdown
                .stop(Reason::Signal(sys::signal_name(signal)));
        }
        if let Some(idle) = config.exit_when_idle {
            if shared
                .shutdown
                .idle_for()
                .is_some_and(|quiet| quiet >= idle)
            {
                shared.shutdown.stop(Reason::Idle(idle));
            }
        }
        if shared.shutdown.is_stopping() && !announced {
            announced = true;
            let why = shared
                .shutdown
                .reason()
                .map(|r| r.to_string())
                .unwrap_or_default();
            eprintln!("puller: stopping ({why}): finishing in-flight batches");
        }
        if let Some(every) = config.summary_interval {
            let (at, count) = last_summary;
            if at.elapsed() >= every {
                let line = shared.with_accounting(|a| {
                    let now = report::rate(a.messages - count, at.elapsed());
                    (report::summary_line(a, now, started.elapsed()), a.messages)
                });
                eprintln!("{}", line.0);
                last_summary = (Instant::now(), line.1);
            }
        }
    }
}

/// Prints the final report, writes --report-json, and turns a fatal stop into an error.
fn finish(shared: &Shared, elapsed: Duration) -> Result<(), Error> {
    let reason = shared.shutdown.reason();
    let why = reason
        .as_ref()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "done".into());
    let busy = shared.shutdown.busy_for();
    let (text, json) = shared.with_accounting(|a| {
        (
            report::final_report(a, elapsed, busy, &why),
            report::report_json(a, elapsed, busy, &why),
        )
    });
    eprint!("{text}");
    if let Some(path) = &shared.config.report_json {
        let mut bytes = serde_json::to_vec_pretty(&json).unwrap_or_default();
        bytes.push(b'\n');
        std::fs::write(path, bytes).map_err(|e| {
            Error::new(ErrorKind::Io(format!(
                "cannot write report {}: {e}",
                path.display()
            )))
        })?;
    }
    match reason {
        Some(Reason::Fatal(e)) => Err(Error::new(ErrorKind::Sqs(e))),
        _ => Ok(()),
    }
}
