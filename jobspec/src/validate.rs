//! What Bacalhau would refuse, checked before anything runs: `Job.ValidateSubmission`
//! (pkg/models/job.go, task.go, network.go, selector.go, env_var.go at v1.7.0), the wasm engine
//! params (pkg/executor/wasm/models/types.go), the compute node's local-path allow-list
//! (pkg/storage/local_directory/storage.go), and the rules that changed between versions.
//! Every problem is collected with its field path; nothing stops at the first.
use super::error::{Error, ErrorKind};
use super::model::{Constraint, Engine, JobSpec, Network, Port, Task};
use super::paths::{path_is_under, AllowedPath};
use super::problem::{self, Problem};
use super::version::BacalhauVersion;
use std::path::Path;

const JOB_TYPES: [&str; 4] = ["batch", "ops", "daemon", "service"];
/// k8s.io/apimachinery selection operators, case-sensitive.
const OPERATORS: [&str; 9] = ["=", "==", "!=", "in", "notin", "exists", "!", "gt", "lt"];

/// What the checking node is like, beyond the job itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOptions {
    pub version: BacalhauVersion,
    /// The compute node's `Compute.AllowListedLocalPaths`; `None` skips that check.
    pub allowed_local_paths: Option<Vec<AllowedPath>>,
}

impl Default for CheckOptions {
    fn default() -> CheckOptions {
        CheckOptions {
            version: BacalhauVersion::V1_7,
            allowed_local_paths: None,
        }
    }
}

struct Check<'a> {
    opts: &'a CheckOptions,
    problems: Vec<Problem>,
}

impl Check<'_> {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(path, None, message));
    }
}

impl JobSpec {
    /// Checks the job as a v1.7 cluster would; every problem joined into one error.
    pub fn validate(&self) -> Result<(), Error> {
        let problems = self.check(&CheckOptions::default());
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::new(ErrorKind::Invalid, problem::join(&problems)))
        }
    }

    /// Every problem a cluster of `opts.version` would find, with field paths.
    pub fn check(&self, opts: &CheckOptions) -> Vec<Problem> {
        let mut c = Check {
            opts,
            problems: Vec::new(),
        };
        job_fields(self, &mut c);
        for (i, constraint) in self.constraints.iter().enumerate() {
            check_constraint(constraint, &format!("Constraints[{i}]"), &mut c);
        }
        for (i, task) in self.tasks.iter().enumerate() {
            check_task(task, &format!("Tasks[{i}]"), &mut c);
        }
        c.problems
    }

    /// The count Bacalhau schedules: the written count, 1 for batch/service when absent, and
    /// always 0 for daemon/ops (Job.Normalize, pkg/models/job.go).
    pub fn effective_count(&self) -> i64 {
        match self.job_type.as_str() {
            "daemon" | "ops" => 0,
            _ => self.count.unwrap_or(1),
        }
    }

    /// The Task's queue timeout in seconds.
    pub fn queue_timeout(&self) -> i64 {
        self.tasks.first().map_or(0, |t| t.queue_timeout)
    }
}

fn job_fields(job: &JobSpec, c: &mut Check) {
    // No name is not a problem: the orchestrator names the job after its ID (Job.Normalize).
    match job.job_type.as_str() {
        "" => c.add("Type", "missing job type"),
        t if !JOB_TYPES.contains(&t) => c.add("Type", format!("invalid job type: {t:?}")),
        _ => {}
    }
    let count = job.count.unwrap_or(0);
    if count < 0 {
        c.add("Count", "job count must be >= 0");
    }
    if count > 1 && matches!(job.job_type.as_str(), "daemon" | "ops") {
        c.add(
            "Count",
            format!(
                "{} jobs cannot specify count > 1 as they run on all matching nodes",
                job.job_type
            ),
        );
    }
    // More than one task is validated (the CLI's ValidateSubmission), then accepted with a
    // warning and all but the first dropped (Job.SanitizeSubmission).
    if job.tasks.is_empty() {
        c.add("Tasks", "missing job tasks");
    }
}

