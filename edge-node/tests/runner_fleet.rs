//! Many simulated nodes in one process: distinct identities, the stats file, the demo's
//! control channel (disconnect / reconnect / stop), SIGTERM, and `edge-node job`.
mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::time::{Duration, Instant};
use support::wasm::{Body, Module, I32};
use support::{ack, edge_node, poster, Server};

/// A guest that POSTs its whole environment block to `url` once and exits 0.
fn env_poster(url: &str) -> Module {
    let mut m = Module::new();
    let env_sizes = m.wasi("environ_sizes_get", &[I32; 2]);
    let env_get = m.wasi("environ_get", &[I32; 2]);
    let proc_exit = m.wasi("proc_exit", &[I32]);
    let http = m.http();
    m.data(256, url.as_bytes());
    let b = Body::new()
        .i32(100)
        .i32(104)
        .call(env_sizes)
        .drop_()
        .i32(20000)
        .i32(30000)
        .call(env_get)
        .drop_()
        .poke(20, 1024)
        .poke(24, 1024)
        .i32(1)
        .i32(256)
        .i32(url.len() as i32)
        .i32(0)
        .i32(0)
        .i32(30000)
        .i32(104)
        .load32()
        .i32(4096)
        .i32(20)
        .i32(8192)
        .i32(24)
        .i32(16)
        .call(http)
        .call(proc_exit);
    m.start(0, b);
    m
}

fn env_of(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .split('\0')
        .filter_map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

fn get<'a>(env: &'a [(String, String)], key: &str) -> &'a str {
    env.iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.as_str())
}

fn temp_path(label: &str) -> PathBuf {
    std::env::temp_dir().join(edge_tests::unique_name(label))
}

fn read_stats(path: &Path) -> Option<Vec<Value>> {
    let text = std::fs::read_to_string(path).ok()?;
    let doc: Value = serde_json::from_str(&text).ok()?;
    doc["nodes"].as_array().cloned()
}

