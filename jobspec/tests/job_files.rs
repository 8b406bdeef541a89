//! Every file in jobs/ rendered with Bacalhau's template rules (defaults and overrides),
//! parsed and validated, and checked against the seed's visual identity, ports and versions.
use jobspec::{render, resolve_module_path, template_values, Engine, ErrorKind, JobSpec, Network};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn jobs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../jobs")
}

fn read(file: &str) -> String {
    let path = jobs_dir().join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Renders, parses and validates `file`.
fn load(file: &str, vals: &BTreeMap<String, String>) -> JobSpec {
    let rendered = render(&read(file), vals).unwrap_or_else(|e| panic!("{file}: {e}"));
    let spec = JobSpec::parse(&rendered).unwrap_or_else(|e| panic!("{file}: {e}\n{rendered}"));
    spec.validate().unwrap_or_else(|e| panic!("{file}: {e}"));
    spec
}

/// The value of the job's `region = R` constraint.
fn region_of(spec: &JobSpec) -> Option<&str> {
    spec.constraints
        .iter()
        .find(|c| c.key == "region" && c.operator == "=" && c.values.len() == 1)
        .map(|c| c.values[0].as_str())
}

fn wasm_parameters(spec: &JobSpec) -> Vec<String> {
    match &spec.tasks[0].engine {
        Engine::Wasm {
            parameters,
            entrypoint,
            ..
        } => {
            // Written in the file: `bacalhau job run` has no default, and an empty Entrypoint
            // fails every execution (pkg/executor/wasm/handler.go at v1.7.0).
            assert_eq!(entrypoint, "_start");
            parameters.clone()
        }
        other => panic!("not a wasm job: {other:?}"),
    }
}

/// (file, region, proxy port, colour, emoji index, version). The module's own tests check
/// that indexes 0-4 are 🚀 📡 💡 ⚡ 🔋, the emojis the seed names for these deployments.
const DEPLOYS: [(&str, &str, u16, &str, u32, u32); 5] = [
    ("deploy-us-v1.yaml", "us", 9091, "#FF0000", 0, 1),
    ("deploy-eu-v1.yaml", "eu", 9092, "#0000FF", 1, 1),
    ("deploy-as-v1.yaml", "as", 9093, "#00FF00", 2, 1),
    ("deploy-us-v2.yaml", "us", 9091, "#800080", 3, 2),
    ("deploy-eu-v2.yaml", "eu", 9092, "#FFFF00", 4, 2),
];

#[test]
fn every_job_file_is_covered() {
    let mut files: Vec<String> = std::fs::read_dir(jobs_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    files.sort();
    let mut expected: Vec<String> = DEPLOYS.iter().map(|d| d.0.to_string()).collect();
    expected.extend(["sqs-proxy.yaml", "sqs-publisher.yaml", "sqs-puller.yaml"].map(String::from));
    expected.sort();
    assert_eq!(files, expected);
}

#[test]
fn deploy_files_with_defaults_match_the_seed() {
    for (file, region, port, colour, emoji, version) in DEPLOYS {
        let spec = load(file, &values(&[]));
        assert_eq!(spec.job_type, "batch", "{file}");
        assert_eq!(spec.effective_count(), 3, "{file}: default REPLICAS");
        assert_eq!(
            spec.name,
            format!("sqs-publisher-{region}-v{version}"),
            "{file}"
        );
        assert_eq!(region_of(&spec), Some(region), "{file}");
        let edge = spec
            .constraints
            .iter()
            .find(|c| c.key == "type")
            .expect("type constraint");
        assert!(edge.matches(&[("type".into(), "edge".into())]), "{file}");
        assert!(
            !edge.matches(&[("type".into(), "web-services".into())]),
            "{file}"
        );
        assert!(
            spec.labels
                .contains(&("sqs-publisher".into(), region.into())),
            "{file}"
        );
        assert_eq!(
            wasm_parameters(&spec),
            [
                format!("--proxy=http://host.docker.internal:{port}"),
                format!("--region={region}"),
                format!("--color={colour}"),
                format!("--emoji={emoji}"),
                "--interval=5".to_string(),
                "--max-messages=0".to_string(),
                format!("--submission-time={version}"),
            ],
            "{file}"
        );
        let task = &spec.tasks[0];
        assert_eq!(
            task.env,
            [
                ("HOSTNAME".to_string(), "env:HOSTNAME".to_string()),
                // No token by default: Bacalhau refuses an empty Env value, the module reads
                // "none" as no token.
                ("PROXY_TOKEN".to_string(), "none".to_string()),
            ]
        );
        assert_eq!(task.memory_bytes, Some(36_000_000), "{file}");
        assert_eq!(
            task.network,
            Network::Default,
            "{file}: no Network section (a v1.7 wasm executor makes it Host)"
        );
        assert_eq!(
            resolve_module_path(task, Some(Path::new("/ws/target/modules"))).unwrap(),
            PathBuf::from("/ws/target/modules/publisher.wasm"),
            "{file}"
        );
    }
}

#[test]
fn deploy_files_honour_replicas_per_region_interval_and_proxy_overrides() {
    // As `bacalhau job run -E "REPLICAS|US_.*"` with these host variables.
    let env: Vec<(String, String)> = [("REPLICAS", "5"), ("US_REPLICAS", "7"), ("HOME", "/root")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let vals = template_values(&[], Some("REPLICAS|US_.*"), &env).unwrap();
    assert_eq!(
        load("deploy-us-v1.yaml", &vals).effective_count(),
        7,
        "US_REPLICAS wins"
    );
    assert_eq!(load("deploy-us-v2.yaml", &vals).effective_count(), 7);
    assert_eq!(
        load("deploy-eu-v1.yaml", &vals).effective_count(),
        5,
        "REPLICAS for the rest"
    );
    assert_eq!(load("deploy-as-v1.yaml", &vals).effective_count(), 5);

    let fast = values(&[
        ("INTERVAL", "0.2"),
        ("MAX_MESSAGES", "50"),
        ("EU_PROXY", "http://127.0.0.1:40123"),
    ]);
    let params = wasm_parameters(&load("deploy-eu-v2.yaml", &fast));
    assert!(params.contains(&"--interval=0.2".to_string()), "{params:?}");
    assert!(
        params.contains(&"--max-messages=50".to_string()),
        "{params:?}"
    );
    assert!(
        params.contains(&"--proxy=http://127.0.0.1:40123".to_string()),
        "{params:?}"
    );
    let us = wasm_parameters(&load("deploy-us-v1.yaml", &fast));
    assert!(
        us.contains(&"--proxy=http://host.docker.internal:9091".to_string()),
        "{us:?}"
    );
}

#[test]
fn v2_supersedes_v1_on_the_same_nodes() {
    for region in ["us", "eu"] {
        let v1 = load(&format!("deploy-{region}-v1.yaml"), &values(&[]));
        let v2 = load(&format!("deploy-{region}-v2.yaml"), &values(&[]));
        assert_ne!(v1.name, v2.name, "separate jobs, running side by side");
        assert_eq!(v1.constraints, v2.constraints, "same nodes");
        assert!(wasm_parameters(&v2).contains(&"--submission-time=2".to_string()));
    }
}

#[test]
fn generic_publisher_takes_every_setting_from_values() {
    let vals = values(&[
        ("proxy", "http://host.docker.internal:9092"),
        ("region", "eu"),
        ("count", "4"),
        ("emoji", "0"),
        ("color", "#FF5733"),
        ("interval", "0.5"),
        ("max-messages", "10"),
        ("submission_time", "3"),
    ]);
    let spec = load("sqs-publisher.yaml", &vals);
    assert_eq!(spec.effective_count(), 4);
    assert_eq!(region_of(&spec), Some("eu"));
    assert_eq!(
        wasm_parameters(&spec),
        [
            "--proxy=http://host.docker.internal:9092",
            "--region=eu",
            "--color=#FF5733",
            "--emoji=0",
            "--interval=0.5",
            "--max-messages=10",
            "--submission-time=3",
        ]
    );
    let minimal = load(
        "sqs-publisher.yaml",
        &values(&[("proxy", "http://p:1"), ("region", "as")]),
    );
    assert_eq!(minimal.effective_count(), 1);
    let params = wasm_parameters(&minimal);
    assert!(
        params.contains(&"--color=-1".to_string()) && params.contains(&"--emoji=-1".to_string())
    );
}

/// The proxy's bearer token: the node's own variable (`env:NAME`, resolved on the node, never
/// in the job spec) or nothing.
#[test]
fn publisher_files_pass_the_proxy_token_through_env() {
    let token = |spec: &JobSpec| {
        let env: BTreeMap<_, _> = spec.tasks[0].env.iter().cloned().collect();
        env.get("PROXY_TOKEN").cloned()
    };
    for (file, ..) in DEPLOYS {
        let spec = load(file, &values(&[("PROXY_TOKEN", "env:PROXY_TOKEN")]));
        assert_eq!(token(&spec).as_deref(), Some("env:PROXY_TOKEN"), "{file}");
    }
    let base = [("proxy", "http://p:1"), ("region", "us")];
    let spec = load("sqs-publisher.yaml", &values(&base));
    assert_eq!(token(&spec).as_deref(), Some("none"));
    let mut with = base.to_vec();
    with.push(("token", "env:US_PROXY_TOKEN"));
    let spec = load("sqs-publisher.yaml", &values(&with));
    assert_eq!(token(&spec).as_deref(), Some("env:US_PROXY_TOKEN"));
}

#[test]
fn generic_publisher_without_a_required_value_is_an_error() {
    for missing in ["proxy", "region"] {
        let mut vals = values(&[("proxy", "http://p:1"), ("region", "us")]);
        vals.remove(missing);
        let err = render(&read("sqs-publisher.yaml"), &vals).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Template);
        assert!(err.to_string().contains(&format!("\"{missing}\"")), "{err}");
        assert!(err.line().is_some(), "{err}");
    }
}

#[test]
fn service_jobs_run_our_images_on_the_web_services_node() {
    let queue = "https://sqs.us-east-1.amazonaws.com/000000000000/sensors";
    // The tags `provisioner images` builds (provisioner/src/images.rs; provisioner's
    // tests/node_configs.rs compares them with images::tag itself).
    for (file, image) in [
        ("sqs-proxy.yaml", "edge-sensors/proxy:local"),
        ("sqs-puller.yaml", "edge-sensors/puller:local"),
    ] {
        let spec = load(file, &values(&[("queue_url", queue)]));
        assert_eq!(spec.job_type, "service", "{file}");
        assert_eq!(spec.constraints.len(), 1);
        assert!(spec.constraints[0].matches(&[("type".into(), "web-services".into())]));
        let task = &spec.tasks[0];
        assert!(
            matches!(&task.engine, Engine::Docker { image: i, .. } if i == image),
            "{file}: {:?}",
            task.engine
        );
        let env: BTreeMap<_, _> = task.env.iter().cloned().collect();
        assert_eq!(env.get("SQS_QUEUE_URL").map(String::as_str), Some(queue));
        for key in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"] {
            assert_eq!(env.get(key), Some(&format!("env:{key}")), "{file}");
        }
        assert_eq!(task.network, Network::Host);
        let err = render(&read(file), &values(&[])).unwrap_err();
        assert!(err.to_string().contains("\"queue_url\""), "{err}");
    }
    let proxy = load(
        "sqs-proxy.yaml",
        &values(&[("queue_url", queue), ("workers", "8")]),
    );
    let port = &proxy.tasks[0].ports[0];
    assert_eq!((port.name.as_str(), port.static_port), ("http", Some(8080)));
    let all = "region,hostname,job_submission_time,proxy_region";
    assert!(
        matches!(&proxy.tasks[0].engine, Engine::Docker { parameters, .. }
        if parameters == &["--workers", "8", "--attributes", all])
    );
    let env: BTreeMap<_, _> = proxy.tasks[0].env.iter().cloned().collect();
    assert_eq!(
        env.get("PROXY_REGION").map(String::as_str),
        Some("env:AWS_REGION"),
        "the AWS region the proxy signs for"
    );
    let stamped = load(
        "sqs-proxy.yaml",
        &values(&[
            ("queue_url", queue),
            ("attributes", "off"),
            ("proxy_region", "eu"),
        ]),
    );
    assert!(
        matches!(&stamped.tasks[0].engine, Engine::Docker { parameters, .. }
        if parameters == &["--workers", "4", "--attributes", "off"])
    );
    let env: BTreeMap<_, _> = stamped.tasks[0].env.iter().cloned().collect();
    assert_eq!(env.get("PROXY_REGION").map(String::as_str), Some("eu"));
}
