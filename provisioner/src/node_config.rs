//! The Bacalhau node configuration files the `bacalhau` profile mounts (`bacalhau serve -c
//! FILE`): one for the orchestrator, one for the web-services node, one per edge region.
//!
//! Keys and their types are Bacalhau v1.7.0's (pkg/config/types/bacalhau.go, compute.go,
//! orchestrator.go, api.go, webui.go; the full key list is pkg/config/types/
//! generated_constants.go, kept as test data in tests/data/). Everything a job selects on or
//! needs from its node is here, in one place:
//! - `Labels`: `type=edge` + `region=R` for edge nodes, `type=web-services` for the node the
//!   service jobs (jobs/sqs-proxy.yaml, jobs/sqs-puller.yaml) constrain themselves to.
//! - `Compute.AllowListedLocalPaths`: the publisher jobs read `/app/modules` as a local
//!   directory input; without an allow-listed path the execution is refused.
//! - `Compute.Env.AllowList`: every `env:NAME` a job resolves from its node must be allowed
//!   (pkg/compute/env/host_resolver.go). The entries are Go regular expressions matched
//!   *unanchored* (`regexp.MatchString`), whatever the field's comment says about globs: the
//!   original `AWS_*` allowed any name containing `AWS`. We write `^NAME$`, exactly the
//!   names the jobs reference.
use crate::error::Error;
use serde_json::{json, Value};
use std::path::Path;

/// Where the orchestrator listens for compute nodes (NATS), as the nodes reach it: the
/// orchestrator runs on the host network and every compute container maps
/// host.docker.internal to the host (`--add-host host.docker.internal:host-gateway`).
/// pkg/config/defaults.go at v1.7.0 writes the same form (`nats://127.0.0.1:4222`).
pub const ORCHESTRATOR_NATS: &str = "nats://host.docker.internal:4222";

/// What jobs/sqs-proxy.yaml and jobs/sqs-puller.yaml resolve from the web-services node with
/// `env:NAME`; the `bacalhau` profile gives that node exactly these variables.
pub const SERVICE_JOB_ENV: [&str; 4] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
];

/// What the publisher jobs (jobs/deploy-*.yaml, jobs/sqs-publisher.yaml) may resolve from an
/// edge node with `env:NAME`: its hostname (the node id with `NameProvider: hostname`), the
/// region the container is started with, and the proxy's bearer token (`PROXY_TOKEN`, `none`
/// when the proxies do not authenticate; see `proxy_token.rs`).
pub const EDGE_JOB_ENV: [&str; 3] = ["HOSTNAME", "REGION", "PROXY_TOKEN"];

/// Local paths edge executions may mount: the modules directory, read-only.
pub const EDGE_LOCAL_PATHS: [&str; 1] = ["/app/**:ro"];

/// Where the profile mounts a node's file inside its container.
pub const MOUNT_PATH: &str = "/etc/bacalhau/config.yaml";

/// `^NAME$` for each name: a Go regexp that allows exactly that variable.
pub fn allow_list(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| format!("^{n}$")).collect()
}

/// The orchestrator: NATS for compute nodes on 4222 (its default), API 1234, WebUI 8438, as
/// the original compose file ran it.
pub fn orchestrator() -> Value {
    json!({
        "NameProvider": "hostname",
        "API": {"Port": 1234},
        "Orchestrator": {"Enabled": true, "Port": 4222},
        "WebUI": {"Enabled": true, "Listen": "0.0.0.0:8438"}
    })
}

/// The web-services node, where the proxy and puller service jobs run.
pub fn web_services() -> Value {
    json!({
        "NameProvider": "hostname",
        "Compute": {
            "Enabled": true,
            "Orchestrators": [ORCHESTRATOR_NATS],
            "Env": {"AllowList": allow_list(&SERVICE_JOB_ENV)}
        },
        "Labels": {"type": "web-services"}
    })
}

/// An edge node of `region`.
pub fn edge(region: &str) -> Value {
    json!({
        "NameProvider": "hostname",
        "Compute": {
            "Enabled": true,
            "Orchestrators": [ORCHESTRATOR_NATS],
            "AllowListedLocalPaths": EDGE_LOCAL_PATHS,
            "Env": {"AllowList": allow_list(&EDGE_JOB_ENV)}
        },
        "Labels": {"type": "edge", "region": region}
    })
}

