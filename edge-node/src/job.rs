//! `edge-node job FILE.yaml`: the same job file that goes to a real cluster, run locally.
//!
//! The steps are `bacalhau job run`'s and a v1.7 cluster's: render the file (`-V`, `-E`),
//! parse and validate it ([`load`]), place it on the inventory's nodes ([`place`]: constraints,
//! one execution per node, env allow-lists), then build each execution's guest ([`plan`]).
use crate::args::{ClusterOptions, TemplateOptions};
use crate::error::{Error, ErrorKind};
use crate::fleet::Joined;
use crate::guest_env::{self, Execution, NodeEnv};
use crate::ids::new_id;
use crate::inventory::{self, InventoryNode};
use crate::net::policy::NetworkPolicy;
use crate::runner::status::NodeStatus;
use crate::runner::NodeSpec;
use jobspec::{Engine, JobSpec, Network, Task};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// What `job` will start.
pub struct JobPlan {
    pub name: String,
    pub job_id: String,
    pub module: PathBuf,
    pub entrypoint: String,
    pub memory: Option<u64>,
    pub network: NetworkPolicy,
    pub nodes: Vec<NodeSpec>,
    /// Executions that failed before running (env resolution), with Bacalhau's reason.
    pub failed: Vec<(String, String)>,
    /// Too few suitable nodes: the job fails with this message after `QueueTimeout`.
    pub shortfall: Option<(String, Duration)>,
    /// An ops job with no suitable node fails at once (pkg/orchestrator/scheduler/ops_job.go).
    pub no_match: Option<String>,
    /// Places nodes that join while the job runs.
    pub joins: Placement,
}

/// What it takes to place the job on a node that joins later: daemon jobs run on every such
/// node that matches (pkg/orchestrator/scheduler/daemon_job.go), a queued batch/service job
/// takes joining nodes until it has `Count`, ops jobs only place at submission.
pub struct Placement {
    spec: JobSpec,
    task: Task,
    parameters: Vec<String>,
    job_id: String,
    allow_env: Vec<String>,
    host_env: Vec<(String, String)>,
    known: Vec<String>,
    placed: usize,
}

impl Placement {
    /// Whether a joining node can still get an execution of this job.
    pub fn takes_joins(&self) -> bool {
        match inventory::wanted(&self.spec) {
            None => self.spec.job_type == "daemon",
            Some(count) => self.placed < count,
        }
    }

    /// Places the job on the node `raw` (`NAME:K=V,...`) if the job wants it there.
    pub fn join(&mut self, raw: &str) -> Joined {
        let node = match inventory::parse_node(raw) {
            Ok(n) => n,
            Err(e) => return Joined::Skipped(e),
        };
        if self.known.contains(&node.name) {
            return Joined::Skipped(format!("node {:?} is already in the cluster", node.name));
        }
        self.known.push(node.name.clone());
        if !self.takes_joins() {
            return Joined::Skipped("the job takes no more nodes".into());
        }
        if !self
            .spec
            .constraints
            .iter()
            .all(|c| c.matches(&node.labels))
        {
            return Joined::Skipped("the job's constraints do not select it".into());
        }
        let vars = node_vars(&node, &self.host_env);
        let env = NodeEnv {
            vars: &vars,
            allow_list: &self.allow_env,
        };
        if let Some(reason) = env.refusal(&self.task.env) {
            return Joined::Skipped(reason);
        }
        let spec = execution(
            &self.spec,
            &self.task,
            &self.job_id,
            self.placed,
            &node,
            &env,
            &self.parameters,
        );
        self.placed += 1;
        match spec {
            Ok(spec) => Joined::Placed {
                spec,
                filled: !self.takes_joins(),
            },
            Err(e) => {
                eprintln!("edge-node: execution on {} failed: {e}", node.name);
                Joined::Skipped(e)
            }
        }
    }
}

fn job_err(file: &Path, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Job, format!("{}: {e}", file.display()))
}

/// Renders and parses `file` as `bacalhau job run` does (validation is the caller's step).
pub fn load(file: &Path, template: &TemplateOptions) -> Result<JobSpec, Error> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| job_err(file, format!("cannot read job file: {e}")))?;
    let host_env: Vec<(String, String)> = std::env::vars().collect();
    let values =
        jobspec::template_values(&template.vars, template.env_pattern.as_deref(), &host_env)
            .map_err(|e| job_err(file, e))?;
    let rendered = jobspec::render(&text, &values).map_err(|e| job_err(file, e))?;
    JobSpec::parse(&rendered).map_err(|e| job_err(file, e))
}

/// The wasm task's engine params; other engines cannot run here.
fn wasm_engine(file: &Path, task: &Task) -> Result<(String, String, Vec<String>), Error> {
    match &task.engine {
        Engine::Wasm {
            entry_module,
            entrypoint,
            parameters,
            ..
        } => Ok((entry_module.clone(), entrypoint.clone(), parameters.clone())),
        _ => Err(job_err(
            file,
            "the job's task is not a wasm task (edge-node runs wasm only)",
        )),
    }
}

