//! `demo`: the whole edge-sensors system on one machine, playing the seed's scenario.
//! See [`args::USAGE`] for what it does; `scripts/demo` builds everything and runs it.
mod args;
mod children;
mod monitor;
mod nodes;
mod probe;
mod received;
mod scenario;
mod stack;
mod summary;
mod sys;
mod timefmt;
mod view;

use args::{Config, ProcessEnv};
use monitor::Monitor;
use scenario::{Outcome, Player};
use stack::{LocalStack, Paths};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    let low = match args::parse_low(flags::Parser::from_env()) {
        Ok(low) => low,
        Err(e) => return flags::usage_error("demo", &e),
    };
    if low.help {
        print!("{}", args::USAGE);
        return ExitCode::SUCCESS;
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
        None => root
            .join("target")
            .join("demo-runs")
            .join(timefmt::compact_utc(timefmt::now_ms())),
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

fn run(config: &Config) -> Result<ExitCode, String> {
    sys::install_stop_handler().map_err(|e| format!("installing signal handlers: {e}"))?;
    let paths = locate(config)?;
    paths.check()?;
    std::fs::create_dir_all(&paths.run_dir)
        .map_err(|e| format!("creating {}: {e}", paths.run_dir.display()))?;
    default_local_credentials();
    println!("demo: run directory {}", paths.run_dir.display());

    let mut localstack = LocalStack::ensure(&paths.root, &config.endpoint_url)?;
    let queue_name = format!(
        "edge-sensors-demo-{}",
        timefmt::compact_utc(timefmt::now_ms())
    );
    let queue_url = stack::create_queue(&config.endpoint_url, &queue_name)?;
    println!("demo: queue {queue_url}");
    let mut proxies =
        stack::start_proxies(&paths, &queue_url, &config.endpoint_url, config.workers)?;
    let (mut puller, sink) = stack::start_puller(&paths, &queue_url, &config.endpoint_url)?;
    println!("demo: proxies on 9091/9092/9093 and the puller are up");

    let mut monitor = Monitor::new(&sink, config.interactive);
    let started = Instant::now();
    let outcome = {
        let mut player = Player {
            config,
            paths: &paths,
            monitor: &mut monitor,
            started,
        };
        let outcome = player.play()?;
        if outcome == Outcome::Completed {
            player
                .monitor
                .note_step("letting the outboxes drain", started.elapsed());
            // A few messages are always in flight; a backlog still flushing shows as many more.
            // Up to one in twenty nodes with a message in flight counts as drained.
            player.wait_until(
                config.drain,
                config.drain * 3,
                |m| m.unacked() <= m.node_count() / 20 + 2,
                Monitor::acked_total,
            );
        }
        outcome
    };
    monitor.note_step("stopping the sensors", started.elapsed());
    monitor.stop_runners(Duration::from_secs(10));
    if outcome == Outcome::Completed {
        monitor.note_step(
            "waiting for acknowledged messages to arrive",
            started.elapsed(),
        );
        let mut player = Player {
            config,
            paths: &paths,
            monitor: &mut monitor,
            started,
        };
        player.wait_until(
            config.drain,
            config.drain * 15,
            |m| m.gaps() == 0,
            Monitor::received_total,
        );
    }
    puller.stop(Duration::from_secs(30));
    for proxy in &mut proxies {
        proxy.stop(Duration::from_secs(10));
    }
    monitor.final_read();
    let still_queued = stack::queue_depth(&config.endpoint_url, &queue_url);
    localstack.stop();

    // Ctrl-C during the final waits still counts as an interruption.
    let outcome = if sys::stop_requested() {
        Outcome::Interrupted
    } else {
        outcome
    };
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
    match outcome {
        Outcome::Interrupted => {
            println!("interrupted: everything the demo started has been stopped");
            Ok(ExitCode::from(130))
        }
        Outcome::Completed if gaps == 0 => {
            println!("every acknowledged message arrived (0 gaps)");
            Ok(ExitCode::SUCCESS)
        }
        Outcome::Completed => {
            println!("{gaps} acknowledged messages did not arrive before the drain gave up");
            if let Some(queued) = still_queued.filter(|q| *q > 0) {
                println!(
                    "{queued} messages are still in the queue {queue_url}: delayed, not lost \
                     (raise --drain-seconds, or lower the load with --interval)"
                );
            }
            Ok(ExitCode::from(flags::EXIT_FAILURE))
        }
    }
}
