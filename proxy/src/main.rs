//! `proxy`: the regional ingest proxy. Edge nodes POST sensor messages; each one is forwarded
//! verbatim to SQS through batched `SendMessageBatch` calls and answered 200 only once SQS
//! accepted it. See `server` for the thread layout, `worker` for the event loop, `http` for
//! the connection state machine and `forwarder`/`batcher` for group commit.
// All FFI lives in `sys`; everywhere else unsafe code is an error.
#![deny(unsafe_code)]
mod args;
mod batcher;
mod connection;
mod cutoff;
mod envelope;
mod fault;
mod filter;
mod forwarder;
mod health;
mod http;
mod log;
mod metrics;
mod queue_facts;
mod response;
mod routes;
mod server;
mod shared;
mod supervisor;
#[allow(unsafe_code)]
mod sys;
mod worker;

use std::process::ExitCode;

fn main() -> ExitCode {
    let config = match args::parse() {
        Ok(args::Command::Help) => {
            print!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(args::Command::Run(config)) => config,
        Err(e) => return flags::usage_error("proxy", &e),
    };
    log::set_verbose(config.verbose);
    match server::run(*config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error(&e);
            ExitCode::FAILURE
        }
    }
}
