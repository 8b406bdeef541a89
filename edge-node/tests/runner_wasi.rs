//! WASI preview1 as Bacalhau offers it, and the runner's failure modes: the TinyGo import set
//! links and runs, sleep really sleeps, argv/env, memory limits, link errors, exit codes.
mod support;

use support::wasm::{Body, Module, I32, I64};
use support::{run, run_module, AbiCall};

const SCRATCH: i32 = 16384;
const ARGS_BUF: i32 = 20000;
const ENV_BUF: i32 = 24000;
const T0: i32 = 30000;
const T1: i32 = 30008;

fn print(b: Body, fd_write: u32, fd: i32, buf: i32, len_at: i32) -> Body {
    b.i32(SCRATCH + 200)
        .i32(buf)
        .store32()
        .i32(SCRATCH + 204)
        .i32(len_at)
        .load32()
        .store32()
        .i32(fd)
        .i32(SCRATCH + 200)
        .i32(1)
        .i32(SCRATCH + 208)
        .call(fd_write)
        .drop_()
}

/// Exits with `code` when the i32 on the stack is non-zero.
fn fail_if(b: Body, proc_exit: u32, code: i32) -> Body {
    b.if_().i32(code).call(proc_exit).end()
}

/// Imports exactly what a TinyGo publisher built against Bacalhau's HTTP client imports.
fn tinygo_like(sleep_ms: i64) -> Module {
    let mut m = Module::new();
    let fd_write = m.wasi("fd_write", &[I32; 4]);
    let proc_exit = m.wasi("proc_exit", &[I32]);
    let poll = m.wasi("poll_oneoff", &[I32; 4]);
    let clock = m.import(
        "wasi_snapshot_preview1",
        "clock_time_get",
        &[I32, I64, I32],
        &[I32],
    );
    let args_sizes = m.wasi("args_sizes_get", &[I32; 2]);
    let args_get = m.wasi("args_get", &[I32; 2]);
    let env_sizes = m.wasi("environ_sizes_get", &[I32; 2]);
    let env_get = m.wasi("environ_get", &[I32; 2]);
    let random = m.wasi("random_get", &[I32; 2]);
    let path_open = m.import(
        "wasi_snapshot_preview1",
        "path_open",
        &[I32, I32, I32, I32, I32, I64, I64, I32, I32],
        &[I32],
    );
    let _http = m.http();
    let mut b = Body::new()
        .i32(SCRATCH)
        .i32(SCRATCH + 4)
        .call(args_sizes)
        .drop_();
    b = b.i32(SCRATCH + 300).i32(ARGS_BUF).call(args_get);
    b = fail_if(b, proc_exit, 9);
    b = print(b, fd_write, 1, ARGS_BUF, SCRATCH + 4);
    b = b.i32(SCRATCH + 8).i32(SCRATCH + 12).call(env_sizes).drop_();
    b = b.i32(SCRATCH + 400).i32(ENV_BUF).call(env_get);
    b = fail_if(b, proc_exit, 9);
    b = print(b, fd_write, 2, ENV_BUF, SCRATCH + 12);
    b = fail_if(b.i32(T0 + 100).i32(16).call(random), proc_exit, 10);
    b = fail_if(b.i32(1).i64(0).i32(T0).call(clock), proc_exit, 10);
    // Subscription: userdata 7, clock (tag 0), monotonic (id 1), relative timeout.
    b = b
        .i32(SCRATCH + 500)
        .i64(7)
        .store64()
        .i32(SCRATCH + 516)
        .i32(1)
        .store32()
        .i32(SCRATCH + 524)
        .i64(sleep_ms * 1_000_000)
        .store64();
    b = fail_if(
        b.i32(SCRATCH + 500)
            .i32(SCRATCH + 600)
            .i32(1)
            .i32(SCRATCH + 700)
            .call(poll),
        proc_exit,
        10,
    );
    // The event's userdata must come back.
    b = fail_if(b.i32(SCRATCH + 600).load64().i64(7).op(0x52), proc_exit, 13); // i64.ne
    b = fail_if(b.i32(1).i64(0).i32(T1).call(clock), proc_exit, 10);
    // if (t1 - t0) < sleep: exit 11
    b = fail_if(
        b.i32(T1)
            .load64()
            .i32(T0)
            .load64()
            .op(0x7d)
            .i64(sleep_ms * 1_000_000)
            .op(0x54),
        proc_exit,
        11,
    ); // i64.lt_u
       // Unimplemented functions exist and answer ENOSYS (52).
    b = b
        .i32(3)
        .i32(0)
        .i32(0)
        .i32(0)
        .i32(0)
        .i64(0)
        .i64(0)
        .i32(0)
        .i32(0)
        .call(path_open)
        .i32(52)
        .op(0x47); // i32.ne
    b = fail_if(b, proc_exit, 12);
    m.start(0, b.i32(0).call(proc_exit));
    m
}