/// LabelSelectorRequirement.Validate (pkg/models/selector.go) plus what
/// labels.NewRequirement refuses when the orchestrator matches nodes.
fn check_constraint(con: &Constraint, path: &str, c: &mut Check) {
    if con.key.trim().is_empty() {
        c.add(format!("{path}.Key"), "selector key cannot be blank");
    }
    let op = con.operator.as_str();
    if !OPERATORS.contains(&op) {
        c.add(
            format!("{path}.Operator"),
            format!(
                "operator {op:?} is not recognized (one of: {})",
                OPERATORS.join(" ")
            ),
        );
        return;
    }
    let values = format!("{path}.Values");
    match op {
        "in" | "notin" if con.values.is_empty() => c.add(
            values,
            "selector values cannot be empty for In or NotIn operators",
        ),
        "exists" | "!" if !con.values.is_empty() => c.add(
            values,
            "selector values must be empty for Exists or KeyNotInImap operators",
        ),
        "=" | "==" | "!=" | "gt" | "lt" if con.values.len() != 1 => c.add(
            values,
            "selector values must have exactly one value for other operators",
        ),
        "gt" | "lt" if con.values[0].trim().parse::<i64>().is_err() => c.add(
            values,
            format!(
                "for 'gt', 'lt' operators, the value must be an integer, got {:?}",
                con.values[0]
            ),
        ),
        _ => {}
    }
}

fn check_task(task: &Task, path: &str, c: &mut Check) {
    if task.name.trim().is_empty() {
        c.add(format!("{path}.Name"), "missing task name");
    }
    check_env(task, path, c);
    check_engine(task, path, c);
    check_inputs(task, path, c);
    check_resources(task, path, c);
    check_network(task, path, c);
    let t = &task;
    for (name, value) in [
        ("QueueTimeout", t.queue_timeout),
        ("ExecutionTimeout", t.execution_timeout),
    ] {
        if value < 0 {
            c.add(
                format!("{path}.Timeouts.{name}"),
                format!("invalid timeout value: {value}s"),
            );
        }
    }
}

/// ValidateEnvVars (pkg/models/env_var.go, from v1.6.4).
fn check_env(task: &Task, path: &str, c: &mut Check) {
    for (name, value) in &task.env {
        let at = format!("{path}.Env.{name}");
        let first_letter = name.chars().next().is_some_and(char::is_alphabetic);
        if name.is_empty() {
            c.add(at, "environment variable name cannot be empty");
        } else if *name != name.to_uppercase() {
            c.add(
                at,
                format!("environment variable '{name}' must be uppercase"),
            );
        } else if !first_letter {
            c.add(
                at,
                format!("environment variable '{name}' must start with a letter"),
            );
        } else if !name.chars().all(|ch| ch.is_alphanumeric() || ch == '_') {
            c.add(
                at,
                format!("environment variable '{name}' can only contain letters, numbers, and underscores"),
            );
        } else if name.starts_with("BACALHAU_") {
            c.add(
                at,
                format!("environment variable '{name}' cannot start with BACALHAU_"),
            );
        } else if value.is_empty() {
            c.add(
                at,
                format!("environment variable '{name}' cannot have empty value"),
            );
        } else if value.starts_with("env:") && c.opts.version < BacalhauVersion::V1_6_4 {
            c.add(
                at,
                format!("{value:?} is passed literally before v1.6.4 (env: references came with pkg/compute/env)"),
            );
        }
    }
}

fn check_engine(task: &Task, path: &str, c: &mut Check) {
    let params = format!("{path}.Engine.Params");
    match &task.engine {
        Engine::Wasm {
            entry_module,
            entrypoint,
            ..
        } => {
            if entry_module.is_empty() {
                c.add(
                    format!("{params}.EntryModule"),
                    "invalid wasm engine entry module. target path cannot be empty",
                );
            } else if !task
                .input_sources
                .iter()
                .any(|s| path_is_under(Path::new(entry_module), Path::new(&s.target)))
            {
                c.add(
                    format!("{params}.EntryModule"),
                    format!("{entry_module:?} is not under any input source target"),
                );
            }
            if entrypoint.is_empty() {
                c.add(
                    format!("{params}.Entrypoint"),
                    "missing: every execution fails with \"unable to find the entrypoint '' in the WASM module\" (set Entrypoint: _start)",
                );
            }
            // Before v1.7 an absent network is None too, and no version had the import.
            if c.opts.version < BacalhauVersion::V1_7 && task.network != Network::None {
                c.add(
                    format!("{path}.Network.Type"),
                    "wasm jobs get no wasi:http/requests http_request before v1.7.0 (pkg/executor/wasm/funcs/http)",
                );
            }
        }
        Engine::Docker { image, .. } => {
            if image.trim().is_empty() {
                c.add(
                    format!("{params}.Image"),
                    "invalid docker engine param: image cannot be empty",
                );
            }
        }
        Engine::Other(t) if t.is_empty() => {
            c.add(format!("{path}.Engine.Type"), "missing engine type")
        }
        Engine::Other(t) => c.add(
            format!("{path}.Engine.Type"),
            format!("unknown engine type {t:?}"),
        ),
    }
}

