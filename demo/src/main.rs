//! `demo`: the whole edge-sensors system on one machine, playing the seed's scenario.
//! See [`args::USAGE`] for what it does; `scripts/demo` builds everything and runs it.
mod args;
mod children;
mod deployment;
mod monitor;
mod nodes;
mod probe;
mod received;
mod scenario;
mod stack;
mod summary;
mod sys;
mod view;

use args::{Config, ProcessEnv};
use children::Service;
use monitor::Monitor;
use scenario::{Outcome, Player};
use stack::{LocalStack, Paths};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

fn main() -> ExitCode {
    let low = match args::parse_low(flags::Parser::from_env()) {
        Ok(low) => low,
        Err(e) => return flags::usage_error("demo", &e),
    };
    if low.help {
        return flags::print_help(args::USAGE);
    }
    let config = match Config::from_low(low, &ProcessEnv, sys::stdout_is_tty()) {
        Ok(c) => c,
        Err(e) => return flags::usage_error("demo", &e),
    };
    match run(&config) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("demo: error: {e}");
            ExitCode::from(flags::EXIT_FAILURE)
        }
    }
}

/// `YYYYMMDDTHHMMSSZ` for now (UTC): names the run directory and the queue.
fn run_stamp() -> String {
    sigv4::date_time::AmzDateTime::from_system_time(SystemTime::now()).timestamp()
}

/// The workspace root and binary directory: from `--root`, else from where this executable
/// lives (target/<profile>/demo), else the current directory.
fn locate(config: &Config) -> Result<Paths, String> {
    let exe = std::env::current_exe().map_err(|e| format!("locating this executable: {e}"))?;
    let bin_dir = exe.parent().map(PathBuf::from).unwrap_or_default();
    let from_exe = bin_dir.parent().and_then(|t| t.parent()).map(PathBuf::from);
    let cwd = std::env::current_dir().map_err(|e| format!("current directory: {e}"))?;
    let root = match &config.root {
        Some(root) => root.clone(),
        None => from_exe.filter(|r| r.join("jobs").is_dir()).unwrap_or(cwd),
    };
    let run_dir = match &config.run_dir {
        Some(dir) => dir.clone(),
        None => root.join("target").join("demo-runs").join(run_stamp()),
    };
    Ok(Paths {
        root,
        bin_dir,
        run_dir,
    })
}

/// LocalStack accepts any credentials; give the children some when the user has none set.
fn default_local_credentials() {
    for (name, value) in [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
    ] {
        if std::env::var_os(name).is_none() {
            // Single-threaded at this point: no other thread reads the environment.
            std::env::set_var(name, value);
        }
    }
}

/// Everything the demo starts before the scenario: SQS, the run's queue, the three proxies
/// and the puller with its sink file.
struct Stack {
    localstack: LocalStack,
    queue_url: String,
    proxies: Vec<Service>,
    puller: Service,
    sink: PathBuf,
}

fn run(config: &Config) -> Result<ExitCode, String> {
    let paths = prepare(config)?;
    let mut stack = start_stack(config, &paths)?;
    let mut monitor = Monitor::new(&stack.sink, config.interactive);
    let started = Instant::now();
    let mut player = Player {
        config,
        paths: &paths,
        monitor: &mut monitor,
        started,
    };
    let outcome = play_and_drain(&mut player)?;
    stop_sensors_and_wait_for_arrivals(&mut player, outcome);
    let still_queued = stop_stack(config, &mut stack, &mut monitor);
    // Ctrl-C during the final waits still counts as an interruption.
    let outcome = if sys::stop_requested() {
        Outcome::Interrupted
    } else {
        outcome
    };
    report(
        config,
        &paths,
        &monitor,
        started,
        outcome,
        still_queued,
        &stack.queue_url,
    )
}

/// Signal handlers, the run directory and credentials for the children.
fn prepare(config: &Config) -> Result<Paths, String> {
    sys::install_stop_handler().map_err(|e| format!("installing signal handlers: {e}"))?;
    let paths = locate(config)?;
    paths.check()?;
    std::fs::create_dir_all(&paths.run_dir)
        .map_err(|e| format!("creating {}: {e}", paths.run_dir.display()))?;
    default_local_credentials();
    println!("demo: run directory {}", paths.run_dir.display());
    Ok(paths)
}

