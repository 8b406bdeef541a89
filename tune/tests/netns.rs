//! apply → check → revert on the real kernel, inside a fresh network namespace whose `net.*`
//! parameters are private to it: the host's values must not move, the namespace's must reach
//! the plan and come back exactly. Only `--only net.` is applied: fs.*, vm.* and kernel.* are
//! global and would change the host. Global `net.*` parameters show up read-only inside the
//! namespace and are skipped by tune.
mod util;

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use util::*;

/// Namespaced parameters tune changes for a large fleet, with the kernel's defaults in a fresh
/// namespace well below the plan.
const PRIVATE: [&str; 3] = [
    "net.core.somaxconn",
    "net.ipv4.tcp_max_syn_backlog",
    "net.ipv4.ip_local_port_range",
];
/// Every net.* parameter tune knows; none may change on the host.
const ALL_NET: [&str; 12] = [
    "net.netfilter.nf_conntrack_max",
    "net.core.somaxconn",
    "net.ipv4.tcp_max_syn_backlog",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.neigh.default.gc_thresh1",
    "net.ipv4.neigh.default.gc_thresh2",
    "net.ipv4.neigh.default.gc_thresh3",
    "net.ipv6.neigh.default.gc_thresh1",
    "net.ipv6.neigh.default.gc_thresh2",
    "net.ipv6.neigh.default.gc_thresh3",
    "net.core.rmem_max",
    "net.core.wmem_max",
];

/// A network namespace deleted on drop, even when the test fails half-way.
struct Netns {
    name: String,
}

impl Netns {
    fn create() -> Netns {
        match Command::new("ip").arg("-V").output() {
            Ok(o) if o.status.success() => {}
            _ => panic!(
                "the `ip` command (iproute2) is needed for the network-namespace test: \
                 apt-get install iproute2"
            ),
        }
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "tune-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let out = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .expect("run ip");
        assert!(
            out.status.success(),
            "`ip netns add {name}` failed (creating a network namespace needs root, as CI \
             runs): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Netns { name }
    }

    fn exec(&self, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args)
            .output()
            .expect("run ip netns exec")
    }

    /// The raw text of a parameter as seen inside the namespace.
    fn read(&self, name: &str) -> String {
        let out = self.exec(&["cat", &proc_path(name)]);
        assert!(
            out.status.success(),
            "cat {name} in namespace: {}",
            stderr(&out)
        );
        stdout(&out)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

fn proc_path(name: &str) -> String {
    format!("/proc/sys/{}", name.replace('.', "/"))
}

fn host_values() -> Vec<(String, Option<String>)> {
    ALL_NET
        .iter()
        .map(|n| (n.to_string(), std::fs::read_to_string(proc_path(n)).ok()))
        .collect()
}

fn numbers(raw: &str) -> Vec<u64> {
    raw.split_whitespace()
        .map(|w| w.parse().expect("number"))
        .collect()
}

#[test]
fn apply_check_revert_on_the_real_kernel_in_a_network_namespace() {
    let ns = Netns::create();
    let files = TempDir::new("netns-files");
    let root = files.path().to_str().expect("utf-8 path").to_string();
    let host_before = host_values();
    let originals: Vec<String> = PRIVATE.iter().map(|n| ns.read(n)).collect();

    let args = |command: &str| -> Vec<String> {
        let mut v = vec![tune_bin().to_string(), command.to_string()];
        if command != "revert" {
            v.extend(["--nodes", "20000", "--only", "net."].map(String::from));
        }
        v.extend(["--root", &root, "--proc-sys", "/proc/sys"].map(String::from));
        v
    };
    let run = |command: &str| {
        let a = args(command);
        ns.exec(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };

    // A fresh namespace has the kernel defaults, below the plan for 20 000 nodes.
    assert_exit(&run("check"), 1);

    let apply = run("apply");
    assert_exit(&apply, 0);
    assert!(
        stdout(&apply).contains("set net.core.somaxconn = 65535"),
        "{}",
        stdout(&apply)
    );
    assert_eq!(numbers(&ns.read("net.core.somaxconn")), [65_535]);
    assert_eq!(numbers(&ns.read("net.ipv4.tcp_max_syn_backlog")), [65_535]);
    assert_eq!(
        numbers(&ns.read("net.ipv4.ip_local_port_range")),
        [1024, 65_535]
    );
    assert_eq!(
        host_values(),
        host_before,
        "apply in a namespace changed the host"
    );

    let check = run("check");
    assert_exit(&check, 0);
    let text = stdout(&check);
    assert!(text.contains("ok: the host meets the plan"), "{text}");
    // Global parameters are read-only or absent inside the namespace: skipped, not failed.
    assert!(text.contains("skipped: net.core.rmem_max"), "{text}");

    let revert = run("revert");
    assert_exit(&revert, 0);
    let restored: Vec<String> = PRIVATE.iter().map(|n| ns.read(n)).collect();
    assert_eq!(
        restored, originals,
        "revert must restore the kernel's exact values"
    );
    assert_eq!(host_values(), host_before);
    assert!(
        snapshot(files.path()).is_empty(),
        "revert left files: {:?}",
        snapshot(files.path())
    );
    assert_exit(&run("check"), 1);
}
