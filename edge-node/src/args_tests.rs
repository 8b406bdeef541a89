//! Unit tests for `args`: one per flag, plus the usage errors.
use super::*;

fn hi(args: &[&str]) -> Result<HiArgs, Error> {
    parse(args.iter().copied()).map(|h| h.expect("not help"))
}

fn run_of(args: &[&str]) -> (String, Option<String>, NodeOptions, Vec<String>) {
    match hi(args).expect("valid").command {
        Command::Run {
            hostname,
            region,
            node,
            params,
            ..
        } => (hostname, region, node, params),
        other => panic!("not run: {other:?}"),
    }
}

#[test]
fn help_flag() {
    assert_eq!(parse(["--help"]).expect("ok"), None);
    assert_eq!(parse(["run", "-h"]).expect("ok"), None);
}

#[test]
fn run_with_params_after_double_dash() {
    let (host, region, node, params) = run_of(&[
        "run",
        "m.wasm",
        "--hostname",
        "n1",
        "--region=eu",
        "--",
        "--proxy=x",
        "-v",
    ]);
    assert_eq!((host.as_str(), region.as_deref()), ("n1", Some("eu")));
    assert_eq!(params, vec!["--proxy=x", "-v"]);
    assert_eq!(node.network, NetworkPolicy::Host);
}

#[test]
fn env_flag() {
    let (_, _, node, _) = run_of(&["run", "m.wasm", "--env", "A=1", "--env=B=x=y"]);
    assert_eq!(
        node.env,
        vec![("A".into(), "1".into()), ("B".into(), "x=y".into())]
    );
    assert!(hi(&["run", "m.wasm", "--env", "A"]).is_err());
}

#[test]
fn memory_flag() {
    assert_eq!(
        run_of(&["run", "m.wasm", "--memory", "64mb"]).2.memory,
        Some(64 << 20)
    );
    assert_eq!(parse_memory("36MB").expect("ok"), 36 << 20);
    assert_eq!(parse_memory("64Mi").expect("ok"), 64 << 20);
    assert_eq!(parse_memory("1gb").expect("ok"), 1 << 30);
    assert_eq!(parse_memory("65536").expect("ok"), 65536);
    assert!(parse_memory("lots").is_err());
    assert!(parse_memory("12xb").is_err());
    assert!(hi(&["run", "m.wasm", "--memory", "0"]).is_err());
}

#[test]
fn network_and_domain_flags() {
    assert_eq!(
        run_of(&["run", "m.wasm", "--network", "none"]).2.network,
        NetworkPolicy::None
    );
    let n = run_of(&[
        "run",
        "m.wasm",
        "--network",
        "http",
        "--domain",
        "*.local.lan",
    ])
    .2
    .network;
    assert!(n.allows("a.local.lan") && !n.allows("x.org"));
    assert!(hi(&["run", "m.wasm", "--network", "http"]).is_err());
    assert!(hi(&[
        "run",
        "m.wasm",
        "--network",
        "http",
        "--domain",
        "localhost"
    ])
    .is_err());
    assert!(hi(&["run", "m.wasm", "--domain", "a.b"]).is_err());
    assert!(hi(&["run", "m.wasm", "--network", "bridge"]).is_err());
}

#[test]
fn host_alias_flag() {
    let h = hi(&["run", "m.wasm", "--host-alias", "proxy=10.0.0.1"]).expect("valid");
    assert_eq!(
        h.aliases,
        vec![(
            "proxy".to_string(),
            "10.0.0.1".parse::<IpAddr>().expect("ip")
        )]
    );
    assert!(hi(&["run", "m.wasm", "--host-alias", "proxy"]).is_err());
}

#[test]
fn simulate_flags() {
    let h = hi(&[
        "simulate",
        "m.wasm",
        "--nodes",
        "3",
        "--region",
        "us",
        "--quiet",
        "--stats-file",
        "/tmp/s.json",
        "--control",
        "stdin",
    ])
    .expect("valid");
    match h.command {
        Command::Simulate {
            nodes,
            region,
            prefix,
            fleet,
            ..
        } => {
            assert_eq!(
                (nodes, region.as_str(), prefix.as_str()),
                (3, "us", "edge-us-")
            );
            assert!(fleet.quiet && fleet.control_stdin);
            assert_eq!(fleet.stats_file, Some(PathBuf::from("/tmp/s.json")));
        }
        other => panic!("{other:?}"),
    }
    let h = hi(&[
        "simulate",
        "m.wasm",
        "--nodes",
        "1",
        "--region",
        "eu",
        "--hostname-prefix",
        "n-",
    ])
    .expect("valid");
    assert!(matches!(h.command, Command::Simulate { ref prefix, .. } if prefix == "n-"));
    assert!(hi(&["simulate", "m.wasm", "--region", "us"]).is_err());
    assert!(hi(&["simulate", "m.wasm", "--nodes", "2"]).is_err());
    assert!(hi(&["simulate", "m.wasm", "--nodes", "0", "--region", "us"]).is_err());
    assert!(hi(&["simulate", "m.wasm", "--nodes", "x", "--region", "us"]).is_err());
    assert!(hi(&[
        "simulate",
        "m.wasm",
        "--nodes",
        "1",
        "--region",
        "us",
        "--control",
        "tcp"
    ])
    .is_err());
}

#[test]
fn job_flags() {
    let h = hi(&[
        "job",
        "j.yaml",
        "-V",
        "REPLICAS=5",
        "-E",
        "AWS_.*",
        "--mount",
        "/app=/srv",
        "--nodes",
        "2",
    ])
    .expect("valid");
    match h.command {
        Command::Job {
            vars,
            env_patterns,
            mounts,
            nodes,
            ..
        } => {
            assert_eq!(vars, vec![("REPLICAS".into(), "5".into())]);
            assert_eq!(env_patterns, vec!["AWS_.*".to_string()]);
            assert_eq!(mounts, vec![("/app".into(), PathBuf::from("/srv"))]);
            assert_eq!(nodes, Some(2));
        }
        other => panic!("{other:?}"),
    }
    let h = hi(&["job", "j.yaml"]).expect("valid");
    assert!(
        matches!(h.command, Command::Job { ref mounts, .. } if mounts == &[("/app/modules".to_string(), PathBuf::from("target/modules"))])
    );
    assert!(hi(&["job", "j.yaml", "-V", "novalue"]).is_err());
    assert!(hi(&["job", "j.yaml", "--mount", "app=/x"]).is_err());
    assert!(hi(&["job", "j.yaml", "--region", "us"]).is_err());
    assert!(hi(&["job", "j.yaml", "--", "x"]).is_err());
}

#[test]
fn usage_errors() {
    assert!(hi(&[]).is_err());
    assert!(hi(&["fly", "x"]).is_err());
    assert!(hi(&["run"]).is_err());
    assert!(hi(&["run", "m.wasm", "--bogus"]).is_err());
    assert!(hi(&["run", "m.wasm", "--nodes", "2"]).is_err());
    assert!(hi(&["run", "m.wasm", "--threads", "0"]).is_err());
    let h = hi(&["run", "m.wasm", "--threads", "1", "--http-threads", "4"]).expect("valid");
    assert_eq!((h.threads, h.http_threads), (1, 4));
}
