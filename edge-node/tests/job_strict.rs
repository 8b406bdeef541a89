//! `edge-node job` as strict as a Bacalhau v1.7 cluster: placement over the inventory, the
//! entrypoint with no default, the guest env, exit-status mapping, and `job --check`. Each
//! test names the Bacalhau source (v1.7.0) whose behaviour it holds.
mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::wasm::{Body, Module, I32};
use support::{ack, edge_node, Server};

fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(edge_tests::unique_name(label));
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

/// A guest that POSTs once, then exits with `code` through proc_exit (or returns from its
/// entry function when `code` is None).
fn poster(url: &str, code: Option<i32>) -> Module {
    let mut m = Module::new();
    let proc_exit = m.wasi("proc_exit", &[I32]);
    let http = m.http();
    m.data(256, url.as_bytes());
    let mut b = Body::new()
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
        .drop_();
    if let Some(code) = code {
        b = b.i32(code).call(proc_exit);
    }
    m.start(0, b);
    m
}

/// Writes `module` (its export renamed from `_start` to `export`, same length) and a job.
fn setup(label: &str, module: &Module, export: &str, job: &str) -> (PathBuf, String) {
    assert_eq!(export.len(), "_start".len());
    let dir = temp_dir(label);
    let bytes = module.encode();
    let at = bytes
        .windows(7)
        .position(|w| w == b"\x06_start")
        .expect("export name");
    let mut renamed = bytes.clone();
    renamed[at + 1..at + 7].copy_from_slice(export.as_bytes());
    std::fs::write(dir.join("guest.wasm"), renamed).expect("write guest");
    let file = dir.join("job.yaml");
    std::fs::write(&file, job).expect("write job");
    (file, format!("/app/modules={}", dir.display()))
}

fn job(job_type: &str, count: &str, entrypoint: &str, extra_task: &str, timeout: u32) -> String {
    format!(
        "Name: strict\nType: {job_type}\n{count}Constraints:\n  - Key: region\n    Operator: \"=\"\n    Values: [eu]\nTasks:\n  - Name: main\n    Engine:\n      Type: wasm\n      Params:\n        EntryModule: /app/modules/guest.wasm\n{entrypoint}{extra_task}    InputSources:\n      - Source:\n          Type: localDirectory\n          Params:\n            SourcePath: /app/modules\n        Target: /app/modules\n    Timeouts:\n      QueueTimeout: {timeout}\n"
    )
}

const START: &str = "        Entrypoint: _start\n";