#[test]
fn tinygo_import_set_links_and_runs_with_argv_env_and_real_sleep() {
    let guest = tinygo_like(300).write_temp("tinygo");
    let started = std::time::Instant::now();
    let out = run_module(
        &guest,
        &["--hostname", "h1", "--region", "eu", "--env", "A=1"],
        &["--proxy=http://x", "p2"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    // argv[0] is empty, then the parameters.
    assert_eq!(out.stdout, b"\0--proxy=http://x\0p2\0");
    let env: Vec<&str> = stderr.split('\0').filter(|s| !s.is_empty()).collect();
    // Bacalhau gives a guest no REGION: only the task env and BACALHAU_* (pkg/compute/envvars.go).
    assert!(!env.iter().any(|e| e.starts_with("REGION=")), "{env:?}");
    for want in [
        "A=1",
        "HOSTNAME=h1",
        "BACALHAU_JOB_TYPE=batch",
        "BACALHAU_PARTITION_INDEX=0",
        "BACALHAU_PARTITION_COUNT=1",
    ] {
        assert!(env.contains(&want), "{want} missing from {env:?}");
    }
    assert!(env.iter().any(|e| e.starts_with("BACALHAU_JOB_ID=j-")));
    assert!(env
        .iter()
        .any(|e| e.starts_with("BACALHAU_EXECUTION_ID=e-")));
    let mut sorted = env.clone();
    sorted.sort();
    assert_eq!(env, sorted, "Bacalhau passes the environment sorted by key");
}

fn grower(pages: i32) -> Module {
    let mut m = Module::new();
    let proc_exit = m.wasi("proc_exit", &[I32]);
    // exit 0 when memory.grow failed (-1), 1 when it succeeded.
    let b = Body::new()
        .i32(pages)
        .grow()
        .i32(-1)
        .op(0x47)
        .call(proc_exit);
    m.start(0, b);
    m
}

#[test]
fn memory_limit_is_enforced() {
    let guest = grower(4).write_temp("grow");
    assert_eq!(
        run_module(&guest, &["--memory", "128kb"], &[])
            .status
            .code(),
        Some(0),
        "grow beyond the limit fails"
    );
    assert_eq!(
        run_module(&guest, &[], &[]).status.code(),
        Some(1),
        "without a limit it succeeds"
    );
    assert_eq!(
        run_module(&guest, &["--memory", "1mb"], &[]).status.code(),
        Some(1)
    );
    let mut big = grower(0);
    big.memory(20, None);
    let out = run_module(&big.write_temp("big"), &["--memory", "64kb"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("memory limit"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn exit_code_and_traps() {
    let mut m = Module::new();
    let proc_exit = m.wasi("proc_exit", &[I32]);
    m.start(0, Body::new().i32(42).call(proc_exit));
    assert_eq!(
        run_module(&m.write_temp("exit42"), &[], &[]).status.code(),
        Some(42)
    );
    let mut m = Module::new();
    m.start(0, Body::new());
    assert_eq!(
        run_module(&m.write_temp("ret"), &[], &[]).status.code(),
        Some(255),
        "returning from _start without proc_exit is exit code -1, as Bacalhau v1.7 reports it \
         (pkg/executor/wasm/handler.go)"
    );
    let mut m = Module::new();
    m.start(0, Body::new().op(0x00)); // unreachable
    let out = run_module(&m.write_temp("trap"), &[], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("trap"));
}

#[test]
fn link_errors_name_the_import() {
    let mut m = Module::new();
    m.import("env", "mystery", &[], &[]);
    m.start(0, Body::new());
    let out = run_module(&m.write_temp("mystery"), &[], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("env.mystery"));
    let mut m = Module::new();
    m.wasi("fd_teleport", &[I32]);
    m.start(0, Body::new());
    let out = run_module(&m.write_temp("teleport"), &[], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("wasi_snapshot_preview1.fd_teleport"));
    // With network None the http import does not exist: a module needing it cannot link.
    let guest = AbiCall::new(0, "http://127.0.0.1/")
        .guest()
        .write_temp("nonet");
    let out = run_module(&guest, &["--network", "none"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("http_request") && err.contains("None"),
        "{err}"
    );
}

#[test]
fn bad_inputs_are_clear_errors() {
    let out = run(&["run", "/nonexistent/module.wasm"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read module"));
    let junk = std::env::temp_dir().join(edge_tests::unique_name("junk.wasm"));
    std::fs::write(&junk, b"definitely not wasm").expect("write");
    let out = run(&["run", junk.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a valid WebAssembly module"));
    let out = run(&["run", "m.wasm", "--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--bogus"));
    let out = run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("edge-node simulate"));
}
