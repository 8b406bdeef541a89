//! Command-line parsing in two steps: [`LowArgs`] records what was typed (flags, then the
//! environment fallbacks), [`Config`] is the validated configuration the puller runs with.
use crate::format::Format;
use crate::sink::SinkSpec;
use flags::{in_range, parse_value, Arg, Error, Parser};
use sigv4::sqs::cli::{SqsArgs, SqsSettings};
use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = concat!(
    "\
usage: puller --queue-url URL [options]

Drains an SQS queue with N concurrent long polls, writes every message to a sink and deletes
it (DeleteMessageBatch) only after the sink accepted it: at-least-once, nothing dropped.

Queue (the queue to drain):
",
    sigv4::sqs_flags_usage!(),
    "\
Consumption:
  --concurrency N           long-poll loops, one thread and connection each, 1..=256
                            [env NUM_WORKERS; 4]
  --wait-seconds S          long-poll wait, 0..=20 [env SQS_WAIT_TIME; 20]
  --max-messages N          messages per receive, 1..=10 [env MAX_MESSAGES; 10]
  --visibility-timeout S    seconds a received message stays hidden, 0..=43200
                            [env SQS_VISIBILITY_TIMEOUT; the queue's setting]
  --max-receives N          a message the sink refused is left for redelivery; once it was
                            received N times it goes to the dead-letter file [5]
  --dead-letter PATH        dead-letter file, JSON lines [./puller-dead-letter.jsonl]
  --require-schema          refuse bodies that are not sensor messages (default: deliver
                            and count them)
                            A queue with a RedrivePolicy keeps refused messages for SQS to
                            move to its dead-letter queue; the file is for queues without.
  --fifo                    treat the queue as FIFO (implied by a URL ending in .fifo):
                            one message group is never handled by two pollers at once and
                            its messages reach the sink in the order received
  Received messages are kept hidden (ChangeMessageVisibilityBatch) while the sink has not
  accepted them, up to 12 hours from receipt, so a slow sink causes no redelivery.
Output:
  --sink SINK               stdout, jsonl:PATH (append-only JSON lines), or http(s)://URL
                            (a webhook: each batch is one POST; only a 2xx answer lets its
                            messages be deleted) [stdout]
  --sink-format F           webhook body: json (an array of records) or ndjson [json]
  --sink-token-file PATH    webhook: send 'Authorization: Bearer TOKEN' (first line)
  --sink-ca-file PATH       webhook: also trust the CA certificates in this PEM file
  --sink-timeout S          webhook: connect/write/read deadline per POST, 1..=3600 [30]
  --sink-retries N          webhook: POSTs retried with backoff before the batch counts as
                            refused, 0..=100 [5]
  --format FORMAT           auto, pretty or json; auto = pretty when stdout is a terminal
                            [auto]; a jsonl sink is always json
  --fsync                   fsync the jsonl file before deleting (survives power loss)
Reporting:
  --summary-interval S      one-line summary to stderr every S seconds, 0 = off [5]
  --metrics-port PORT       serve Prometheus text at http://0.0.0.0:PORT/metrics
  --report-json PATH        write the final accounting as JSON on exit
  --dashboard ADDR          serve the live fleet dashboard at http://ADDR/ (HOST:PORT, or
                            PORT alone for 127.0.0.1:PORT) [env PULLER_DASHBOARD]
  --dashboard-token-file P  the dashboard then needs a bearer token from this file (one
                            per line; the page takes it as ?token=...)
                            [env PULLER_DASHBOARD_TOKEN_FILE]
  --max-instances N         publisher instances tracked one by one; beyond that the least
                            recently heard are retired into their region/version totals, as
                            are instances silent for 15 minutes [20000]
Stopping (SIGINT/SIGTERM stop gracefully: no new receives, batches already received are
delivered and deleted, long polls still waiting are abandoned (messages they bring are handed
back to the queue at once), the final report is printed, exit status 0, within 2 s when no
batch is in flight and at most 6 s; a second signal exits at once):
  --exit-when-idle S        stop once the queue stayed empty for S seconds
  --stop-after N            stop after at least N messages were delivered
  -h, --help                print this help
"
);

