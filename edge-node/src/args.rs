//! `edge-node` command line: tokens → `LowArgs` (what was typed) → `HiArgs` (checked).
use crate::inventory::{self, InventoryNode};
use crate::net::policy::NetworkPolicy;
use crate::net::resolve::parse_alias;
use flags::{Arg, Error, Parser};
use jobspec::{AllowedPath, BacalhauVersion, CheckOptions};
use std::net::IpAddr;
use std::path::PathBuf;

pub const USAGE: &str = "\
edge-node: run WebAssembly modules as a Bacalhau compute node would (WASI preview1 +
wasi:http/requests.http_request), one node or thousands of simulated nodes in one process.

usage:
  edge-node run MODULE.wasm [OPTIONS] [-- PARAMS...]
  edge-node simulate MODULE.wasm --nodes N --region R [OPTIONS] [-- PARAMS...]
  edge-node job FILE.yaml [-V KEY=VALUE]... [-E REGEX] INVENTORY [OPTIONS]
  edge-node job --check FILE.yaml... [-V KEY=VALUE]... [-E REGEX] [--bacalhau-version V]

node options (run, simulate):
  --env K=V             add a guest environment variable (repeatable)
  --hostname H          the node's HOSTNAME (run; default: edge-node)
  --region R            the node's REGION
  --memory SIZE         memory limit, e.g. 36mb, 64Mi, 1gb, 65536 (default: the module's own)
  --network MODE        host (default) | none | http
  --domain D            allowed domain for --network http, *.example.com wildcards (repeatable)
simulate:
  --nodes N             number of simulated nodes
  --hostname-prefix P   hostnames are P0, P1, ... (default: edge-<region>-)
job (as `bacalhau job run` and a cluster of compute nodes would):
  -V, --var KEY=VALUE   template values (repeatable; KEY=V,KEY2=V2 also works)
  -E, --env-regex REGEX ONE Go regex, unanchored: host variables whose names match become
                        template values (a later -E replaces an earlier one; -V wins)
  --mount JOBPATH=DIR   map a path inside the job to a host directory (repeatable;
                        default: /app/modules=target/modules, relative to the current dir)
  inventory (at least one; nodes are NAME with labels; each node's env is HOSTNAME=NAME,
  REGION=<its region label> and this process's environment):
  --node NAME:K=V,...   one compute node and its labels (repeatable)
  --nodes-file FILE     one node per line: `NAME K=V,K=V` (# comments)
  --edge-nodes R=N,...  N nodes edge-R-0.. per region R, labels type=edge,region=R
  --allow-env REGEX     the nodes' Compute.Env.AllowList entry (repeatable; Go regex,
                        unanchored); `env:NAME` values need it (default: none allowed)
check (job --check):
  --check               validate FILEs only: print every problem with its field path
  --bacalhau-version V  1.5 | 1.6 | 1.6.4 | 1.7 (default 1.7): version-dependent rules
  --allow-local-path P  the nodes' Compute.AllowListedLocalPaths entry, GLOB[:rw|:ro]
                        (repeatable); without it local paths are not checked
common (simulate, job):
  --stats-file PATH     per-node JSON stats, rewritten every second and at exit
  --control stdin       read `disconnect`, `reconnect BATCH MS`, `stop` lines from stdin
                        (job: also `join NAME:K=V,...`, a node joining the cluster)
  --quiet               drop guest stdout (stderr is still shown)
  --threads N           scheduler threads (default: one per core)
  --http-threads N      threads performing guest HTTP requests (default: 64)
all commands:
  --host-alias NAME=IP  resolve NAME to IP for guest requests (repeatable; host.docker.internal
                        falls back to 127.0.0.1 when it does not resolve)
  --ca-file PATH        also trust the CA certificates in this PEM file for guests' https
                        requests (a private CA; the public web roots are always trusted)
  -h, --help            show this help

exit status: run: the module's exit code (-1, i.e. 255, when _start returns without
proc_exit, as Bacalhau reports it); 1 runtime failure (module not found, bad wasm, missing
import or entrypoint, memory limit, trap); 2 usage error. simulate: 0 when stopped or every
node exited 0 or returned from _start (-1), else 1. job: 0 when stopped or every execution Completed (whatever its exit
code, as Bacalhau v1.7), 1 when one Failed (trap, entrypoint, env) or the job failed (too
few nodes after its QueueTimeout). job --check: 0 no problems, 1 problems.";

/// What was typed, before any checking.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LowArgs {
    pub help: bool,
    pub command: Option<String>,
    pub target: Option<String>,
    pub env: Vec<String>,
    pub hostname: Option<String>,
    pub region: Option<String>,
    pub memory: Option<String>,
    pub network: Option<String>,
    pub domains: Vec<String>,
    pub aliases: Vec<String>,
    pub ca_file: Option<String>,
    pub nodes: Option<u32>,
    pub hostname_prefix: Option<String>,
    pub stats_file: Option<String>,
    pub control: Option<String>,
    pub quiet: bool,
    pub threads: Option<usize>,
    pub http_threads: Option<usize>,
    pub vars: Vec<String>,
    pub env_patterns: Vec<String>,
    pub mounts: Vec<String>,
    pub inventory_nodes: Vec<String>,
    pub nodes_file: Option<String>,
    pub edge_nodes: Vec<String>,
    pub allow_env: Vec<String>,
    pub check: bool,
    pub bacalhau_version: Option<String>,
    pub allow_local_paths: Vec<String>,
    pub params: Vec<String>,
}

