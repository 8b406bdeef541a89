//! The environment a guest gets, built as a Bacalhau v1.7 compute node builds it
//! (pkg/compute/envvars.go `GetExecutionEnvVars`, pkg/compute/env/ at v1.7.0): the task's
//! `Env`, with `env:NAME` values resolved from the node's own environment when the node's
//! `Compute.Env.AllowList` allows NAME, then the `BACALHAU_*` variables, which win. Nothing
//! else: no REGION, no HOSTNAME unless the task asks for it.
use jobspec::Port;

/// Where a task's `env:` references are looked up: the node's own variables, and the
/// allow-list patterns (Go regexes matched unanchored, as `regexp.MatchString`).
pub struct NodeEnv<'a> {
    pub vars: &'a [(String, String)],
    pub allow_list: &'a [String],
}

impl NodeEnv<'_> {
    fn allowed(&self, name: &str) -> bool {
        self.allow_list.iter().any(|pattern| {
            let one = [(name.to_string(), String::new())];
            jobspec::template_values(&[], Some(pattern), &one).is_ok_and(|m| !m.is_empty())
        })
    }

    /// The bid check (pkg/bidstrategy/semantic/env_resolver.go): a node refuses a job whose
    /// `env:` references its allow-list does not allow.
    pub fn refusal(&self, env: &[(String, String)]) -> Option<String> {
        env.iter().find_map(|(key, value)| {
            let name = value.strip_prefix("env:")?;
            (!self.allowed(name)).then(|| {
                format!(
                    "resolve environment variable {key}: environment variable '{name}' is not in allowed patterns"
                )
            })
        })
    }

    /// Resolves one task value; an allowed but unset name fails the execution.
    fn resolve(&self, value: &str) -> Result<String, String> {
        let Some(name) = value.strip_prefix("env:") else {
            return Ok(value.to_string());
        };
        if !self.allowed(name) {
            return Err(format!(
                "environment variable '{name}' is not in allowed patterns"
            ));
        }
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("required environment variable '{name}' not found"))
    }
}

/// What identifies one execution to its guest.
pub struct Execution<'a> {
    pub job_id: &'a str,
    pub execution_id: &'a str,
    pub job_type: &'a str,
    pub partition_index: u32,
    /// The job's `Count` (0 for daemon and ops jobs, as Bacalhau reports it).
    pub partition_count: i64,
}

/// The `BACALHAU_*` variables of one execution, including declared ports.
pub fn bacalhau_env(exec: &Execution, ports: &[Port]) -> Vec<(String, String)> {
    let mut env = vec![
        ("BACALHAU_JOB_ID".into(), exec.job_id.into()),
        ("BACALHAU_EXECUTION_ID".into(), exec.execution_id.into()),
        ("BACALHAU_JOB_TYPE".into(), exec.job_type.into()),
        (
            "BACALHAU_PARTITION_INDEX".into(),
            exec.partition_index.to_string(),
        ),
        (
            "BACALHAU_PARTITION_COUNT".into(),
            exec.partition_count.to_string(),
        ),
    ];
    for port in ports {
        if let Some(p) = port.static_port.filter(|p| *p > 0) {
            env.push((format!("BACALHAU_HOST_PORT_{}", port.name), p.to_string()));
        }
        if let Some(p) = port.target.filter(|p| *p > 0) {
            env.push((format!("BACALHAU_PORT_{}", port.name), p.to_string()));
        }
    }
    env
}

/// The task env resolved on `node`, then the system variables over it.
pub fn execution_env(
    task_env: &[(String, String)],
    node: &NodeEnv,
    system: Vec<(String, String)>,
) -> Result<Vec<(String, String)>, String> {
    let mut env = Vec::with_capacity(task_env.len() + system.len());
    for (key, value) in task_env {
        let value = node.resolve(value).map_err(|e| {
            format!("failed to resolve environment variables: failed to resolve task environment variables: {e}")
        })?;
        env.push((key.clone(), value));
    }
    merge(&mut env, &system);
    Ok(env)
}

/// Adds `extra` to `env`, a later key replacing an earlier one.
pub fn merge(env: &mut Vec<(String, String)>, extra: &[(String, String)]) {
    for (k, v) in extra {
        env.retain(|(ek, _)| ek != k);
        env.push((k.clone(), v.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn env_references_need_the_allow_list_and_a_value() {
        let vars = pairs(&[("HOSTNAME", "edge-us-3"), ("SECRET", "x")]);
        let allow = vec!["HOSTNAME".to_string(), "AWS_*".to_string()];
        let node = NodeEnv {
            vars: &vars,
            allow_list: &allow,
        };
        assert_eq!(node.resolve("env:HOSTNAME"), Ok("edge-us-3".into()));
        assert_eq!(node.resolve("plain"), Ok("plain".into()));
        assert_eq!(
            node.resolve("other:prefix"),
            Ok("other:prefix".into()),
            "unknown prefix is literal"
        );
        assert!(node
            .resolve("env:SECRET")
            .unwrap_err()
            .contains("not in allowed patterns"));
        // "AWS_*" is a Go regex, unanchored: it allows any name containing "AWS".
        assert!(node
            .resolve("env:AWS_REGION")
            .unwrap_err()
            .contains("not found"));
        assert!(node.refusal(&pairs(&[("S", "env:SECRET")])).is_some());
        assert!(node.refusal(&pairs(&[("H", "env:HOSTNAME")])).is_none());
    }

    #[test]
    fn system_variables_win_and_ports_are_announced() {
        let exec = Execution {
            job_id: "j",
            execution_id: "e",
            job_type: "service",
            partition_index: 0,
            partition_count: 1,
        };
        let ports = [Port {
            name: "http".into(),
            static_port: Some(8080),
            target: None,
        }];
        let system = bacalhau_env(&exec, &ports);
        let node = NodeEnv {
            vars: &[],
            allow_list: &[],
        };
        let env = execution_env(
            &pairs(&[("BACALHAU_JOB_ID", "mine"), ("A", "1")]),
            &node,
            system,
        )
        .unwrap();
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("BACALHAU_JOB_ID"), Some("j"));
        assert_eq!(get("BACALHAU_HOST_PORT_http"), Some("8080"));
        assert_eq!(get("A"), Some("1"));
        assert_eq!(get("REGION"), None);
    }
}
