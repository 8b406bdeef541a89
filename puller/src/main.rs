//! `puller`: drains an SQS queue into stdout or a JSON-lines file, at least once, with loss
//! accounting per publisher instance. See `args::USAGE` and the modules:
//!
//! - [`args`]: flags and environment → [`args::Config`]
//! - [`run`]: threads and the control loop; [`poller`]: one receive → deliver → delete loop
//! - [`sink`], [`format`], [`dead_letter`]: where messages go and how they look
//! - [`sensor`], [`accounting`], [`sequences`], [`latency`]: what the messages say about loss
//! - [`report`], [`metrics`]: the summary line, final report, `--report-json`, Prometheus text
//! - [`dashboard`]: `--dashboard`, the live web view of the fleet
//! - [`supervisor`]: restarts dead pollers, gives up when none can poll
//! - [`shutdown`], [`sys`]: the stop switch and the only libc calls
mod accounting;
mod args;
mod dashboard;
mod dead_letter;
mod error;
mod fifo_groups;
mod format;
mod heartbeat;
mod latency;
mod metrics;
mod poller;
mod queue_info;
mod report;
mod run;
mod sensor;
mod sequences;
mod shutdown;
mod sink;
mod supervisor;
mod sys;
mod time;
mod webhook;

use std::process::ExitCode;

fn main() -> ExitCode {
    let config = match args::parse() {
        Ok(args::Command::Help) => {
            return flags::print_help(args::USAGE);
        }
        Ok(args::Command::Run(config)) => *config,
        Err(e) => return flags::usage_error("puller", &e),
    };
    match run::run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The error may quote an SQS answer: text another party chose.
            eprintln!("puller: error: {}", safe_text::inert(&e.to_string()));
            if let error::ErrorKind::Sqs(_) = e.kind() {
                eprintln!(
                    "puller: hint: check --queue-url, --endpoint-url, --region and the credentials"
                );
            }
            ExitCode::from(flags::EXIT_FAILURE)
        }
    }
}