impl LowArgs {
    pub fn parse<I, S>(args: I) -> Result<LowArgs, Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut p = Parser::new(args);
        let mut low = LowArgs::default();
        while let Some(arg) = p.next()? {
            match arg {
                Arg::Short('h') => low.help = true,
                Arg::Short('V') => low.vars.push(p.value()?),
                Arg::Short('E') => low.env_patterns.push(p.value()?),
                Arg::Long(ref name) => match name.as_str() {
                    "help" => low.help = true,
                    "env" => low.env.push(p.value()?),
                    "hostname" => low.hostname = Some(p.value()?),
                    "region" => low.region = Some(p.value()?),
                    "memory" => low.memory = Some(p.value()?),
                    "network" => low.network = Some(p.value()?),
                    "domain" => low.domains.push(p.value()?),
                    "host-alias" => low.aliases.push(p.value()?),
                    "ca-file" => low.ca_file = Some(p.value()?),
                    "nodes" => low.nodes = Some(p.parse()?),
                    "hostname-prefix" => low.hostname_prefix = Some(p.value()?),
                    "stats-file" => low.stats_file = Some(p.value()?),
                    "control" => low.control = Some(p.value()?),
                    "quiet" => low.quiet = true,
                    "threads" => low.threads = Some(p.parse()?),
                    "http-threads" => low.http_threads = Some(p.parse()?),
                    "var" => low.vars.push(p.value()?),
                    "env-regex" => low.env_patterns.push(p.value()?),
                    "mount" => low.mounts.push(p.value()?),
                    "node" => low.inventory_nodes.push(p.value()?),
                    "nodes-file" => low.nodes_file = Some(p.value()?),
                    "edge-nodes" => low.edge_nodes.push(p.value()?),
                    "allow-env" => low.allow_env.push(p.value()?),
                    "check" => low.check = true,
                    "bacalhau-version" => low.bacalhau_version = Some(p.value()?),
                    "allow-local-path" => low.allow_local_paths.push(p.value()?),
                    _ => return Err(Error::unknown(&arg)),
                },
                Arg::Value(v) if low.command.is_none() => low.command = Some(v),
                Arg::Value(v) if low.target.is_none() => low.target = Some(v),
                // `job --check` takes several files; everything else goes to the guest.
                Arg::Value(v) if low.check => low.params.push(v),
                // Everything after the target is a guest parameter (usually after `--`).
                Arg::Value(v) => {
                    low.params.push(v);
                    low.params.extend(p.rest());
                }
                other => return Err(Error::unknown(&other)),
            }
        }
        Ok(low)
    }
}

/// Options every node of a run shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeOptions {
    pub env: Vec<(String, String)>,
    pub memory: Option<u64>,
    pub network: NetworkPolicy,
}

/// Options for runs of many nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetOptions {
    pub stats_file: Option<PathBuf>,
    pub control_stdin: bool,
    pub quiet: bool,
}

/// What `job` renders a file with, as `bacalhau job run`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateOptions {
    pub vars: Vec<(String, String)>,
    /// `-E`: one regex, the last one given.
    pub env_pattern: Option<String>,
}

