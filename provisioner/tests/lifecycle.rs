//! The provisioner against the real docker engine, with stand-in images built locally by
//! `provisioner images --only standin`: every service and edge node is the `standin` binary,
//! so these tests assert the container lifecycle (create, count, stop/start with identity,
//! idempotence, removal), not the data path (see data_path.rs).
mod util;

use serde_json::json;
use util::{docker, ensure_images, text, Project};

/// Every role on the stand-in image; proxies keep their port publishing.
fn standin_profile() -> serde_json::Value {
    let serve = |role: &str| json!({"image": "edge-sensors/standin:local", "command": ["serve", "--role", role]});
    json!({
        "base": "standin",
        "edge": serve("edge-{hostname}"),
        "proxy": {"image": "edge-sensors/standin:local", "command": ["serve", "--role", "proxy-{region}"],
                  "health": {"exec": ["/standin", "health"]}},
        "puller": serve("puller"),
    })
}

fn hostname(container: &str) -> String {
    docker(&["inspect", "--format", "{{.Config.Hostname}}", container])
}

#[test]
fn up_status_disconnect_reconnect_idempotence_and_down() {
    ensure_images(&["standin"]);
    let p = Project::new(&standin_profile());

    // Three regions, a few nodes each, in batches of 2.
    let out = p.ok(&["up", "--us", "3", "--eu", "2", "--as", "2", "--batch", "2"]);
    assert!(out.contains("up: project"), "{out}");
    // Stand-in proxies and puller do not name {queue_url}: no queue is looked up or made.
    assert!(!out.contains("queue "), "{out}");
    assert!(!util::queue_exists(&p.queue), "{out}");
    // The Bacalhau node configs are written for every up (node_configs.rs checks content).
    let config_dir = edge_tests::bins::workspace_root()
        .join("target/bacalhau")
        .join(&p.name);
    assert!(config_dir.join("edge-eu.yaml").is_file(), "{config_dir:?}");
    assert_eq!(p.edge_counts(), vec![(3, 0), (2, 0), (2, 0)]);
    let status = p.status();
    let core = status["core"].as_object().expect("core map");
    assert_eq!(
        core.len(),
        6,
        "orchestrator, web-services, 3 proxies, puller: {core:?}"
    );
    assert!(core.values().all(|c| c["state"] == "running"), "{core:?}");
    assert_eq!(
        status["networks"].as_array().map(Vec::len),
        Some(4),
        "core + 3 regions"
    );

    // Hostname-based identity, region labels, limits and the published proxy port.
    let eu1 = format!("{}-edge-eu-0001", p.name);
    assert_eq!(hostname(&eu1), "edge-eu-0001");
    let labels = docker(&[
        "inspect",
        "--format",
        "{{index .Config.Labels \"region\"}} {{index .Config.Labels \"type\"}}",
        &eu1,
    ]);
    assert_eq!(labels, "eu edge");
    let limits = docker(&["inspect", "--format", "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}} {{range .HostConfig.Ulimits}}{{.Name}}={{.Soft}}{{end}}", &eu1]);
    assert_eq!(limits, "30000000 209715200 nofile=4096");
    let env = docker(&[
        "inspect",
        "--format",
        "{{range .Config.Env}}{{.}} {{end}}",
        &eu1,
    ]);
    assert!(env.contains("REGION=eu"), "{env}");
    let us_port = p.ports.split(',').next().expect("port");
    let published = docker(&["port", &format!("{}-proxy-us", p.name)]);
    assert!(published.contains(&format!(":{us_port}")), "{published}");

    // `up` again creates nothing new and restarts nothing.
    let before = p.container_ids();
    let out = p.ok(&["up", "--us", "3", "--eu", "2", "--as", "2", "--batch", "2"]);
    assert!(out.contains("already running"), "{out}");
    assert_eq!(p.container_ids(), before);

    // disconnect stops the region but keeps ids and hostnames; reconnect brings them back.
    p.ok(&["disconnect", "eu"]);
    assert_eq!(p.edge_counts(), vec![(3, 0), (0, 2), (2, 0)]);
    assert_eq!(p.container_ids(), before);
    p.ok(&["reconnect", "eu", "--batch", "1", "--ms-between", "0"]);
    assert_eq!(p.edge_counts(), vec![(3, 0), (2, 0), (2, 0)]);
    assert_eq!(p.container_ids(), before);
    assert_eq!(hostname(&eu1), "edge-eu-0001");

    // `up` after a partial failure completes the set: a removed node is recreated, a stopped
    // one started, the rest untouched.
    let as2 = format!("{}-edge-as-0002", p.name);
    let us3 = format!("{}-edge-us-0003", p.name);
    docker(&["rm", "-f", &as2]);
    docker(&["stop", "-t", "1", &us3]);
    p.ok(&["up", "--us", "3", "--eu", "2", "--as", "2"]);
    assert_eq!(p.edge_counts(), vec![(3, 0), (2, 0), (2, 0)]);
    let after = p.container_ids();
    let changed: Vec<&String> = after.iter().filter(|l| !before.contains(l)).collect();
    assert_eq!(changed.len(), 1, "only {as2} should be new: {changed:?}");
    assert!(changed[0].starts_with(&as2), "{changed:?}");

    // scale grows and shrinks one region only.
    p.ok(&["scale", "us", "5"]);
    assert_eq!(p.edge_counts(), vec![(5, 0), (2, 0), (2, 0)]);
    p.ok(&["scale", "us", "1"]);
    assert_eq!(p.edge_counts(), vec![(1, 0), (2, 0), (2, 0)]);

    // down removes exactly what carries our label, and the node configs it wrote.
    p.ok(&["down"]);
    assert_eq!(p.leftovers(), Vec::<String>::new());
    assert!(!config_dir.exists(), "{config_dir:?} left behind");
}

