//! The job model and its reading from parsed YAML, as `bacalhau job run` reads it
//! (pkg/lib/marshaller/utils.go `UnmarshalJob` at v1.7.0): the YAML becomes JSON and is decoded
//! by Go's `encoding/json`, so keys match case-insensitively (`Tasks`, `tasks`, `TASKS`), an
//! unknown or system-only TOP-LEVEL key is an error, unknown nested keys are ignored, and a
//! value of the wrong JSON type (a plain `3` where a string is expected, `"3"` where a number
//! is) is an error naming the field. Every such problem is collected, not just the first.
use super::error::{Error, ErrorKind};
use super::memory::parse_memory;
use super::problem::{self, Problem};
use super::yaml::{self, Node, Yaml};

/// A parsed job spec.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    pub name: String,
    /// batch | ops | daemon | service, case-sensitive as Bacalhau compares it.
    pub job_type: String,
    /// As written; `None` when absent (Bacalhau: 1 for batch/service, 0 for daemon/ops).
    pub count: Option<i64>,
    pub constraints: Vec<Constraint>,
    pub labels: Vec<(String, String)>,
    pub tasks: Vec<Task>,
}

/// A node-selection constraint (`key operator values`), matched against node labels with
/// Kubernetes label-selector semantics, as Bacalhau does.
#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    pub key: String,
    pub operator: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub name: String,
    pub engine: Engine,
    /// Values as written, e.g. "env:HOSTNAME" (resolved by the node, not here).
    pub env: Vec<(String, String)>,
    pub input_sources: Vec<InputSource>,
    /// `resources.memory` in bytes ("36mb" = 36,000,000, "64Mi", plain bytes).
    pub memory_bytes: Option<u64>,
    pub cpu: Option<String>,
    pub network: Network,
    pub ports: Vec<Port>,
    /// `Timeouts.QueueTimeout` in seconds (0 when absent: fail at once when too few nodes).
    pub queue_timeout: i64,
    pub execution_timeout: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Engine {
    Wasm {
        entry_module: String,
        /// Empty when the job does not set it: `bacalhau job run` has no default.
        entrypoint: String,
        parameters: Vec<String>,
        import_modules: Vec<String>,
    },
    Docker {
        image: String,
        entrypoint: Vec<String>,
        parameters: Vec<String>,
    },
    Other(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct InputSource {
    /// e.g. `localDirectory`, `urlDownload`, `s3`.
    pub source_type: String,
    /// `source.params.sourcePath` for local directories/files.
    pub source_path: Option<String>,
    pub read_write: bool,
    /// Where the source appears inside the execution.
    pub target: String,
}

/// `Network.Type` as written (absent = `Default`, which a v1.7 wasm executor turns into Host).
#[derive(Debug, Clone, PartialEq)]
pub enum Network {
    Default,
    None,
    Host,
    Full,
    Http { domains: Vec<String> },
    Bridge,
    Other(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Port {
    pub name: String,
    pub static_port: Option<i64>,
    pub target: Option<i64>,
}

/// Top-level keys a user may set, and those only the system sets (pkg/lib/marshaller/utils.go).
const ALLOWED_KEYS: [&str; 9] = [
    "name",
    "namespace",
    "type",
    "priority",
    "count",
    "constraints",
    "meta",
    "labels",
    "tasks",
];
const SYSTEM_KEYS: [&str; 6] = [
    "id",
    "state",
    "version",
    "revision",
    "createtime",
    "modifytime",
];

impl JobSpec {
    /// Parses a rendered job file; every problem joined into one error.
    pub fn parse(src: &str) -> Result<JobSpec, Error> {
        JobSpec::read(src).map_err(|problems| match problems.as_slice() {
            [one] if one.path.is_empty() => match one.line {
                Some(line) => Error::at(ErrorKind::Yaml, line, one.message.clone()),
                None => Error::new(ErrorKind::Yaml, one.message.clone()),
            },
            _ => Error::new(ErrorKind::Spec, problem::join(&problems)),
        })
    }

    /// Parses a rendered job file, returning every problem found.
    pub fn read(src: &str) -> Result<JobSpec, Vec<Problem>> {
        let root = yaml::parse(src).map_err(|e| vec![Problem::new("", e.line(), e.message())])?;
        let mut r = Reader::default();
        let spec = r.job(&root);
        if r.problems.is_empty() {
            Ok(spec)
        } else {
            Err(r.problems)
        }
    }
}

/// Collects problems while reading; a field with a problem reads as its default.
#[derive(Default)]
struct Reader {
    problems: Vec<Problem>,
}

/// A mapping node with case-insensitive lookup, and its field path.
struct Fields<'a> {
    path: String,
    entries: &'a [(String, Node)],
}

impl<'a> Fields<'a> {
    fn get(&self, key: &str) -> Option<&'a Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
            .filter(|v| v.value != Yaml::Null)
    }

    fn at(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }
}

/// What YAML 1.1 (go-yaml v2, under sigs.k8s.io/yaml) makes of a plain scalar, in JSON terms.
fn plain_kind(text: &str) -> &'static str {
    const BOOLS: [&str; 22] = [
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false",
        "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
    ];
    if BOOLS.contains(&text) {
        return "bool";
    }
    let digits = text.trim_start_matches(['-', '+']).replace('_', "");
    let numeric = !digits.is_empty()
        && (digits.parse::<f64>().is_ok_and(|_| {
            digits
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit() || c == '.')
        }) || digits
            .strip_prefix("0x")
            .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit())));
    if numeric || matches!(text, ".inf" | "-.inf" | ".Inf" | ".nan" | ".NaN") {
        "number"
    } else {
        "string"
    }
}

