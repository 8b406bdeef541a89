//! `proxy`: the regional ingest proxy. Edge nodes POST sensor messages; each one is forwarded
//! verbatim to SQS through batched `SendMessageBatch` calls and answered 200 only once SQS
//! accepted it. See `server` for the thread layout, `worker` for the event loop, `http` for
//! the connection state machine and `forwarder`/`batcher` for group commit.
// All FFI lives in `sys`; everywhere else unsafe code is an error.
#![deny(unsafe_code)]
mod args;
mod auth;
mod batcher;
mod connection;
mod cutoff;
mod direct;
mod endpoint;
mod envelope;
mod fault;
mod filter;
mod forwarder;
mod health;
mod http;
mod ingress;
mod lane;
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
mod tls;
mod wire;
mod worker;

use std::process::ExitCode;

fn main() -> ExitCode {
    let config = match args::parse() {
        Ok(args::Command::Help) => {
            return flags::print_help(args::USAGE);
        }
        Ok(args::Command::Run(config)) => config,
        Err(e) => return flags::usage_error("proxy", &e),
    };
    // The token and certificate files are part of the command line: a problem with one is a
    // usage error (exit 2), found before anything starts.
    let ingress = match ingress::Ingress::load(config.ingress.clone()) {
        Ok(ingress) => ingress,
        Err(e) => return flags::usage_error("proxy", &flags::Error::new(e)),
    };
    log::set_verbose(config.verbose);
    match server::run(*config, ingress) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error(&e);
            ExitCode::FAILURE
        }
    }
}