/// Polls the stats file until `pred` holds (the runner rewrites it every second).
fn wait_stats(path: &Path, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(nodes) = read_stats(path) {
            if pred(&nodes) {
                return nodes;
            }
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for: {what}; last stats: {:?}",
            read_stats(path)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn n(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or(0)
}

/// Waits for the `ready N` line the runner prints once every node is instantiated.
fn wait_ready(child: &mut Child) {
    let stdout = child.stdout.take().expect("stdout piped");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read ready line");
    assert!(line.starts_with("ready"), "unexpected first line: {line:?}");
}

fn wait_exit(child: &mut Child) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code().unwrap_or(-1);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("edge-node did not exit");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn simulate_gives_each_node_its_own_identity() {
    let server = Server::start(ack);
    let guest = env_poster(&server.url("/send")).write_temp("envpost");
    let stats = temp_path("stats.json");
    let out = edge_node()
        .args([
            "simulate",
            guest.to_str().expect("utf-8"),
            "--nodes",
            "5",
            "--region",
            "us",
        ])
        .args([
            "--stats-file",
            stats.to_str().expect("utf-8"),
            "--threads",
            "2",
        ])
        .output()
        .expect("spawn");
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 5);
    let envs: Vec<_> = seen.iter().map(|s| env_of(&s.body)).collect();
    let hosts: BTreeSet<_> = envs
        .iter()
        .map(|e| get(e, "HOSTNAME").to_string())
        .collect();
    let want: BTreeSet<_> = (0..5).map(|i| format!("edge-us-{i}")).collect();
    assert_eq!(hosts, want);
    let execs: BTreeSet<_> = envs
        .iter()
        .map(|e| get(e, "BACALHAU_EXECUTION_ID").to_string())
        .collect();
    assert_eq!(execs.len(), 5, "execution ids are unique per node");
    let jobs: BTreeSet<_> = envs
        .iter()
        .map(|e| get(e, "BACALHAU_JOB_ID").to_string())
        .collect();
    assert_eq!(jobs.len(), 1, "one job id per run");
    let parts: BTreeSet<_> = envs
        .iter()
        .map(|e| get(e, "BACALHAU_PARTITION_INDEX").to_string())
        .collect();
    assert_eq!(parts.len(), 5);
    assert!(envs
        .iter()
        .all(|e| get(e, "BACALHAU_PARTITION_COUNT") == "5"));
    // No injected REGION: a Bacalhau guest sees only its task env and BACALHAU_*.
    assert!(envs.iter().all(|e| !e.iter().any(|(k, _)| k == "REGION")));
    // The final stats: every node posted once, was acked, and exited 0.
    let nodes = read_stats(&stats).expect("stats written at exit");
    assert_eq!(nodes.len(), 5);
    for node in &nodes {
        assert_eq!(
            (n(node, "posts"), n(node, "acked"), n(node, "failed")),
            (1, 1, 0),
            "{node}"
        );
        assert_eq!(node["exited"], 0);
        assert_eq!(node["connected"], true);
    }
}

fn send(stdin: &mut ChildStdin, line: &str) {
    writeln!(stdin, "{line}").expect("write control line");
    stdin.flush().expect("flush");
}

#[test]
fn control_disconnect_reconnect_and_stop() {
    let server = Server::start(ack);
    let guest = poster(&server.url("/send"), 50, 0).write_temp("poster");
    let stats = temp_path("stats.json");
    let mut child = edge_node()
        .args([
            "simulate",
            guest.to_str().expect("utf-8"),
            "--nodes",
            "4",
            "--region",
            "eu",
            "--quiet",
        ])
        .args([
            "--stats-file",
            stats.to_str().expect("utf-8"),
            "--control",
            "stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_ready(&mut child);
    let mut stdin = child.stdin.take().expect("stdin piped");
    wait_stats(&stats, "every node acked", |ns| {
        ns.len() == 4 && ns.iter().all(|v| n(v, "acked") >= 2)
    });
    send(&mut stdin, "disconnect");
    let cut = wait_stats(&stats, "disconnected nodes failing", |ns| {
        ns.iter()
            .all(|v| v["connected"] == false && n(v, "failed") >= 3)
    });
    let acked_while_cut: u64 = cut.iter().map(|v| n(v, "acked")).sum();
    let during = wait_stats(&stats, "more failures while cut", |ns| {
        ns.iter().map(|v| n(v, "failed")).sum::<u64>()
            > cut.iter().map(|v| n(v, "failed")).sum::<u64>() + 8
    });
    assert!(
        during.iter().map(|v| n(v, "acked")).sum::<u64>() <= acked_while_cut + 4,
        "at most one in-flight request per node may still be acked after the cut"
    );
    send(&mut stdin, "reconnect 1 20");
    wait_stats(&stats, "acks resume after reconnect", |ns| {
        ns.iter().all(|v| v["connected"] == true)
            && ns.iter().map(|v| n(v, "acked")).sum::<u64>() >= acked_while_cut + 8
    });
    send(&mut stdin, "stop");
    assert_eq!(wait_exit(&mut child), 0);
    let nodes = read_stats(&stats).expect("stats at exit");
    assert!(
        nodes.iter().all(|v| v["exited"].is_null()),
        "stopped nodes did not exit on their own"
    );
    assert!(nodes.iter().all(|v| n(v, "max_sequence_posted") >= 1));
}

#[test]
fn sigterm_stops_cleanly_and_writes_stats() {
    let server = Server::start(ack);
    let guest = poster(&server.url("/send"), 100, 0).write_temp("poster");
    let stats = temp_path("stats.json");
    let mut child = edge_node()
        .args([
            "simulate",
            guest.to_str().expect("utf-8"),
            "--nodes",
            "2",
            "--region",
            "as",
            "--quiet",
        ])
        .args(["--stats-file", stats.to_str().expect("utf-8")])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_ready(&mut child);
    wait_stats(&stats, "posts", |ns| ns.iter().all(|v| n(v, "posts") >= 1));
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    assert_eq!(wait_exit(&mut child), 0);
    assert_eq!(read_stats(&stats).map(|v| v.len()), Some(2));
}

const JOB: &str = r#"Name: test-sensors
Type: batch
Count: {{ or (index . "REPLICAS") 2 }}
Constraints:
  - Key: type
    Operator: "="
    Values:
      - edge
  - Key: region
    Operator: "="
    Values:
      - eu
Tasks:
  - Name: main
    Engine:
      Type: wasm
      Params:
        EntryModule: /app/modules/guest.wasm
        EntryPoint: _start
        Parameters:
          - --proxy={{ .proxy }}
    Env:
      HOSTNAME: "env:HOSTNAME"
    InputSources:
      - Source:
          Type: localDirectory
          Params:
            SourcePath: /app
            ReadWrite: true
        Target: /app
    Resources:
      CPU: "0.001"
      Memory: 36mb
"#;

#[test]
fn job_file_runs_count_nodes_of_its_region() {
    let server = Server::start(ack);
    let dir = temp_path("modules");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("guest.wasm"),
        env_poster(&server.url("/send")).encode(),
    )
    .expect("write guest");
    let job = dir.join("job.yaml");
    std::fs::write(&job, JOB).expect("write job");
    let mount = format!("/app/modules={}", dir.display());
    let out = edge_node()
        .args([
            "job",
            job.to_str().expect("utf-8"),
            "-V",
            "proxy=http://p",
            "-V",
            "REPLICAS=3",
            "--mount",
            &mount,
            // 4 eu nodes and 2 us nodes: the region=eu constraint picks 3 of the eu ones.
            "--edge-nodes",
            "eu=4,us=2",
            "--node",
            "web-0:type=web-services,region=eu",
            "--allow-env",
            "HOSTNAME",
        ])
        .output()
        .expect("spawn");
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let envs: Vec<_> = server.seen().iter().map(|s| env_of(&s.body)).collect();
    let hosts: BTreeSet<_> = envs
        .iter()
        .map(|e| get(e, "HOSTNAME").to_string())
        .collect();
    assert_eq!(hosts.len(), 3, "one execution per node: {hosts:?}");
    assert!(hosts.iter().all(|h| h.starts_with("edge-eu-")), "{hosts:?}");
    assert!(envs.iter().all(
        |e| get(e, "BACALHAU_JOB_TYPE") == "batch" && get(e, "BACALHAU_PARTITION_COUNT") == "3"
    ));
    // A missing template key is an error (missingkey=error), reported before anything runs.
    let out = edge_node()
        .args(["job", job.to_str().expect("utf-8"), "--mount", &mount])
        .args(["--edge-nodes", "eu=3", "--allow-env", "HOSTNAME"])
        .output()
        .expect("spawn");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("proxy"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn busy_guests_are_preempted_so_others_run_and_stop_works() {
    // Node guests spin forever without ever calling the host: only fuel-based preemption
    // lets the single scheduler thread run the other node and notice the stop.
    let server = Server::start(ack);
    let url = server.url("/send");
    let mut m = Module::new();
    let http = m.http();
    m.data(256, url.as_bytes());
    let body = Body::new()
        .poke(20, 64)
        .poke(24, 64)
        .i32(1)
        .i32(256)
        .i32(url.len() as i32)
        .i32(0)
        .i32(0)
        .i32(0)
        .i32(0)
        .i32(4096)
        .i32(20)
        .i32(8192)
        .i32(24)
        .i32(16)
        .call(http)
        .drop_()
        .loop_()
        .br(0)
        .end();
    m.start(0, body);
    let guest = m.write_temp("spin");
    let stats = temp_path("stats.json");
    let mut child = edge_node()
        .args([
            "simulate",
            guest.to_str().expect("utf-8"),
            "--nodes",
            "3",
            "--region",
            "us",
        ])
        .args([
            "--threads",
            "1",
            "--stats-file",
            stats.to_str().expect("utf-8"),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_ready(&mut child);
    // Every node got its turn: each posted once although the others never suspend again.
    wait_stats(&stats, "each busy node posted", |ns| {
        ns.iter().all(|v| n(v, "acked") == 1)
    });
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    assert_eq!(wait_exit(&mut child), 0);
}

#[test]
fn guest_output_is_prefixed_per_node_after_ready() {
    let mut m = Module::new();
    let fd_write = m.wasi("fd_write", &[I32; 4]);
    m.data(100, b"hello\npartial");
    // iovec at 32: (100, 13) -> "hello\npartial" without a final newline.
    let b = Body::new()
        .poke(32, 100)
        .poke(36, 13)
        .i32(1)
        .i32(32)
        .i32(1)
        .i32(48)
        .call(fd_write)
        .drop_();
    m.start(0, b);
    let guest = m.write_temp("hello");
    let out = edge_node()
        .args([
            "simulate",
            guest.to_str().expect("utf-8"),
            "--nodes",
            "2",
            "--region",
            "us",
        ])
        .output()
        .expect("spawn");
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.first(), Some(&"ready 2"), "{stdout}");
    for host in ["edge-us-0", "edge-us-1"] {
        assert!(
            lines.contains(&format!("[{host}] hello").as_str()),
            "{stdout}"
        );
        // An unterminated last line is flushed, prefixed, when the node exits.
        assert!(
            lines.contains(&format!("[{host}] partial").as_str()),
            "{stdout}"
        );
    }
}