/// `(file name, config)` for every node kind: `orchestrator.yaml`, `web-services.yaml`,
/// `edge-R.yaml` per region. The profile refers to them as `{config_dir}/NAME`.
pub fn all(regions: &[&str]) -> Vec<(String, Value)> {
    let mut files = vec![
        ("orchestrator.yaml".to_string(), orchestrator()),
        ("web-services.yaml".to_string(), web_services()),
    ];
    for region in regions {
        files.push((format!("edge-{region}.yaml"), edge(region)));
    }
    files
}

/// Writes every file of [`all`] into `dir` (created if needed).
pub fn write_all(dir: &Path, regions: &[&str]) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    for (name, config) in all(regions) {
        let path = dir.join(&name);
        let text = format!(
            "# Bacalhau v1.7 node configuration written by `provisioner up`; \
             used as `bacalhau serve -c {MOUNT_PATH}`.\n{}",
            to_yaml(&config)
        );
        std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}

/// Removes the files [`write_all`] writes, and `dir` itself if nothing else is in it (`down`;
/// a directory the user chose keeps anything of theirs). Missing files are fine.
pub fn remove_all(dir: &Path, regions: &[&str]) -> Result<(), Error> {
    for (name, _) in all(regions) {
        let path = dir.join(&name);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&path, e)),
        }
    }
    // Not empty (the user's own files) or already gone: both fine.
    let _ = std::fs::remove_dir(dir);
    Ok(())
}

/// Block-style YAML for a JSON value of maps, lists and scalars. Strings are written
/// double-quoted with JSON escaping, which YAML's double-quoted style reads the same way, so
/// a value can never be mistaken for another type (`"on"`, `"1234"`).
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    write_node(&mut out, value, 0);
    out
}

fn write_node(out: &mut String, value: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if is_block(v) {
                    out.push_str(&format!("{pad}{k}:\n"));
                    write_node(out, v, indent + 2);
                } else {
                    out.push_str(&format!("{pad}{k}: {}\n", scalar(v)));
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                if is_block(item) {
                    // A list of maps does not occur in our configs; keep it valid anyway.
                    out.push_str(&format!("{pad}-\n"));
                    write_node(out, item, indent + 2);
                } else {
                    out.push_str(&format!("{pad}- {}\n", scalar(item)));
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

/// Non-empty maps and lists are written as blocks; everything else inline.
fn is_block(v: &Value) -> bool {
    match v {
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => false,
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Object(_) => "{}".to_string(),
        Value::Array(_) => "[]".to_string(),
        // serde_json's string escaping is a subset of YAML's double-quoted escapes.
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_is_block_style_with_quoted_strings() {
        let yaml = to_yaml(&edge("eu"));
        // serde_json maps are sorted by key, so the output is deterministic.
        let want = "\
Compute:
  AllowListedLocalPaths:
    - \"/app/**:ro\"
  Enabled: true
  Env:
    AllowList:
      - \"^HOSTNAME$\"
      - \"^REGION$\"
      - \"^PROXY_TOKEN$\"
  Orchestrators:
    - \"nats://host.docker.internal:4222\"
Labels:
  region: \"eu\"
  type: \"edge\"
NameProvider: \"hostname\"
";
        assert_eq!(yaml, want);
        assert_eq!(to_yaml(&json!({"a": [], "b": {}})), "a: []\nb: {}\n");
    }

    #[test]
    fn strings_cannot_turn_into_other_yaml_types() {
        let yaml = to_yaml(&json!({"x": "on", "y": "12", "z": "a\"b\nc"}));
        assert_eq!(yaml, "x: \"on\"\ny: \"12\"\nz: \"a\\\"b\\nc\"\n");
    }

    #[test]
    fn writes_one_file_per_node_kind() {
        let dir = std::env::temp_dir().join(format!("prov-node-config-{}", std::process::id()));
        write_all(&dir, &["us", "eu"]).expect("write");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "edge-eu.yaml",
                "edge-us.yaml",
                "orchestrator.yaml",
                "web-services.yaml"
            ]
        );
        let text = std::fs::read_to_string(dir.join("web-services.yaml")).expect("read");
        assert!(text.contains("type: \"web-services\""), "{text}");
        std::fs::write(dir.join("mine.txt"), "user file").expect("write");
        remove_all(&dir, &["us", "eu"]).expect("remove");
        assert!(dir.join("mine.txt").exists() && !dir.join("edge-us.yaml").exists());
        std::fs::remove_file(dir.join("mine.txt")).expect("rm");
        remove_all(&dir, &["us", "eu"]).expect("remove again");
        assert!(!dir.exists());
    }
}
