//! The data path the demo stands up before any sensor runs: LocalStack (when none is
//! running), a fresh queue, the three regional proxies and the puller.
use crate::children::Service;
use crate::probe;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The regions of the seed's network and their proxy ports (fixed by the job files).
pub const REGIONS: [(&str, u16); 3] = [("us", 9091), ("eu", 9092), ("as", 9093)];

/// Where everything lives for this run.
#[derive(Debug, Clone)]
pub struct Paths {
    pub root: PathBuf,
    pub bin_dir: PathBuf,
    pub run_dir: PathBuf,
}

impl Paths {
    pub fn bin(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }

    pub fn jobs(&self, file: &str) -> PathBuf {
        self.root.join("jobs").join(file)
    }

    pub fn modules_dir(&self) -> PathBuf {
        self.root.join("target").join("modules")
    }

    /// Checks that every binary, job file and the sensor module are present, naming the
    /// command that builds what is missing.
    pub fn check(&self) -> Result<(), String> {
        for bin in ["proxy", "puller", "edge-node"] {
            if !self.bin(bin).exists() {
                return Err(format!(
                    "{} not found; build the binaries first (scripts/demo does: cargo build --release --bins)",
                    self.bin(bin).display()
                ));
            }
        }
        let module = self.modules_dir().join("publisher.wasm");
        if !module.exists() {
            return Err(format!(
                "{} not found; build it with scripts/build-wasm",
                module.display()
            ));
        }
        if !self.jobs("deploy-us-v1.yaml").exists() {
            return Err(format!(
                "no job files under {}; pass --root with the edge-sensors checkout",
                self.root.join("jobs").display()
            ));
        }
        Ok(())
    }
}

/// LocalStack, started by the demo only when none was answering.
pub struct LocalStack {
    script: PathBuf,
    started_here: bool,
}

impl LocalStack {
    /// Uses a running LocalStack at `endpoint`, or starts one with scripts/localstack.
    pub fn ensure(root: &Path, endpoint: &str) -> Result<LocalStack, String> {
        let script = root.join("scripts").join("localstack");
        if probe::localstack_ready(endpoint) {
            return Ok(LocalStack {
                script,
                started_here: false,
            });
        }
        if !endpoint.contains("127.0.0.1:4566") && !endpoint.contains("localhost:4566") {
            return Err(format!("no SQS answers at {endpoint}"));
        }
        eprintln!("demo: starting LocalStack (first run installs it, about a minute)");
        let status = Command::new(&script)
            .arg("start")
            .status()
            .map_err(|e| format!("running {}: {e}", script.display()))?;
        if !status.success() || !probe::localstack_ready(endpoint) {
            return Err(format!("{} start failed ({status})", script.display()));
        }
        Ok(LocalStack {
            script,
            started_here: true,
        })
    }

    /// Stops LocalStack if the demo started it.
    pub fn stop(&mut self) {
        if std::mem::take(&mut self.started_here) {
            let _ = Command::new(&self.script).arg("stop").status();
        }
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Creates the run's queue and returns its URL.
pub fn create_queue(endpoint: &str, name: &str) -> Result<String, String> {
    let config = sigv4::sqs::SqsConfig::from_env(None, Some(endpoint))
        .map_err(|e| format!("SQS configuration: {e}"))?;
    let mut client = sigv4::sqs::SqsClient::new(config);
    client
        .create_queue(name, &[])
        .map_err(|e| format!("creating queue {name}: {e}"))
}

/// Messages still in the queue (visible plus in flight), when SQS answers.
pub fn queue_depth(endpoint: &str, queue_url: &str) -> Option<u64> {
    let config = sigv4::sqs::SqsConfig::from_env(None, Some(endpoint)).ok()?;
    let mut client = sigv4::sqs::SqsClient::new(config);
    let names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
    ];
    let attributes = client.get_queue_attributes(queue_url, &names).ok()?;
    Some(
        attributes
            .iter()
            .filter_map(|(_, v)| v.parse::<u64>().ok())
            .sum(),
    )
}

/// Starts the three regional proxies and waits for each `/health`.
pub fn start_proxies(
    paths: &Paths,
    queue_url: &str,
    endpoint: &str,
    workers: usize,
) -> Result<Vec<Service>, String> {
    let mut proxies = Vec::new();
    for (region, port) in REGIONS {
        let mut cmd = Command::new(paths.bin("proxy"));
        cmd.args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--workers", &workers.to_string()])
            .args(["--queue-url", queue_url, "--endpoint-url", endpoint]);
        let log = paths.run_dir.join(format!("proxy-{region}.log"));
        let mut proxy = Service::start(&format!("proxy-{region}"), cmd, &log, false)
            .map_err(|e| e.to_string())?;
        if !probe::wait_healthy(port, Duration::from_secs(20), &mut proxy) {
            return Err(format!(
                "proxy-{region} did not become healthy on port {port}; its log:\n{}",
                proxy.log_tail(15)
            ));
        }
        proxies.push(proxy);
    }
    Ok(proxies)
}

/// Starts the puller writing every message to `received.jsonl` in the run directory, serving
/// the fleet dashboard at `dashboard` when given.
pub fn start_puller(
    paths: &Paths,
    queue_url: &str,
    endpoint: &str,
    dashboard: Option<&str>,
) -> Result<(Service, PathBuf), String> {
    let sink = paths.run_dir.join("received.jsonl");
    let mut cmd = Command::new(paths.bin("puller"));
    cmd.args(["--queue-url", queue_url, "--endpoint-url", endpoint]);
    if let Some(addr) = dashboard {
        cmd.args(["--dashboard", addr]);
    }
    cmd.args(["--concurrency", "4", "--format", "json"])
        // Short polls so a stop is quick: a graceful stop waits for the poll in flight.
        .args(["--wait-seconds", "2"])
        .arg(format!("--sink=jsonl:{}", sink.display()));
    let log = paths.run_dir.join("puller.log");
    let mut puller = Service::start("puller", cmd, &log, false).map_err(|e| e.to_string())?;
    if let Some(status) = puller.wait_for(Duration::from_millis(300)) {
        return Err(format!(
            "puller exited at start ({status}); its log:\n{}",
            puller.log_tail(15)
        ));
    }
    Ok((puller, sink))
}