/// What the command line (and environment) said, unvalidated.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LowArgs {
    pub help: bool,
    pub sqs: SqsArgs,
    pub concurrency: Option<usize>,
    pub wait_seconds: Option<u8>,
    pub max_messages: Option<u8>,
    pub visibility_timeout: Option<u32>,
    pub max_receives: Option<u32>,
    pub dead_letter: Option<PathBuf>,
    pub require_schema: bool,
    pub sink: Option<SinkSpec>,
    pub format: Option<FormatChoice>,
    pub fsync: bool,
    pub summary_interval: Option<u64>,
    pub metrics_port: Option<u16>,
    pub report_json: Option<PathBuf>,
    pub dashboard: Option<String>,
    pub dashboard_token_file: Option<PathBuf>,
    pub exit_when_idle: Option<u64>,
    pub stop_after: Option<u64>,
    pub max_instances: Option<usize>,
    pub fifo: bool,
    pub sink_format: Option<BatchFormat>,
    pub sink_token_file: Option<PathBuf>,
    pub sink_ca_file: Option<PathBuf>,
    pub sink_timeout: Option<u64>,
    pub sink_retries: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatChoice {
    Auto,
    Pretty,
    Json,
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub sqs: SqsSettings,
    pub concurrency: usize,
    pub wait_seconds: u8,
    pub max_messages: u8,
    pub visibility_timeout: Option<u32>,
    pub max_receives: u32,
    pub dead_letter: PathBuf,
    pub require_schema: bool,
    pub sink: SinkSpec,
    pub format: Format,
    pub fsync: bool,
    pub summary_interval: Option<Duration>,
    pub metrics_port: Option<u16>,
    pub report_json: Option<PathBuf>,
    /// `--dashboard`, as HOST:PORT.
    pub dashboard: Option<String>,
    pub dashboard_token_file: Option<PathBuf>,
    pub exit_when_idle: Option<Duration>,
    pub stop_after: Option<u64>,
    pub max_instances: usize,
    /// `--fifo`, or a queue URL ending in `.fifo`.
    pub fifo: bool,
    /// The webhook's settings when `sink` is a URL.
    pub webhook: Option<WebhookSettings>,
}

/// `--sink-format`: how a batch is put into one POST body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchFormat {
    /// `[record, record, ...]`
    JsonArray,
    /// One record per line.
    Ndjson,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSettings {
    pub format: BatchFormat,
    /// The bearer token, read from `--sink-token-file` at start.
    pub token: Option<String>,
    /// `--sink-ca-file`: extra trusted CAs for an https webhook.
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
    pub retries: u32,
}

/// What to do.
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
    Config::from_low(low, crate::sys::stdout_is_tty()).map(|c| Command::Run(Box::new(c)))
}

