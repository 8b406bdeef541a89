//! The job model and its reading from parsed YAML. Keys are matched case-insensitively, as
//! Bacalhau's decoder does (`Tasks`, `tasks` and `TASKS` are the same key). Unknown keys are
//! ignored, as Bacalhau ignores them; a known key with the wrong shape is an error naming
//! its line.
use super::error::{Error, ErrorKind};
use super::paths::parse_memory;
use super::yaml::{self, Node, Yaml};

/// A parsed job spec.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    pub name: String,
    /// batch | ops | daemon | service (validated by [`JobSpec::validate`]).
    pub job_type: String,
    /// Default 1.
    pub count: u32,
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
    /// `resources.memory` in bytes ("36mb", "64Mi", "1gb", plain bytes).
    pub memory_bytes: Option<u64>,
    pub cpu: Option<String>,
    pub network: Network,
    pub ports: Vec<Port>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Engine {
    Wasm {
        entry_module: String,
        entrypoint: String,
        parameters: Vec<String>,
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

#[derive(Debug, Clone, PartialEq)]
pub enum Network {
    None,
    Host,
    Http { domains: Vec<String> },
    Bridge,
    Other(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Port {
    pub name: String,
    pub static_port: Option<u16>,
    pub target: Option<u16>,
}

impl JobSpec {
    /// Parses a rendered job file.
    pub fn parse(src: &str) -> Result<JobSpec, Error> {
        let root = yaml::parse(src)?;
        let map = Fields::of(&root, "the job")?;
        let tasks = match map.get("tasks") {
            Some(node) => seq(node, "tasks")?
                .iter()
                .map(task)
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        Ok(JobSpec {
            name: map.string("name")?.unwrap_or_default(),
            job_type: map.string("type")?.unwrap_or_default(),
            count: match map.get("count") {
                Some(node) => number(node, "count")?,
                None => 1,
            },
            constraints: match map.get("constraints") {
                Some(node) => seq(node, "constraints")?
                    .iter()
                    .map(constraint)
                    .collect::<Result<_, _>>()?,
                None => Vec::new(),
            },
            labels: map.string_map("labels")?,
            tasks,
        })
    }
}

fn spec_err(line: usize, message: impl Into<String>) -> Error {
    Error::at(ErrorKind::Spec, line, message)
}

/// A mapping node with case-insensitive lookup.
struct Fields<'a> {
    line: usize,
    entries: &'a [(String, Node)],
}

impl<'a> Fields<'a> {
    fn of(node: &'a Node, what: &str) -> Result<Fields<'a>, Error> {
        match &node.value {
            Yaml::Map(entries) => Ok(Fields {
                line: node.line,
                entries,
            }),
            Yaml::Null => Ok(Fields {
                line: node.line,
                entries: &[],
            }),
            _ => Err(spec_err(node.line, format!("{what} must be a mapping"))),
        }
    }

    fn get(&self, key: &str) -> Option<&'a Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
            .filter(|v| v.value != Yaml::Null)
    }

    fn string(&self, key: &str) -> Result<Option<String>, Error> {
        self.get(key).map(|n| scalar(n, key)).transpose()
    }

    fn map(&self, key: &str) -> Result<Fields<'a>, Error> {
        match self.get(key) {
            Some(node) => Fields::of(node, key),
            None => Ok(Fields {
                line: self.line,
                entries: &[],
            }),
        }
    }

    fn string_map(&self, key: &str) -> Result<Vec<(String, String)>, Error> {
        let fields = self.map(key)?;
        fields
            .entries
            .iter()
            .map(|(k, v)| Ok((k.clone(), scalar(v, k)?)))
            .collect()
    }

    fn string_list(&self, key: &str) -> Result<Vec<String>, Error> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(node) => match &node.value {
                Yaml::Seq(items) => items.iter().map(|n| scalar(n, key)).collect(),
                _ => Err(spec_err(node.line, format!("{key} must be a list"))),
            },
        }
    }
}

fn scalar(node: &Node, what: &str) -> Result<String, Error> {
    match &node.value {
        Yaml::Scalar { text, .. } => Ok(text.clone()),
        Yaml::Null => Ok(String::new()),
        _ => Err(spec_err(
            node.line,
            format!("{what} must be a single value"),
        )),
    }
}

fn seq<'a>(node: &'a Node, what: &str) -> Result<&'a [Node], Error> {
    match &node.value {
        Yaml::Seq(items) => Ok(items),
        _ => Err(spec_err(node.line, format!("{what} must be a list"))),
    }
}

fn number<T: std::str::FromStr>(node: &Node, what: &str) -> Result<T, Error> {
    let text = scalar(node, what)?;
    text.trim().parse().map_err(|_| {
        spec_err(
            node.line,
            format!("{what} must be a whole number, got {text:?}"),
        )
    })
}

fn boolean(node: &Node, what: &str) -> Result<bool, Error> {
    match scalar(node, what)?.as_str() {
        "true" | "True" | "TRUE" => Ok(true),
        "false" | "False" | "FALSE" | "" => Ok(false),
        other => Err(spec_err(
            node.line,
            format!("{what} must be true or false, got {other:?}"),
        )),
    }
}

