//! What Bacalhau's orchestrator would refuse, checked before anything runs, plus the two
//! questions a local runner asks of a job: which nodes match, and which region it targets.
use super::error::{Error, ErrorKind};
use super::model::{Constraint, Engine, JobSpec, Network, Task};
use std::path::{Component, Path};

const JOB_TYPES: [&str; 4] = ["batch", "ops", "daemon", "service"];
const OPERATORS: [&str; 8] = ["=", "==", "!=", "in", "notin", "exists", "gt", "lt"];

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Invalid, message)
}

impl JobSpec {
    /// Checks required fields, constraint operators and arity, engine params, that a wasm
    /// `entryModule` lies under an input source's target, network domains and ports.
    pub fn validate(&self) -> Result<(), Error> {
        if self.name.trim().is_empty() {
            return Err(invalid("missing job name"));
        }
        let job_type = self.job_type.to_ascii_lowercase();
        if !JOB_TYPES.contains(&job_type.as_str()) {
            return Err(invalid(format!(
                "job type {:?} is not one of batch, ops, daemon, service",
                self.job_type
            )));
        }
        if (job_type == "batch" || job_type == "service") && self.count == 0 {
            return Err(invalid(format!(
                "count must be at least 1 for a {job_type} job"
            )));
        }
        for c in &self.constraints {
            validate_constraint(c)?;
        }
        if self.tasks.is_empty() {
            return Err(invalid("a job needs at least one task"));
        }
        if self.tasks.len() > 1 {
            return Err(invalid("Bacalhau jobs have exactly one task"));
        }
        for task in &self.tasks {
            validate_task(task)
                .map_err(|e| invalid(format!("task {:?}: {}", task.name, e.message())))?;
        }
        Ok(())
    }

    /// The region a `region =`, `==` or single-valued `in` constraint selects, if exactly one.
    pub fn region(&self) -> Option<String> {
        self.constraints
            .iter()
            .filter(|c| c.key == "region")
            .find_map(|c| {
                match (
                    c.operator.to_ascii_lowercase().as_str(),
                    c.values.as_slice(),
                ) {
                    ("=" | "==" | "in", [one]) => Some(one.clone()),
                    _ => None,
                }
            })
    }
}

fn validate_constraint(c: &Constraint) -> Result<(), Error> {
    let op = c.operator.to_ascii_lowercase();
    let here = || format!("constraint {:?} {:?} {:?}", c.key, c.operator, c.values);
    if c.key.trim().is_empty() {
        return Err(invalid(format!("{}: missing key", here())));
    }
    if !OPERATORS.contains(&op.as_str()) {
        return Err(invalid(format!(
            "{}: unknown operator (known: {})",
            here(),
            OPERATORS.join(" ")
        )));
    }
    let arity_ok = match op.as_str() {
        "exists" => c.values.is_empty(),
        "=" | "==" | "!=" => c.values.len() == 1,
        "gt" | "lt" => c.values.len() == 1 && c.values[0].trim().parse::<f64>().is_ok(),
        _ => !c.values.is_empty(),
    };
    if !arity_ok {
        return Err(invalid(format!(
            "{}: wrong values for operator {op}",
            here()
        )));
    }
    Ok(())
}

fn validate_task(task: &Task) -> Result<(), Error> {
    if task.name.trim().is_empty() {
        return Err(invalid("missing task name"));
    }
    match &task.engine {
        Engine::Wasm {
            entry_module,
            entrypoint,
            ..
        } => {
            if entry_module.is_empty() {
                return Err(invalid("wasm engine needs params.entryModule"));
            }
            if entrypoint.is_empty() {
                return Err(invalid("wasm engine entrypoint is empty"));
            }
            let under_target = task
                .input_sources
                .iter()
                .any(|s| path_is_under(Path::new(entry_module), Path::new(&s.target)));
            if !under_target {
                return Err(invalid(format!(
                    "entryModule {entry_module:?} is not under any input source target"
                )));
            }
        }
        Engine::Docker { image, .. } => {
            if image.trim().is_empty() {
                return Err(invalid("docker engine needs params.image"));
            }
        }
        Engine::Other(t) => return Err(invalid(format!("unknown engine type {t:?}"))),
    }
    for (i, source) in task.input_sources.iter().enumerate() {
        if source.source_type.is_empty() {
            return Err(invalid(format!("input source {i}: missing source.type")));
        }
        if !source.target.starts_with('/') {
            return Err(invalid(format!(
                "input source {i}: target {:?} must be an absolute path",
                source.target
            )));
        }
        if source.source_type.eq_ignore_ascii_case("localDirectory") && source.source_path.is_none()
        {
            return Err(invalid(format!(
                "input source {i}: localDirectory needs sourcePath"
            )));
        }
    }
    if let (Some(bytes), true) = (task.memory_bytes, task.memory_bytes == Some(0)) {
        return Err(invalid(format!("resources.memory of {bytes} bytes")));
    }
    if let Some(cpu) = &task.cpu {
        if !cpu.trim().parse::<f64>().is_ok_and(|c| c > 0.0) && !cpu.ends_with('m') {
            return Err(invalid(format!(
                "resources.cpu {cpu:?} is not a positive number"
            )));
        }
    }
    match &task.network {
        Network::Http { domains } => {
            if domains.is_empty() {
                return Err(invalid("network type HTTP needs domains"));
            }
            for d in domains {
                let ip = d.parse::<std::net::IpAddr>().is_ok();
                if !ip && !d.contains('.') {
                    return Err(invalid(format!(
                        "network domain {d:?} must contain a dot or be an IP address"
                    )));
                }
            }
        }
        Network::Other(t) => return Err(invalid(format!("unknown network type {t:?}"))),
        _ => {}
    }
    let mut names: Vec<&str> = Vec::new();
    for port in &task.ports {
        if port.name.is_empty() {
            return Err(invalid("a network port needs a name"));
        }
        if names.contains(&port.name.as_str()) {
            return Err(invalid(format!("duplicate port name {:?}", port.name)));
        }
        if port.static_port == Some(0) || port.target == Some(0) {
            return Err(invalid(format!("port {:?}: 0 is not a port", port.name)));
        }
        names.push(&port.name);
    }
    Ok(())
}

