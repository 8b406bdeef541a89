//! Command line: `LowArgs` records what was typed, `HiArgs::from_low` validates it and fills
//! the demo.sh environment defaults (REPLICAS, US_/EU_/AS_REPLICAS, BATCH_SIZE, ALL_AT_ONCE,
//! MS_BETWEEN_RECONNECT), flags winning over environment.
use flags::{Arg, Error, Parser};
use std::path::PathBuf;

pub const USAGE: &str = "\
usage: provisioner COMMAND [OPTIONS]

Stands up and operates the edge-sensors network (orchestrator, web-services node, regional
proxies, puller, and edge nodes per region) by driving the docker CLI.

commands:
  up                  networks, core services (waits until healthy), then edge nodes;
                      idempotent: existing containers are kept, stopped ones started
  down                remove every container, network and volume labelled with the project
  status              containers per role and region (--json for machines)
  disconnect REGION   docker stop a region's edge nodes (they keep id and hostname)
  reconnect REGION    docker start a region's stopped edge nodes, in paced batches
  scale REGION N      create or remove edge nodes so REGION has N
  images              build the local images (proxy, puller, runner, standin) FROM scratch

REGION is us, eu or as.

options:
  --project NAME        label value and name prefix of every resource [edge-sensors]
  --profile NAME|FILE   bacalhau (real images), standin (locally built images) or a JSON file
                        overriding one of them [$PROVISIONER_PROFILE, else bacalhau]
  --replicas N          edge nodes per region [$REPLICAS, else 3]
  --us N, --eu N, --as N  edge nodes in one region [$US_REPLICAS, $EU_REPLICAS, $AS_REPLICAS]
  --batch N             edge nodes started concurrently per region per step [$BATCH_SIZE, else 10]
  --all-at-once         start all edge nodes at once, --parallel docker calls at a time
                        [$ALL_AT_ONCE]
  --parallel N          concurrent docker invocations for --all-at-once [16]
  --ms-between N        pause between reconnect batches [$MS_BETWEEN_RECONNECT, else 250]
  --proxy-ports A,B,C   host ports published by the us,eu,as proxies [9091,9092,9093]
  --modules-dir DIR     host directory mounted at /app/modules [WORKSPACE/target/modules]
  --queue-url URL       SQS queue URL for proxies and puller [from the profile]
  --endpoint-url URL    SQS endpoint for proxies and puller [from the profile]
  --no-create-queue     up: fail when the queue does not exist instead of creating it
  --config-dir DIR      up: where the Bacalhau node configs are written and mounted from
                        (down removes them) [WORKSPACE/target/bacalhau/PROJECT]
  --proxy-token-file F  up: proxies require a bearer token from F (one per line, as
                        proxy --auth-token-file reads it) and every edge node gets F's last
                        token as PROXY_TOKEN; kept in the config dir until down, so scale and
                        a later up keep it [no authentication]
  --force               go above 500 edge nodes even if `tune check` says the host is not ready
  --json                status: print JSON
  --workspace DIR       images: workspace to build from [the one provisioner was built in]
  --no-cargo            images: reuse target/static binaries instead of running cargo
  --only A,B            images: build only these of standin, proxy, puller, runner
  -h, --help            print this help

environment: ORCHESTRATOR_IMAGE, WEB_SERVICES_IMAGE, PROXY_IMAGE, PULLER_IMAGE, EDGE_IMAGE
override the profile's images; DOCKER names the docker CLI [docker].";

pub const REGIONS: [&str; 3] = ["us", "eu", "as"];

/// What the user typed, unvalidated.
#[derive(Debug, Default, PartialEq)]
pub struct LowArgs {
    pub help: bool,
    pub positional: Vec<String>,
    pub project: Option<String>,
    pub profile: Option<String>,
    pub replicas: Option<u32>,
    pub region_counts: [Option<u32>; 3],
    pub batch: Option<u32>,
    pub all_at_once: bool,
    pub parallel: Option<u32>,
    pub ms_between: Option<u64>,
    pub proxy_ports: Option<String>,
    pub modules_dir: Option<PathBuf>,
    pub queue_url: Option<String>,
    pub endpoint_url: Option<String>,
    pub no_create_queue: bool,
    pub config_dir: Option<PathBuf>,
    pub proxy_token_file: Option<PathBuf>,
    pub force: bool,
    pub json: bool,
    pub workspace: Option<PathBuf>,
    pub no_cargo: bool,
    pub only: Option<String>,
}

