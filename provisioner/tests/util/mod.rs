//! Shared pieces of the provisioner's docker tests: running the binary, a project guard that
//! removes everything labelled with its project even when the test panics, and docker queries.
#![allow(dead_code)]
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

pub const LABEL: &str = "edge-sensors.project";

/// Runs `provisioner ARGS...` and returns its output.
pub fn provisioner(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_provisioner"))
        .args(args)
        .output()
        .expect("run provisioner")
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs docker and returns trimmed stdout; panics with docker's message on failure.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("run docker");
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Both output streams of a container (the runner logs to stderr).
pub fn logs(container: &str) -> String {
    Command::new("docker")
        .args(["logs", container])
        .output()
        .map(|o| text(&o))
        .unwrap_or_default()
}

pub fn image_exists(tag: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", tag])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Builds the listed images once per test binary (tests run in parallel threads and must not
/// build into the same context directory at the same time). Panics if any is missing after.
pub fn ensure_images(names: &[&str]) {
    static BUILD_LOCK: OnceLock<std::sync::Mutex<()>> = OnceLock::new();
    let _lock = BUILD_LOCK
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !image_exists(&format!("edge-sensors/{n}:local")))
        .collect();
    let only = names.join(",");
    // Always ask: `images` rebuilds only what changed (fingerprint label), so this is cheap.
    let out = provisioner(&["images", "--only", &only]);
    assert!(
        out.status.success(),
        "provisioner images --only {only} failed (missing before: {missing:?}):\n{}",
        text(&out)
    );
}

/// A docker project for one test: a unique name, three free proxy ports and its own SQS queue
/// name on LocalStack (`up` creates it). Dropping it runs `provisioner down`, removes anything
/// still labelled and deletes the queue, so failed tests leave nothing.
pub struct Project {
    pub name: String,
    pub ports: String,
    pub profile: String,
    /// Queue name passed as `--queue-url` unless a test passes its own.
    pub queue: String,
}

/// LocalStack as the containers see it (the provisioner fills in `{gateway}`).
pub fn container_endpoint() -> String {
    format!(
        "http://{{gateway}}:{}",
        edge_tests::localstack::endpoint_addr().port()
    )
}

impl Project {
    pub fn new(profile_json: &Value) -> Project {
        let name = edge_tests::unique_name("prov");
        let dir = std::env::temp_dir().join(&name);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let profile = dir.join("profile.json");
        std::fs::write(&profile, profile_json.to_string()).expect("write profile");
        let ports: Vec<String> = (0..3)
            .map(|_| edge_tests::net::free_port().to_string())
            .collect();
        Project {
            queue: format!("{name}-q"),
            name,
            ports: ports.join(","),
            profile: profile.display().to_string(),
        }
    }

    /// `--queue-url` value of this project's queue, as containers see it.
    pub fn queue_url(&self) -> String {
        format!("{}/000000000000/{}", container_endpoint(), self.queue)
    }

    /// `provisioner COMMAND... --project P --profile F --proxy-ports A,B,C`.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut all: Vec<&str> = args.to_vec();
        let queue_url = self.queue_url();
        let endpoint = container_endpoint();
        if args[0] == "up" && !args.contains(&"--queue-url") {
            all.extend(["--queue-url", &queue_url, "--endpoint-url", &endpoint]);
        }
        all.extend([
            "--project",
            &self.name,
            "--profile",
            &self.profile,
            "--proxy-ports",
            &self.ports,
        ]);
        provisioner(&all)
    }

    /// Like [`Project::run`] but panics with the output when the command fails.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "provisioner {args:?} failed:\n{}",
            text(&out)
        );
        text(&out)
    }

    pub fn status(&self) -> Value {
        let out = self.ok(&["status", "--json"]);
        let line = out
            .lines()
            .find(|l| l.starts_with('{'))
            .expect("status JSON line");
        serde_json::from_str(line).expect("status JSON")
    }

    /// `running/stopped` edge counts per region, in us, eu, as order.
    pub fn edge_counts(&self) -> Vec<(u64, u64)> {
        let s = self.status();
        ["us", "eu", "as"]
            .iter()
            .map(|r| {
                (
                    s["edges"][r]["running"].as_u64().unwrap_or(99),
                    s["edges"][r]["stopped"].as_u64().unwrap_or(99),
                )
            })
            .collect()
    }

    /// `name id` of every container with our label, sorted.
    pub fn container_ids(&self) -> Vec<String> {
        let filter = format!("label={LABEL}={}", self.name);
        let out = docker(&[
            "ps",
            "-a",
            "--no-trunc",
            "--filter",
            &filter,
            "--format",
            "{{.Names}} {{.ID}}",
        ]);
        let mut lines: Vec<String> = out.lines().map(String::from).collect();
        lines.sort();
        lines
    }

    /// Containers, networks and volumes still carrying our label.
    pub fn leftovers(&self) -> Vec<String> {
        let filter = format!("label={LABEL}={}", self.name);
        let mut left = Vec::new();
        for (kind, args) in [
            (
                "container",
                vec!["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"],
            ),
            (
                "network",
                vec![
                    "network",
                    "ls",
                    "--filter",
                    &filter,
                    "--format",
                    "{{.Name}}",
                ],
            ),
            (
                "volume",
                vec!["volume", "ls", "--filter", &filter, "--format", "{{.Name}}"],
            ),
        ] {
            left.extend(
                docker(&args)
                    .lines()
                    .filter(|l| !l.is_empty())
                    .map(|l| format!("{kind} {l}")),
            );
        }
        left
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = self.run(&["down"]);
        // Belt and braces in case `down` itself is what failed.
        let filter = format!("label={LABEL}={}", self.name);
        let sh = format!(
            "docker ps -aq --filter {filter} | xargs -r docker rm -f -v; \
             docker network ls -q --filter {filter} | xargs -r docker network rm; \
             docker volume ls -q --filter {filter} | xargs -r docker volume rm"
        );
        let _ = Command::new("sh").args(["-c", &sh]).output();
        delete_queue(&self.queue);
        if let Some(dir) = Path::new(&self.profile).parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Deletes queue `name` on LocalStack if it exists (cleanup; errors ignored).
pub fn delete_queue(name: &str) {
    // The SQS client has no DeleteQueue; one query-protocol call does it (LocalStack routes
    // by the credential scope and does not check the signature).
    let auth = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request, \
                SignedHeaders=host, Signature=0";
    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Authorization", auth),
    ];
    let body = "Action=DeleteQueue&Version=2012-11-05";
    let path = format!("/000000000000/{name}");
    let addr = edge_tests::localstack::endpoint_addr();
    let _ = edge_tests::net::request(addr, "POST", &path, &headers, body.as_bytes());
}

/// Whether queue `name` exists on LocalStack.
pub fn queue_exists(name: &str) -> bool {
    let mut client = edge_tests::sqs::client(&edge_tests::localstack::endpoint());
    client.get_queue_url(name).is_ok()
}
