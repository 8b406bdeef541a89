//! Wires a run together: the shared state, N poller threads, the optional metrics thread, and
//! the control loop on the main thread (signals, idle limit, summaries), then the final report.
use crate::accounting::Accounting;
use crate::args::Config;
use crate::dashboard::Dashboard;
use crate::dead_letter::{self, DeadLetter};
use crate::error::{Error, ErrorKind};
use crate::fifo_groups::GroupLocks;
use crate::poller::Poller;
use crate::queue_info::QueueInfo;
use crate::report;
use crate::shutdown::{Reason, Shutdown};
use crate::sink::Sink;
use crate::supervisor::Supervisor;
use crate::sys;
use sigv4::sqs::{SqsClient, SqsConfig};
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How often the control loop looks at signals, the idle limit, the pollers and the summary
/// clock.
const TICK: Duration = Duration::from_millis(50);
/// How long a stop waits for batches already received to be delivered and deleted. Well
/// inside the 10 s a container runtime grants between SIGTERM and SIGKILL, so the final report
/// is always written; a batch not finished by then comes back after its visibility timeout.
const STOP_GRACE: Duration = Duration::from_secs(6);

/// State the pollers share. Each lock guards one job; none is held while another is taken.
pub struct Shared {
    pub config: Config,
    sink: Mutex<Sink>,
    dead_letter: Mutex<DeadLetter>,
    accounting: Mutex<Accounting>,
    pub shutdown: Shutdown,
    /// `--dashboard`: shown every delivered batch.
    pub dashboard: Option<Arc<Dashboard>>,
    /// The queue's own settings (read at start): visibility timeout, RedrivePolicy, FIFO.
    pub queue: QueueInfo,
    /// FIFO: the message groups being delivered, one batch at a time per group.
    pub groups: GroupLocks,
}

/// A poisoned lock means a thread panicked while holding it; the data (counters, a file
/// handle) is still usable, so carry on rather than cascade the panic.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub fn new(config: Config, sink: Sink, dashboard: Option<Arc<Dashboard>>) -> Shared {
        Shared {
            dead_letter: Mutex::new(DeadLetter::new(&config.dead_letter)),
            sink: Mutex::new(sink),
            accounting: Mutex::new(Accounting::new(config.max_instances)),
            shutdown: Shutdown::new(),
            dashboard,
            queue: QueueInfo::assumed(config.visibility_timeout, config.fifo),
            groups: GroupLocks::default(),
            config,
        }
    }

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
    let sink = Sink::open_with(&config.sink, config.fsync, config.webhook.as_ref())
        .map_err(|e| setup(e.to_string()))?;
    let dashboard = match &config.dashboard {
        Some(addr) => {
            let d =
                Dashboard::start(addr, config.dashboard_token_file.as_deref()).map_err(setup)?;
            eprintln!("puller: dashboard at http://{addr}/");
            Some(d)
        }
        None => None,
    };
    let queue = queue_info(&config, &sqs);
    let mut shared = Shared::new(config, sink, dashboard);
    shared.queue = queue;
    let shared = Arc::new(shared);
    if let Some(port) = shared.config.metrics_port {
        crate::metrics::start(port, Arc::clone(&shared)).map_err(|e| setup(e.to_string()))?;
    }
    announce(&shared, &sqs.region);
    let started = Instant::now();
    let mut supervisor = Supervisor::start(shared.config.concurrency, &shared.shutdown, |n| {
        let for_thread = Arc::clone(&shared);
        let client = SqsClient::new(sqs.clone());
        std::thread::Builder::new()
            .name(format!("poller-{n}"))
            .spawn(move || Poller::new(&for_thread, client).run())
    });
    control_loop(&shared, &mut supervisor, started);
    // Pollers still in a long poll are not waited for: they hold no message (one that
    // arrives now is handed back by its poller, or returns after its visibility timeout),
    // and the process exit ends them.
    finish(&shared, started.elapsed())
}

/// The queue's attributes, or (with a warning) what is assumed when they cannot be read.
fn queue_info(config: &Config, sqs: &SqsConfig) -> QueueInfo {
    match QueueInfo::fetch(
        &mut SqsClient::new(sqs.clone()),
        &config.sqs.queue_url,
        config.visibility_timeout,
        config.fifo,
    ) {
        Ok(info) => info,
        Err((assumed, why)) => {
            eprintln!(
                "puller: warning: cannot read the queue's attributes ({}); assuming a \
                 {} s visibility timeout and no RedrivePolicy",
                safe_text::inert(&why),
                assumed.visibility_timeout
            );
            assumed
        }
    }
}

