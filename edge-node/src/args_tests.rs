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
        "REPLICAS=5,INTERVAL=1",
        "-E",
        "AWS_.*",
        "-E",
        "REPLICAS",
        "--mount",
        "/app=/srv",
        "--edge-nodes",
        "us=2",
        "--node",
        "web-0:type=web-services",
        "--allow-env",
        "HOSTNAME",
    ])
    .expect("valid");
    match h.command {
        Command::Job {
            template,
            mounts,
            cluster,
            ..
        } => {
            assert_eq!(
                template.vars,
                vec![
                    ("REPLICAS".into(), "5".into()),
                    ("INTERVAL".into(), "1".into())
                ]
            );
            assert_eq!(
                template.env_pattern.as_deref(),
                Some("REPLICAS"),
                "-E is one regex: the last one wins, as `bacalhau job run -E`"
            );
            assert_eq!(mounts, vec![("/app".into(), PathBuf::from("/srv"))]);
            let names: Vec<_> = cluster.nodes.iter().map(|n| n.name.as_str()).collect();
            assert_eq!(names, ["web-0", "edge-us-0", "edge-us-1"]);
            assert_eq!(cluster.allow_env, ["HOSTNAME"]);
        }
        other => panic!("{other:?}"),
    }
    let h = hi(&["job", "j.yaml", "--edge-nodes", "eu=1"]).expect("valid");
    assert!(
        matches!(h.command, Command::Job { ref mounts, .. } if mounts == &[("/app/modules".to_string(), PathBuf::from("target/modules"))])
    );
    let inv = ["--edge-nodes", "us=1"];
    let with = |extra: &[&str]| {
        let mut v = vec!["job", "j.yaml"];
        v.extend_from_slice(&inv);
        v.extend_from_slice(extra);
        hi(&v)
    };
    assert!(hi(&["job", "j.yaml"]).is_err(), "a job needs an inventory");
    assert!(with(&["-V", "novalue"]).is_err());
    assert!(with(&["--mount", "app=/x"]).is_err());
    assert!(with(&["--region", "us"]).is_err());
    assert!(
        with(&["--nodes", "3"]).is_err(),
        "the inventory gives the nodes"
    );
    assert!(with(&["--", "x"]).is_err());
    assert!(with(&["--allow-env", "("]).is_err());
    assert!(hi(&["job", "j.yaml", "--edge-nodes", "us"]).is_err());
    assert!(hi(&["job", "j.yaml", "--node", "n:type"]).is_err());
}

#[test]
fn check_flags() {
    let h = hi(&[
        "job",
        "--check",
        "a.yaml",
        "b.yaml",
        "--bacalhau-version",
        "1.6",
        "--allow-local-path",
        "/app/**:rw",
    ])
    .expect("valid");
    match h.command {
        Command::Check { files, options, .. } => {
            assert_eq!(files, [PathBuf::from("a.yaml"), PathBuf::from("b.yaml")]);
            assert_eq!(options.version, jobspec::BacalhauVersion::V1_6);
            assert_eq!(options.allowed_local_paths.map(|p| p.len()), Some(1));
        }
        other => panic!("{other:?}"),
    }
    assert!(hi(&["job", "--check"]).is_err(), "no files");
    assert!(hi(&["job", "--check", "a.yaml", "--bacalhau-version", "2.0"]).is_err());
    assert!(hi(&["job", "--check", "a.yaml", "--edge-nodes", "us=1"]).is_err());
    assert!(hi(&["run", "m.wasm", "--check"]).is_err());
    assert!(hi(&["run", "m.wasm", "--bacalhau-version", "1.7"]).is_err());
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