fn run(file: &Path, mount: &str, extra: &[&str]) -> (Option<i32>, String) {
    let out = edge_node()
        .args(["job", file.to_str().expect("utf-8"), "--mount", mount])
        .args(extra)
        .output()
        .expect("spawn");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_job_without_entrypoint_fails_with_bacalhaus_words() {
    // pkg/executor/wasm/handler.go verifyEntryPoint: no default for `bacalhau job run`.
    let server = Server::start(ack);
    let (file, mount) = setup(
        "noentry",
        &poster(&server.url("/"), Some(0)),
        "_start",
        &job("batch", "", "", "", 0),
    );
    let (code, stderr) = run(&file, &mount, &["--edge-nodes", "eu=1"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("unable to find the entrypoint '' in the WASM module"),
        "{stderr}"
    );
    assert!(server.seen().is_empty());
}

#[test]
fn the_named_entrypoint_runs_and_a_wrong_one_is_refused() {
    let server = Server::start(ack);
    let module = poster(&server.url("/"), Some(0));
    let (file, mount) = setup(
        "entry",
        &module,
        "mymain",
        &job("batch", "", "        Entrypoint: mymain\n", "", 0),
    );
    let (code, stderr) = run(&file, &mount, &["--edge-nodes", "eu=1"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(server.seen().len(), 1);
    let (file, mount) = setup("entry2", &module, "mymain", &job("batch", "", START, "", 0));
    let (code, stderr) = run(&file, &mount, &["--edge-nodes", "eu=1"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("unable to find the entrypoint '_start' in the WASM module"),
        "{stderr}"
    );
}

#[test]
fn too_few_nodes_fails_at_once_without_a_queue_timeout() {
    // pkg/orchestrator/scheduler/batch_service_job.go + errors.go ErrNotEnoughNodes.
    let server = Server::start(ack);
    let (file, mount) = setup(
        "few",
        &poster(&server.url("/"), Some(0)),
        "_start",
        &job("batch", "Count: 3\n", START, "", 0),
    );
    let (code, stderr) = run(&file, &mount, &["--edge-nodes", "eu=2,us=5"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("not enough nodes to run job. requested: 3, available: 7, suitable: 2."),
        "{stderr}"
    );
    assert!(server.seen().is_empty(), "nothing ran");
}

#[test]
fn too_few_nodes_run_while_queued_then_the_job_fails_after_its_queue_timeout() {
    let server = Server::start(ack);
    // The guest returns at once (-1); the job still waits for its second node.
    let m = poster(&server.url("/"), None);
    let (file, mount) = setup(
        "queued",
        &m,
        "_start",
        &job("service", "Count: 2\n", START, "", 1),
    );
    let started = Instant::now();
    let (code, stderr) = run(&file, &mount, &["--edge-nodes", "eu=1"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("job queued (fails after QueueTimeout 1s)"),
        "{stderr}"
    );
    assert_eq!(
        server.seen().len(),
        1,
        "the one suitable node ran meanwhile"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited the queue timeout"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn daemon_and_ops_jobs_run_once_on_every_matching_node() {
    for job_type in ["daemon", "ops"] {
        let server = Server::start(ack);
        let (file, mount) = setup(
            job_type,
            &poster(&server.url("/"), Some(0)),
            "_start",
            &job(job_type, "", START, "", 0),
        );
        let (code, stderr) = run(
            &file,
            &mount,
            &["--edge-nodes", "eu=3,us=2", "--node", "lab:region=eu"],
        );
        assert_eq!(code, Some(0), "{job_type}: {stderr}");
        assert_eq!(server.seen().len(), 4, "{job_type}: 3 edge-eu nodes + lab");
    }
}

#[test]
fn a_nodes_file_is_an_inventory() {
    let server = Server::start(ack);
    let (file, mount) = setup(
        "nodes-file",
        &poster(&server.url("/"), Some(0)),
        "_start",
        &job("daemon", "", START, "", 0),
    );
    let inventory = file.with_file_name("nodes.txt");
    std::fs::write(
        &inventory,
        "# the lab\nlab-0 type=edge,region=eu\nlab-1 region=eu # spare\nweb-0 type=web-services\n",
    )
    .expect("write");
    let (code, stderr) = run(
        &file,
        &mount,
        &["--nodes-file", inventory.to_str().expect("utf-8")],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(server.seen().len(), 2);
    std::fs::write(&inventory, "lab-0 region\n").expect("write");
    let (code, stderr) = run(
        &file,
        &mount,
        &["--nodes-file", inventory.to_str().expect("utf-8")],
    );
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("line 1") && stderr.contains("not KEY=VALUE"),
        "{stderr}"
    );
}

#[test]
fn exit_codes_complete_and_traps_fail() {
    // pkg/executor/wasm/handler.go: any exit code is a Completed execution; an error
    // without one (a trap) is exit code 1 and a Failed execution.
    let server = Server::start(ack);
    let (file, mount) = setup(
        "exit3",
        &poster(&server.url("/"), Some(3)),
        "_start",
        &job("batch", "", START, "", 0),
    );
    let (code, stderr) = run(&file, &mount, &["--edge-nodes", "eu=1"]);
    assert_eq!(code, Some(0), "exit code 3 is still Completed: {stderr}");
    let mut trap = Module::new();
    trap.start(0, Body::new().op(0x00));
    let (file, mount) = setup("trap", &trap, "_start", &job("batch", "", START, "", 0));
    let (code, stderr) = run(&file, &mount, &["--edge-nodes", "eu=1"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("1 of 1 executions failed"), "{stderr}");
}

#[test]
fn env_references_follow_the_allow_list() {
    // pkg/compute/env/host_resolver.go + pkg/bidstrategy/semantic/env_resolver.go.
    let server = Server::start(ack);
    let env = "    Env:\n      NODE: env:HOSTNAME\n      KEY: env:EDGE_NODE_TEST_UNSET_VAR\n";
    let (file, mount) = setup(
        "env",
        &poster(&server.url("/"), Some(0)),
        "_start",
        &job("batch", "", START, env, 0),
    );
    // Not allowed: no node bids, so too few nodes.
    let (code, stderr) = run(
        &file,
        &mount,
        &["--edge-nodes", "eu=1", "--allow-env", "HOSTNAME"],
    );
    assert_eq!(code, Some(1));
    assert!(stderr.contains("not in allowed patterns"), "{stderr}");
    assert!(stderr.contains("not enough nodes"), "{stderr}");
    // Allowed but unset on the node: the execution fails.
    let (code, stderr) = run(
        &file,
        &mount,
        &[
            "--edge-nodes",
            "eu=1",
            "--allow-env",
            "HOSTNAME|EDGE_NODE_TEST",
        ],
    );
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("required environment variable 'EDGE_NODE_TEST_UNSET_VAR' not found"),
        "{stderr}"
    );
    assert!(server.seen().is_empty());
}

#[test]
fn bad_job_files_get_clear_errors_not_panics() {
    let server = Server::start(ack);
    let module = poster(&server.url("/"), Some(0));
    for (label, text, want) in [
        ("malformed", "Name: [unclosed\n".to_string(), "yaml"),
        (
            "unknown",
            format!("Replicas: 3\n{}", job("batch", "", START, "", 0)),
            "unknown field: 'Replicas' in 'Job'",
        ),
        (
            "template",
            job("batch", "Count: {{ .NOPE }}\n", START, "", 0),
            "NOPE",
        ),
        (
            "template-syntax",
            job("batch", "Count: {{ index . \n", START, "", 0),
            "template",
        ),
        (
            "type",
            job("batch", "Count: \"2\"\n", START, "", 0),
            "invalid type: 'string' expected: 'int'",
        ),
    ] {
        let (file, mount) = setup(label, &module, "_start", &text);
        let (code, stderr) = run(&file, &mount, &["--edge-nodes", "eu=1"]);
        assert_eq!(code, Some(1), "{label}: {stderr}");
        assert!(stderr.contains(want), "{label}: {stderr}");
        assert!(!stderr.contains("panicked"), "{label}: {stderr}");
    }
}

fn check(files: &[&Path], extra: &[&str]) -> (Option<i32>, String) {
    let out = edge_node()
        .args(["job", "--check"])
        .args(files.iter().map(|f| f.to_str().expect("utf-8")))
        .args(extra)
        .output()
        .expect("spawn");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn check_prints_every_problem_with_its_path_and_exit_status() {
    let dir = temp_dir("check");
    let good = dir.join("good.yaml");
    std::fs::write(&good, job("batch", "Count: {{ .n }}\n", START, "", 0)).expect("write");
    let bad = dir.join("bad.yaml");
    let text = job("Batch", "", "", "    Network:\n      Type: Host\n", 0);
    std::fs::write(&bad, text).expect("write");
    let (code, out) = check(&[&good], &["-V", "n=2", "--allow-local-path", "/app/**"]);
    assert_eq!((code, out.as_str()), (Some(0), ""));
    let (code, out) = check(&[&good], &[]);
    assert_eq!(code, Some(1), "the template needs n: {out}");
    let (code, out) = check(
        &[&good, &bad],
        &[
            "-V",
            "n=2",
            "--bacalhau-version",
            "1.6",
            "--allow-local-path",
            "/srv/**",
        ],
    );
    assert_eq!(code, Some(1));
    let bad_lines: Vec<&str> = out.lines().filter(|l| l.contains("bad.yaml")).collect();
    for want in [
        "Type: invalid job type: \"Batch\"",
        "Tasks[0].Engine.Params.Entrypoint",
        "Tasks[0].Network.Type: models.Network: unknown type 'Host'",
        "Tasks[0].InputSources[0].Source.Params.SourcePath",
    ] {
        assert!(
            bad_lines.iter().any(|l| l.contains(want)),
            "{want} missing from:\n{out}"
        );
    }
    assert!(
        out.lines()
            .any(|l| l.contains("good.yaml") && l.contains("SourcePath")),
        "{out}"
    );
}

/// Starts `edge-node job` with a control channel; returns the child once it printed `ready`.
fn start_with_control(file: &Path, mount: &str, extra: &[&str]) -> std::process::Child {
    let mut child = edge_node()
        .args([
            "job",
            file.to_str().expect("utf-8"),
            "--mount",
            mount,
            "--control",
            "stdin",
        ])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read ready");
    assert!(line.starts_with("ready "), "{line:?}");
    child
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn daemon_jobs_run_on_nodes_that_join_later() {
    // pkg/orchestrator/scheduler/daemon_job.go: new matching nodes get an execution.
    let server = Server::start(ack);
    let (file, mount) = setup(
        "daemon-join",
        &poster(&server.url("/"), Some(0)),
        "_start",
        &job("daemon", "", START, "", 0),
    );
    let mut child = start_with_control(&file, &mount, &["--edge-nodes", "eu=1"]);
    wait_for("the first node's post", || server.seen().len() == 1);
    let mut stdin = child.stdin.take().expect("stdin");
    for line in [
        "join lab-7:type=edge,region=eu",
        "join lab-8:region=us",
        "join lab-7:region=eu",
        "join edge-eu-0:region=eu",
    ] {
        writeln!(stdin, "{line}").expect("write");
    }
    wait_for("the joined node's post", || server.seen().len() == 2);
    writeln!(stdin, "stop").expect("write");
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("join lab-7: execution placed"), "{stderr}");
    assert!(
        stderr.contains("join lab-8:region=us: the job's constraints do not select it"),
        "{stderr}"
    );
    assert!(
        stderr.contains("\"lab-7\" is already in the cluster"),
        "{stderr}"
    );
    assert!(
        stderr.contains("\"edge-eu-0\" is already in the cluster"),
        "{stderr}"
    );
    assert_eq!(server.seen().len(), 2);
}

#[test]
fn a_queued_job_takes_a_node_that_joins_before_its_queue_timeout() {
    let server = Server::start(ack);
    let (file, mount) = setup(
        "queued-join",
        &poster(&server.url("/"), Some(0)),
        "_start",
        &job("batch", "Count: 2\n", START, "", 60),
    );
    let started = Instant::now();
    let mut child = start_with_control(&file, &mount, &["--edge-nodes", "eu=1"]);
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "join late-0:region=eu").expect("write");
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(server.seen().len(), 2, "both partitions ran");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "did not wait out the queue timeout"
    );
}

#[test]
fn an_ops_job_without_matching_nodes_fails_at_once() {
    // pkg/orchestrator/scheduler/ops_job.go + errors.go ErrNoMatchingNodes.
    let server = Server::start(ack);
    let (file, mount) = setup(
        "ops-none",
        &poster(&server.url("/"), Some(0)),
        "_start",
        &job("ops", "", START, "", 300),
    );
    let (code, stderr) = run(&file, &mount, &["--edge-nodes", "us=2"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("not matching nodes to run job out of 2 available nodes."),
        "{stderr}"
    );
}
