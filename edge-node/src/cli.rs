//! `edge-node` commands: turn checked arguments into nodes and run them. Depends on `job`,
//! `check`, `fleet` and the runner; nothing depends back on it but `main`.
use crate::args::{
    self, ClusterOptions, Command, FleetOptions, HiArgs, NodeOptions, TemplateOptions,
};
use crate::check;
use crate::error::{Error, ErrorKind};
use crate::fleet;
use crate::guest_env::{self, Execution};
use crate::ids::new_id;
use crate::job;
use crate::net::client::REQUEST_TIMEOUT;
use crate::runner::ctx::OutputMode;
use crate::runner::status::NodeStatus;
use crate::runner::{self, HostConfig, NodeSpec, Program};
use crate::sys;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
        // `run` and `simulate` start a WASI command as `bacalhau wasm run` does (its CLI
        // defaults the entrypoint to _start); `job` takes it from the job file.
        entrypoint: "_start".to_string(),
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
        } => run_one(
            &hi,
            timeout,
            module,
            hostname,
            region.as_deref(),
            node,
            params,
        ),
        Command::Simulate {
            module,
            nodes,
            region,
            prefix,
            node,
            fleet,
            params,
        } => {
            let sim = Simulation {
                nodes: *nodes,
                region,
                prefix,
                params,
            };
            simulate(&hi, timeout, module, &sim, node, fleet)
        }
        Command::Job {
            file,
            template,
            mounts,
            cluster,
            fleet,
        } => run_job(&hi, timeout, file, template, mounts, cluster, fleet),
        Command::Check {
            files,
            template,
            options,
        } => Ok(check::run(files, template, options)),
    }
}

/// The guest env of a `run`/`simulate` node: Bacalhau's variables, the node's HOSTNAME (as a
/// job with `Env: {HOSTNAME: env:HOSTNAME}` gets it) and `--env` values. No REGION.
fn direct_env(
    job_id: &str,
    execution_id: &str,
    index: u32,
    count: u32,
    hostname: &str,
    extra: &[(String, String)],
) -> Vec<(String, String)> {
    let exec = Execution {
        job_id,
        execution_id,
        job_type: "batch",
        partition_index: index,
        partition_count: i64::from(count),
    };
    let mut env = guest_env::bacalhau_env(&exec, &[]);
    env.push(("HOSTNAME".into(), hostname.to_string()));
    guest_env::merge(&mut env, extra);
    env
}