/// The simulated cluster a job is placed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterOptions {
    /// `--node` and `--edge-nodes` entries, in order.
    pub nodes: Vec<InventoryNode>,
    pub nodes_file: Option<PathBuf>,
    /// `Compute.Env.AllowList`.
    pub allow_env: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Run {
        module: PathBuf,
        hostname: String,
        region: Option<String>,
        node: NodeOptions,
        params: Vec<String>,
    },
    Simulate {
        module: PathBuf,
        nodes: u32,
        region: String,
        prefix: String,
        node: NodeOptions,
        fleet: FleetOptions,
        params: Vec<String>,
    },
    Job {
        file: PathBuf,
        template: TemplateOptions,
        mounts: Vec<(String, PathBuf)>,
        cluster: ClusterOptions,
        fleet: FleetOptions,
    },
    Check {
        files: Vec<PathBuf>,
        template: TemplateOptions,
        options: CheckOptions,
    },
}

/// Checked arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiArgs {
    pub command: Command,
    pub aliases: Vec<(String, IpAddr)>,
    /// Checked readable with at least one certificate.
    pub ca_file: Option<PathBuf>,
    pub threads: usize,
    pub http_threads: usize,
}

/// `None` means: print the usage and exit 0.
pub fn parse<I, S>(args: I) -> Result<Option<HiArgs>, Error>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let low = LowArgs::parse(args)?;
    if low.help {
        return Ok(None);
    }
    HiArgs::from_low(low).map(Some)
}

impl HiArgs {
    pub fn from_low(low: LowArgs) -> Result<HiArgs, Error> {
        let command = low
            .command
            .clone()
            .ok_or_else(|| Error::new("missing command (run, simulate or job)"))?;
        let aliases = low
            .aliases
            .iter()
            .map(|a| parse_alias(a).map_err(Error::new))
            .collect::<Result<Vec<_>, _>>()?;
        let ca_file = low.ca_file.as_ref().map(PathBuf::from);
        if let Some(path) = &ca_file {
            http1::tls::TlsConnector::with_extra_ca(Some(path))
                .map_err(|e| Error::new(format!("invalid value for '--ca-file': {e}")))?;
        }
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads = low.threads.unwrap_or(cores);
        let http_threads = low.http_threads.unwrap_or(64);
        if threads == 0 || http_threads == 0 {
            return Err(Error::new(
                "--threads and --http-threads must be at least 1",
            ));
        }
        if low.check && command != "job" {
            return Err(Error::new("flag '--check' only applies to 'job'"));
        }
        let command = match command.as_str() {
            "run" => run_command(&low)?,
            "simulate" => simulate_command(&low)?,
            "job" if low.check => check_command(&low)?,
            "job" => job_command(&low)?,
            other => {
                return Err(Error::new(format!(
                    "unknown command '{other}' (expected run, simulate or job)"
                )))
            }
        };
        Ok(HiArgs {
            command,
            aliases,
            ca_file,
            threads,
            http_threads,
        })
    }
}

const JOB_ONLY: [&str; 7] = [
    "-V",
    "-E",
    "--mount",
    "--node",
    "--nodes-file",
    "--edge-nodes",
    "--allow-env",
];
const CHECK_ONLY: [&str; 2] = ["--bacalhau-version", "--allow-local-path"];

fn target(low: &LowArgs, what: &str) -> Result<PathBuf, Error> {
    low.target
        .clone()
        .map(PathBuf::from)
        .ok_or_else(|| Error::new(format!("missing {what}")))
}

fn fleet_options(low: &LowArgs) -> Result<FleetOptions, Error> {
    Ok(FleetOptions {
        stats_file: low.stats_file.clone().map(PathBuf::from),
        control_stdin: match low.control.as_deref() {
            None => false,
            Some("stdin") => true,
            Some(other) => {
                return Err(Error::new(format!(
                    "invalid value '{other}' for '--control': only 'stdin' is supported"
                )))
            }
        },
        quiet: low.quiet,
    })
}

fn run_command(low: &LowArgs) -> Result<Command, Error> {
    reject(
        low,
        &["--nodes", "--hostname-prefix", "--stats-file", "--control"],
    )?;
    reject(low, &JOB_ONLY)?;
    reject(low, &CHECK_ONLY)?;
    Ok(Command::Run {
        module: target(low, "MODULE.wasm")?,
        hostname: low.hostname.clone().unwrap_or_else(|| "edge-node".into()),
        region: low.region.clone(),
        node: node_options(low)?,
        params: low.params.clone(),
    })
}