fn check_inputs(task: &Task, path: &str, c: &mut Check) {
    let mut targets: Vec<&str> = Vec::new();
    for (i, source) in task.input_sources.iter().enumerate() {
        let at = format!("{path}.InputSources[{i}]");
        if source.source_type.is_empty() {
            c.add(format!("{at}.Source.Type"), "missing source type");
        }
        if !source.target.starts_with('/') {
            c.add(
                format!("{at}.Target"),
                format!("{:?} must be an absolute path", source.target),
            );
        }
        if targets.contains(&source.target.as_str()) {
            c.add(
                format!("{at}.Target"),
                format!(
                    "input source with target '{}' already exists",
                    source.target
                ),
            );
        }
        targets.push(&source.target);
        if !source.source_type.eq_ignore_ascii_case("localDirectory") {
            continue;
        }
        let Some(source_path) = &source.source_path else {
            c.add(
                format!("{at}.Source.Params.SourcePath"),
                "localDirectory needs SourcePath",
            );
            continue;
        };
        if let Some(allowed) = &c.opts.allowed_local_paths {
            if !allowed
                .iter()
                .any(|a| a.allows(source_path, source.read_write))
            {
                let mode = if source.read_write {
                    "read-write"
                } else {
                    "read-only"
                };
                c.add(
                    format!("{at}.Source.Params.SourcePath"),
                    format!("{source_path} ({mode}) is not in the node's allowed local paths (volume not in allowed paths)"),
                );
            }
        }
    }
}

fn check_resources(task: &Task, path: &str, c: &mut Check) {
    if task.memory_bytes == Some(0) {
        c.add(
            format!("{path}.Resources.Memory"),
            "memory must be positive",
        );
    }
    if let Some(cpu) = &task.cpu {
        let millis = cpu
            .strip_suffix('m')
            .and_then(|m| m.trim().parse::<f64>().ok());
        if !cpu.trim().parse::<f64>().is_ok_and(|v| v > 0.0) && !millis.is_some_and(|v| v > 0.0) {
            c.add(
                format!("{path}.Resources.CPU"),
                format!("{cpu:?} is not a positive number"),
            );
        }
    }
}

/// The network types each version knows (pkg/models/network.go: v1.5.0/v1.6.0 None, Full,
/// HTTP; v1.6.4 None, Host, HTTP, Bridge; v1.7.0 Default, None, Host, Full, HTTP, Bridge).
fn known_network(network: &Network, version: BacalhauVersion) -> Option<&'static str> {
    use BacalhauVersion::*;
    let (name, ok) = match network {
        Network::Default => ("Default", version >= V1_7),
        Network::None => ("None", true),
        Network::Host => ("Host", version >= V1_6_4),
        Network::Full => ("Full", version != V1_6_4),
        Network::Http { .. } => ("HTTP", true),
        Network::Bridge => ("Bridge", version >= V1_6_4),
        Network::Other(_) => ("", false),
    };
    // An absent type is the zero value, which every version accepts.
    (!ok && *network != Network::Default).then_some(name)
}

fn check_network(task: &Task, path: &str, c: &mut Check) {
    let at = format!("{path}.Network");
    match &task.network {
        Network::Other(t) => c.add(
            format!("{at}.Type"),
            format!("models.Network: unknown type '{t}'"),
        ),
        n => {
            if let Some(name) = known_network(n, c.opts.version) {
                c.add(
                    format!("{at}.Type"),
                    format!(
                        "models.Network: unknown type '{name}' in Bacalhau {}",
                        c.opts.version
                    ),
                );
            }
        }
    }
    if let Network::Http { domains } = &task.network {
        for d in domains {
            let ip = d.parse::<std::net::IpAddr>().is_ok();
            if !ip && !looks_like_domain(d) {
                c.add(format!("{at}.Domains"), format!("invalid domain {d:?}"));
            }
        }
    }
    check_ports(&task.ports, &task.network, &at, c);
}

