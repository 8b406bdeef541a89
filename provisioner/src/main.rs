//! `provisioner` entry point: parse, run, map errors to exit codes (2 usage, 1 failure).
#![forbid(unsafe_code)]
use provisioner::args::{parse_low, HiArgs, USAGE};
use std::process::ExitCode;

fn main() -> ExitCode {
    let low = match parse_low(flags::Parser::from_env()) {
        Ok(low) => low,
        Err(e) => return flags::usage_error("provisioner", &e),
    };
    if low.help {
        return flags::print_help(USAGE);
    }
    let args = match HiArgs::from_low(low, &|name| std::env::var(name).ok()) {
        Ok(args) => args,
        Err(e) => return flags::usage_error("provisioner", &e),
    };
    match provisioner::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("provisioner: error: {e}");
            ExitCode::from(flags::EXIT_FAILURE)
        }
    }
}