/// The validated command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Up,
    Down,
    Status,
    Disconnect(String),
    Reconnect(String),
    Scale(String, u32),
    Images,
}

/// How edge nodes are started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    /// `n` per region per step, waiting for each step to run.
    Batch(usize),
    /// Everything, with at most `n` docker invocations in flight.
    AllAtOnce(usize),
}

/// Validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct HiArgs {
    pub command: Command,
    pub project: String,
    pub profile: String,
    /// Edge nodes per region, in [`REGIONS`] order.
    pub counts: [u32; 3],
    pub launch: Launch,
    pub batch: usize,
    pub ms_between: u64,
    pub proxy_ports: [u16; 3],
    pub modules_dir: PathBuf,
    pub queue_url: Option<String>,
    pub endpoint_url: Option<String>,
    /// `up` must not create a missing queue.
    pub no_create_queue: bool,
    /// Where `up` writes the Bacalhau node configs (`{config_dir}` in profiles).
    pub config_dir: PathBuf,
    /// `up`: the proxies' bearer tokens (`proxy_token.rs`).
    pub proxy_token_file: Option<PathBuf>,
    pub force: bool,
    pub json: bool,
    pub workspace: PathBuf,
    pub no_cargo: bool,
    /// Images to build (`images --only`); empty means all.
    pub only: Vec<String>,
}

/// Tokenizes `parser` into [`LowArgs`].
pub fn parse_low(mut parser: Parser) -> Result<LowArgs, Error> {
    let mut low = LowArgs::default();
    while let Some(arg) = parser.next()? {
        match arg {
            Arg::Short('h') => low.help = true,
            Arg::Long(ref n) => match n.as_str() {
                "help" => low.help = true,
                "project" => low.project = Some(parser.value()?),
                "profile" => low.profile = Some(parser.value()?),
                "replicas" => low.replicas = Some(parser.parse()?),
                "us" => low.region_counts[0] = Some(parser.parse()?),
                "eu" => low.region_counts[1] = Some(parser.parse()?),
                "as" => low.region_counts[2] = Some(parser.parse()?),
                "batch" => low.batch = Some(parser.parse()?),
                "all-at-once" => low.all_at_once = true,
                "parallel" => low.parallel = Some(parser.parse()?),
                "ms-between" => low.ms_between = Some(parser.parse()?),
                "proxy-ports" => low.proxy_ports = Some(parser.value()?),
                "modules-dir" => low.modules_dir = Some(PathBuf::from(parser.value()?)),
                "queue-url" => low.queue_url = Some(parser.value()?),
                "endpoint-url" => low.endpoint_url = Some(parser.value()?),
                "no-create-queue" => low.no_create_queue = true,
                "config-dir" => low.config_dir = Some(PathBuf::from(parser.value()?)),
                "proxy-token-file" => {
                    low.proxy_token_file = Some(PathBuf::from(parser.value()?));
                }
                "force" => low.force = true,
                "json" => low.json = true,
                "workspace" => low.workspace = Some(PathBuf::from(parser.value()?)),
                "no-cargo" => low.no_cargo = true,
                "only" => low.only = Some(parser.value()?),
                _ => return Err(Error::unknown(&arg)),
            },
            Arg::Value(v) => low.positional.push(v),
            other => return Err(Error::unknown(&other)),
        }
    }
    Ok(low)
}