/// Network.go's domainRegex `\b([a-z0-9]+(-[a-z0-9]+)*\.)+[a-z]{2,}\b`, unanchored: some
/// dotted run of labels ending in two or more letters.
fn looks_like_domain(d: &str) -> bool {
    let lower = d.to_ascii_lowercase();
    let labels: Vec<&str> = lower.split('.').collect();
    labels.len() >= 2
        && labels.last().is_some_and(|tld| {
            tld.len() >= 2 && tld.chars().take_while(char::is_ascii_lowercase).count() >= 2
        })
        && labels[labels.len() - 2]
            .chars()
            .last()
            .is_some_and(|ch| ch.is_ascii_alphanumeric())
}

fn check_ports(ports: &[Port], network: &Network, at: &str, c: &mut Check) {
    if ports.is_empty() {
        return;
    }
    if !matches!(network, Network::Host | Network::Full | Network::Bridge) {
        c.add(
            format!("{at}.Ports"),
            "ports can only be set for Host or Bridge network modes",
        );
        return;
    }
    let mut names: Vec<&str> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let p = format!("{at}.Ports[{i}]");
        if port.name.is_empty() {
            c.add(format!("{p}.Name"), "port mapping name is required");
        } else if names.contains(&port.name.as_str()) {
            c.add(
                format!("{p}.Name"),
                format!("duplicate port mapping name {:?}", port.name),
            );
        }
        names.push(&port.name);
        for (field, value) in [("Static", port.static_port), ("Target", port.target)] {
            if value.is_some_and(|v| !(1..=65535).contains(&v)) {
                c.add(format!("{p}.{field}"), "port must be between 1 and 65535");
            }
        }
        if matches!(network, Network::Host | Network::Full) && port.target.is_some_and(|t| t != 0) {
            c.add(
                format!("{p}.Target"),
                "target ports cannot be set for Host network mode",
            );
        }
    }
}