fn module_path(
    file: &Path,
    task: &Task,
    entry: &str,
    mounts: &[(String, PathBuf)],
) -> Result<PathBuf, Error> {
    let module = match map_mount(entry, mounts) {
        Some(p) => p,
        None => jobspec::resolve_module_path(task, None).map_err(|e| job_err(file, e))?,
    };
    if !module.is_file() {
        return Err(job_err(
            file,
            format!(
                "EntryModule {entry} maps to {}, which does not exist \
                 (build it with scripts/build-wasm, or map the job path with --mount JOBPATH=DIR)",
                module.display()
            ),
        ));
    }
    Ok(module)
}

/// The wasm executor's network (pkg/executor/wasm/handler.go at v1.7.0: Default is Host).
fn network_policy(file: &Path, network: &Network) -> Result<NetworkPolicy, Error> {
    match network {
        Network::None => Ok(NetworkPolicy::None),
        Network::Default | Network::Host | Network::Full => Ok(NetworkPolicy::Host),
        Network::Http { domains } => {
            NetworkPolicy::http(domains.clone()).map_err(|e| job_err(file, e))
        }
        other => Err(job_err(
            file,
            format!("network {other:?} is not supported by the wasm executor"),
        )),
    }
}

/// The inventory: `--node`/`--edge-nodes` entries, then the `--nodes-file` lines.
pub fn inventory(cluster: &ClusterOptions) -> Result<Vec<InventoryNode>, Error> {
    let mut nodes = cluster.nodes.clone();
    if let Some(path) = &cluster.nodes_file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::new(
                ErrorKind::Job,
                format!("cannot read nodes file {}: {e}", path.display()),
            )
        })?;
        let more = inventory::parse_nodes_file(&text)
            .map_err(|e| Error::new(ErrorKind::Job, format!("{}: {e}", path.display())))?;
        nodes.extend(more);
    }
    inventory::check_unique(&nodes).map_err(|e| Error::new(ErrorKind::Job, e))?;
    Ok(nodes)
}

/// A node's own environment: HOSTNAME (its name), REGION (its region label, as the original
/// demo's containers set it), then this process's environment.
fn node_vars(node: &InventoryNode, host_env: &[(String, String)]) -> Vec<(String, String)> {
    let mut vars = vec![("HOSTNAME".to_string(), node.name.clone())];
    if let Some(region) = node.label("region") {
        vars.push(("REGION".to_string(), region.to_string()));
    }
    vars.extend(
        host_env
            .iter()
            .filter(|(k, _)| k != "HOSTNAME" && k != "REGION")
            .cloned(),
    );
    vars
}

/// Which nodes get an execution: those the constraints select and whose allow-list accepts
/// the task's env references, at most one per node, `Count` of them for batch/service.
fn place<'a>(
    spec: &JobSpec,
    task: &Task,
    nodes: &'a [InventoryNode],
    cluster: &ClusterOptions,
    host_env: &[(String, String)],
) -> (Vec<&'a InventoryNode>, Option<(String, Duration)>) {
    let matching = inventory::matching(spec, nodes);
    let mut suitable = Vec::new();
    let mut refusal = None;
    for node in &matching {
        let vars = node_vars(node, host_env);
        let env = NodeEnv {
            vars: &vars,
            allow_list: &cluster.allow_env,
        };
        match env.refusal(&task.env) {
            Some(reason) => refusal = Some(format!("{}: {reason}", node.name)),
            None => suitable.push(*node),
        }
    }
    let wanted = inventory::wanted(spec).unwrap_or(suitable.len());
    let shortfall = (suitable.len() < wanted).then(|| {
        let mut message = inventory::not_enough_nodes(wanted, nodes.len(), suitable.len());
        if let Some(r) = refusal {
            message.push_str(&format!("\n• {r}"));
        }
        let timeout = u64::try_from(spec.queue_timeout()).unwrap_or(0);
        (message, Duration::from_secs(timeout))
    });
    suitable.truncate(wanted);
    (suitable, shortfall)
}

/// One execution of the job on `node`: its ids, guest env and argv; an env reference the
/// node cannot resolve fails it (Bacalhau's wording).
fn execution(
    spec: &JobSpec,
    task: &Task,
    job_id: &str,
    index: usize,
    node: &InventoryNode,
    env: &NodeEnv,
    parameters: &[String],
) -> Result<NodeSpec, String> {
    let execution_id = new_id("e");
    let exec = Execution {
        job_id,
        execution_id: &execution_id,
        job_type: &spec.job_type,
        partition_index: u32::try_from(index).unwrap_or(u32::MAX),
        partition_count: spec.effective_count(),
    };
    let system = guest_env::bacalhau_env(&exec, &task.ports);
    Ok(NodeSpec {
        args: parameters.to_vec(),
        env: guest_env::execution_env(&task.env, env, system)?,
        status: Arc::new(NodeStatus::new(
            &node.name,
            node.label("region").unwrap_or(""),
            job_id,
            &execution_id,
        )),
    })
}