fn constraint(node: &Node) -> Result<Constraint, Error> {
    let f = Fields::of(node, "a constraint")?;
    let values = match f.get("values") {
        None => Vec::new(),
        Some(n) => match &n.value {
            Yaml::Seq(_) => f.string_list("values")?,
            _ => vec![scalar(n, "values")?],
        },
    };
    Ok(Constraint {
        key: f.string("key")?.unwrap_or_default(),
        operator: f.string("operator")?.unwrap_or_default(),
        values,
    })
}

fn task(node: &Node) -> Result<Task, Error> {
    let f = Fields::of(node, "a task")?;
    let engine_fields = f.map("engine")?;
    let engine_type = engine_fields.string("type")?.unwrap_or_default();
    let params = engine_fields.map("params")?;
    let engine = match engine_type.to_ascii_lowercase().as_str() {
        "wasm" => Engine::Wasm {
            entry_module: params.string("entryModule")?.unwrap_or_default(),
            entrypoint: params
                .string("entrypoint")?
                .unwrap_or_else(|| "_start".to_string()),
            parameters: params.string_list("parameters")?,
        },
        "docker" => Engine::Docker {
            image: params.string("image")?.unwrap_or_default(),
            entrypoint: params.string_list("entrypoint")?,
            parameters: params.string_list("parameters")?,
        },
        _ => Engine::Other(engine_type),
    };
    let resources = f.map("resources")?;
    let memory_bytes = match resources.get("memory") {
        Some(n) => Some(parse_memory(&scalar(n, "memory")?).map_err(|e| spec_err(n.line, e))?),
        None => None,
    };
    let network_fields = f.map("network")?;
    let network = match network_fields.string("type")? {
        None if f.get("network").is_none() => match engine {
            Engine::Wasm { .. } => Network::Host,
            _ => Network::None,
        },
        None => Network::None,
        Some(t) => match t.to_ascii_lowercase().as_str() {
            "none" => Network::None,
            "host" => Network::Host,
            "http" => Network::Http {
                domains: network_fields.string_list("domains")?,
            },
            "bridge" => Network::Bridge,
            _ => Network::Other(t),
        },
    };
    let ports = match network_fields.get("ports") {
        Some(n) => seq(n, "ports")?
            .iter()
            .map(port)
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    let input_sources = match f.get("inputSources") {
        Some(n) => seq(n, "inputSources")?
            .iter()
            .map(input_source)
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    Ok(Task {
        name: f.string("name")?.unwrap_or_default(),
        engine,
        env: f.string_map("env")?,
        input_sources,
        memory_bytes,
        cpu: resources.string("cpu")?,
        network,
        ports,
    })
}

fn input_source(node: &Node) -> Result<InputSource, Error> {
    let f = Fields::of(node, "an input source")?;
    let source = f.map("source")?;
    let params = source.map("params")?;
    Ok(InputSource {
        source_type: source.string("type")?.unwrap_or_default(),
        source_path: params.string("sourcePath")?,
        read_write: match params.get("readWrite") {
            Some(n) => boolean(n, "readWrite")?,
            None => false,
        },
        target: f.string("target")?.unwrap_or_default(),
    })
}

fn port(node: &Node) -> Result<Port, Error> {
    let f = Fields::of(node, "a port")?;
    Ok(Port {
        name: f.string("name")?.unwrap_or_default(),
        static_port: f.get("static").map(|n| number(n, "static")).transpose()?,
        target: f.get("target").map(|n| number(n, "target")).transpose()?,
    })
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
        assert_eq!(job.count, 4);
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
                entrypoint: "_start".into(),
                parameters: vec!["--region=us".into(), "--emoji=0".into()],
            }
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
        assert_eq!(
            task.network,
            Network::Host,
            "wasm without network section is Host"
        );
    }

    #[test]
    fn parses_a_docker_service_with_ports() {
        let job = JobSpec::parse(
            "name: p\ntype: service\ntasks:\n  - name: t\n    engine:\n      type: docker\n      params:\n        image: img:1\n        entrypoint: [/bin/proxy]\n    network:\n      type: Host\n      ports:\n        - name: http\n          static: 8080\n",
        )
        .unwrap();
        let task = &job.tasks[0];
        assert_eq!(job.count, 1);
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
    fn wrong_shapes_name_the_line() {
        let e = JobSpec::parse("name: x\ncount: many\n").unwrap_err();
        assert_eq!((e.kind(), e.line()), (ErrorKind::Spec, Some(2)));
        let e = JobSpec::parse("name: x\ntasks: nope\n").unwrap_err();
        assert_eq!(e.line(), Some(2));
        let e = JobSpec::parse("tasks:\n  - name: t\n    resources:\n      memory: lots\n")
            .unwrap_err();
        assert_eq!(e.line(), Some(4));
        assert!(JobSpec::parse("- a\n- b\n").is_err());
    }
}
