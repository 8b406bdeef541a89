//! The built-in profiles, as JSON, so that they read exactly like a `--profile FILE` override
//! (which is deep-merged on top of one of them). Everything image-specific lives here: images,
//! commands, health checks, environment, limits.
//!
//! Placeholders in strings (`{region}`, `{hostname}`, ...) are filled in per container; see
//! `template.rs` for the list.
use serde_json::{json, Value};

/// The real Bacalhau network, as the original compose file and demo.sh ran it.
pub fn bacalhau() -> Value {
    json!({
        "vars": {
            // LocalStack (or real SQS) as seen from inside a container.
            "endpoint_url": "http://{gateway}:4566",
            "queue_url": "{endpoint_url}/000000000000/edge-sensors"
        },
        "orchestrator": {
            "image": "ghcr.io/bacalhau-project/bacalhau:latest",
            // The original ran the orchestrator on the host network: NATS 4222, WebUI 8438,
            // API 1234 are then reachable as host.docker.internal from every edge node.
            "network_mode": "host",
            "command": ["serve", "-c", "Orchestrator.Enabled=true", "-c", "WebUI.Enabled=true",
                        "-c", "WebUI.Listen=0.0.0.0:8438", "-c", "API.Port=1234"],
            "health": {"exec": ["bacalhau", "agent", "alive"]},
            "health_timeout_s": 120
        },
        "web_services": {
            "image": "ghcr.io/bacalhau-project/bacalhau:latest-dind",
            "privileged": true,
            "host_gateway": true,
            "command": ["serve", "-c", "Compute.Enabled=true",
                        "-c", "Compute.Orchestrators=host.docker.internal:4222",
                        "-c", "labels=type=web-services"],
            "health": {"running": true}
        },
        "proxy": {
            "image": "edge-sensors/proxy:local",
            "host_gateway": true,
            "ports": ["{proxy_port}:8080"],
            "command": ["--port", "8080", "--queue-url", "{queue_url}", "--endpoint-url", "{endpoint_url}"],
            "env": {"AWS_ACCESS_KEY_ID": "env:AWS_ACCESS_KEY_ID|test", "AWS_SECRET_ACCESS_KEY": "env:AWS_SECRET_ACCESS_KEY|test",
                    "AWS_REGION": "us-east-1", "REGION": "{region}"},
            "health": {"http": "http://127.0.0.1:{proxy_port}/health"},
            "health_timeout_s": 60
        },
        "puller": {
            "image": "edge-sensors/puller:local",
            "host_gateway": true,
            "command": ["--queue-url", "{queue_url}", "--endpoint-url", "{endpoint_url}"],
            "env": {"AWS_ACCESS_KEY_ID": "env:AWS_ACCESS_KEY_ID|test", "AWS_SECRET_ACCESS_KEY": "env:AWS_SECRET_ACCESS_KEY|test",
                    "AWS_REGION": "us-east-1"},
            "health": {"running": true}
        },
        "edge": {
            "image": "ghcr.io/bacalhau-project/bacalhau:latest",
            "host_gateway": true,
            "volumes": ["{modules_dir}:/app/modules"],
            "env": {"REGION": "{region}"},
            "cpus": "0.03",
            "memory": "200m",
            "nofile": 4096,
            "command": ["serve", "-c", "Compute.Enabled=true",
                        "-c", "Compute.Orchestrators=host.docker.internal:4222",
                        "-c", "NameProvider=hostname",
                        "-c", "Compute.Env.AllowList=AWS_*,REGION,HOSTNAME",
                        "-c", "Compute.AllowListedLocalPaths=/app/**:rw",
                        "-c", "labels=region={region},type=edge"],
            "health": {"running": true}
        }
    })
}

/// Overrides on top of [`bacalhau`] that use only images `provisioner images` builds here:
/// a stand-in for the orchestrator and web-services node, and edge nodes that run the
/// publisher module with our own WASM runner against the regional proxy, so the data path
/// edge → proxy → SQS is exercised without Bacalhau.
pub fn standin() -> Value {
    json!({
        "orchestrator": {
            "image": "edge-sensors/standin:local",
            // Our stand-in has nothing to offer on the host network; keep it on the core network.
            "network_mode": null,
            "command": ["serve", "--role", "orchestrator"],
            "health": {"exec": ["/standin", "health"]},
            "health_timeout_s": 30
        },
        "web_services": {
            "image": "edge-sensors/standin:local",
            "privileged": false,
            "command": ["serve", "--role", "web-services"],
            "health": {"exec": ["/standin", "health"]}
        },
        "edge": {
            "image": "edge-sensors/runner:local",
            "command": ["run", "/app/modules/publisher.wasm", "--hostname", "{hostname}", "--region", "{region}",
                        "--", "--proxy=http://{gateway}:{proxy_port}", "--region={region}", "--emoji=-1",
                        "--color=-1", "--interval=5", "--max-messages=0", "--submission-time=1"]
        }
    })
}

/// Deep-merges `over` into `base`: objects merge key by key, anything else replaces.
pub fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_replaces_leaves_and_keeps_siblings() {
        let mut base = json!({"edge": {"image": "a", "cpus": "0.03"}});
        merge(&mut base, &json!({"edge": {"image": "b"}}));
        assert_eq!(base, json!({"edge": {"image": "b", "cpus": "0.03"}}));
    }

    #[test]
    fn null_clears_a_setting() {
        let mut base = bacalhau();
        merge(&mut base, &standin());
        assert!(base["orchestrator"]["network_mode"].is_null());
        assert_eq!(base["edge"]["image"], "edge-sensors/runner:local");
        assert_eq!(base["edge"]["memory"], "200m");
    }
}