impl LowArgs {
    /// Reads flags from `parser`, then fills what is still unset from `env` (so flags win).
    pub fn parse(
        mut parser: Parser,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<LowArgs, Error> {
        let mut low = LowArgs::default();
        while let Some(arg) = parser.next()? {
            match arg {
                Arg::Short('h') => low.help = true,
                Arg::Long(name) if low.sqs.parse_flag(&name, &mut parser)? => {}
                Arg::Long(name) => match name.as_str() {
                    "help" => low.help = true,
                    "concurrency" => low.concurrency = Some(parser.parse()?),
                    "wait-seconds" => low.wait_seconds = Some(parser.parse()?),
                    "max-messages" => low.max_messages = Some(parser.parse()?),
                    "visibility-timeout" => low.visibility_timeout = Some(parser.parse()?),
                    "max-receives" => low.max_receives = Some(parser.parse()?),
                    "dead-letter" => low.dead_letter = Some(PathBuf::from(parser.value()?)),
                    "require-schema" => low.require_schema = true,
                    "sink" => {
                        low.sink = Some(SinkSpec::parse(&parser.value()?).map_err(Error::new)?)
                    }
                    "format" => low.format = Some(parse_format(&parser.value()?)?),
                    "fsync" => low.fsync = true,
                    "summary-interval" => low.summary_interval = Some(parser.parse()?),
                    "metrics-port" => low.metrics_port = Some(parser.parse()?),
                    "report-json" => low.report_json = Some(PathBuf::from(parser.value()?)),
                    "dashboard" => low.dashboard = Some(parser.value()?),
                    "dashboard-token-file" => {
                        low.dashboard_token_file = Some(PathBuf::from(parser.value()?))
                    }
                    "exit-when-idle" => low.exit_when_idle = Some(parser.parse()?),
                    "stop-after" => low.stop_after = Some(parser.parse()?),
                    "max-instances" => low.max_instances = Some(parser.parse()?),
                    "fifo" => low.fifo = true,
                    "sink-format" => low.sink_format = Some(parse_batch_format(&parser.value()?)?),
                    "sink-token-file" => low.sink_token_file = Some(PathBuf::from(parser.value()?)),
                    "sink-ca-file" => low.sink_ca_file = Some(PathBuf::from(parser.value()?)),
                    "sink-timeout" => low.sink_timeout = Some(parser.parse()?),
                    "sink-retries" => low.sink_retries = Some(parser.parse()?),
                    _ => return Err(Error::unknown(&Arg::Long(name))),
                },
                other => return Err(Error::unknown(&other)),
            }
        }
        low.apply_env(env)?;
        Ok(low)
    }

    /// The environment fallbacks, including the original event-puller's knobs.
    fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<(), Error> {
        let get = |name: &str| {
            env(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        self.sqs.apply_env(env);
        if self.dashboard.is_none() {
            self.dashboard = get("PULLER_DASHBOARD");
        }
        if self.dashboard_token_file.is_none() {
            self.dashboard_token_file = get("PULLER_DASHBOARD_TOKEN_FILE").map(PathBuf::from);
        }
        if self.concurrency.is_none() {
            self.concurrency = get("NUM_WORKERS")
                .map(|v| parse_value("NUM_WORKERS", &v))
                .transpose()?;
        }
        if self.wait_seconds.is_none() {
            self.wait_seconds = get("SQS_WAIT_TIME")
                .map(|v| parse_value("SQS_WAIT_TIME", &v))
                .transpose()?;
        }
        if self.max_messages.is_none() {
            self.max_messages = get("MAX_MESSAGES")
                .map(|v| parse_value("MAX_MESSAGES", &v))
                .transpose()?;
        }
        if self.visibility_timeout.is_none() {
            self.visibility_timeout = get("SQS_VISIBILITY_TIMEOUT")
                .map(|v| parse_value("SQS_VISIBILITY_TIMEOUT", &v))
                .transpose()?;
        }
        Ok(())
    }
}

fn parse_format(text: &str) -> Result<FormatChoice, Error> {
    match text {
        "auto" => Ok(FormatChoice::Auto),
        "pretty" => Ok(FormatChoice::Pretty),
        "json" => Ok(FormatChoice::Json),
        _ => Err(Error::new(format!(
            "invalid value '{text}' for '--format' (expected auto, pretty or json)"
        ))),
    }
}

fn parse_batch_format(text: &str) -> Result<BatchFormat, Error> {
    match text {
        "json" => Ok(BatchFormat::JsonArray),
        "ndjson" => Ok(BatchFormat::Ndjson),
        _ => Err(Error::new(format!(
            "invalid value '{text}' for '--sink-format' (expected json or ndjson)"
        ))),
    }
}

/// The webhook settings: only with a URL sink; the token file must hold a token.
fn webhook_settings(low: &LowArgs, sink: &SinkSpec) -> Result<Option<WebhookSettings>, Error> {
    if !matches!(sink, SinkSpec::Webhook(_)) {
        let given = low.sink_format.is_some()
            || low.sink_token_file.is_some()
            || low.sink_ca_file.is_some()
            || low.sink_timeout.is_some()
            || low.sink_retries.is_some();
        if given {
            return Err(Error::new(
                "'--sink-format', '--sink-token-file', '--sink-ca-file', '--sink-timeout' and \
                 '--sink-retries' need a webhook sink (--sink http(s)://URL)",
            ));
        }
        return Ok(None);
    }
    let token = match &low.sink_token_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::new(format!(
                    "cannot read '--sink-token-file' {}: {e}",
                    path.display()
                ))
            })?;
            let token = text.lines().next().unwrap_or("").trim().to_string();
            let usable = !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic());
            if !usable {
                return Err(Error::new(format!(
                    "'--sink-token-file' {}: the first line must be a token (printable \
                     ASCII, no spaces)",
                    path.display()
                )));
            }
            Some(token)
        }
        None => None,
    };
    Ok(Some(WebhookSettings {
        format: low.sink_format.unwrap_or(BatchFormat::JsonArray),
        token,
        ca_file: low.sink_ca_file.clone(),
        timeout: Duration::from_secs(in_range(
            "--sink-timeout",
            low.sink_timeout.unwrap_or(30),
            1,
            3600,
        )?),
        retries: in_range("--sink-retries", low.sink_retries.unwrap_or(5), 0, 100)?,
    }))
}