/// `puller: draining URL with N pollers (region …, visibility … s, dead letters to …)`.
fn announce(shared: &Shared, region: &str) {
    let dead_letters = match &shared.queue.redrive {
        Some(r) => format!(
            "the queue's RedrivePolicy after {} receives: {}",
            r.max_receive_count, r.dead_letter_target
        ),
        None => lock(&shared.dead_letter).path().display().to_string(),
    };
    eprintln!(
        "puller: draining {}{} with {} poller{} (region {}, visibility {} s, dead letters to {})",
        safe_text::inert(&shared.config.sqs.queue_url),
        if shared.queue.fifo { " (FIFO)" } else { "" },
        shared.config.concurrency,
        if shared.config.concurrency == 1 {
            ""
        } else {
            "s"
        },
        safe_text::inert(region),
        shared.queue.visibility_timeout,
        safe_text::inert(&dead_letters)
    );
}

/// Watches signals, the idle limit, the pollers and the summary clock; returns once stopping
/// and no batch is in flight (or [`STOP_GRACE`] passed).
fn control_loop(shared: &Shared, supervisor: &mut Supervisor<'_>, started: Instant) {
    let config = &shared.config;
    let mut last_summary = (Instant::now(), 0u64);
    let mut stopping_since: Option<Instant> = None;
    loop {
        std::thread::sleep(TICK);
        check_stop_conditions(shared);
        if !shared.shutdown.is_stopping() {
            supervisor.check(&shared.shutdown);
            let restarts = supervisor.restarts;
            shared.with_accounting(|a| a.poller_restarts = restarts);
        }
        if shared.shutdown.is_stopping() {
            let since = *stopping_since.get_or_insert_with(|| {
                announce_stop(shared);
                Instant::now()
            });
            let drained = shared.shutdown.batches_in_flight() == 0 || supervisor.all_finished();
            if drained {
                return;
            }
            if since.elapsed() >= STOP_GRACE {
                eprintln!(
                    "puller: warning: batches still in flight after {STOP_GRACE:?}; \
                     their messages come back after their visibility timeout"
                );
                return;
            }
        }
        if let Some(every) = config.summary_interval {
            let (at, count) = last_summary;
            if at.elapsed() >= every {
                let line = shared.with_accounting(|a| {
                    let now = report::rate(a.messages - count, at.elapsed());
                    (report::summary_line(a, now, started.elapsed()), a.messages)
                });
                eprintln!("{}", safe_text::inert(&line.0));
                last_summary = (Instant::now(), line.1);
            }
        }
    }
}

/// Throws the stop switch on a signal or when the queue stayed idle long enough.
fn check_stop_conditions(shared: &Shared) {
    if let Some(signal) = sys::stop_signal() {
        shared
            .shutdown
            .stop(Reason::Signal(sys::signal_name(signal)));
    }
    if let Some(idle) = shared.config.exit_when_idle {
        if shared
            .shutdown
            .idle_for()
            .is_some_and(|quiet| quiet >= idle)
        {
            shared.shutdown.stop(Reason::Idle(idle));
        }
    }
}

fn announce_stop(shared: &Shared) {
    let why = shared
        .shutdown
        .reason()
        .map(|r| r.to_string())
        .unwrap_or_default();
    eprintln!(
        "puller: stopping ({}): finishing batches in flight",
        safe_text::inert(&why)
    );
}

/// Prints the final report, writes --report-json, and turns a fatal stop into an error.
fn finish(shared: &Shared, elapsed: Duration) -> Result<(), Error> {
    let reason = shared.shutdown.reason();
    let why = reason
        .as_ref()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "done".into());
    let busy = shared.shutdown.busy_for();
    let text = shared.with_accounting(|a| report::final_report(a, elapsed, busy, &why));
    eprint!("{text}");
    if let Some(path) = &shared.config.report_json {
        let written = std::fs::File::create(path).and_then(|file| {
            let mut out = io::BufWriter::new(file);
            shared
                .with_accounting(|a| report::write_report_json(&mut out, a, elapsed, busy, &why))?;
            io::Write::flush(&mut out)
        });
        written.map_err(|e| {
            Error::new(ErrorKind::Io(format!(
                "cannot write report {}: {e}",
                path.display()
            )))
        })?;
    }
    match reason {
        Some(Reason::Fatal(e)) => Err(Error::new(ErrorKind::Sqs(e))),
        Some(reason @ Reason::CannotPoll(_)) => {
            Err(Error::new(ErrorKind::Pollers(reason.to_string())))
        }
        _ => Ok(()),
    }
}
