//! `sqs-standin`: see the crate documentation and `sqs-standin --help`.
#![forbid(unsafe_code)]

use sqs_standin::{args, queue::Queue, server};
use std::io::Write;
use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    let config = match args::parse(flags::Parser::from_env()) {
        Ok(Some(config)) => config,
        Ok(None) => return flags::print_help(args::USAGE),
        Err(e) => return flags::usage_error("sqs-standin", &e),
    };
    let listener = match TcpListener::bind((config.bind.as_str(), config.port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "sqs-standin: error: cannot listen on {}:{}: {e}",
                config.bind, config.port
            );
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(addr) => {
            // A closed stdout is no reason not to serve.
            let mut stdout = std::io::stdout();
            let _ = writeln!(stdout, "listening {addr}");
            let _ = stdout.flush();
        }
        Err(e) => eprintln!("sqs-standin: warning: {e}"),
    }
    let queue = Queue::new(config.prefill, config.instances, config.max_wait);
    server::serve(listener, Arc::new(queue), config.max_connections);
    ExitCode::SUCCESS
}
