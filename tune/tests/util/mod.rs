//! Helpers shared by tune's integration tests: a fake filesystem root with a /proc/sys tree,
//! a full snapshot of a tree (to prove a round trip is byte-identical), and running the binary.
#![allow(dead_code)] // each test file uses a different subset

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("tune-{tag}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// An administrator's daemon.json with keys tune must not touch, in an unsorted order and an
/// unusual layout.
pub const DAEMON_JSON: &str = "{\n    \"zz-last-but-first\": true,\n    \"insecure-registries\": [\"registry.local:5000\"],\n    \"default-ulimits\": {\"nproc\": {\"Name\": \"nproc\", \"Soft\": 512, \"Hard\": 1024}},\n    \"data-root\": \"/srv/docker\"\n}\n";

/// Writes `text` to `root/relative`, creating parents, with `mode`.
pub fn put(root: &Path, relative: &str, text: &str, mode: u32) {
    let path = root.join(relative);
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(&path, text).expect("write");
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A fake root: kernel values as a stock kernel shows them (tabs in the port range), one
/// read-only parameter, no nf_conntrack (module not loaded), and an existing daemon.json.
pub fn fake_root(tag: &str) -> TempDir {
    let dir = TempDir::new(tag);
    let root = dir.path();
    for (name, value) in [
        ("net/core/somaxconn", "4096\n"),
        ("net/core/wmem_max", "212992\n"),
        ("net/ipv4/tcp_max_syn_backlog", "1024\n"),
        ("net/ipv4/ip_local_port_range", "32768\t60999\n"),
        ("net/ipv4/neigh/default/gc_thresh1", "128\n"),
        ("net/ipv4/neigh/default/gc_thresh2", "512\n"),
        ("net/ipv4/neigh/default/gc_thresh3", "1024\n"),
        ("fs/nr_open", "1048576\n"),
        ("fs/file-max", "9223372036854775807\n"),
        ("vm/overcommit_memory", "0\n"),
        ("vm/swappiness", "60\n"),
    ] {
        put(root, &format!("proc/sys/{name}"), value, 0o644);
    }
    put(root, "proc/sys/net/core/rmem_max", "212992\n", 0o444);
    put(root, "etc/docker/daemon.json", DAEMON_JSON, 0o600);
    dir
}

/// Every entry under `root`: directories (as `None`) and files with their bytes and mode.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Option<(Vec<u8>, u32)>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            let rel = path.strip_prefix(root).expect("under root").to_path_buf();
            let meta = fs::symlink_metadata(&path).expect("stat");
            if meta.is_dir() {
                out.insert(rel, None);
                stack.push(path);
            } else {
                let bytes = fs::read(&path).expect("read");
                out.insert(rel, Some((bytes, meta.permissions().mode() & 0o7777)));
            }
        }
    }
    out
}

pub fn tune_bin() -> &'static str {
    env!("CARGO_BIN_EXE_tune")
}

/// Runs tune with `args`.
pub fn tune(args: &[&str]) -> Output {
    Command::new(tune_bin())
        .args(args)
        .output()
        .expect("run tune")
}

/// Runs tune against the fake root `root` (files and /proc/sys both inside it).
pub fn tune_in(root: &Path, command: &str, extra: &[&str]) -> Output {
    let root = root.to_str().expect("utf-8 temp path");
    let mut args = vec![command, "--root", root];
    args.extend_from_slice(extra);
    tune(&args)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the exit code, showing both streams on failure.
pub fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "exit status\n--- stdout\n{}\n--- stderr\n{}",
        stdout(o),
        stderr(o)
    );
}

pub fn read(root: &Path, relative: &str) -> String {
    fs::read_to_string(root.join(relative)).expect("read file")
}
