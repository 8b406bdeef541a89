//! plan / apply / check / revert against a temporary root: the round trip restores every file
//! byte for byte, daemon.json keeps the administrator's keys, skipped parameters are reported.
mod util;

use serde_json::Value;
use std::fs;
use util::*;

const SOMAXCONN: &str = "proc/sys/net/core/somaxconn";
const PORT_RANGE: &str = "proc/sys/net/ipv4/ip_local_port_range";
const MANIFEST: &str = "var/lib/edge-sensors/tune/manifest.json";

#[test]
fn round_trip_leaves_the_tree_byte_identical() {
    let dir = fake_root("round-trip");
    let root = dir.path();
    let before = snapshot(root);

    let plan = tune_in(root, "plan", &["--nodes", "5000"]);
    assert_exit(&plan, 0);
    let text = stdout(&plan);
    assert!(text.contains("net.core.somaxconn"), "{text}");
    assert!(text.contains("4096") && text.contains("16384"), "{text}");
    assert_eq!(snapshot(root), before, "plan must not change anything");

    assert_exit(&tune_in(root, "check", &["--nodes", "5000"]), 1);

    assert_exit(&tune_in(root, "apply", &["--nodes", "5000"]), 0);
    assert_eq!(read(root, SOMAXCONN), "16384");
    assert_eq!(read(root, PORT_RANGE), "1024\t65535");
    assert_eq!(read(root, "proc/sys/vm/swappiness"), "10");
    assert_eq!(read(root, "proc/sys/vm/overcommit_memory"), "1");
    let sysctl_d = read(root, "etc/sysctl.d/99-edge-sensors.conf");
    assert!(
        sysctl_d.contains("net.core.somaxconn = 16384\n"),
        "{sysctl_d}"
    );
    assert!(
        sysctl_d.contains("net.ipv4.ip_local_port_range = 1024 65535\n"),
        "{sysctl_d}"
    );
    // fs.nr_open already met the plan: the host's own value is not pinned.
    assert!(!sysctl_d.contains("fs.nr_open"), "{sysctl_d}");
    let limits_d = read(root, "etc/security/limits.d/99-edge-sensors.conf");
    assert!(limits_d.contains("*    hard nofile 131072"), "{limits_d}");

    let check = tune_in(root, "check", &["--nodes", "5000"]);
    assert_exit(&check, 0);
    assert!(
        stdout(&check).contains("ok: the host meets the plan"),
        "{}",
        stdout(&check)
    );

    // Applying again, even for a bigger fleet, must keep the originals of the first apply.
    let manifest = read(root, MANIFEST);
    assert_exit(&tune_in(root, "apply", &["--nodes", "5000"]), 0);
    assert_eq!(
        read(root, MANIFEST),
        manifest,
        "a no-op apply rewrote the backup"
    );
    assert_exit(&tune_in(root, "apply", &["--nodes", "20000"]), 0);
    assert_eq!(read(root, SOMAXCONN), "65535");

    let revert = tune_in(root, "revert", &[]);
    assert_exit(&revert, 0);
    assert_eq!(
        snapshot(root),
        before,
        "revert must restore the tree exactly"
    );

    // A second revert has nothing left to do and says so.
    let again = tune_in(root, "revert", &[]);
    assert_exit(&again, 0);
    assert!(
        stdout(&again).contains("nothing to revert"),
        "{}",
        stdout(&again)
    );
}

#[test]
fn daemon_json_keeps_every_other_key_in_place() {
    let dir = fake_root("daemon-json");
    let root = dir.path();
    let apply = tune_in(root, "apply", &["--nodes", "300"]);
    assert_exit(&apply, 0);
    assert!(
        stdout(&apply).contains("restart docker"),
        "{}",
        stdout(&apply)
    );

    let text = read(root, "etc/docker/daemon.json");
    let after: Value = serde_json::from_str(&text).expect("daemon.json stays valid JSON");
    let original: Value = serde_json::from_str(DAEMON_JSON).expect("fixture");
    for key in ["zz-last-but-first", "insecure-registries", "data-root"] {
        assert_eq!(after[key], original[key], "{key} changed:\n{text}");
    }
    // The nested default-ulimits keeps its nproc entry beside the new nofile.
    assert_eq!(
        after["default-ulimits"]["nproc"],
        original["default-ulimits"]["nproc"]
    );
    assert_eq!(after["default-ulimits"]["nofile"]["Soft"], 65536);
    assert_eq!(after["log-driver"], "local");
    assert_eq!(after["default-address-pools"][0]["base"], "172.20.0.0/14");
    // Untouched members keep their text and their order.
    let first = text.find("\"zz-last-but-first\": true").expect("verbatim");
    let registries = text
        .find("\"insecure-registries\": [\"registry.local:5000\"]")
        .expect("verbatim");
    let data_root = text
        .find("\"data-root\": \"/srv/docker\"")
        .expect("verbatim");
    assert!(first < registries && registries < data_root, "{text}");
    let mode = fs::metadata(root.join("etc/docker/daemon.json")).expect("stat");
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );

    let again = tune_in(root, "apply", &["--nodes", "300"]);
    assert_exit(&again, 0);
    assert!(
        stdout(&again).contains("no restart needed"),
        "{}",
        stdout(&again)
    );
}