/// Renders, checks and places the job, and builds one guest per execution.
pub fn plan(
    file: &Path,
    template: &TemplateOptions,
    mounts: &[(String, PathBuf)],
    cluster: &ClusterOptions,
) -> Result<JobPlan, Error> {
    let spec = load(file, template)?;
    spec.validate().map_err(|e| job_err(file, e))?;
    let task = spec
        .tasks
        .first()
        .ok_or_else(|| job_err(file, "the job has no task"))?;
    let (entry, entrypoint, parameters) = wasm_engine(file, task)?;
    let module = module_path(file, task, &entry, mounts)?;
    let network = network_policy(file, &task.network)?;
    let nodes = inventory(cluster)?;
    let host_env: Vec<(String, String)> = std::env::vars().collect();
    let (placed, shortfall) = place(&spec, task, &nodes, cluster, &host_env);
    let no_match = (spec.job_type == "ops" && placed.is_empty()).then(|| {
        format!(
            "not matching nodes to run job out of {} available nodes.",
            nodes.len()
        )
    });
    let job_id = new_id("j");
    let (specs, failed) = executions(&placed, |i, node| {
        let env = NodeEnv {
            vars: &node_vars(node, &host_env),
            allow_list: &cluster.allow_env,
        };
        execution(&spec, task, &job_id, i, node, &env, &parameters)
    });
    let joins = Placement {
        task: task.clone(),
        parameters,
        job_id: job_id.clone(),
        allow_env: cluster.allow_env.clone(),
        host_env,
        known: nodes.iter().map(|n| n.name.clone()).collect(),
        placed: placed.len(),
        spec: spec.clone(),
    };
    Ok(JobPlan {
        // Job.Normalize names a nameless job after its ID.
        name: if spec.name.is_empty() {
            job_id.clone()
        } else {
            spec.name.clone()
        },
        job_id,
        module,
        entrypoint,
        memory: task.memory_bytes,
        network,
        nodes: specs,
        failed,
        shortfall,
        no_match,
        joins,
    })
}

/// One execution per placed node, `build` making each: those it could make, and the nodes
/// whose execution failed before running, with the reason.
fn executions(
    placed: &[&InventoryNode],
    mut build: impl FnMut(usize, &InventoryNode) -> Result<NodeSpec, String>,
) -> (Vec<NodeSpec>, Vec<(String, String)>) {
    let mut specs = Vec::new();
    let mut failed = Vec::new();
    for (i, node) in placed.iter().enumerate() {
        match build(i, node) {
            Ok(node_spec) => specs.push(node_spec),
            Err(e) => failed.push((node.name.clone(), e)),
        }
    }
    (specs, failed)
}

/// Maps a path inside the job through the longest matching `--mount JOBPATH=DIR`.
pub fn map_mount(path: &str, mounts: &[(String, PathBuf)]) -> Option<PathBuf> {
    mounts
        .iter()
        .filter_map(|(at, dir)| {
            let at = at.trim_end_matches('/');
            let rest = path.strip_prefix(at)?;
            (rest.is_empty() || rest.starts_with('/'))
                .then(|| (at.len(), dir.join(rest.trim_start_matches('/'))))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_map_longest_prefix() {
        let mounts = vec![
            ("/app".to_string(), PathBuf::from("/w")),
            ("/app/modules".to_string(), PathBuf::from("target/modules")),
        ];
        assert_eq!(
            map_mount("/app/modules/publisher.wasm", &mounts),
            Some(PathBuf::from("target/modules/publisher.wasm"))
        );
        assert_eq!(
            map_mount("/app/x.wasm", &mounts),
            Some(PathBuf::from("/w/x.wasm"))
        );
        assert_eq!(map_mount("/application/x.wasm", &mounts), None);
        assert_eq!(map_mount("/srv/x.wasm", &mounts), None);
    }

    #[test]
    fn nodes_see_their_name_and_region_and_the_host() {
        let node = inventory::parse_node("edge-eu-1:type=edge,region=eu").unwrap();
        let vars = node_vars(
            &node,
            &[
                ("AWS_REGION".into(), "x".into()),
                ("HOSTNAME".into(), "laptop".into()),
            ],
        );
        let get = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("HOSTNAME"), Some("edge-eu-1"));
        assert_eq!(get("REGION"), Some("eu"));
        assert_eq!(get("AWS_REGION"), Some("x"));
    }
}