fn start_stack(config: &Config, paths: &Paths) -> Result<Stack, String> {
    let localstack = LocalStack::ensure(&paths.root, &config.endpoint_url)?;
    let queue_name = format!("edge-sensors-demo-{}", run_stamp());
    let queue_url = stack::create_queue(&config.endpoint_url, &queue_name)?;
    println!("demo: queue {queue_url}");
    let proxies = stack::start_proxies(paths, &queue_url, &config.endpoint_url, config.workers)?;
    let dashboard = config.dashboard.as_deref();
    let (puller, sink) = stack::start_puller(paths, &queue_url, &config.endpoint_url, dashboard)?;
    println!("demo: proxies on 9091/9092/9093 and the puller are up");
    if let Some(addr) = dashboard {
        println!("demo: live fleet dashboard at http://{addr}/");
    }
    Ok(Stack {
        localstack,
        queue_url,
        proxies,
        puller,
        sink,
    })
}

/// Plays the scenario; when it ran to the end, lets the sensors' outboxes drain.
fn play_and_drain(player: &mut Player<'_>) -> Result<Outcome, String> {
    let outcome = player.play()?;
    if outcome == Outcome::Completed {
        player
            .monitor
            .note_step("letting the outboxes drain", player.started.elapsed());
        // A few messages are always in flight; a backlog still flushing shows as many more.
        // Up to one in twenty nodes with a message in flight counts as drained.
        player.wait_until(
            player.config.drain,
            player.config.drain * 3,
            |m| m.unacked() <= m.node_count() / 20 + 2,
            Monitor::acked_total,
        );
    }
    Ok(outcome)
}

/// Stops the sensors; after a completed scenario, waits until every acknowledged message has
/// come out of the puller (or stopped making progress).
fn stop_sensors_and_wait_for_arrivals(player: &mut Player<'_>, outcome: Outcome) {
    let elapsed = player.started.elapsed();
    player.monitor.note_step("stopping the sensors", elapsed);
    player.monitor.stop_runners(Duration::from_secs(10));
    if outcome == Outcome::Completed {
        player.monitor.note_step(
            "waiting for acknowledged messages to arrive",
            player.started.elapsed(),
        );
        player.wait_until(
            player.config.drain,
            player.config.drain * 15,
            |m| m.gaps() == 0,
            Monitor::received_total,
        );
    }
}

/// Stops the puller and proxies, reads the last of their output, and returns how many
/// messages are still in the queue (before LocalStack goes, if the demo started it).
fn stop_stack(config: &Config, stack: &mut Stack, monitor: &mut Monitor) -> Option<u64> {
    stack.puller.stop(Duration::from_secs(30));
    for proxy in &mut stack.proxies {
        proxy.stop(Duration::from_secs(10));
    }
    monitor.final_read();
    let still_queued = stack::queue_depth(&config.endpoint_url, &stack.queue_url);
    stack.localstack.stop();
    still_queued
}

/// Prints the summary (and writes its JSON) and turns the outcome into the exit code.
fn report(
    config: &Config,
    paths: &Paths,
    monitor: &Monitor,
    started: Instant,
    outcome: Outcome,
    still_queued: Option<u64>,
    queue_url: &str,
) -> Result<ExitCode, String> {
    let rows = view::visible(&monitor.rows());
    println!();
    println!(
        "summary ({}s, logs and data in {}):",
        started.elapsed().as_secs(),
        paths.run_dir.display()
    );
    print!("{}", summary::table(&rows, config.interactive));
    let gaps: u64 = rows.iter().map(|r| r.gaps).sum();
    if monitor.unparsable_lines() > 0 {
        println!(
            "note: {} received messages were not sensor messages",
            monitor.unparsable_lines()
        );
    }
    if let Some(path) = &config.summary_json {
        let json = summary::to_json(&rows).to_string();
        std::fs::write(path, json).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(match outcome {
        Outcome::Interrupted => {
            println!("interrupted: everything the demo started has been stopped");
            ExitCode::from(130)
        }
        Outcome::Completed if gaps == 0 => {
            println!("every acknowledged message arrived (0 gaps)");
            ExitCode::SUCCESS
        }
        Outcome::Completed => {
            println!("{gaps} acknowledged messages did not arrive before the drain gave up");
            if let Some(queued) = still_queued.filter(|q| *q > 0) {
                println!(
                    "{queued} messages are still in the queue {queue_url}: delayed, not lost \
                     (raise --drain-seconds, or lower the load with --interval)"
                );
            }
            ExitCode::from(flags::EXIT_FAILURE)
        }
    })
}
