//! `puller`: placeholder until its issue lands; answers --help and rejects unknown flags.
use flags::{Arg, Parser};
use std::process::ExitCode;

const USAGE: &str = "usage: puller [--help]";

fn main() -> ExitCode {
    let mut parser = Parser::from_env();
    loop {
        match parser.next() {
            Ok(None) => return ExitCode::SUCCESS,
            Ok(Some(Arg::Long(ref n))) if n == "help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            Ok(Some(Arg::Short('h'))) => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            Ok(Some(other)) => return flags::usage_error("puller", &flags::Error::unknown(&other)),
            Err(e) => return flags::usage_error("puller", &e),
        }
    }
}