impl Constraint {
    /// Kubernetes label-selector semantics (k8s.io/apimachinery labels.Requirement.Matches):
    /// `!=` and `notin` also match a node without the label, `!` only such a node; `gt`/`lt`
    /// compare integers; operators are case-sensitive, an unknown one matches nothing.
    pub fn matches(&self, node_labels: &[(String, String)]) -> bool {
        let value = node_labels
            .iter()
            .find(|(k, _)| *k == self.key)
            .map(|(_, v)| v.as_str());
        let first = self.values.first().map(String::as_str);
        let number = |s: &str| s.trim().parse::<i64>().ok();
        match self.operator.as_str() {
            "=" | "==" => value.is_some() && value == first,
            "!=" => value.is_none() || value != first,
            "in" => value.is_some_and(|v| self.values.iter().any(|x| x == v)),
            "notin" => value.is_none_or(|v| !self.values.iter().any(|x| x == v)),
            "exists" => value.is_some(),
            "!" => value.is_none(),
            op @ ("gt" | "lt") => match (value.and_then(number), first.and_then(number)) {
                (Some(v), Some(limit)) => {
                    if op == "gt" {
                        v > limit
                    } else {
                        v < limit
                    }
                }
                _ => false,
            },
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(extra: &str) -> String {
        format!(
            "name: j\ntype: batch\ncount: 2\nconstraints:\n  - key: region\n    operator: \"=\"\n    values: [eu]\ntasks:\n  - name: t\n    engine:\n      type: wasm\n      params:\n        entryModule: /app/modules/p.wasm\n        entrypoint: _start\n    inputSources:\n      - source:\n          type: localDirectory\n          params:\n            sourcePath: /app/modules\n        target: /app/modules\n{extra}"
        )
    }

    fn problems(src: &str, version: &str) -> Vec<String> {
        let opts = CheckOptions {
            version: BacalhauVersion::parse(version).unwrap(),
            allowed_local_paths: None,
        };
        JobSpec::parse(src)
            .unwrap()
            .check(&opts)
            .iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect()
    }

    #[test]
    fn a_good_job_validates() {
        JobSpec::parse(&job("")).unwrap().validate().unwrap();
        assert_eq!(JobSpec::parse(&job("")).unwrap().effective_count(), 2);
        // Job.Normalize: a nameless job is named after its ID; daemon/ops count is 0.
        assert!(problems(&job("").replace("name: j\n", ""), "1.7").is_empty());
        let daemon = job("")
            .replace("type: batch", "type: daemon")
            .replace("count: 2", "count: 1");
        assert_eq!(JobSpec::parse(&daemon).unwrap().effective_count(), 0);
    }

    #[test]
    fn entry_module_must_lie_under_an_input_target() {
        let p = problems(
            &job("").replace("target: /app/modules", "target: /app/mod"),
            "1.7",
        );
        assert_eq!(
            p,
            ["Tasks[0].Engine.Params.EntryModule: \"/app/modules/p.wasm\" is not under any input source target"]
        );
    }

    #[test]
    fn a_missing_entrypoint_is_a_problem_not_a_default() {
        // pkg/executor/wasm/handler.go at v1.7.0: verifyEntryPoint fails with this wording.
        let p = problems(&job("").replace("        entrypoint: _start\n", ""), "1.7");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("Tasks[0].Engine.Params.Entrypoint: "),
            "{p:?}"
        );
        assert!(p[0].contains("unable to find the entrypoint '' in the WASM module"));
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let src = job("    env:\n      lower: x\n      BACALHAU_X: z\n    network:\n      type: HTTP\n      domains: [localhost]\n")
            .replace("type: batch", "type: Batch")
            .replace("operator: \"=\"", "operator: \"~\"");
        let p = problems(&src, "1.7");
        let paths: Vec<&str> = p.iter().map(|s| s.split(": ").next().unwrap()).collect();
        assert_eq!(
            paths,
            [
                "Type",
                "Constraints[0].Operator",
                "Tasks[0].Env.lower",
                "Tasks[0].Env.BACALHAU_X",
                "Tasks[0].Network.Domains"
            ],
            "{p:#?}"
        );
        assert!(
            p[0].contains("invalid job type: \"Batch\""),
            "job types are case-sensitive"
        );
    }

    #[test]
    fn input_targets_are_unique_and_timeouts_non_negative() {
        // pkg/models/task.go (input source targets) and timeout.go ValidateSubmission.
        let twice = job("").replace(
            "        target: /app/modules\n",
            "        target: /app/modules\n      - source:\n          type: localDirectory\n          params:\n            sourcePath: /srv\n        target: /app/modules\n",
        );
        assert_eq!(
            problems(&twice, "1.7"),
            ["Tasks[0].InputSources[1].Target: input source with target '/app/modules' already exists"]
        );
        let p = problems(&job("    timeouts:\n      queueTimeout: -5\n"), "1.7");
        assert_eq!(
            p,
            ["Tasks[0].Timeouts.QueueTimeout: invalid timeout value: -5s"]
        );
    }

    #[test]
    fn every_task_is_validated_and_more_than_one_is_allowed() {
        // ValidateSubmission checks every task; Job.SanitizeSubmission then keeps Tasks[:1].
        let two = job("  - name: second\n    engine:\n      type: docker\n      params:\n        image: x:1\n");
        assert!(problems(&two, "1.7").is_empty());
        let bad = job("  - name: second\n    engine:\n      type: Wormhole\n");
        assert_eq!(
            problems(&bad, "1.7"),
            ["Tasks[1].Engine.Type: unknown engine type \"Wormhole\""]
        );
        let none = "name: j\ntype: batch\n";
        assert_eq!(problems(none, "1.7"), ["Tasks: missing job tasks"]);
    }

    #[test]
    fn counts_for_daemon_and_ops_and_negative() {
        let p = problems(&job("").replace("type: batch", "type: daemon"), "1.7");
        assert_eq!(
            p,
            ["Count: daemon jobs cannot specify count > 1 as they run on all matching nodes"]
        );
        let p = problems(&job("").replace("count: 2", "count: -1"), "1.7");
        assert_eq!(p, ["Count: job count must be >= 0"]);
    }

    #[test]
    fn constraint_arity_follows_selector_validate() {
        for (op, values, want) in [
            ("in", "[]", "cannot be empty for In or NotIn"),
            ("exists", "[eu]", "must be empty for Exists"),
            ("=", "[eu, us]", "exactly one value"),
            ("gt", "[many]", "must be an integer"),
        ] {
            let src = job("")
                .replace("operator: \"=\"", &format!("operator: \"{op}\""))
                .replace("values: [eu]", &format!("values: {values}"));
            let p = problems(&src, "1.7");
            assert!(p.len() == 1 && p[0].contains(want), "{op} {values}: {p:?}");
        }
    }

    #[test]
    fn network_types_depend_on_the_version() {
        let host = job("    network:\n      type: Host\n");
        assert!(problems(&host, "1.7").is_empty());
        let p = problems(&host, "1.6.4");
        assert!(
            p.len() == 1 && p[0].contains("no wasi:http/requests"),
            "{p:?}"
        );
        let p = problems(&host, "1.6");
        assert!(p.iter().any(|s| s.contains("unknown type 'Host'")), "{p:?}");
        let full = job("    network:\n      type: Full\n");
        assert!(problems(&full, "1.6.4")
            .iter()
            .any(|s| s.contains("unknown type 'Full'")));
        let p = problems(&job("    network:\n      type: Wormhole\n"), "1.7");
        assert_eq!(
            p,
            ["Tasks[0].Network.Type: models.Network: unknown type 'Wormhole'"]
        );
    }

    #[test]
    fn wasm_http_and_env_references_depend_on_the_version() {
        let src = job("    env:\n      HOSTNAME: env:HOSTNAME\n    network:\n      type: HTTP\n      domains: [example.com]\n");
        assert!(problems(&src, "1.7").is_empty());
        let p = problems(&job(""), "1.6");
        assert!(
            p.len() == 1 && p[0].contains("no wasi:http/requests"),
            "{p:?}"
        );
        assert!(problems(&job("    network:\n      type: None\n"), "1.5").is_empty());
        let p = problems(&src, "1.6.4");
        assert!(
            p.len() == 1 && p[0].contains("no wasi:http/requests"),
            "{p:?}"
        );
        let p = problems(&src, "1.5");
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("passed literally before v1.6.4"), "{p:?}");
    }