impl HiArgs {
    /// Validates `low`; `env` looks up environment variables (injected for tests).
    pub fn from_low(low: LowArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<HiArgs, Error> {
        let env_num = |name: &str| env_number(env, name);
        let command = parse_command(&low.positional)?;
        if low.proxy_token_file.is_some() && command != Command::Up {
            // Silently ignored, it would leave new edge nodes without the token a user meant.
            return Err(Error::new(
                "--proxy-token-file is for up; scale and later commands use the file up installed",
            ));
        }
        let counts = replica_counts(low.replicas, &low.region_counts, &env_num)?;
        let (launch, batch) = launch_plan(&low, env)?;
        let project = low.project.unwrap_or_else(|| "edge-sensors".to_string());
        validate_project(&project)?;
        let ms_between = match low.ms_between {
            Some(ms) => ms,
            None => env_num("MS_BETWEEN_RECONNECT")?.unwrap_or(250),
        };
        let proxy_ports = match low.proxy_ports {
            Some(text) => parse_ports(&text)?,
            None => [9091, 9092, 9093],
        };
        let workspace = low.workspace.unwrap_or_else(default_workspace);
        let modules_dir = low
            .modules_dir
            .unwrap_or_else(|| workspace.join("target").join("modules"));
        let modules_dir = absolute(modules_dir);
        let config_dir = absolute(
            low.config_dir
                .unwrap_or_else(|| workspace.join("target").join("bacalhau").join(&project)),
        );
        let profile = low
            .profile
            .or_else(|| env("PROVISIONER_PROFILE").filter(|p| !p.trim().is_empty()))
            .unwrap_or_else(|| "bacalhau".to_string());
        let only = match &low.only {
            Some(list) => parse_only(list)?,
            None => Vec::new(),
        };
        Ok(HiArgs {
            only,
            command,
            project,
            profile,
            counts,
            launch,
            batch,
            ms_between,
            proxy_ports,
            modules_dir,
            queue_url: low.queue_url,
            endpoint_url: low.endpoint_url,
            no_create_queue: low.no_create_queue,
            config_dir,
            proxy_token_file: low.proxy_token_file.map(absolute),
            force: low.force,
            json: low.json,
            workspace,
            no_cargo: low.no_cargo,
        })
    }

    /// Index of `region` in [`REGIONS`] (validated by parsing).
    pub fn region_index(region: &str) -> usize {
        REGIONS.iter().position(|r| *r == region).unwrap_or(0)
    }

    pub fn total_edges(&self) -> u64 {
        self.counts.iter().map(|c| u64::from(*c)).sum()
    }
}

/// Environment variable `name` as a number; `None` when unset or blank.
fn env_number(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Result<Option<u64>, Error> {
    match env(name).filter(|v| !v.trim().is_empty()) {
        Some(v) => flags::parse_value(name, v.trim()).map(Some),
        None => Ok(None),
    }
}

/// Edge nodes per region: `--<region>-replicas`, else `<REGION>_REPLICAS`, else `--replicas`,
/// else `REPLICAS`, else 3.
fn replica_counts(
    replicas: Option<u32>,
    region_counts: &[Option<u32>; 3],
    env_num: &dyn Fn(&str) -> Result<Option<u64>, Error>,
) -> Result<[u32; 3], Error> {
    let replicas = match replicas {
        Some(r) => r,
        None => env_num("REPLICAS")?
            .map(to_u32("REPLICAS"))
            .transpose()?
            .unwrap_or(3),
    };
    let mut counts = [replicas; 3];
    for (i, region) in REGIONS.iter().enumerate() {
        let var = format!("{}_REPLICAS", region.to_ascii_uppercase());
        counts[i] = match region_counts[i] {
            Some(n) => n,
            None => env_num(&var)?
                .map(to_u32(&var))
                .transpose()?
                .unwrap_or(replicas),
        };
    }
    Ok(counts)
}

/// How nodes start (`--batch`/`BATCH_SIZE` at a time, or `--all-at-once`/`ALL_AT_ONCE` with
/// `--parallel` workers), and the batch size.
fn launch_plan(
    low: &LowArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Launch, usize), Error> {
    let batch = match low.batch {
        Some(b) => u64::from(b),
        None => env_number(env, "BATCH_SIZE")?.unwrap_or(10),
    };
    if batch == 0 {
        return Err(Error::new("batch size must be at least 1"));
    }
    let all_at_once = low.all_at_once || env_bool(env("ALL_AT_ONCE"));
    let parallel = low.parallel.unwrap_or(16);
    if parallel == 0 {
        return Err(Error::new("--parallel must be at least 1"));
    }
    let batch = usize::try_from(batch).map_err(|_| Error::new("batch size too large"))?;
    let launch = if all_at_once {
        Launch::AllAtOnce(parallel as usize)
    } else {
        Launch::Batch(batch)
    };
    Ok((launch, batch))
}

fn to_u32(name: &str) -> impl Fn(u64) -> Result<u32, Error> + '_ {
    move |v| u32::try_from(v).map_err(|_| Error::new(format!("{name} is too large: {v}")))
}

fn env_bool(value: Option<String>) -> bool {
    matches!(
        value.map(|v| v.trim().to_ascii_lowercase()).as_deref(),
        Some("true" | "1" | "yes" | "on")
    )
}

fn parse_command(positional: &[String]) -> Result<Command, Error> {
    let Some((first, rest)) = positional.split_first() else {
        return Err(Error::new(
            "missing command (up, down, status, disconnect, reconnect, scale, images)",
        ));
    };
    let want = |n: usize| -> Result<(), Error> {
        if rest.len() == n {
            Ok(())
        } else {
            Err(Error::new(format!(
                "'{first}' takes {n} argument(s), got {}: {rest:?}",
                rest.len()
            )))
        }
    };
    let command = match first.as_str() {
        "up" => want(0).map(|_| Command::Up)?,
        "down" => want(0).map(|_| Command::Down)?,
        "status" => want(0).map(|_| Command::Status)?,
        "images" => want(0).map(|_| Command::Images)?,
        "disconnect" => want(1)
            .and_then(|_| region(&rest[0]))
            .map(Command::Disconnect)?,
        "reconnect" => want(1)
            .and_then(|_| region(&rest[0]))
            .map(Command::Reconnect)?,
        "scale" => {
            want(2)?;
            let n = flags::parse_value("scale COUNT", &rest[1])?;
            Command::Scale(region(&rest[0])?, n)
        }
        other => return Err(Error::new(format!("unknown command '{other}'"))),
    };
    Ok(command)
}

fn region(name: &str) -> Result<String, Error> {
    if REGIONS.contains(&name) {
        Ok(name.to_string())
    } else {
        Err(Error::new(format!(
            "unknown region '{name}' (expected us, eu or as)"
        )))
    }
}

/// Docker names allow `[a-zA-Z0-9][a-zA-Z0-9_.-]*`; the project prefixes every name.
fn validate_project(project: &str) -> Result<(), Error> {
    let mut chars = project.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if first_ok
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && project.len() <= 64
    {
        Ok(())
    } else {
        Err(Error::new(format!(
            "invalid --project '{project}': use letters, digits, '_', '.', '-' (max 64), starting with a letter or digit"
        )))
    }
}

fn parse_only(list: &str) -> Result<Vec<String>, Error> {
    list.split(',')
        .map(str::trim)
        .map(|name| {
            if crate::images::NAMES.contains(&name) {
                Ok(name.to_string())
            } else {
                Err(Error::new(format!(
                    "--only: unknown image '{name}' (expected {})",
                    crate::images::NAMES.join(", ")
                )))
            }
        })
        .collect()
}

fn parse_ports(text: &str) -> Result<[u16; 3], Error> {
    let ports: Vec<u16> = text
        .split(',')
        .map(|p| flags::parse_value::<u16>("--proxy-ports", p.trim()))
        .collect::<Result<_, _>>()?;
    match ports.as_slice() {
        [a, b, c] if *a != 0 && *b != 0 && *c != 0 => Ok([*a, *b, *c]),
        _ => Err(Error::new(format!(
            "--proxy-ports needs three non-zero ports (us,eu,as), got '{text}'"
        ))),
    }
}

/// The workspace this binary was built from, when it still exists; else the current dir.
fn default_workspace() -> PathBuf {
    let built = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    match built.parent() {
        Some(root) if root.join("Cargo.toml").exists() => root.to_path_buf(),
        _ => std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
    }
}

fn absolute(path: PathBuf) -> PathBuf {
    if path.is_absolute() {
        return path;
    }
    std::env::current_dir()
        .map(|d| d.join(&path))
        .unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_with(args: &[&str], env: &[(&str, &str)]) -> Result<HiArgs, Error> {
        let low = parse_low(Parser::new(args.iter().copied()))?;
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        HiArgs::from_low(low, &move |name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    fn parse(args: &[&str]) -> HiArgs {
        parse_with(args, &[]).expect("valid args")
    }

    #[test]
    fn defaults_match_demo_sh() {
        let a = parse(&["up"]);
        assert_eq!(a.command, Command::Up);
        assert_eq!(a.project, "edge-sensors");
        assert_eq!(a.counts, [3, 3, 3]);
        assert_eq!(a.launch, Launch::Batch(10));
        assert_eq!(a.ms_between, 250);
        assert_eq!(a.proxy_ports, [9091, 9092, 9093]);
        assert_eq!(a.profile, "bacalhau");
        assert!(!a.force);
    }

    #[test]
    fn a_proxy_token_file_is_for_up_only() {
        assert_eq!(parse(&["up"]).proxy_token_file, None);
        let a = parse(&["up", "--proxy-token-file", "/run/tokens"]);
        assert_eq!(a.proxy_token_file, Some(PathBuf::from("/run/tokens")));
        let err = parse_with(&["scale", "us", "5", "--proxy-token-file", "/t"], &[]).unwrap_err();
        assert!(err.to_string().contains("for up"), "{err}");
    }

    #[test]
    fn replicas_flag_and_env() {
        assert_eq!(parse(&["up", "--replicas", "5"]).counts, [5, 5, 5]);
        let a = parse_with(&["up"], &[("REPLICAS", "4"), ("EU_REPLICAS", "1")]).expect("env");
        assert_eq!(a.counts, [4, 1, 4]);
        let a = parse_with(&["up", "--replicas=2"], &[("REPLICAS", "9")]).expect("flag wins");
        assert_eq!(a.counts, [2, 2, 2]);
        assert!(parse_with(&["up"], &[("REPLICAS", "lots")]).is_err());
    }

    #[test]
    fn region_count_flags() {
        let a = parse(&["up", "--us", "1", "--eu=2", "--as", "0"]);
        assert_eq!(a.counts, [1, 2, 0]);
        let a = parse_with(&["up", "--as", "7"], &[("AS_REPLICAS", "1")]).expect("flag wins");
        assert_eq!(a.counts[2], 7);
        assert_eq!(a.total_edges(), 13);
    }

    #[test]
    fn batch_and_all_at_once() {
        assert_eq!(parse(&["up", "--batch", "3"]).launch, Launch::Batch(3));
        assert_eq!(
            parse_with(&["up"], &[("BATCH_SIZE", "7")])
                .expect("env")
                .launch,
            Launch::Batch(7)
        );
        assert_eq!(
            parse(&["up", "--all-at-once"]).launch,
            Launch::AllAtOnce(16)
        );
        assert_eq!(
            parse(&["up", "--all-at-once", "--parallel", "4"]).launch,
            Launch::AllAtOnce(4)
        );
        let a = parse_with(&["up"], &[("ALL_AT_ONCE", "true")]).expect("env");
        assert_eq!(a.launch, Launch::AllAtOnce(16));
        assert!(parse_with(&["up", "--batch", "0"], &[]).is_err());
        assert!(parse_with(&["up", "--parallel", "0"], &[]).is_err());
    }

    #[test]
    fn ms_between_flag_and_env() {
        assert_eq!(
            parse(&["reconnect", "us", "--ms-between", "0"]).ms_between,
            0
        );
        let a = parse_with(&["reconnect", "eu"], &[("MS_BETWEEN_RECONNECT", "40")]).expect("env");
        assert_eq!(a.ms_between, 40);
        assert_eq!(a.command, Command::Reconnect("eu".into()));
    }

    #[test]
    fn proxy_ports() {
        assert_eq!(
            parse(&["up", "--proxy-ports", "1,2,3"]).proxy_ports,
            [1, 2, 3]
        );
        assert!(parse_with(&["up", "--proxy-ports", "1,2"], &[]).is_err());
        assert!(parse_with(&["up", "--proxy-ports", "1,2,x"], &[]).is_err());
        assert!(parse_with(&["up", "--proxy-ports", "0,2,3"], &[]).is_err());
    }

    #[test]
    fn project_profile_and_paths() {
        let a = parse(&[
            "status",
            "--project",
            "t-1",
            "--profile",
            "standin",
            "--json",
        ]);
        assert_eq!(
            (a.project.as_str(), a.profile.as_str(), a.json),
            ("t-1", "standin", true)
        );
        assert!(parse_with(&["up", "--project", "bad name"], &[]).is_err());
        assert!(parse_with(&["up", "--project", "-x"], &[]).is_err());
        let a = parse_with(&["up"], &[("PROVISIONER_PROFILE", "standin")]).expect("env");
        assert_eq!(a.profile, "standin");
        let a = parse(&["up", "--modules-dir", "/m", "--workspace", "/w"]);
        assert_eq!(a.modules_dir, PathBuf::from("/m"));
        assert_eq!(a.workspace, PathBuf::from("/w"));
        assert_eq!(
            parse(&["up", "--workspace", "/w"]).modules_dir,
            PathBuf::from("/w/target/modules")
        );
        let a = parse(&["up", "--workspace", "/w", "--project", "p"]);
        assert_eq!(a.config_dir, PathBuf::from("/w/target/bacalhau/p"));
        assert!(!a.no_create_queue);
        let a = parse(&["up", "--config-dir", "/c", "--no-create-queue"]);
        assert_eq!(a.config_dir, PathBuf::from("/c"));
        assert!(a.no_create_queue);
    }

    #[test]
    fn sqs_urls_force_and_no_cargo() {
        let a = parse(&[
            "up",
            "--queue-url",
            "http://q",
            "--endpoint-url",
            "http://e",
            "--force",
        ]);
        assert_eq!(a.queue_url.as_deref(), Some("http://q"));
        assert_eq!(a.endpoint_url.as_deref(), Some("http://e"));
        assert!(a.force);
        assert!(parse(&["images", "--no-cargo"]).no_cargo);
        assert_eq!(
            parse(&["images", "--only", "standin,runner"]).only,
            vec!["standin", "runner"]
        );
        assert!(parse(&["images"]).only.is_empty());
        assert!(parse_with(&["images", "--only", "nginx"], &[]).is_err());
    }

    #[test]
    fn commands_and_their_arguments() {
        assert_eq!(parse(&["down"]).command, Command::Down);
        assert_eq!(parse(&["images"]).command, Command::Images);
        assert_eq!(
            parse(&["disconnect", "as"]).command,
            Command::Disconnect("as".into())
        );
        assert_eq!(
            parse(&["scale", "eu", "12"]).command,
            Command::Scale("eu".into(), 12)
        );
        for bad in [
            &["scale", "eu"][..],
            &["scale", "mars", "1"],
            &["disconnect"],
            &["up", "extra"],
            &["fly"],
            &[],
        ] {
            assert!(parse_with(bad, &[]).is_err(), "{bad:?} should be rejected");
        }
        assert!(parse_with(&["scale", "us", "-1"], &[]).is_err());
    }

    #[test]
    fn unknown_flags_and_help() {
        assert!(parse_low(Parser::new(["up", "--bogus"])).is_err());
        assert!(parse_low(Parser::new(["-x"])).is_err());
        assert!(parse_low(Parser::new(["--help"])).expect("help").help);
        assert!(parse_low(Parser::new(["-h"])).expect("help").help);
    }
}
