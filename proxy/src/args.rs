//! Command-line parsing in two steps: [`LowArgs`] records what was typed (flags, then the
//! environment fallbacks), [`Config`] is the validated configuration the proxy runs with.
use crate::batcher::MAX_BATCH_BYTES;
use crate::envelope::{Attribute, GroupBy};
use crate::ingress::IngressFiles;
use crate::tls::TlsFiles;
use flags::{parse_value, Arg, Error, Parser};
use sigv4::sqs::cli::{SqsArgs, SqsSettings};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = concat!(
    "\
usage: proxy --queue-url URL [options]

Regional ingest proxy: accepts sensor messages on POST /send and forwards them to SQS with
SendMessageBatch (group commit). A request is answered 200 {\"message_id\": ...} only after SQS
accepted that message; otherwise 503 with Retry-After. GET /health, GET /metrics (Prometheus).

Listening:
  --port PORT               TCP port [env BACALHAU_PORT_http; 8080]
  --bind ADDR               IP address to listen on [0.0.0.0]
  --workers N               event-loop threads, each with its own SO_REUSEPORT socket,
                            1..=256 [number of CPUs]
  --tls-cert PATH           serve HTTPS: PEM certificate chain (with --tls-key; both files
                            are read again on SIGHUP, so certificates rotate without a restart)
  --tls-key PATH            serve HTTPS: PEM private key (with --tls-cert)
Authentication:
  --auth-token-file PATH    POST /send needs `Authorization: Bearer TOKEN`, TOKEN one of the
                            file's lines ('#' comments); 401 otherwise; read again on SIGHUP
                            [env PROXY_AUTH_TOKEN_FILE]
  --auth-metrics            GET /metrics needs a token too (GET /health never does)
SQS (the queue messages are sent to):
",
    sigv4::sqs_flags_usage!(),
    "\
What goes to SQS beside each body:
  --fifo                    FIFO queue mode (also on when the queue URL ends in .fifo or
                            the queue says FifoQueue=true): MessageGroupId and a
                            MessageDeduplicationId from (execution_id, sequence)
  --group-by FIELD          FIFO message group per hostname, region or execution [hostname]
  --attributes LIST         message attributes to add, comma-separated from region,
                            hostname, job_submission_time, proxy_region; off for none [all four]
  --proxy-region NAME       the proxy_region attribute [env PROXY_REGION; the SQS region]
Batching:
  --forwarders N            SQS connections = batches in flight, 1..=64 [4]
  --worker-connections N    SQS connections each worker drives itself for the common
                            case, 0..=8; 0 sends every batch via the forwarders [2]
  --linger-ms MS            longest a message waits for a batch to fill, 0..=1000 [2]
  --queue-capacity N        messages waiting for a forwarder; beyond it 503 at once [10000]
  --max-retries N           SQS retries per batch after the first call, 0..=10 [3]
Limits:
  --max-body BYTES          request body limit, 413 beyond, <= 1048576 [the queue's
                            MaximumMessageSize, read at start; never above it]
  --max-header-bytes BYTES  request line + headers limit, 431 beyond [8192]
  --max-headers N           header count limit, 431 beyond [64]
  --max-connections N       open connections in total; more are refused with 503 [20000]
  --idle-timeout S          close keep-alive connections idle this long [60]
  --request-timeout S       a started request must be complete within S (slow clients) [10]
  --request-budget S        longest a client waits for the answer to a complete /send:
                            503 + Retry-After if SQS has not accepted it by then, 1..=300 [10]
  --drain-timeout S         on SIGTERM/SIGINT, time to answer in-flight requests; then 503
                            for what SQS has not accepted, and exit (a second signal: at once) [8]
Filter:
  --filter-capacity N       hostnames the supersede filter remembers [100000]
Other:
  -v, --verbose             debug logging (each message's SQS id, socket errors)
  -h, --help                print this help
"
);

/// What the command line (and environment) said, unvalidated.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LowArgs {
    pub help: bool,
    pub verbose: bool,
    pub port: Option<u16>,
    pub bind: Option<IpAddr>,
    pub workers: Option<usize>,
    pub sqs: SqsArgs,
    pub forwarders: Option<usize>,
    pub worker_connections: Option<usize>,
    pub linger_ms: Option<u64>,
    pub queue_capacity: Option<usize>,
    pub max_retries: Option<u32>,
    pub max_body: Option<usize>,
    pub max_header_bytes: Option<usize>,
    pub max_headers: Option<usize>,
    pub max_connections: Option<usize>,
    pub idle_timeout: Option<u64>,
    pub request_timeout: Option<u64>,
    pub drain_timeout: Option<u64>,
    pub request_budget: Option<u64>,
    pub filter_capacity: Option<usize>,
    pub auth_token_file: Option<PathBuf>,
    pub auth_metrics: bool,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub fifo: bool,
    pub group_by: Option<String>,
    pub attributes: Option<String>,
    pub proxy_region: Option<String>,
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub addr: SocketAddr,
    pub workers: usize,
    pub sqs: SqsSettings,
    pub forwarders: usize,
    pub worker_connections: usize,
    pub linger: Duration,
    pub queue_capacity: usize,
    pub max_retries: u32,
    pub max_body: usize,
    pub max_header_bytes: usize,
    pub max_headers: usize,
    pub max_connections: usize,
    pub idle_timeout: Duration,
    pub request_timeout: Duration,
    pub drain_timeout: Duration,
    pub request_budget: Duration,
    pub filter_capacity: usize,
    pub ingress: IngressFiles,
    /// `--fifo` or a queue URL ending in `.fifo` (the queue's own FifoQueue attribute is
    /// read at start too).
    pub fifo: bool,
    pub group_by: GroupBy,
    pub attributes: Vec<Attribute>,
    pub proxy_region: Option<String>,
    pub verbose: bool,
}

#[derive(Debug)]
pub enum Command {
    Help,
    Run(Box<Config>),
}

/// Parses this process's arguments and environment.
pub fn parse() -> Result<Command, Error> {
    let low = LowArgs::parse(Parser::from_env(), &|name| std::env::var(name).ok())?;
    if low.help {
        return Ok(Command::Help);
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    Config::from_low(low, cpus).map(|c| Command::Run(Box::new(c)))
}

impl LowArgs {
    /// Reads flags from `parser`, then fills what is still unset from `env` (flags win).
    pub fn parse(
        mut parser: Parser,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<LowArgs, Error> {
        let mut low = LowArgs::default();
        while let Some(arg) = parser.next()? {
            match arg {
                Arg::Short('h') => low.help = true,
                Arg::Short('v') => low.verbose = true,
                Arg::Long(name) if low.sqs.parse_flag(&name, &mut parser)? => {}
                Arg::Long(name) => match name.as_str() {
                    "help" => low.help = true,
                    "verbose" => low.verbose = true,
                    "port" => low.port = Some(parser.parse()?),
                    "bind" => low.bind = Some(parser.parse()?),
                    "workers" => low.workers = Some(parser.parse()?),
                    "forwarders" => low.forwarders = Some(parser.parse()?),
                    "worker-connections" => low.worker_connections = Some(parser.parse()?),
                    "linger-ms" => low.linger_ms = Some(parser.parse()?),
                    "queue-capacity" => low.queue_capacity = Some(parser.parse()?),
                    "max-retries" => low.max_retries = Some(parser.parse()?),
                    "max-body" => low.max_body = Some(parser.parse()?),
                    "max-header-bytes" => low.max_header_bytes = Some(parser.parse()?),
                    "max-headers" => low.max_headers = Some(parser.parse()?),
                    "max-connections" => low.max_connections = Some(parser.parse()?),
                    "idle-timeout" => low.idle_timeout = Some(parser.parse()?),
                    "request-timeout" => low.request_timeout = Some(parser.parse()?),
                    "drain-timeout" => low.drain_timeout = Some(parser.parse()?),
                    "request-budget" => low.request_budget = Some(parser.parse()?),
                    "filter-capacity" => low.filter_capacity = Some(parser.parse()?),
                    "auth-token-file" => low.auth_token_file = Some(parser.parse()?),
                    "auth-metrics" => low.auth_metrics = true,
                    "tls-cert" => low.tls_cert = Some(parser.parse()?),
                    "tls-key" => low.tls_key = Some(parser.parse()?),
                    "fifo" => low.fifo = true,
                    "group-by" => low.group_by = Some(parser.value()?),
                    "attributes" => low.attributes = Some(parser.value()?),
                    "proxy-region" => low.proxy_region = Some(parser.value()?),
                    _ => return Err(Error::unknown(&Arg::Long(name))),
                },
                other => return Err(Error::unknown(&other)),
            }
        }
        let get = |name: &str| {
            env(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        if low.port.is_none() {
            low.port = get("BACALHAU_PORT_http")
                .map(|v| parse_value("BACALHAU_PORT_http", &v))
                .transpose()?;
        }
        if low.auth_token_file.is_none() {
            low.auth_token_file = get("PROXY_AUTH_TOKEN_FILE").map(PathBuf::from);
        }
        if low.proxy_region.is_none() {
            low.proxy_region = get("PROXY_REGION");
        }
        low.sqs.apply_env(env);
        Ok(low)
    }
}

/// `flags::in_range` for the flag names this file uses (without their dashes).
fn in_range<T: PartialOrd + std::fmt::Display + Copy>(
    flag: &str,
    value: T,
    min: T,
    max: T,
) -> Result<T, Error> {
    flags::in_range(&format!("--{flag}"), value, min, max)
}

/// A numeric flag's value: as given, else `default`; within `min..=max` either way.
fn setting<T: PartialOrd + std::fmt::Display + Copy>(
    flag: &str,
    value: Option<T>,
    (default, min, max): (T, T, T),
) -> Result<T, Error> {
    in_range(flag, value.unwrap_or(default), min, max)
}

const MIB: usize = 1024 * 1024;

impl Config {
    pub fn from_low(low: LowArgs, cpus: usize) -> Result<Config, Error> {
        let ingress = ingress_files(&low)?;
        let sqs = low.sqs.validate()?;
        let fifo = low.fifo || crate::envelope::is_fifo_url(&sqs.queue_url);
        let secs = |flag: &str, v: Option<u64>, default: u64| {
            setting(flag, v, (default, 1, 86_400)).map(Duration::from_secs)
        };
        Ok(Config {
            addr: SocketAddr::new(
                low.bind.unwrap_or(IpAddr::from([0, 0, 0, 0])),
                low.port.unwrap_or(8080),
            ),
            workers: setting("workers", low.workers, (cpus.max(1), 1, 256))?,
            sqs,
            forwarders: setting("forwarders", low.forwarders, (4, 1, 64))?,
            worker_connections: setting("worker-connections", low.worker_connections, (2, 0, 8))?,
            linger: Duration::from_millis(setting("linger-ms", low.linger_ms, (2, 0, 1000))?),
            queue_capacity: setting(
                "queue-capacity",
                low.queue_capacity,
                (10_000, 1, 10_000_000),
            )?,
            max_retries: setting("max-retries", low.max_retries, (3, 0, 10))?,
            max_body: setting(
                "max-body",
                low.max_body,
                (MAX_BATCH_BYTES, 1, MAX_BATCH_BYTES),
            )?,
            max_header_bytes: setting("max-header-bytes", low.max_header_bytes, (8192, 256, MIB))?,
            max_headers: setting("max-headers", low.max_headers, (64, 4, 1024))?,
            max_connections: setting(
                "max-connections",
                low.max_connections,
                (20_000, 1, 10_000_000),
            )?,
            idle_timeout: secs("idle-timeout", low.idle_timeout, 60)?,
            request_timeout: secs("request-timeout", low.request_timeout, 10)?,
            // With the ~1.2 s shutdown needs after the cutoff, the proxy exits within the 10 s
            // `docker stop` (and Bacalhau, Kubernetes) grant before SIGKILL.
            drain_timeout: secs("drain-timeout", low.drain_timeout, 8)?,
            // Well under the 30 s a Bacalhau wasm job's HTTP call may take (`DefaultTimeout`
            // in Bacalhau's pkg/executor/wasm/funcs/http/http.go): the sensor gets a 503.
            request_budget: Duration::from_secs(setting(
                "request-budget",
                low.request_budget,
                (10, 1, 300),
            )?),
            filter_capacity: setting(
                "filter-capacity",
                low.filter_capacity,
                (100_000, 16, 100_000_000),
            )?,
            ingress,
            fifo,
            group_by: low
                .group_by
                .as_deref()
                .map_or(Ok(GroupBy::Hostname), GroupBy::parse)?,
            attributes: low
                .attributes
                .as_deref()
                .map_or_else(|| Ok(Attribute::ALL.to_vec()), Attribute::parse_list)?,
            proxy_region: low
                .proxy_region
                .map(crate::envelope::check_proxy_region)
                .transpose()?,
            verbose: low.verbose,
        })
    }
}

/// The ingress flags; their files are read (and refused) by `Ingress::load` at start.
fn ingress_files(low: &LowArgs) -> Result<IngressFiles, Error> {
    let tls = match (&low.tls_cert, &low.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        (None, None) => None,
        _ => {
            return Err(Error::new(
                "--tls-cert and --tls-key go together: give both or neither",
            ))
        }
    };
    if low.auth_metrics && low.auth_token_file.is_none() {
        return Err(Error::new("--auth-metrics needs --auth-token-file"));
    }
    Ok(IngressFiles {
        auth_token_file: low.auth_token_file.clone(),
        auth_metrics: low.auth_metrics,
        tls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: &str = "http://127.0.0.1:4566/000000000000/q";

    fn low_env(args: &[&str], env: &[(&str, &str)]) -> Result<LowArgs, Error> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LowArgs::parse(Parser::new(args.iter().copied()), &move |name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    fn config(args: &[&str]) -> Result<Config, Error> {
        let mut all = vec!["--queue-url", Q];
        all.extend_from_slice(args);
        Config::from_low(low_env(&all, &[])?, 2)
    }

    #[test]
    fn defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.addr, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(c.workers, 2, "one worker per CPU");
        assert_eq!(c.forwarders, 4);
        assert_eq!(c.linger, Duration::from_millis(2));
        assert_eq!(
            c.max_body,
            1024 * 1024,
            "lowered to the queue's limit at start"
        );
        assert!(!c.fifo);
        assert_eq!(c.group_by, GroupBy::Hostname);
        assert_eq!(c.attributes, Attribute::ALL);
        assert_eq!(c.proxy_region, None);
        assert_eq!(
            c.drain_timeout,
            Duration::from_secs(8),
            "exit inside docker's 10 s"
        );
        assert!(!c.verbose);
    }

    #[test]
    fn help_flags() {
        assert!(low_env(&["--help"], &[]).unwrap().help);
        assert!(low_env(&["-h"], &[]).unwrap().help);
    }

    #[test]
    fn port_flag_and_bacalhau_env_fallback() {
        assert_eq!(config(&["--port", "9091"]).unwrap().addr.port(), 9091);
        let low = low_env(&["--queue-url", Q], &[("BACALHAU_PORT_http", "7001")]).unwrap();
        assert_eq!(low.port, Some(7001));
        let low = low_env(&["--port", "1"], &[("BACALHAU_PORT_http", "7001")]).unwrap();
        assert_eq!(low.port, Some(1), "the flag wins");
        assert!(low_env(&[], &[("BACALHAU_PORT_http", "x")]).is_err());
        assert!(config(&["--port", "70000"]).is_err());
    }

    #[test]
    fn bind_flag() {
        let c = config(&["--bind", "127.0.0.1"]).unwrap();
        assert_eq!(c.addr.ip(), IpAddr::from([127, 0, 0, 1]));
        assert!(config(&["--bind", "localhost:1"]).is_err());
    }

    #[test]
    fn workers_flag() {
        assert_eq!(config(&["--workers", "4"]).unwrap().workers, 4);
        assert!(config(&["--workers", "0"]).is_err());
    }

    /// The shared SQS flags (sigv4::sqs::cli, tested there) are wired in.
    #[test]
    fn shared_sqs_flags() {
        let c = config(&["--region", "eu-west-1", "--profile", "edge"]).unwrap();
        assert_eq!(c.sqs.queue_url, Q);
        assert_eq!(c.sqs.region.as_deref(), Some("eu-west-1"));
        assert_eq!(c.sqs.profile.as_deref(), Some("edge"));
        let low = low_env(&[], &[("SQS_QUEUE_URL", Q)]).unwrap();
        assert_eq!(low.sqs.queue_url.as_deref(), Some(Q));
        assert!(Config::from_low(low_env(&[], &[]).unwrap(), 1).is_err());
        assert!(USAGE.contains("--profile NAME") && USAGE.contains("--linger-ms"));
    }

    #[test]
    fn batching_flags() {
        let c = config(&[
            "--forwarders",
            "8",
            "--linger-ms",
            "5",
            "--queue-capacity",
            "50",
            "--max-retries",
            "0",
            "--worker-connections",
            "0",
        ])
        .unwrap();
        assert_eq!(
            (c.forwarders, c.linger, c.queue_capacity, c.max_retries),
            (8, Duration::from_millis(5), 50, 0)
        );
        assert_eq!(c.worker_connections, 0);
        assert!(config(&["--worker-connections", "9"]).is_err());
        assert!(config(&["--linger-ms", "5000"]).is_err());
        assert!(config(&["--forwarders", "0"]).is_err());
        assert!(config(&["--max-retries", "11"]).is_err());
    }

    #[test]
    fn limit_flags() {
        let c = config(&[
            "--max-body",
            "1000",
            "--max-header-bytes",
            "4096",
            "--max-headers",
            "16",
            "--max-connections",
            "100",
        ])
        .unwrap();
        assert_eq!(
            (
                c.max_body,
                c.max_header_bytes,
                c.max_headers,
                c.max_connections
            ),
            (1000, 4096, 16, 100)
        );
        assert!(
            config(&["--max-body", "2000000"]).is_err(),
            "SQS cannot take it"
        );
        assert!(config(&["--max-body", "abc"]).is_err());
    }

    #[test]
    fn timeout_flags() {
        let c = config(&[
            "--idle-timeout",
            "5",
            "--request-timeout",
            "2",
            "--drain-timeout",
            "3",
        ])
        .unwrap();
        assert_eq!(c.idle_timeout, Duration::from_secs(5));
        assert_eq!(c.request_timeout, Duration::from_secs(2));
        assert_eq!(c.drain_timeout, Duration::from_secs(3));
        assert!(config(&["--idle-timeout", "0"]).is_err());
    }

    #[test]
    fn request_budget_flag() {
        assert_eq!(config(&[]).unwrap().request_budget, Duration::from_secs(10));
        let c = config(&["--request-budget", "4"]).unwrap();
        assert_eq!(c.request_budget, Duration::from_secs(4));
        assert!(config(&["--request-budget", "0"]).is_err());
        assert!(config(&["--request-budget", "301"]).is_err());
    }

    #[test]
    fn filter_capacity_and_verbose_flags() {
        let c = config(&["--filter-capacity", "1000", "-v"]).unwrap();
        assert_eq!(c.filter_capacity, 1000);
        assert!(c.verbose);
        assert!(config(&["--verbose"]).unwrap().verbose);
    }

    #[test]
    fn ingress_flags() {
        let c = config(&["--tls-cert", "c.pem", "--tls-key", "k.pem"]).unwrap();
        let tls = c.ingress.tls.unwrap();
        assert_eq!((tls.cert, tls.key), ("c.pem".into(), "k.pem".into()));
        assert!(config(&["--tls-cert", "c.pem"]).is_err(), "both or neither");
        assert!(config(&["--tls-key", "k.pem"]).is_err(), "both or neither");
        let c = config(&["--auth-token-file", "t", "--auth-metrics"]).unwrap();
        assert_eq!(c.ingress.auth_token_file, Some("t".into()));
        assert!(c.ingress.auth_metrics);
        assert!(config(&["--auth-metrics"]).is_err(), "needs a token file");
        let low = low_env(&[], &[("PROXY_AUTH_TOKEN_FILE", "/run/t")]).unwrap();
        assert_eq!(low.auth_token_file, Some("/run/t".into()));
        let low = low_env(
            &["--auth-token-file", "f"],
            &[("PROXY_AUTH_TOKEN_FILE", "e")],
        )
        .unwrap();
        assert_eq!(low.auth_token_file, Some("f".into()), "the flag wins");
        assert_eq!(config(&[]).unwrap().ingress, IngressFiles::default());
    }

    #[test]
    fn fifo_flags() {
        assert!(config(&["--fifo"]).unwrap().fifo);
        let low = low_env(&["--queue-url", "http://h/1/q.fifo"], &[]).unwrap();
        assert!(
            Config::from_low(low, 1).unwrap().fifo,
            "detected from the url"
        );
        let c = config(&["--group-by", "execution"]).unwrap();
        assert_eq!(c.group_by, GroupBy::Execution);
        assert_eq!(
            config(&["--group-by", "region"]).unwrap().group_by,
            GroupBy::Region
        );
        let err = config(&["--group-by", "sensor"]).unwrap_err().to_string();
        assert!(
            err.contains("--group-by") && err.contains("hostname"),
            "{err}"
        );
    }

    #[test]
    fn attribute_flags() {
        let c = config(&["--attributes", "hostname,proxy_region"]).unwrap();
        assert_eq!(c.attributes, [Attribute::Hostname, Attribute::ProxyRegion]);
        assert!(config(&["--attributes", "off"])
            .unwrap()
            .attributes
            .is_empty());
        for bad in ["", "hostname,,region", "colour", "off,region"] {
            let err = config(&["--attributes", bad]).unwrap_err().to_string();
            assert!(err.contains("--attributes"), "{bad:?}: {err}");
        }
        let c = config(&["--proxy-region", "eu-edge"]).unwrap();
        assert_eq!(c.proxy_region.as_deref(), Some("eu-edge"));
        let low = low_env(&["--queue-url", Q], &[("PROXY_REGION", "us")]).unwrap();
        assert_eq!(low.proxy_region.as_deref(), Some("us"));
        assert!(config(&["--proxy-region", "a\u{1}b"]).is_err());
        assert!(USAGE.contains("--attributes LIST") && USAGE.contains("--group-by"));
    }

    #[test]
    fn unknown_flags_and_stray_values_are_errors() {
        assert!(low_env(&["--nope"], &[]).is_err());
        assert!(low_env(&["extra"], &[]).is_err());
    }
}