impl Config {
    /// Validates `low`; `stdout_is_tty` decides `--format auto` for the stdout sink.
    pub fn from_low(low: LowArgs, stdout_is_tty: bool) -> Result<Config, Error> {
        let sink = low.sink.clone().unwrap_or(SinkSpec::Stdout);
        let webhook = webhook_settings(&low, &sink)?;
        let sqs = low.sqs.validate()?;
        let format = output_format(
            &sink,
            low.format.unwrap_or(FormatChoice::Auto),
            stdout_is_tty,
        )?;
        if low.fsync && !matches!(sink, SinkSpec::Jsonl(_)) {
            return Err(Error::new(
                "'--fsync' needs a jsonl sink (--sink jsonl:PATH)",
            ));
        }
        let seconds = |s: u64| (s > 0).then(|| Duration::from_secs(s));
        Ok(Config {
            concurrency: in_range("--concurrency", low.concurrency.unwrap_or(4), 1, 256)?,
            wait_seconds: in_range("--wait-seconds", low.wait_seconds.unwrap_or(20), 0, 20)?,
            max_messages: in_range("--max-messages", low.max_messages.unwrap_or(10), 1, 10)?,
            visibility_timeout: low
                .visibility_timeout
                .map(|v| in_range("--visibility-timeout", v, 0, 43_200))
                .transpose()?,
            max_receives: in_range("--max-receives", low.max_receives.unwrap_or(5), 1, 1000)?,
            dead_letter: low
                .dead_letter
                .unwrap_or_else(|| "puller-dead-letter.jsonl".into()),
            require_schema: low.require_schema,
            sink,
            format,
            fsync: low.fsync,
            summary_interval: seconds(low.summary_interval.unwrap_or(5)),
            metrics_port: low.metrics_port,
            report_json: low.report_json,
            dashboard: low.dashboard.as_deref().map(dashboard_addr).transpose()?,
            dashboard_token_file: match (&low.dashboard, low.dashboard_token_file) {
                (None, Some(_)) => {
                    return Err(Error::new(
                        "'--dashboard-token-file' needs '--dashboard ADDR'",
                    ))
                }
                (_, file) => file,
            },
            exit_when_idle: match low.exit_when_idle {
                Some(0) => return Err(Error::new("'--exit-when-idle' must be at least 1 second")),
                other => other.map(Duration::from_secs),
            },
            stop_after: match low.stop_after {
                Some(0) => return Err(Error::new("'--stop-after' must be at least 1")),
                other => other,
            },
            max_instances: in_range(
                "--max-instances",
                low.max_instances
                    .unwrap_or(crate::accounting::DEFAULT_MAX_INSTANCES),
                1,
                10_000_000,
            )?,
            fifo: low.fifo || sqs.queue_url.ends_with(".fifo"),
            webhook,
            sqs,
        })
    }
}

/// What `--format` means for `sink`: files and webhooks always get json; stdout gets pretty
/// lines on a terminal and json otherwise, unless told.
fn output_format(
    sink: &SinkSpec,
    choice: FormatChoice,
    stdout_is_tty: bool,
) -> Result<Format, Error> {
    Ok(match (sink, choice) {
        (SinkSpec::Jsonl(_) | SinkSpec::Webhook(_), FormatChoice::Pretty) => {
            return Err(Error::new(
                "jsonl and webhook sinks are always json; drop '--format pretty'",
            ))
        }
        (SinkSpec::Jsonl(_) | SinkSpec::Webhook(_), _) | (_, FormatChoice::Json) => Format::Json,
        (_, FormatChoice::Pretty) => Format::Pretty,
        (SinkSpec::Stdout, FormatChoice::Auto) if stdout_is_tty => Format::Pretty,
        (SinkSpec::Stdout, FormatChoice::Auto) => Format::Json,
    })
}