fn kind_of(node: &Node) -> &'static str {
    match &node.value {
        Yaml::Map(_) => "object",
        Yaml::Seq(_) => "array",
        Yaml::Null => "null",
        Yaml::Scalar { quoted: true, .. } => "string",
        Yaml::Scalar { text, .. } => plain_kind(text),
    }
}

impl Reader {
    fn type_err(&mut self, path: &str, node: &Node, expected: &str) {
        self.problems.push(Problem::new(
            path,
            Some(node.line),
            format!(
                "field: '{path}' in 'Job' is invalid type: '{}' expected: '{expected}'",
                kind_of(node)
            ),
        ));
    }

    fn fields<'a>(&mut self, node: Option<&'a Node>, path: &str) -> Fields<'a> {
        let empty = || Fields {
            path: path.to_string(),
            entries: &[],
        };
        match node {
            None => empty(),
            Some(n) => match &n.value {
                Yaml::Map(entries) => Fields {
                    path: path.to_string(),
                    entries,
                },
                Yaml::Null => empty(),
                _ => {
                    self.type_err(path, n, "object");
                    empty()
                }
            },
        }
    }

    fn string(&mut self, f: &Fields, key: &str) -> Option<String> {
        let node = f.get(key)?;
        self.string_node(node, &f.at(key))
    }

    fn string_node(&mut self, node: &Node, path: &str) -> Option<String> {
        match (&node.value, kind_of(node)) {
            (Yaml::Scalar { text, .. }, "string") => Some(text.clone()),
            _ => {
                self.type_err(path, node, "string");
                None
            }
        }
    }

    fn int(&mut self, f: &Fields, key: &str) -> Option<i64> {
        let node = f.get(key)?;
        let path = f.at(key);
        match (&node.value, kind_of(node)) {
            (Yaml::Scalar { text, .. }, "number") => match text.replace('_', "").parse() {
                Ok(n) => Some(n),
                Err(_) => {
                    self.problems.push(Problem::new(
                        &path,
                        Some(node.line),
                        format!("{text:?} is not a whole number"),
                    ));
                    None
                }
            },
            _ => {
                self.type_err(&path, node, "int");
                None
            }
        }
    }

    fn boolean(&mut self, f: &Fields, key: &str) -> bool {
        let Some(node) = f.get(key) else {
            return false;
        };
        match (&node.value, kind_of(node)) {
            (Yaml::Scalar { text, .. }, "bool") => {
                matches!(
                    text.as_str(),
                    "y" | "Y"
                        | "yes"
                        | "Yes"
                        | "YES"
                        | "true"
                        | "True"
                        | "TRUE"
                        | "on"
                        | "On"
                        | "ON"
                )
            }
            _ => {
                self.type_err(&f.at(key), node, "bool");
                false
            }
        }
    }

    fn seq<'a>(&mut self, f: &Fields<'a>, key: &str) -> Vec<(String, &'a Node)> {
        let Some(node) = f.get(key) else {
            return Vec::new();
        };
        match &node.value {
            Yaml::Seq(items) => items
                .iter()
                .enumerate()
                .map(|(i, n)| (format!("{}[{i}]", f.at(key)), n))
                .collect(),
            _ => {
                self.type_err(&f.at(key), node, "array");
                Vec::new()
            }
        }
    }

    fn string_list(&mut self, f: &Fields, key: &str) -> Vec<String> {
        self.seq(f, key)
            .into_iter()
            .filter_map(|(path, n)| self.string_node(n, &path))
            .collect()
    }

    fn string_map(&mut self, f: &Fields, key: &str) -> Vec<(String, String)> {
        let map = self.fields(f.get(key), &f.at(key));
        map.entries
            .iter()
            .filter_map(|(k, v)| {
                let value = match v.value {
                    Yaml::Null => String::new(),
                    _ => self.string_node(v, &map.at(k))?,
                };
                Some((k.clone(), value))
            })
            .collect()
    }

    fn job(&mut self, root: &Node) -> JobSpec {
        let f = self.fields(Some(root), "");
        self.top_level_keys(&f);
        let tasks = self
            .seq(&f, "Tasks")
            .into_iter()
            .map(|(path, n)| self.task(n, &path))
            .collect();
        let constraints = self
            .seq(&f, "Constraints")
            .into_iter()
            .map(|(path, n)| self.constraint(n, &path))
            .collect();
        let _ = self.string_map(&f, "Meta");
        let _ = self.int(&f, "Priority");
        let _ = self.string(&f, "Namespace");
        JobSpec {
            name: self.string(&f, "Name").unwrap_or_default(),
            job_type: self.string(&f, "Type").unwrap_or_default(),
            count: self.int(&f, "Count"),
            constraints,
            labels: self.string_map(&f, "Labels"),
            tasks,
        }
    }

    fn top_level_keys(&mut self, f: &Fields) {
        for (key, node) in f.entries {
            let lower = key.to_ascii_lowercase();
            let message = if SYSTEM_KEYS.contains(&lower.as_str()) {
                format!("field: '{key}' in 'Job' is not allowed")
            } else if !ALLOWED_KEYS.contains(&lower.as_str()) {
                format!("unknown field: '{key}' in 'Job'")
            } else {
                continue;
            };
            self.problems
                .push(Problem::new(key, Some(node.line), message));
        }
    }

    fn constraint(&mut self, node: &Node, path: &str) -> Constraint {
        let f = self.fields(Some(node), path);
        Constraint {
            key: self.string(&f, "Key").unwrap_or_default(),
            operator: self.string(&f, "Operator").unwrap_or_default(),
            values: self.string_list(&f, "Values"),
        }
    }

    fn engine(&mut self, f: &Fields) -> Engine {
        let engine = self.fields(f.get("Engine"), &f.at("Engine"));
        let engine_type = self.string(&engine, "Type").unwrap_or_default();
        let params = self.fields(engine.get("Params"), &engine.at("Params"));
        match engine_type.to_ascii_lowercase().as_str() {
            "wasm" => Engine::Wasm {
                entry_module: self.string(&params, "EntryModule").unwrap_or_default(),
                entrypoint: self.string(&params, "Entrypoint").unwrap_or_default(),
                parameters: self.string_list(&params, "Parameters"),
                import_modules: self.string_list(&params, "ImportModules"),
            },
            "docker" => Engine::Docker {
                image: self.string(&params, "Image").unwrap_or_default(),
                entrypoint: self.string_list(&params, "Entrypoint"),
                parameters: self.string_list(&params, "Parameters"),
            },
            _ => Engine::Other(engine_type),
        }
    }

    fn network(&mut self, f: &Fields) -> (Network, Vec<Port>) {
        let nf = self.fields(f.get("Network"), &f.at("Network"));
        let network = match self.string(&nf, "Type") {
            None => Network::Default,
            Some(t) => match t.trim().to_ascii_lowercase().as_str() {
                "default" => Network::Default,
                "none" => Network::None,
                "host" => Network::Host,
                "full" => Network::Full,
                "http" => Network::Http {
                    domains: self.string_list(&nf, "Domains"),
                },
                "bridge" => Network::Bridge,
                _ => Network::Other(t),
            },
        };
        let ports = self
            .seq(&nf, "Ports")
            .into_iter()
            .map(|(path, n)| {
                let pf = self.fields(Some(n), &path);
                Port {
                    name: self.string(&pf, "Name").unwrap_or_default(),
                    static_port: self.int(&pf, "Static"),
                    target: self.int(&pf, "Target"),
                }
            })
            .collect();
        (network, ports)
    }

    fn task(&mut self, node: &Node, path: &str) -> Task {
        let f = self.fields(Some(node), path);
        let engine = self.engine(&f);
        let resources = self.fields(f.get("Resources"), &f.at("Resources"));
        let memory_bytes = self.string(&resources, "Memory").and_then(|m| {
            parse_memory(&m)
                .map_err(|e| {
                    let line = resources.get("Memory").map(|n| n.line);
                    self.problems
                        .push(Problem::new(resources.at("Memory"), line, e))
                })
                .ok()
        });
        let (network, ports) = self.network(&f);
        let input_sources = self
            .seq(&f, "InputSources")
            .into_iter()
            .map(|(path, n)| self.input_source(n, &path))
            .collect();
        let timeouts = self.fields(f.get("Timeouts"), &f.at("Timeouts"));
        Task {
            name: self.string(&f, "Name").unwrap_or_default(),
            engine,
            env: self.string_map(&f, "Env"),
            input_sources,
            memory_bytes,
            cpu: self.string(&resources, "CPU"),
            network,
            ports,
            queue_timeout: self.int(&timeouts, "QueueTimeout").unwrap_or(0),
            execution_timeout: self.int(&timeouts, "ExecutionTimeout").unwrap_or(0),
        }
    }

    fn input_source(&mut self, node: &Node, path: &str) -> InputSource {
        let f = self.fields(Some(node), path);
        let source = self.fields(f.get("Source"), &f.at("Source"));
        let params = self.fields(source.get("Params"), &source.at("Params"));
        InputSource {
            source_type: self.string(&source, "Type").unwrap_or_default(),
            source_path: self.string(&params, "SourcePath"),
            read_write: self.boolean(&params, "ReadWrite"),
            target: self.string(&f, "Target").unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WASM_JOB: &str = r#"
Name: deploy-us
Type: batch
Count: 4
Constraints:
  - Key: type
    Operator: "="
    Values: [edge]
  - key: region
    operator: ==
    values:
      - us
Labels:
  sqs-publisher: us
Tasks:
  - Name: main
    Engine:
      Type: wasm
      Params:
        EntryModule: /app/modules/publisher.wasm
        Parameters:
          - --region=us
          - --emoji=0
    Env:
      HOSTNAME: env:HOSTNAME
    InputSources:
      - Source:
          Type: localDirectory
          Params:
            SourcePath: /app/modules
            ReadWrite: true
        Target: /app/modules
    Resources:
      CPU: "0.001"
      Memory: 36mb
"#;

    #[test]
    fn parses_a_wasm_job_with_mixed_case_keys() {
        let job = JobSpec::parse(WASM_JOB).unwrap();
        assert_eq!(job.name, "deploy-us");
        assert_eq!(job.job_type, "batch");
        assert_eq!(job.count, Some(4));
        assert_eq!(job.constraints.len(), 2);
        assert_eq!(job.constraints[1].values, ["us"]);
        assert_eq!(
            job.labels,
            [("sqs-publisher".to_string(), "us".to_string())]
        );
        let task = &job.tasks[0];
        assert_eq!(
            task.engine,
            Engine::Wasm {
                entry_module: "/app/modules/publisher.wasm".into(),
                entrypoint: String::new(),
                parameters: vec!["--region=us".into(), "--emoji=0".into()],
                import_modules: vec![],
            },
            "no Entrypoint in the file: no default (bacalhau job run has none)"
        );
        assert_eq!(
            task.env,
            [("HOSTNAME".to_string(), "env:HOSTNAME".to_string())]
        );
        assert_eq!(
            task.input_sources[0].source_path.as_deref(),
            Some("/app/modules")
        );
        assert!(task.input_sources[0].read_write);
        assert_eq!(task.memory_bytes, Some(36_000_000));
        assert_eq!(task.cpu.as_deref(), Some("0.001"));
        assert_eq!(task.network, Network::Default);
    }

    #[test]
    fn parses_a_docker_service_with_ports() {
        let job = JobSpec::parse(
            "name: p\ntype: service\ntasks:\n  - name: t\n    engine:\n      type: docker\n      params:\n        image: img:1\n        entrypoint: [/bin/proxy]\n    network:\n      type: Host\n      ports:\n        - name: http\n          static: 8080\n",
        )
        .unwrap();
        let task = &job.tasks[0];
        assert_eq!(job.count, None);
        assert!(matches!(&task.engine, Engine::Docker { image, .. } if image == "img:1"));
        assert_eq!(task.network, Network::Host);
        assert_eq!(
            task.ports,
            [Port {
                name: "http".into(),
                static_port: Some(8080),
                target: None
            }]
        );
    }

    #[test]
    fn wrong_types_name_the_field_and_line() {
        // Go's encoding/json under UnmarshalJob (pkg/lib/marshaller/utils.go at v1.7.0).
        let p = JobSpec::read("name: x\ncount: many\n").unwrap_err();
        assert_eq!(p[0].path, "Count");
        assert_eq!(p[0].line, Some(2));
        assert!(
            p[0].message
                .contains("invalid type: 'string' expected: 'int'"),
            "{}",
            p[0]
        );
        let p = JobSpec::read("name: x\ntasks: nope\n").unwrap_err();
        assert_eq!((p[0].path.as_str(), p[0].line), ("Tasks", Some(2)));
        let p =
            JobSpec::read("tasks:\n  - name: t\n    resources:\n      memory: lots\n").unwrap_err();
        assert_eq!(
            (p[0].path.as_str(), p[0].line),
            ("Tasks[0].Resources.Memory", Some(4))
        );
        let p = JobSpec::read(
            "name: 5\ncount: \"3\"\nlabels:\n  v: 1\ntasks:\n  - resources:\n      cpu: 0.5\n",
        )
        .unwrap_err();
        let paths: Vec<_> = p.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            ["Tasks[0].Resources.CPU", "Name", "Count", "Labels.v"],
            "{p:?}"
        );
        assert!(JobSpec::parse("- a\n- b\n").is_err());
        // YAML 1.1 (go-yaml v2 under sigs.k8s.io/yaml): yes/on/y are booleans, not strings.
        let p = JobSpec::read("name: x\nlabels:\n  a: yes\n  b: on\n  c: \"on\"\n").unwrap_err();
        let paths: Vec<_> = p.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["Labels.a", "Labels.b"], "{p:?}");
        assert!(p[0].message.contains("'bool' expected: 'string'"));
    }

    #[test]
    fn unknown_and_system_top_level_keys_are_refused() {
        let p = JobSpec::read("name: x\nID: j-1\nReplicas: 3\ntasks: []\n").unwrap_err();
        let msgs: Vec<_> = p.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            msgs,
            [
                "field: 'ID' in 'Job' is not allowed",
                "unknown field: 'Replicas' in 'Job'"
            ]
        );
        // Unknown nested keys are ignored, as Go's decoder ignores them.
        assert!(JobSpec::read("name: x\ntasks:\n  - name: t\n    Colour: red\n").is_ok());
    }
}
