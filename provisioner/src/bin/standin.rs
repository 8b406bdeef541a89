//! `standin`: a stand-in for the Bacalhau orchestrator and web-services node, whose images
//! cannot be pulled here. `standin serve` idles as PID 1 until SIGTERM/SIGINT (so `docker stop`
//! is prompt); `standin health` exits 0 only when PID 1 is a serving standin, the way
//! `bacalhau agent alive` answers for a live agent.
#![forbid(unsafe_code)]
use std::process::ExitCode;

const USAGE: &str = "\
usage: standin serve [--role NAME]   idle until SIGTERM/SIGINT
       standin health                exit 0 if a standin is serving as PID 1";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => serve(&args[1..]),
        Some("health") => health(),
        Some("-h" | "--help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("standin: error: unknown command '{other}'\n\n{USAGE}");
            ExitCode::from(flags::EXIT_USAGE)
        }
        None => {
            eprintln!("standin: error: missing command\n\n{USAGE}");
            ExitCode::from(flags::EXIT_USAGE)
        }
    }
}

fn serve(rest: &[String]) -> ExitCode {
    let role = match rest {
        [] => "service".to_string(),
        [flag, role] if flag == "--role" => role.clone(),
        [flag] if flag.starts_with("--role=") => flag["--role=".len()..].to_string(),
        other => {
            eprintln!("standin: error: unexpected arguments {other:?}\n\n{USAGE}");
            return ExitCode::from(flags::EXIT_USAGE);
        }
    };
    println!("standin: serving as {role}");
    match provisioner::sys::wait_for_termination() {
        Ok(sig) => {
            println!("standin: signal {sig}, exiting");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("standin: error: waiting for signals: {e}");
            ExitCode::from(flags::EXIT_FAILURE)
        }
    }
}

fn health() -> ExitCode {
    // /proc/1/cmdline is NUL-separated argv of PID 1.
    match std::fs::read("/proc/1/cmdline") {
        Ok(cmdline) => {
            let argv: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            let is_standin = argv.first().is_some_and(|a| a.ends_with(b"standin"));
            if is_standin && argv.get(1) == Some(&&b"serve"[..]) {
                ExitCode::SUCCESS
            } else {
                eprintln!("standin: PID 1 is not a serving standin");
                ExitCode::from(flags::EXIT_FAILURE)
            }
        }
        Err(e) => {
            eprintln!("standin: cannot read /proc/1/cmdline: {e}");
            ExitCode::from(flags::EXIT_FAILURE)
        }
    }
}