fn simulate_command(low: &LowArgs) -> Result<Command, Error> {
    reject(low, &["--hostname"])?;
    reject(low, &JOB_ONLY)?;
    reject(low, &CHECK_ONLY)?;
    let region = low
        .region
        .clone()
        .ok_or_else(|| Error::new("simulate needs --region"))?;
    let nodes = low
        .nodes
        .ok_or_else(|| Error::new("simulate needs --nodes"))?;
    if nodes == 0 {
        return Err(Error::new("--nodes must be at least 1"));
    }
    Ok(Command::Simulate {
        module: target(low, "MODULE.wasm")?,
        nodes,
        prefix: low
            .hostname_prefix
            .clone()
            .unwrap_or_else(|| format!("edge-{region}-")),
        region,
        node: node_options(low)?,
        fleet: fleet_options(low)?,
        params: low.params.clone(),
    })
}

/// Flags `job` takes from the job file or the inventory instead.
const NODE_FLAGS: [&str; 8] = [
    "--env",
    "--hostname",
    "--region",
    "--memory",
    "--network",
    "--domain",
    "--hostname-prefix",
    "--nodes",
];

fn template_options(low: &LowArgs) -> Result<TemplateOptions, Error> {
    Ok(TemplateOptions {
        vars: jobspec::parse_template_vars(&low.vars).map_err(|e| Error::new(e.to_string()))?,
        env_pattern: low.env_patterns.last().cloned(),
    })
}

fn job_command(low: &LowArgs) -> Result<Command, Error> {
    reject(low, &NODE_FLAGS)?;
    reject(low, &CHECK_ONLY)?;
    if !low.params.is_empty() {
        return Err(Error::new(
            "job takes its parameters from the job file, not after --",
        ));
    }
    let mut mounts = Vec::new();
    for m in &low.mounts {
        let (at, dir) = key_value(m, "--mount")?;
        if !at.starts_with('/') {
            return Err(Error::new(format!(
                "invalid mount '{m}': the job path must be absolute"
            )));
        }
        mounts.push((at, PathBuf::from(dir)));
    }
    if mounts.is_empty() {
        mounts.push(("/app/modules".to_string(), PathBuf::from("target/modules")));
    }
    let mut nodes = Vec::new();
    for raw in &low.inventory_nodes {
        nodes.push(inventory::parse_node(raw).map_err(Error::new)?);
    }
    for raw in &low.edge_nodes {
        nodes.extend(inventory::generate_edge_nodes(raw).map_err(Error::new)?);
    }
    if nodes.is_empty() && low.nodes_file.is_none() {
        return Err(Error::new(
            "job needs an inventory of nodes: --edge-nodes R=N, --node NAME:K=V,... or --nodes-file FILE",
        ));
    }
    for pattern in &low.allow_env {
        jobspec::template_values(&[], Some(pattern), &[])
            .map_err(|e| Error::new(format!("invalid value '{pattern}' for '--allow-env': {e}")))?;
    }
    Ok(Command::Job {
        file: target(low, "FILE.yaml")?,
        template: template_options(low)?,
        mounts,
        cluster: ClusterOptions {
            nodes,
            nodes_file: low.nodes_file.clone().map(PathBuf::from),
            allow_env: low.allow_env.clone(),
        },
        fleet: fleet_options(low)?,
    })
}

fn check_command(low: &LowArgs) -> Result<Command, Error> {
    reject(low, &NODE_FLAGS)?;
    reject(
        low,
        &[
            "--mount",
            "--node",
            "--nodes-file",
            "--edge-nodes",
            "--allow-env",
            "--stats-file",
            "--control",
        ],
    )?;
    let mut files: Vec<PathBuf> = low.target.iter().map(PathBuf::from).collect();
    files.extend(low.params.iter().map(PathBuf::from));
    if files.is_empty() {
        return Err(Error::new("job --check needs at least one FILE.yaml"));
    }
    let version = match &low.bacalhau_version {
        Some(v) => BacalhauVersion::parse(v).map_err(|e| {
            Error::new(format!("invalid value '{v}' for '--bacalhau-version': {e}"))
        })?,
        None => BacalhauVersion::V1_7,
    };
    let allowed = (!low.allow_local_paths.is_empty()).then(|| {
        low.allow_local_paths
            .iter()
            .map(|p| AllowedPath::parse(p))
            .collect()
    });
    Ok(Command::Check {
        files,
        template: template_options(low)?,
        options: CheckOptions {
            version,
            allowed_local_paths: allowed,
        },
    })
}

