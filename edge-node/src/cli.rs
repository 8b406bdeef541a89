//! `edge-node` commands: turn checked arguments into nodes and run them.
use crate::args::{self, Command, FleetOptions, HiArgs, NodeOptions};
use crate::error::{Error, ErrorKind};
use crate::fleet;
use crate::ids::new_id;
use crate::job;
use crate::net::client::REQUEST_TIMEOUT;
use crate::runner::ctx::OutputMode;
use crate::runner::status::NodeStatus;
use crate::runner::{self, HostConfig, NodeSpec, Program};
use crate::sys;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

const BIN: &str = "edge-node";

/// Overrides the 30 s request timeout, in milliseconds; meant for tests of the timeout code.
const TIMEOUT_ENV: &str = "EDGE_NODE_HTTP_TIMEOUT_MS";

/// Parses the command line and runs it; the whole binary.
pub fn main(args: Vec<String>) -> ExitCode {
    let hi = match args::parse(args) {
        Ok(Some(hi)) => hi,
        Ok(None) => {
            println!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => return flags::usage_error(BIN, &e),
    };
    let timeout = match flags::env_value::<u64>(TIMEOUT_ENV) {
        Ok(ms) => ms.map_or(REQUEST_TIMEOUT, Duration::from_millis),
        Err(e) => return flags::usage_error(BIN, &e),
    };
    if let Err(e) = sys::install_stop_signals() {
        eprintln!("{BIN}: cannot install signal handlers: {e}");
        return ExitCode::from(flags::EXIT_FAILURE);
    }
    match execute(hi, timeout) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("{BIN}: error: {e}");
            ExitCode::from(flags::EXIT_FAILURE)
        }
    }
}

/// The environment Bacalhau gives every execution.
pub fn bacalhau_env(
    job_id: &str,
    execution_id: &str,
    job_type: &str,
    index: u32,
    count: u32,
) -> Vec<(String, String)> {
    vec![
        ("BACALHAU_JOB_ID".into(), job_id.into()),
        ("BACALHAU_EXECUTION_ID".into(), execution_id.into()),
        ("BACALHAU_JOB_TYPE".into(), job_type.into()),
        ("BACALHAU_PARTITION_INDEX".into(), index.to_string()),
        ("BACALHAU_PARTITION_COUNT".into(), count.to_string()),
    ]
}

/// Adds `extra` to `env`, a later key replacing an earlier one.
fn merge(env: &mut Vec<(String, String)>, extra: &[(String, String)]) {
    for (k, v) in extra {
        env.retain(|(ek, _)| ek != k);
        env.push((k.clone(), v.clone()));
    }
}

fn host_config(
    hi: &HiArgs,
    node: &NodeOptions,
    output: OutputMode,
    timeout: Duration,
) -> HostConfig {
    HostConfig {
        policy: node.network.clone(),
        memory_limit: node.memory,
        output,
        aliases: hi.aliases.clone(),
        threads: hi.threads,
        http_threads: hi.http_threads,
        http_timeout: timeout,
        ca_file: hi.ca_file.clone(),
    }
}

fn fleet_output(fleet: &FleetOptions) -> OutputMode {
    if fleet.quiet {
        OutputMode::Discard
    } else {
        OutputMode::Prefixed
    }
}

fn execute(hi: HiArgs, timeout: Duration) -> Result<u8, Error> {
    match &hi.command {
        Command::Run {
            module,
            hostname,
            region,
            node,
            params,
        } => {
            let program = Program::load(module)?;
            let job_id = new_id("j");
            let execution_id = new_id("e");
            let mut env = bacalhau_env(&job_id, &execution_id, "batch", 0, 1);
            env.push(("HOSTNAME".into(), hostname.clone()));
            if let Some(r) = region {
                env.push(("REGION".into(), r.clone()));
            }
            merge(&mut env, &node.env);
            let status = Arc::new(NodeStatus::new(
                hostname,
                region.as_deref().unwrap_or(""),
                &job_id,
                &execution_id,
            ));
            let spec = NodeSpec {
                args: params.clone(),
                env,
                status: Arc::clone(&status),
            };
            let running = runner::start(
                program,
                &host_config(&hi, node, OutputMode::Direct, timeout),
                vec![spec],
            )?;
            running.wait_ready()?;
            running.go();
            while status.exited().is_none() && !sys::stop_requested() && running.schedulers_alive()
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            running.join();
            match status.exited() {
                Some(code) => Ok((code & 0xff) as u8),
                // A stop signal before the module exits is a clean stop (0), as for `simulate`.
                None if sys::stop_requested() => Ok(0),
                None => Err(Error::new(
                    ErrorKind::Io,
                    "the node scheduler ended unexpectedly",
                )),
            }
        }
        Command::Simulate {
            module,
            nodes,
            region,
            prefix,
            node,
            fleet,
            params,
        } => {
            let program = Program::load(module)?;
            let job_id = new_id("j");
            let specs = (0..*nodes)
                .map(|i| {
                    let hostname = format!("{prefix}{i}");
                    let execution_id = new_id("e");
                    let mut env = bacalhau_env(&job_id, &execution_id, "batch", i, *nodes);
                    env.push(("HOSTNAME".into(), hostname.clone()));
                    env.push(("REGION".into(), region.clone()));
                    merge(&mut env, &node.env);
                    let status =
                        Arc::new(NodeStatus::new(&hostname, region, &job_id, &execution_id));
                    NodeSpec {
                        args: params.clone(),
                        env,
                        status,
                    }
                })
                .collect();
            run_fleet(
                program,
                &host_config(&hi, node, fleet_output(fleet), timeout),
                specs,
                fleet,
            )
        }
        Command::Job {
            file,
            vars,
            env_patterns,
            mounts,
            nodes,
            fleet,
        } => {
            let plan = job::plan(file, vars, env_patterns, mounts, *nodes)?;
            eprintln!(
                "{BIN}: job {} ({}): {} node(s) in region {}, module {}",
                safe_text::inert(&plan.name),
                safe_text::inert(&plan.job_id),
                plan.nodes.len(),
                safe_text::inert(&plan.region),
                plan.module.display()
            );
            let program = Program::load(&plan.module)?;
            let node = NodeOptions {
                env: Vec::new(),
                memory: plan.memory,
                network: plan.network.clone(),
            };
            run_fleet(
                program,
                &host_config(&hi, &node, fleet_output(fleet), timeout),
                plan.nodes,
                fleet,
            )
        }
    }
}

fn run_fleet(
    program: Program,
    config: &HostConfig,
    specs: Vec<NodeSpec>,
    fleet: &FleetOptions,
) -> Result<u8, Error> {
    let count = specs.len();
    let running = runner::start(program, config, specs)?;
    running.wait_ready()?;
    println!("ready {count}");
    running.go();
    Ok(fleet::supervise(
        running,
        fleet.stats_file.as_deref(),
        fleet.control_stdin,
    ))
}