/// `--dashboard`: HOST:PORT, or a port alone, which binds 127.0.0.1 (the dashboard is for the
/// operator's own machine unless they name another address).
fn dashboard_addr(text: &str) -> Result<String, Error> {
    let invalid = || {
        Error::new(format!(
            "invalid value '{text}' for '--dashboard' (expected HOST:PORT such as \
             127.0.0.1:8088, or a port)"
        ))
    };
    if let Ok(port) = text.parse::<u16>() {
        return Ok(format!("127.0.0.1:{port}"));
    }
    let (host, port) = text.rsplit_once(':').ok_or_else(invalid)?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(invalid());
    }
    Ok(text.to_string())
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
        let lookup = move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        LowArgs::parse(Parser::new(args.iter().copied()), &lookup)
    }

    fn config(args: &[&str]) -> Result<Config, Error> {
        config_env(args, &[])
    }

    fn config_env(args: &[&str], env: &[(&str, &str)]) -> Result<Config, Error> {
        let mut all = vec!["--queue-url", Q];
        all.extend_from_slice(args);
        Config::from_low(low_env(&all, env)?, false)
    }

    fn err(args: &[&str]) -> String {
        config(args).expect_err("should be rejected").to_string()
    }

    #[test]
    fn defaults() {
        let c = config(&[]).expect("config");
        assert_eq!(c.sqs.queue_url, Q);
        assert_eq!((c.concurrency, c.wait_seconds, c.max_messages), (4, 20, 10));
        assert_eq!((c.visibility_timeout, c.max_receives), (None, 5));
        assert_eq!(c.dead_letter, PathBuf::from("puller-dead-letter.jsonl"));
        assert_eq!((c.sink.clone(), c.format), (SinkSpec::Stdout, Format::Json));
        assert_eq!(c.summary_interval, Some(Duration::from_secs(5)));
        assert_eq!(
            (c.metrics_port, c.exit_when_idle, c.stop_after),
            (None, None, None)
        );
        assert!(!c.require_schema && !c.fsync && c.report_json.is_none());
    }

    #[test]
    fn help() {
        assert!(low_env(&["--help"], &[]).expect("parse").help);
        assert!(low_env(&["-h"], &[]).expect("parse").help);
    }

    /// The shared SQS flags (sigv4::sqs::cli, tested there) are wired in.
    #[test]
    fn shared_sqs_flags() {
        let c = config(&[
            "--endpoint-url",
            "http://127.0.0.1:4566",
            "--profile",
            "edge",
        ]);
        let c = c.expect("config");
        assert_eq!(c.sqs.endpoint_url.as_deref(), Some("http://127.0.0.1:4566"));
        assert_eq!(c.sqs.profile.as_deref(), Some("edge"));
        let c = config_env(&[], &[("AWS_REGION", "ap-south-1")]).expect("config");
        assert_eq!(c.sqs.region.as_deref(), Some("ap-south-1"));
        let e = Config::from_low(LowArgs::default(), false).expect_err("missing");
        assert!(e.to_string().contains("SQS_QUEUE_URL"), "{e}");
        assert!(USAGE.contains("--profile NAME") && USAGE.contains("--wait-seconds"));
    }

    #[test]
    fn concurrency() {
        assert_eq!(config(&["--concurrency", "16"]).expect("c").concurrency, 16);
        assert_eq!(
            config_env(&[], &[("NUM_WORKERS", "8")])
                .expect("c")
                .concurrency,
            8
        );
        assert!(err(&["--concurrency", "0"]).contains("between 1 and 256"));
        assert!(err(&["--concurrency", "x"]).contains("'--concurrency'"));
        let e = config_env(&[], &[("NUM_WORKERS", "lots")])
            .expect_err("bad env")
            .to_string();
        assert!(e.contains("NUM_WORKERS"), "{e}");
    }

    #[test]
    fn wait_seconds() {
        assert_eq!(config(&["--wait-seconds", "0"]).expect("c").wait_seconds, 0);
        assert_eq!(
            config_env(&[], &[("SQS_WAIT_TIME", "5")])
                .expect("c")
                .wait_seconds,
            5
        );
        assert!(err(&["--wait-seconds", "21"]).contains("between 0 and 20"));
    }

    #[test]
    fn max_messages() {
        assert_eq!(config(&["--max-messages", "3"]).expect("c").max_messages, 3);
        assert_eq!(
            config_env(&[], &[("MAX_MESSAGES", "7")])
                .expect("c")
                .max_messages,
            7
        );
        assert!(err(&["--max-messages", "11"]).contains("between 1 and 10"));
        assert!(err(&["--max-messages", "0"]).contains("between 1 and 10"));
    }

    #[test]
    fn visibility_timeout() {
        assert_eq!(
            config(&["--visibility-timeout", "30"])
                .expect("c")
                .visibility_timeout,
            Some(30)
        );
        let c = config_env(&[], &[("SQS_VISIBILITY_TIMEOUT", "9")]).expect("c");
        assert_eq!(c.visibility_timeout, Some(9));
        assert!(err(&["--visibility-timeout", "43201"]).contains("43200"));
    }

    #[test]
    fn max_receives_and_dead_letter() {
        let c = config(&["--max-receives", "2", "--dead-letter", "/tmp/dl"]).expect("c");
        assert_eq!(
            (c.max_receives, c.dead_letter),
            (2, PathBuf::from("/tmp/dl"))
        );
        assert!(err(&["--max-receives", "0"]).contains("'--max-receives'"));
    }

    #[test]
    fn require_schema() {
        assert!(config(&["--require-schema"]).expect("c").require_schema);
    }

    #[test]
    fn sink_format_and_fsync() {
        let c = config(&["--sink", "jsonl:/tmp/out.jsonl", "--fsync"]).expect("c");
        assert_eq!(c.sink, SinkSpec::Jsonl("/tmp/out.jsonl".into()));
        assert_eq!((c.format, c.fsync), (Format::Json, true));
        assert_eq!(
            config(&["--format", "pretty"]).expect("c").format,
            Format::Pretty
        );
        assert!(err(&["--sink", "jsonl:/x", "--format", "pretty"]).contains("always json"));
        assert!(err(&["--format", "yaml"]).contains("auto, pretty or json"));
        assert!(err(&["--sink", "s3:x"]).contains("unknown sink"));
        assert!(err(&["--fsync"]).contains("jsonl sink"));
    }

    #[test]
    fn fifo_from_the_url_or_the_flag() {
        assert!(!config(&[]).expect("c").fifo);
        assert!(config(&["--fifo"]).expect("c").fifo);
        let low = low_env(&["--queue-url", "http://h:1/0/q.fifo"], &[]).expect("parse");
        assert!(Config::from_low(low, false).expect("c").fifo);
    }

    #[test]
    fn webhook_sink_and_its_settings() {
        let c = config(&["--sink", "http://127.0.0.1:9000/in"]).expect("c");
        assert_eq!(c.format, Format::Json);
        let w = c.webhook.expect("webhook settings");
        assert_eq!(w.format, BatchFormat::JsonArray);
        assert_eq!(
            (w.token, w.timeout, w.retries),
            (None, Duration::from_secs(30), 5)
        );
        let token = std::env::temp_dir().join(format!("puller-token-{}", std::process::id()));
        std::fs::write(&token, "s3cret\nold-one\n").expect("write token");
        let t = token.display().to_string();
        let c = config(&[
            "--sink",
            "http://h/x",
            "--sink-format",
            "ndjson",
            "--sink-token-file",
            &t,
            "--sink-timeout",
            "5",
            "--sink-retries",
            "0",
        ])
        .expect("c");
        let w = c.webhook.expect("webhook settings");
        assert_eq!(w.format, BatchFormat::Ndjson);
        assert_eq!(w.token.as_deref(), Some("s3cret"));
        assert_eq!((w.timeout, w.retries), (Duration::from_secs(5), 0));
        std::fs::write(&token, "\n").expect("write token");
        assert!(err(&["--sink", "http://h/", "--sink-token-file", &t]).contains("first line"));
        let _ = std::fs::remove_file(&token);
        assert!(err(&["--sink", "http://h/", "--sink-token-file", &t]).contains("cannot read"));
        assert!(err(&["--sink", "http://h/", "--sink-format", "xml"]).contains("json or ndjson"));
        assert!(err(&["--sink", "http://h/", "--sink-timeout", "0"]).contains("--sink-timeout"));
        assert!(err(&["--sink", "http://h/", "--sink-retries", "101"]).contains("--sink-retries"));
        assert!(err(&["--sink-format", "json"]).contains("need a webhook sink"));
        assert!(err(&["--sink", "http://h/", "--format", "pretty"]).contains("always json"));
        assert!(err(&["--sink", "http://h/", "--fsync"]).contains("jsonl sink"));
        assert!(config(&["--sink", "https://h/", "--sink-ca-file", "/x.pem"]).is_ok());
        assert!(err(&["--sink", "http://h:x/"]).contains("webhook 'http://h:x/'"));
        assert!(err(&["--sink", "http://h/?q"]).contains("query"));
    }

    #[test]
    fn format_auto_follows_the_terminal() {
        let low = low_env(&["--queue-url", Q], &[]).expect("parse");
        assert_eq!(
            Config::from_low(low.clone(), true).expect("c").format,
            Format::Pretty
        );
        assert_eq!(
            Config::from_low(low, false).expect("c").format,
            Format::Json
        );
        let low = low_env(&["--queue-url", Q, "--format", "json"], &[]).expect("parse");
        assert_eq!(Config::from_low(low, true).expect("c").format, Format::Json);
    }

    #[test]
    fn summary_interval() {
        let c = config(&["--summary-interval", "0"]).expect("c");
        assert_eq!(c.summary_interval, None);
        let c = config(&["--summary-interval", "2"]).expect("c");
        assert_eq!(c.summary_interval, Some(Duration::from_secs(2)));
    }

    #[test]
    fn metrics_port_and_report_json() {
        let c = config(&["--metrics-port", "9100", "--report-json", "/tmp/r.json"]).expect("c");
        assert_eq!(
            (c.metrics_port, c.report_json),
            (Some(9100), Some("/tmp/r.json".into()))
        );
        assert!(err(&["--metrics-port", "70000"]).contains("'--metrics-port'"));
    }

    #[test]
    fn dashboard_address_token_and_refusals() {
        let c = config(&["--dashboard", "8088"]).expect("port alone");
        assert_eq!(c.dashboard.as_deref(), Some("127.0.0.1:8088"));
        let c = config(&[
            "--dashboard",
            "0.0.0.0:9000",
            "--dashboard-token-file",
            "/t",
        ])
        .expect("host:port");
        assert_eq!(c.dashboard.as_deref(), Some("0.0.0.0:9000"));
        assert_eq!(c.dashboard_token_file, Some("/t".into()));
        let c = config_env(&[], &[("PULLER_DASHBOARD", "8089")]).expect("env");
        assert_eq!(c.dashboard.as_deref(), Some("127.0.0.1:8089"));
        assert!(err(&["--dashboard", "nope"]).contains("'--dashboard'"));
        assert!(err(&["--dashboard", ":80"]).contains("'--dashboard'"));
        assert!(err(&["--dashboard", "h:99999"]).contains("'--dashboard'"));
        assert!(err(&["--dashboard-token-file", "/t"]).contains("needs '--dashboard"));
        assert!(config(&[]).expect("default").dashboard.is_none());
    }

    #[test]
    fn exit_when_idle_and_stop_after() {
        let c = config(&["--exit-when-idle", "3", "--stop-after", "100"]).expect("c");
        assert_eq!(
            (c.exit_when_idle, c.stop_after),
            (Some(Duration::from_secs(3)), Some(100))
        );
        assert!(err(&["--exit-when-idle", "0"]).contains("at least 1"));
        assert!(err(&["--stop-after", "0"]).contains("at least 1"));
    }

    #[test]
    fn max_instances() {
        assert_eq!(config(&[]).expect("c").max_instances, 20_000);
        let c = config(&["--max-instances", "500"]).expect("c");
        assert_eq!(c.max_instances, 500);
        assert!(err(&["--max-instances", "0"]).contains("'--max-instances'"));
    }

    #[test]
    fn unknown_flags_and_values() {
        assert!(err(&["--bogus"]).contains("unknown flag '--bogus'"));
        assert!(err(&["stray"]).contains("unexpected argument 'stray'"));
        assert!(err(&["--queue-url"]).contains("needs a value"));
    }
}
