//! `edge-node job FILE.yaml`: the same job file that goes to a real cluster, run locally.
//!
//! Renders the file as `bacalhau job run` does (`-V`, `-E`), parses and validates it, then
//! plans `count` simulated nodes of the job's region: hostnames `edge-<region>-<i>` (stable, so
//! a v2 job lands on the same hostnames as v1), one job id per run, one execution id per node,
//! Bacalhau's `BACALHAU_*` variables, the task env with `env:NAME` resolved from the simulated
//! node's own environment (HOSTNAME, REGION, and the host's AWS_* like the original nodes'
//! allow-list), the wasm engine's parameters as argv, its memory limit and network.
use crate::cli::bacalhau_env;
use crate::error::{Error, ErrorKind};
use crate::ids::new_id;
use crate::net::policy::NetworkPolicy;
use crate::runner::status::NodeStatus;
use crate::runner::NodeSpec;
use jobspec::{Engine, JobSpec, Network};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What `job` will start.
pub struct JobPlan {
    pub name: String,
    pub job_id: String,
    pub region: String,
    pub module: PathBuf,
    pub memory: Option<u64>,
    pub network: NetworkPolicy,
    pub nodes: Vec<NodeSpec>,
}

fn job_err(file: &Path, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Job, format!("{}: {e}", file.display()))
}

pub fn plan(
    file: &Path,
    vars: &[(String, String)],
    env_patterns: &[String],
    mounts: &[(String, PathBuf)],
    nodes_override: Option<u32>,
) -> Result<JobPlan, Error> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| job_err(file, format!("cannot read job file: {e}")))?;
    let host_env: Vec<(String, String)> = std::env::vars().collect();
    let values =
        jobspec::template_values(vars, env_patterns, &host_env).map_err(|e| job_err(file, e))?;
    let rendered = jobspec::render(&text, &values).map_err(|e| job_err(file, e))?;
    let spec = JobSpec::parse(&rendered).map_err(|e| job_err(file, e))?;
    spec.validate().map_err(|e| job_err(file, e))?;
    let region = spec
        .region()
        .ok_or_else(|| job_err(file, "the job has no region constraint (region = R)"))?;
    let task = spec
        .tasks
        .iter()
        .find(|t| matches!(t.engine, Engine::Wasm { .. }))
        .ok_or_else(|| job_err(file, "the job has no wasm task"))?;
    let Engine::Wasm {
        entry_module,
        entrypoint,
        parameters,
    } = &task.engine
    else {
        return Err(job_err(file, "the job has no wasm task"));
    };
    if entrypoint != "_start" {
        return Err(job_err(
            file,
            format!("entrypoint '{entrypoint}' is not supported (only _start)"),
        ));
    }
    let module = map_mount(entry_module, mounts).map(Ok).unwrap_or_else(|| {
        jobspec::resolve_module_path(task, None).map_err(|e| job_err(file, e))
    })?;
    if !module.is_file() {
        return Err(job_err(
            file,
            format!(
                "entryModule {entry_module} maps to {}, which does not exist \
                 (build it with scripts/build-wasm, or map the job path with --mount JOBPATH=DIR)",
                module.display()
            ),
        ));
    }
    let network = match &task.network {
        Network::None => NetworkPolicy::None,
        Network::Host => NetworkPolicy::Host,
        Network::Http { domains } => {
            NetworkPolicy::http(domains.clone()).map_err(|e| job_err(file, e))?
        }
        other => {
            return Err(job_err(
                file,
                format!("network {other:?} is not supported by the wasm executor"),
            ))
        }
    };
    let count = nodes_override.unwrap_or(spec.count);
    if count == 0 {
        return Err(job_err(file, "count is 0: nothing to run"));
    }
    let job_id = new_id("j");
    let mut nodes = Vec::new();
    for i in 0..count {
        let hostname = format!("edge-{region}-{i}");
        let execution_id = new_id("e");
        let node_env = [
            ("HOSTNAME".to_string(), hostname.clone()),
            ("REGION".to_string(), region.clone()),
        ];
        let mut env = bacalhau_env(&job_id, &execution_id, &spec.job_type, i, count);
        env.push(("REGION".into(), region.clone()));
        for (key, value) in &task.env {
            let value = resolve_env_value(value, &node_env, &host_env)
                .map_err(|e| job_err(file, format!("env {key}: {e}")))?;
            env.retain(|(k, _)| k != key);
            env.push((key.clone(), value));
        }
        let status = Arc::new(NodeStatus::new(&hostname, &region, &job_id, &execution_id));
        nodes.push(NodeSpec {
            args: parameters.clone(),
            env,
            status,
        });
    }
    Ok(JobPlan {
        name: spec.name.clone(),
        job_id,
        region,
        module,
        memory: task.memory_bytes,
        network,
        nodes,
    })
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

/// `env:NAME` pulls NAME from the node's environment, which for a simulated node is its
/// HOSTNAME and REGION plus the host's `AWS_*` variables (the original nodes' allow-list);
/// anything else is taken literally.
fn resolve_env_value(
    value: &str,
    node_env: &[(String, String)],
    host_env: &[(String, String)],
) -> Result<String, String> {
    let Some(name) = value.strip_prefix("env:") else {
        return Ok(value.to_string());
    };
    if let Some((_, v)) = node_env.iter().find(|(k, _)| k == name) {
        return Ok(v.clone());
    }
    if name.starts_with("AWS_") {
        if let Some((_, v)) = host_env.iter().find(|(k, _)| k == name) {
            return Ok(v.clone());
        }
    }
    Err(format!(
        "{value}: the node does not allow or does not have {name}"
    ))
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
    fn env_values_resolve_from_the_node() {
        let node = [("HOSTNAME".to_string(), "edge-us-3".to_string())];
        let host = [
            ("AWS_REGION".to_string(), "us-east-1".to_string()),
            ("SECRET".to_string(), "x".to_string()),
        ];
        assert_eq!(
            resolve_env_value("env:HOSTNAME", &node, &host),
            Ok("edge-us-3".into())
        );
        assert_eq!(
            resolve_env_value("env:AWS_REGION", &node, &host),
            Ok("us-east-1".into())
        );
        assert!(resolve_env_value("env:SECRET", &node, &host).is_err());
        assert_eq!(resolve_env_value("plain", &node, &host), Ok("plain".into()));
    }
}
