//! The Bacalhau node configs the `bacalhau` profile generates, checked against Bacalhau
//! v1.7.0's own configuration keys and against what the job files in jobs/ need from a node.
//!
//! Key list: tests/data/bacalhau-v1.7.0-config-keys.txt, the `*Key` constants of
//! pkg/config/types/generated_constants.go at v1.7.0 (provenance in the file's header).
//! Types: from the struct fields in pkg/config/types/{bacalhau,compute,orchestrator,api,
//! webui}.go at v1.7.0, quoted next to each entry below.
use provisioner::node_config::{self, EDGE_JOB_ENV, SERVICE_JOB_ENV};
use provisioner::profile::Profile;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, PartialEq)]
enum Kind {
    Bool,
    Int,
    Str,
    StrList,
    StrMap,
}

/// The type of every key we write, as Bacalhau declares it.
const TYPES: &[(&str, Kind, &str)] = &[
    (
        "NameProvider",
        Kind::Str,
        "bacalhau.go: NameProvider string",
    ),
    (
        "Labels",
        Kind::StrMap,
        "bacalhau.go: Labels map[string]string",
    ),
    ("API.Port", Kind::Int, "api.go: Port int"),
    (
        "Orchestrator.Enabled",
        Kind::Bool,
        "orchestrator.go: Enabled bool",
    ),
    ("Orchestrator.Port", Kind::Int, "orchestrator.go: Port int"),
    ("WebUI.Enabled", Kind::Bool, "webui.go: Enabled bool"),
    ("WebUI.Listen", Kind::Str, "webui.go: Listen string"),
    ("Compute.Enabled", Kind::Bool, "compute.go: Enabled bool"),
    (
        "Compute.Orchestrators",
        Kind::StrList,
        "compute.go: Orchestrators []string",
    ),
    (
        "Compute.AllowListedLocalPaths",
        Kind::StrList,
        "compute.go: AllowListedLocalPaths []string",
    ),
    (
        "Compute.Env.AllowList",
        Kind::StrList,
        "compute.go: EnvConfig.AllowList []string",
    ),
];

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf()
}

fn bacalhau_keys() -> Vec<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/bacalhau-v1.7.0-config-keys.txt");
    let text = std::fs::read_to_string(&path).expect("key list");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

/// `(dotted key, value)` for every setting, stopping at map-typed keys (Labels).
fn settings(value: &Value, prefix: &str, out: &mut Vec<(String, Value)>) {
    let Value::Object(map) = value else { return };
    for (k, v) in map {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        let is_struct = v.is_object() && key != "Labels";
        if is_struct {
            settings(v, &key, out);
        } else {
            out.push((key, v.clone()));
        }
    }
}

fn kind_of(v: &Value) -> Option<Kind> {
    match v {
        Value::Bool(_) => Some(Kind::Bool),
        Value::Number(n) if n.is_i64() => Some(Kind::Int),
        Value::String(_) => Some(Kind::Str),
        Value::Array(a) if a.iter().all(Value::is_string) => Some(Kind::StrList),
        Value::Object(m) if m.values().all(Value::is_string) => Some(Kind::StrMap),
        _ => None,
    }
}

#[test]
fn every_generated_key_is_a_bacalhau_v1_7_key_of_the_right_type() {
    let keys = bacalhau_keys();
    assert!(keys.len() > 100, "key list looks truncated: {}", keys.len());
    for (file, config) in node_config::all(&["us", "eu", "as"]) {
        let mut found = Vec::new();
        settings(&config, "", &mut found);
        assert!(!found.is_empty(), "{file}");
        for (key, value) in found {
            assert!(
                keys.contains(&key),
                "{file}: {key} is not a key of Bacalhau v1.7.0 (pkg/config/types/generated_constants.go)"
            );
            let (_, want, source) = TYPES
                .iter()
                .find(|(k, _, _)| *k == key)
                .unwrap_or_else(|| panic!("{file}: {key} has no type entry in this test"));
            assert_eq!(
                kind_of(&value).as_ref(),
                Some(want),
                "{file}: {key} = {value} but Bacalhau declares {source}"
            );
        }
    }
}

/// Renders and parses a job file as `bacalhau job run -V queue_url=...` would.
fn job(name: &str) -> jobspec::JobSpec {
    let path = workspace().join("jobs").join(name);
    let text = std::fs::read_to_string(&path).expect("job file");
    let mut values = BTreeMap::new();
    values.insert(
        "queue_url".to_string(),
        "http://host.docker.internal:4566/000000000000/edge-sensors".to_string(),
    );
    let rendered = jobspec::render(&text, &values).unwrap_or_else(|e| panic!("{name}: {e}"));
    jobspec::JobSpec::parse(&rendered).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn labels(config: &Value) -> BTreeMap<String, String> {
    config["Labels"]
        .as_object()
        .expect("Labels")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("label").to_string()))
        .collect()
}

/// Constraint check for the operators our job files use.
fn selects(spec: &jobspec::JobSpec, labels: &BTreeMap<String, String>) -> bool {
    spec.constraints.iter().all(|c| {
        let have = labels.get(&c.key);
        match c.operator.as_str() {
            "=" | "==" | "in" => have.is_some_and(|v| c.values.contains(v)),
            "exists" => have.is_some(),
            other => panic!("operator {other} not covered by this test"),
        }
    })
}