/// Flags that make no sense for this command are errors, not silently ignored.
fn reject(low: &LowArgs, names: &[&str]) -> Result<(), Error> {
    let given = |n: &str| match n {
        "--nodes" => low.nodes.is_some(),
        "--hostname-prefix" => low.hostname_prefix.is_some(),
        "--hostname" => low.hostname.is_some(),
        "--region" => low.region.is_some(),
        "--memory" => low.memory.is_some(),
        "--network" => low.network.is_some(),
        "--domain" => !low.domains.is_empty(),
        "--env" => !low.env.is_empty(),
        "-V" => !low.vars.is_empty(),
        "-E" => !low.env_patterns.is_empty(),
        "--mount" => !low.mounts.is_empty(),
        "--stats-file" => low.stats_file.is_some(),
        "--control" => low.control.is_some(),
        "--node" => !low.inventory_nodes.is_empty(),
        "--nodes-file" => low.nodes_file.is_some(),
        "--edge-nodes" => !low.edge_nodes.is_empty(),
        "--allow-env" => !low.allow_env.is_empty(),
        "--bacalhau-version" => low.bacalhau_version.is_some(),
        "--allow-local-path" => !low.allow_local_paths.is_empty(),
        _ => false,
    };
    match names.iter().find(|n| given(n)) {
        Some(n) => Err(Error::new(format!(
            "flag '{n}' does not apply to '{}'",
            low.command.as_deref().unwrap_or("")
        ))),
        None => Ok(()),
    }
}

fn key_value(raw: &str, flag: &str) -> Result<(String, String), Error> {
    match raw.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(Error::new(format!(
            "invalid value '{raw}' for '{flag}': expected KEY=VALUE"
        ))),
    }
}

fn node_options(low: &LowArgs) -> Result<NodeOptions, Error> {
    let env = low
        .env
        .iter()
        .map(|e| key_value(e, "--env"))
        .collect::<Result<Vec<_>, _>>()?;
    let memory = low.memory.as_deref().map(parse_memory).transpose()?;
    let network = match low.network.as_deref().unwrap_or("host") {
        "host" | "full" => NetworkPolicy::Host,
        "none" => NetworkPolicy::None,
        "http" => {
            if low.domains.is_empty() {
                return Err(Error::new("--network http needs at least one --domain"));
            }
            NetworkPolicy::http(low.domains.clone()).map_err(Error::new)?
        }
        other => {
            return Err(Error::new(format!(
                "invalid value '{other}' for '--network': expected host, none or http"
            )))
        }
    };
    if !low.domains.is_empty() && !matches!(network, NetworkPolicy::Http { .. }) {
        return Err(Error::new("--domain only applies to --network http"));
    }
    Ok(NodeOptions {
        env,
        memory,
        network,
    })
}

/// Memory sizes as job specs write them: plain bytes, or a number with b, k/kb/ki/kib,
/// m/mb/mi/mib, g/gb/gi/gib (all binary multiples, as docker's and Bacalhau's parsers treat them).
pub fn parse_memory(raw: &str) -> Result<u64, Error> {
    let s = raw.trim().to_ascii_lowercase();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let bad = || {
        Error::new(format!(
            "invalid memory size '{raw}' (e.g. 36mb, 64Mi, 1gb, 65536)"
        ))
    };
    let num: f64 = num.parse().map_err(|_| bad())?;
    let mult: u64 = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" | "ki" | "kib" => 1 << 10,
        "m" | "mb" | "mi" | "mib" => 1 << 20,
        "g" | "gb" | "gi" | "gib" => 1 << 30,
        _ => return Err(bad()),
    };
    let bytes = num * mult as f64;
    if !(1.0..=(u64::MAX as f64)).contains(&bytes) {
        return Err(bad());
    }
    Ok(bytes.ceil() as u64)
}

#[cfg(test)]
#[path = "args_tests.rs"]
mod tests;