#[test]
fn missing_and_read_only_parameters_are_reported_and_skipped() {
    let dir = fake_root("skips");
    let root = dir.path();
    let plan = tune_in(root, "plan", &[]);
    assert_exit(&plan, 0);
    let text = stdout(&plan);
    let conntrack = text
        .lines()
        .find(|l| l.starts_with("net.netfilter.nf_conntrack_max"));
    let conntrack = conntrack.expect("conntrack listed");
    assert!(conntrack.contains("not available on this kernel") && conntrack.contains("skip"));
    let rmem = text
        .lines()
        .find(|l| l.starts_with("net.core.rmem_max"))
        .expect("rmem listed");
    assert!(rmem.contains("read-only here"), "{rmem}");

    assert_exit(&tune_in(root, "apply", &[]), 0);
    assert!(
        !root.join("proc/sys/net/netfilter").exists(),
        "a missing parameter was created"
    );
    assert_eq!(read(root, "proc/sys/net/core/rmem_max"), "212992\n");
    let check = tune_in(root, "check", &[]);
    assert_exit(&check, 0);
    assert!(stdout(&check).contains("skipped: net.netfilter.nf_conntrack_max"));
}

#[test]
fn check_lists_what_is_not_met() {
    let dir = fake_root("check");
    let root = dir.path();
    assert_exit(&tune_in(root, "apply", &["--nodes", "300"]), 0);
    fs::write(root.join(SOMAXCONN), "128\n").expect("someone lowers it");
    let check = tune_in(root, "check", &["--nodes", "300"]);
    assert_exit(&check, 1);
    let text = stdout(&check);
    assert!(
        text.contains("not met: net.core.somaxconn is 128, needs 4096"),
        "{text}"
    );
    // A value tune set at runtime but missing from sysctl.d is lost at reboot: also not met.
    fs::write(root.join(SOMAXCONN), "4096\n").expect("restore");
    assert_exit(&tune_in(root, "check", &["--nodes", "300"]), 0);
    fs::write(root.join("etc/sysctl.d/99-edge-sensors.conf"), "").expect("empty file");
    let check = tune_in(root, "check", &["--nodes", "300"]);
    assert_exit(&check, 1);
    let text = stdout(&check);
    assert!(
        text.contains("net.ipv4.tcp_max_syn_backlog is not persisted"),
        "{text}"
    );
    // somaxconn met the plan on its own (4096): tune never changed it, so no need to persist.
    assert!(!text.contains("somaxconn"), "{text}");
}

#[test]
fn dry_run_changes_nothing() {
    let dir = fake_root("dry-run");
    let root = dir.path();
    let before = snapshot(root);
    let out = tune_in(root, "apply", &["--dry-run", "--nodes", "5000"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("would set net.core.somaxconn = 16384"),
        "{text}"
    );
    assert!(text.contains("would write"), "{text}");
    assert_eq!(snapshot(root), before);
}

#[test]
fn only_limits_the_settings_touched() {
    let dir = fake_root("only");
    let root = dir.path();
    let before = snapshot(root);
    assert_exit(&tune_in(root, "apply", &["--only", "docker.log-driver"]), 0);
    let after = snapshot(root);
    let changed: Vec<_> = after
        .iter()
        .filter(|(p, v)| v.is_some() && before.get(*p) != Some(v))
        .map(|(p, _)| p.to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        changed,
        [
            "etc/docker/daemon.json",
            "var/lib/edge-sensors/tune/file-0",
            MANIFEST
        ],
        "only daemon.json and its backup may change"
    );
    let doc: Value =
        serde_json::from_str(&read(root, "etc/docker/daemon.json")).expect("valid json");
    assert_eq!(doc["log-driver"], "local");
    assert!(doc.get("default-address-pools").is_none());
    assert_exit(&tune_in(root, "revert", &[]), 0);
    assert_eq!(snapshot(root), before);
}

#[test]
fn invalid_daemon_json_is_refused_untouched() {
    let dir = fake_root("bad-json");
    let root = dir.path();
    put(root, "etc/docker/daemon.json", "{\"debug\": tru", 0o644);
    let before = snapshot(root);
    let out = tune_in(root, "apply", &[]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("daemon.json is not a JSON object"),
        "{}",
        stderr(&out)
    );
    assert_eq!(snapshot(root), before);
}

#[test]
fn a_root_without_proc_or_etc_works_from_scratch() {
    let dir = TempDir::new("empty-root");
    let root = dir.path();
    let before = snapshot(root);
    let apply = tune_in(root, "apply", &[]);
    assert_exit(&apply, 0);
    let doc: Value =
        serde_json::from_str(&read(root, "etc/docker/daemon.json")).expect("new daemon.json");
    assert_eq!(doc["log-driver"], "local");
    assert_exit(&tune_in(root, "check", &[]), 0);
    assert_exit(&tune_in(root, "revert", &[]), 0);
    assert_eq!(
        snapshot(root),
        before,
        "created files and directories must all go"
    );
}

#[test]
fn apply_and_revert_refuse_while_another_holds_the_root() {
    let dir = fake_root("busy");
    let root = dir.path();
    let before = snapshot(root);
    let held = fs::File::open(root).expect("open root");
    assert!(
        tune::sys::try_lock_exclusive(&held).expect("flock"),
        "lock taken by the test"
    );
    for command in ["apply", "revert"] {
        let out = tune_in(root, command, &[]);
        assert_exit(&out, 1);
        assert!(stderr(&out).contains("another `tune apply` or `tune revert` is running"));
    }
    assert_eq!(snapshot(root), before);
    drop(held);
    assert_exit(&tune_in(root, "apply", &[]), 0);
}