/// Whether a Go regexp of the form we generate (`^NAME$`) allows `name`; any other form
/// fails the test rather than being guessed at (pkg/compute/env/host_resolver.go matches
/// patterns unanchored with regexp.MatchString).
fn allowed(allow_list: &Value, name: &str) -> bool {
    allow_list.as_array().expect("AllowList").iter().any(|p| {
        let p = p.as_str().expect("pattern");
        let literal = p
            .strip_prefix('^')
            .and_then(|p| p.strip_suffix('$'))
            .unwrap_or_else(|| panic!("pattern {p:?} is not ^NAME$"));
        assert!(
            literal
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{p}"
        );
        literal == name
    })
}

fn env_refs(spec: &jobspec::JobSpec) -> Vec<String> {
    spec.tasks
        .iter()
        .flat_map(|t| t.env.iter())
        .filter_map(|(_, v)| v.strip_prefix("env:").map(String::from))
        .collect()
}

#[test]
fn service_jobs_land_on_the_web_services_node_with_our_images_and_allowed_env() {
    let node = node_config::web_services();
    let profile = Profile::load("bacalhau").expect("profile");
    for (file, image) in [("sqs-proxy.yaml", "proxy"), ("sqs-puller.yaml", "puller")] {
        let spec = job(file);
        assert!(
            selects(&spec, &labels(&node)),
            "{file} does not select type=web-services"
        );
        for edge in ["us", "eu", "as"] {
            assert!(
                !selects(&spec, &labels(&node_config::edge(edge))),
                "{file} on an edge node"
            );
        }
        match &spec.tasks[0].engine {
            jobspec::Engine::Docker { image: got, .. } => {
                assert_eq!(
                    got,
                    &provisioner::images::tag(image),
                    "{file}: not the image `provisioner images` builds"
                )
            }
            other => panic!("{file}: engine {other:?}"),
        }
        let refs = env_refs(&spec);
        assert!(!refs.is_empty(), "{file}");
        for name in &refs {
            assert!(
                SERVICE_JOB_ENV.contains(&name.as_str()),
                "{file}: env:{name} not in SERVICE_JOB_ENV"
            );
            assert!(
                allowed(&node["Compute"]["Env"]["AllowList"], name),
                "{file}: env:{name} not allowed"
            );
            // Bacalhau fails the execution when the variable is not set on the node.
            assert!(
                profile.web_services.env.iter().any(|(k, _)| k == name),
                "{file}: env:{name} is not set on the web-services container"
            );
        }
    }
    // Nothing is allowed that no service job uses.
    let used: Vec<String> = ["sqs-proxy.yaml", "sqs-puller.yaml"]
        .iter()
        .flat_map(|f| env_refs(&job(f)))
        .collect();
    for name in SERVICE_JOB_ENV {
        assert!(
            used.iter().any(|u| u == name),
            "{name} is allowed but no service job uses it"
        );
    }
}

#[test]
fn publisher_jobs_land_on_their_regions_edge_nodes_with_their_paths_and_env() {
    let files: Vec<String> = std::fs::read_dir(workspace().join("jobs"))
        .expect("jobs/")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("deploy-") && n.ends_with(".yaml"))
        .collect();
    assert!(files.len() >= 3, "{files:?}");
    for file in files {
        let region = &file["deploy-".len().."deploy-".len() + 2];
        let spec = job(&file);
        let node = node_config::edge(region);
        assert!(
            selects(&spec, &labels(&node)),
            "{file} does not select edge-{region}"
        );
        assert!(
            !selects(&spec, &labels(&node_config::web_services())),
            "{file}"
        );
        for name in env_refs(&spec) {
            assert!(EDGE_JOB_ENV.contains(&name.as_str()), "{file}: env:{name}");
            assert!(
                allowed(&node["Compute"]["Env"]["AllowList"], &name),
                "{file}: env:{name}"
            );
        }
        // Local directory inputs must sit under an allow-listed path (doublestar `/app/**`,
        // pkg/storage/local_directory/storage.go), writable only when the entry says :rw.
        let paths = node["Compute"]["AllowListedLocalPaths"]
            .as_array()
            .expect("paths");
        for input in spec.tasks.iter().flat_map(|t| t.input_sources.iter()) {
            let source = input.source_path.as_deref().expect("sourcePath");
            let ok = paths.iter().filter_map(Value::as_str).any(|p| {
                let (glob, mode) = p.rsplit_once(':').expect("path:mode");
                let prefix = glob.strip_suffix("/**").expect("we only write DIR/**");
                (source == prefix || source.starts_with(&format!("{prefix}/")))
                    && (!input.read_write || mode == "rw")
            });
            assert!(ok, "{file}: {source} is not allowed by {paths:?}");
        }
    }
}

#[test]
fn the_bacalhau_profile_mounts_the_generated_files() {
    let profile = Profile::load("bacalhau").expect("profile");
    let mounts = |s: &provisioner::profile::Service, file: &str| {
        let want = format!("{{config_dir}}/{file}:{}:ro", node_config::MOUNT_PATH);
        assert!(s.volumes.contains(&want), "{file}: {:?}", s.volumes);
        assert_eq!(s.command, ["serve", "-c", node_config::MOUNT_PATH]);
    };
    mounts(&profile.orchestrator, "orchestrator.yaml");
    mounts(&profile.web_services, "web-services.yaml");
    mounts(&profile.edge, "edge-{region}.yaml");
    assert!(profile.web_services.host_gateway && profile.edge.host_gateway);
    let names: Vec<String> = node_config::all(&["us", "eu", "as"])
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    for n in [
        "orchestrator.yaml",
        "web-services.yaml",
        "edge-us.yaml",
        "edge-eu.yaml",
        "edge-as.yaml",
    ] {
        assert!(names.contains(&n.to_string()), "{names:?}");
    }
}