#[test]
fn all_at_once_starts_every_node_with_bounded_parallelism() {
    ensure_images(&["standin"]);
    let p = Project::new(&standin_profile());
    p.ok(&["up", "--replicas", "4", "--all-at-once", "--parallel", "3"]);
    assert_eq!(p.edge_counts(), vec![(4, 0), (4, 0), (4, 0)]);
    p.ok(&["down"]);
    assert_eq!(p.leftovers(), Vec::<String>::new());
}

/// There is no registry here, so an image that is not built locally cannot be pulled: `up`
/// says which image and role, quotes docker, says what to do instead, and creates nothing.
#[test]
fn an_image_that_cannot_be_pulled_fails_up_with_what_to_do() {
    ensure_images(&["standin"]);
    let mut profile = standin_profile();
    profile["edge"]["image"] = json!("edge-sensors/no-such-image:none");
    let p = Project::new(&profile);
    let out = p.run(&["up", "--us", "1", "--eu", "0", "--as", "0"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let msg = text(&out);
    assert!(
        msg.contains("image edge-sensors/no-such-image:none (edge) is not on this host"),
        "error must name the image and role: {msg}"
    );
    assert!(
        msg.contains("Error response from daemon"),
        "error must carry docker's message: {msg}"
    );
    assert!(
        msg.contains("`provisioner images`") && msg.contains("`--profile standin`"),
        "error must say what to do: {msg}"
    );
    assert_eq!(
        p.container_ids(),
        Vec::<String>::new(),
        "nothing may be created"
    );
}

/// A core service that exits fails `up` with its last log lines, and those lines reach the
/// terminal inert (issue 20): the stand-in echoes its hostile argument into its log.
#[test]
fn a_core_service_that_exits_fails_up_with_its_logs() {
    ensure_images(&["standin"]);
    let mut profile = standin_profile();
    // `standin` with an unknown command prints its usage and exits 2 straight away.
    profile["orchestrator"]["command"] = json!(["crash-please\u{1b}]0;pwned\u{7}\u{1b}[2J"]);
    let p = Project::new(&profile);
    let out = p.run(&["up", "--replicas", "1"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let msg = text(&out);
    assert!(
        msg.contains(&format!("{}-orchestrator is not running", p.name)),
        "{msg}"
    );
    assert!(
        msg.contains("unknown command 'crash-please\\u{1b}]0;pwned\\u{7}\\u{1b}[2J'"),
        "logs should be included, escaped: {msg}"
    );
    assert!(
        !out.stderr.iter().any(|b| *b == 0x1b || *b == 0x07),
        "raw escape bytes reached the terminal: {msg:?}"
    );
    assert_eq!(
        p.edge_counts(),
        vec![(0, 0), (0, 0), (0, 0)],
        "no edge node may start without a healthy core"
    );
}

#[test]
fn cli_usage_errors_exit_2_and_help_exits_0() {
    let help = util::provisioner(&["--help"]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("usage: provisioner COMMAND"));
    for bad in [
        &["up", "--bogus"][..],
        &["disconnect", "mars"],
        &["scale", "us"],
        &[],
    ] {
        let out = util::provisioner(bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", text(&out));
        assert!(
            text(&out).contains("provisioner: error:"),
            "{bad:?}: {}",
            text(&out)
        );
    }
    let out = util::provisioner(&["status", "--profile", "/nonexistent/p.json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("/nonexistent/p.json"), "{}", text(&out));
}
