//! `tune` binary: parse the command line, run, map the outcome to an exit code.
use std::process::ExitCode;
use tune::args::{self, HiArgs, Mode};

fn main() -> ExitCode {
    let mode = match args::parse_low(flags::Parser::from_env()).and_then(HiArgs::from_low) {
        Ok(mode) => mode,
        Err(e) => return flags::usage_error("tune", &e),
    };
    let hi = match mode {
        Mode::Help => {
            return flags::print_help(args::USAGE);
        }
        Mode::Run(hi) => hi,
    };
    match tune::run(hi, &mut std::io::stdout().lock()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(flags::EXIT_FAILURE),
        Err(e) => {
            let mut msg = format!("tune: error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                // The io::Error is already part of the message; only add deeper causes.
                if !msg.contains(&s.to_string()) {
                    msg.push_str(&format!(": {s}"));
                }
                source = s.source();
            }
            eprintln!("{msg}");
            ExitCode::from(flags::EXIT_FAILURE)
        }
    }
}