    #[test]
    fn ports_follow_network_go() {
        let p = problems(&job("    network:\n      type: Host\n      ports:\n        - name: http\n          target: 80\n        - name: http\n"), "1.7");
        assert_eq!(
            p,
            [
                "Tasks[0].Network.Ports[0].Target: target ports cannot be set for Host network mode",
                "Tasks[0].Network.Ports[1].Name: duplicate port mapping name \"http\""
            ]
        );
        let p = problems(
            &job("    network:\n      type: None\n      ports:\n        - name: http\n"),
            "1.7",
        );
        assert_eq!(
            p,
            ["Tasks[0].Network.Ports: ports can only be set for Host or Bridge network modes"]
        );
    }

    #[test]
    fn local_directories_must_be_allow_listed() {
        let spec = JobSpec::parse(&job("")).unwrap();
        let with = |paths: &[&str]| CheckOptions {
            version: BacalhauVersion::V1_7,
            allowed_local_paths: Some(paths.iter().map(|p| AllowedPath::parse(p)).collect()),
        };
        assert!(spec.check(&with(&["/app/**"])).is_empty());
        let p = spec.check(&with(&["/srv/**:rw"]));
        assert_eq!(
            p[0].path,
            "Tasks[0].InputSources[0].Source.Params.SourcePath"
        );
        let rw = JobSpec::parse(&job("").replace(
            "sourcePath: /app/modules",
            "sourcePath: /app/modules\n            readWrite: true",
        ))
        .unwrap();
        assert_eq!(
            rw.check(&with(&["/app/**:ro"])).len(),
            1,
            "read-write needs :rw"
        );
        assert!(rw.check(&with(&["/app/**:rw"])).is_empty());
    }

    #[test]
    fn constraint_matching_follows_label_selectors() {
        let labels = vec![
            ("region".to_string(), "us".to_string()),
            ("cores".into(), "4".into()),
        ];
        let c = |k: &str, op: &str, v: &[&str]| Constraint {
            key: k.into(),
            operator: op.into(),
            values: v.iter().map(|s| s.to_string()).collect(),
        };
        assert!(c("region", "=", &["us"]).matches(&labels));
        assert!(!c("region", "==", &["eu"]).matches(&labels));
        assert!(c("region", "!=", &["eu"]).matches(&labels));
        assert!(c("type", "!=", &["edge"]).matches(&labels));
        assert!(c("region", "in", &["eu", "us"]).matches(&labels));
        assert!(c("type", "notin", &["edge"]).matches(&labels));
        assert!(c("region", "exists", &[]).matches(&labels));
        assert!(!c("type", "exists", &[]).matches(&labels));
        assert!(c("type", "!", &[]).matches(&labels));
        assert!(!c("region", "!", &[]).matches(&labels));
        assert!(c("cores", "gt", &["2"]).matches(&labels));
        assert!(!c("cores", "lt", &["2"]).matches(&labels));
        assert!(
            !c("region", "IN", &["us"]).matches(&labels),
            "operators are case-sensitive"
        );
    }
}