fn run_one(
    hi: &HiArgs,
    timeout: Duration,
    module: &std::path::Path,
    hostname: &str,
    region: Option<&str>,
    node: &NodeOptions,
    params: &[String],
) -> Result<u8, Error> {
    let program = Program::load(module)?;
    let job_id = new_id("j");
    let execution_id = new_id("e");
    let env = direct_env(&job_id, &execution_id, 0, 1, hostname, &node.env);
    let status = Arc::new(NodeStatus::new(
        hostname,
        region.unwrap_or(""),
        &job_id,
        &execution_id,
    ));
    let spec = NodeSpec {
        args: params.to_vec(),
        env,
        status: Arc::clone(&status),
    };
    let running = runner::start(
        program,
        &host_config(hi, node, OutputMode::Direct, timeout),
        vec![spec],
    )?;
    running.wait_ready()?;
    running.go();
    while status.exited().is_none() && !sys::stop_requested() && running.schedulers_alive() {
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

struct Simulation<'a> {
    nodes: u32,
    region: &'a str,
    prefix: &'a str,
    params: &'a [String],
}

fn simulate(
    hi: &HiArgs,
    timeout: Duration,
    module: &std::path::Path,
    sim: &Simulation,
    node: &NodeOptions,
    fleet: &FleetOptions,
) -> Result<u8, Error> {
    let program = Program::load(module)?;
    let job_id = new_id("j");
    let specs = (0..sim.nodes)
        .map(|i| {
            let hostname = format!("{}{i}", sim.prefix);
            let execution_id = new_id("e");
            let env = direct_env(&job_id, &execution_id, i, sim.nodes, &hostname, &node.env);
            let status = Arc::new(NodeStatus::new(
                &hostname,
                sim.region,
                &job_id,
                &execution_id,
            ));
            NodeSpec {
                args: sim.params.to_vec(),
                env,
                status,
            }
        })
        .collect();
    let config = host_config(hi, node, fleet_output(fleet), timeout);
    let run = FleetRun {
        verdict: fleet::Verdict::AllExitZero,
        deadline: None,
        open: false,
        on_join: None,
    };
    run_fleet(program, &config, specs, fleet, run)
}

fn run_job(
    hi: &HiArgs,
    timeout: Duration,
    file: &std::path::Path,
    template: &TemplateOptions,
    mounts: &[(String, std::path::PathBuf)],
    cluster: &ClusterOptions,
    fleet: &FleetOptions,
) -> Result<u8, Error> {
    let mut plan = job::plan(file, template, mounts, cluster)?;
    eprintln!(
        "{BIN}: job {} ({}): {} execution(s), module {}",
        safe_text::inert(&plan.name),
        safe_text::inert(&plan.job_id),
        plan.nodes.len(),
        plan.module.display()
    );
    for (node, reason) in &plan.failed {
        eprintln!(
            "{BIN}: execution on {} failed: {}",
            safe_text::inert(node),
            safe_text::inert(reason)
        );
    }
    let deadline = queue_deadline(&plan)?;
    // Nodes can join through the control channel while the job still takes them.
    let open = fleet.control_stdin && plan.joins.takes_joins();
    if plan.nodes.is_empty() && deadline.is_none() && !open {
        if plan.failed.is_empty() {
            eprintln!("{BIN}: no execution to run (no matching node; nodes can join with --control stdin)");
        }
        return Ok(u8::from(!plan.failed.is_empty()));
    }
    let program = Program::load(&plan.module)?;
    let node = NodeOptions {
        env: Vec::new(),
        memory: plan.memory,
        network: plan.network.clone(),
    };
    let mut config = host_config(hi, &node, fleet_output(fleet), timeout);
    config.entrypoint = plan.entrypoint.clone();
    let mut place = |raw: &str| plan.joins.join(raw);
    let run = FleetRun {
        verdict: fleet::Verdict::NoneFailed,
        deadline,
        open,
        on_join: open.then_some(&mut place as &mut dyn FnMut(&str) -> fleet::Joined),
    };
    let code = run_fleet(
        program,
        &config,
        std::mem::take(&mut plan.nodes),
        fleet,
        run,
    )?;
    Ok(code.max(u8::from(!plan.failed.is_empty())))
}

/// When a job short of nodes fails: at once (an error) when it has no queue timeout or is an
/// ops job without matching nodes, else when its `QueueTimeout` passes.
fn queue_deadline(plan: &job::JobPlan) -> Result<Option<(Instant, String)>, Error> {
    if let Some(message) = &plan.no_match {
        return Err(Error::new(ErrorKind::Job, format!("job failed: {message}")));
    }
    match &plan.shortfall {
        Some((message, wait)) if wait.is_zero() => {
            Err(Error::new(ErrorKind::Job, format!("job failed: {message}")))
        }
        Some((message, wait)) => {
            eprintln!(
                "{BIN}: job queued (fails after QueueTimeout {}s): {message}",
                wait.as_secs()
            );
            Ok(Some((Instant::now() + *wait, message.clone())))
        }
        None => Ok(None),
    }
}

/// How a fleet run is judged and whether it takes joining nodes.
struct FleetRun<'a> {
    verdict: fleet::Verdict,
    deadline: Option<(Instant, String)>,
    open: bool,
    on_join: Option<&'a mut dyn FnMut(&str) -> fleet::Joined>,
}

fn run_fleet<'a>(
    program: Program,
    config: &HostConfig,
    specs: Vec<NodeSpec>,
    fleet: &'a FleetOptions,
    run: FleetRun<'a>,
) -> Result<u8, Error> {
    let count = specs.len();
    let running = runner::start(program, config, specs)?;
    running.wait_ready()?;
    running.shared.open.store(run.open, Ordering::SeqCst);
    println!("ready {count}");
    running.go();
    Ok(fleet::supervise(
        running,
        fleet::Supervision {
            stats_file: fleet.stats_file.as_deref(),
            control_stdin: fleet.control_stdin,
            verdict: run.verdict,
            deadline: run.deadline,
            on_join: run.on_join,
        },
    ))
}