/// True if `path` is `dir` or inside it, comparing whole components (so /app/mod is not
/// under /app/m).
pub(crate) fn path_is_under(path: &Path, dir: &Path) -> bool {
    let clean = |p: &Path| -> Vec<String> {
        p.components()
            .filter(|c| !matches!(c, Component::CurDir))
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect()
    };
    let (p, d) = (clean(path), clean(dir));
    if p.iter().any(|c| c == "..") {
        return false;
    }
    p.len() >= d.len() && p[..d.len()] == d[..]
}

impl Constraint {
    /// Kubernetes label-selector semantics: `!=` and `notin` also match a node without the
    /// label; `gt`/`lt` compare numbers.
    pub fn matches(&self, node_labels: &[(String, String)]) -> bool {
        let value = node_labels
            .iter()
            .find(|(k, _)| *k == self.key)
            .map(|(_, v)| v.as_str());
        let first = self.values.first().map(String::as_str);
        let number = |s: &str| s.trim().parse::<f64>().ok();
        match self.operator.to_ascii_lowercase().as_str() {
            "=" | "==" => value.is_some() && value == first,
            "!=" => value.is_none() || value != first,
            "in" => value.is_some_and(|v| self.values.iter().any(|x| x == v)),
            "notin" => value.is_none_or(|v| !self.values.iter().any(|x| x == v)),
            "exists" => value.is_some(),
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
            "name: j\ntype: batch\ncount: 2\nconstraints:\n  - key: region\n    operator: \"=\"\n    values: [eu]\ntasks:\n  - name: t\n    engine:\n      type: wasm\n      params:\n        entryModule: /app/modules/p.wasm\n    inputSources:\n      - source:\n          type: localDirectory\n          params:\n            sourcePath: /app/modules\n        target: /app/modules\n{extra}"
        )
    }

    #[test]
    fn a_good_job_validates_and_knows_its_region() {
        let spec = JobSpec::parse(&job("")).unwrap();
        spec.validate().unwrap();
        assert_eq!(spec.region().as_deref(), Some("eu"));
    }

    #[test]
    fn entry_module_must_lie_under_an_input_target() {
        let spec =
            JobSpec::parse(&job("").replace("target: /app/modules", "target: /app/mod")).unwrap();
        let e = spec.validate().unwrap_err();
        assert!(
            e.to_string().contains("not under any input source target"),
            "{e}"
        );
    }

    #[test]
    fn bad_type_count_operator_and_network_are_refused() {
        let cases = [
            job("").replace("type: batch", "type: cron"),
            job("").replace("count: 2", "count: 0"),
            job("").replace("operator: \"=\"", "operator: \"~\""),
            job("").replace("values: [eu]", "values: [eu, us]"),
            job("").replace("name: j\n", ""),
            job("    network:\n      type: HTTP\n      domains: [localhost]\n"),
            job("    network:\n      type: Wormhole\n"),
        ];
        for (i, c) in cases.iter().enumerate() {
            let spec = JobSpec::parse(c).unwrap();
            assert!(spec.validate().is_err(), "case {i} should be invalid");
        }
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
        assert!(c("cores", "gt", &["2"]).matches(&labels));
        assert!(!c("cores", "lt", &["2"]).matches(&labels));
    }

    #[test]
    fn path_under_compares_components() {
        assert!(path_is_under(
            Path::new("/app/modules/p.wasm"),
            Path::new("/app/")
        ));
        assert!(path_is_under(
            Path::new("/app/modules/p.wasm"),
            Path::new("/app/modules")
        ));
        assert!(!path_is_under(
            Path::new("/app/modules/p.wasm"),
            Path::new("/app/mod")
        ));
        assert!(!path_is_under(
            Path::new("/app/../etc/p"),
            Path::new("/app")
        ));
    }
}
