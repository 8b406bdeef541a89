//! Command line and environment of `demo`, parsed in two steps: [`LowArgs`] records what was
//! typed, [`Config::from_low`] validates it and fills in defaults and demo.sh's variables.
use flags::{Arg, Error, Parser};
use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
demo: run the whole edge-sensors system locally and play the seed's demo scenario

usage: demo [OPTIONS]

Starts LocalStack (unless one is running) and a queue, three regional proxies (ports 9091,
9092, 9093 as the job files say), the puller,
then runs the real job files in jobs/ with edge-node (simulated Bacalhau edge nodes):
  deploy us/eu/as v1 -> update us to v2 -> disconnect eu -> deploy eu v2 -> reconnect eu
and prints a summary per region and version. Ctrl-C stops everything it started.

options:
  --step-seconds S        time each scenario step runs before the next (default 8)
  --interval S            seconds between messages per sensor, fractions allowed (default 1,
                          longer for big fleets: the whole fleet sends at most ~1,000
                          messages/s, about what LocalStack drains on 2 cores)
  --drain-seconds S       at the end, give up waiting for outboxes to drain and acknowledged
                          messages to arrive once nothing moved for S seconds (default 20)
  --workers N             worker threads per proxy (default 2)
  --non-interactive       plain progress lines instead of the live view (default when
                          stdout is not a terminal)
  --summary-json PATH     also write the summary as JSON
  --run-dir DIR           where logs, stats and received messages go
                          (default target/demo-runs/<time>)
  --root DIR              the workspace checkout (default: found from this executable)
  --endpoint-url URL      SQS endpoint (default http://127.0.0.1:4566, LocalStack)
  --dashboard ADDR        serve the puller's live fleet dashboard there (default
                          127.0.0.1:8088; the URL is printed at start)
  --no-dashboard          run without the dashboard
  -h, --help              this text

environment (as demo.sh):
  REPLICAS (3), US_REPLICAS, EU_REPLICAS, AS_REPLICAS   sensors per region
  BATCH_SIZE (10), MS_BETWEEN_RECONNECT (250)           pacing of the eu reconnect
  ALL_AT_ONCE (false)                                   reconnect every node at once

exit status: 0 when every acknowledged message arrived (no gaps), 1 otherwise, 2 usage.
";

/// The whole fleet's default send rate: roughly what LocalStack drains (receive + delete) on
/// this project's 2-core machines, so a big demo does not just pile up a queue.
const FLEET_MESSAGES_PER_SEC: f64 = 1000.0;

/// What was typed.
#[derive(Debug, Default)]
pub struct LowArgs {
    pub help: bool,
    pub step_seconds: Option<f64>,
    pub interval: Option<f64>,
    pub drain_seconds: Option<f64>,
    pub workers: Option<usize>,
    pub non_interactive: bool,
    pub summary_json: Option<PathBuf>,
    pub run_dir: Option<PathBuf>,
    pub root: Option<PathBuf>,
    pub endpoint_url: Option<String>,
    pub dashboard: Option<String>,
    pub no_dashboard: bool,
}

/// Parses the tokens; no validation beyond types.
pub fn parse_low(mut parser: Parser) -> Result<LowArgs, Error> {
    let mut low = LowArgs::default();
    while let Some(arg) = parser.next()? {
        match arg {
            Arg::Short('h') => low.help = true,
            Arg::Long(ref name) => match name.as_str() {
                "help" => low.help = true,
                "step-seconds" => low.step_seconds = Some(parser.parse()?),
                "interval" => low.interval = Some(parser.parse()?),
                "drain-seconds" => low.drain_seconds = Some(parser.parse()?),
                "workers" => low.workers = Some(parser.parse()?),
                "non-interactive" => low.non_interactive = true,
                "summary-json" => low.summary_json = Some(parser.value()?.into()),
                "run-dir" => low.run_dir = Some(parser.value()?.into()),
                "root" => low.root = Some(parser.value()?.into()),
                "endpoint-url" => low.endpoint_url = Some(parser.value()?),
                "dashboard" => low.dashboard = Some(parser.value()?),
                "no-dashboard" => low.no_dashboard = true,
                _ => return Err(Error::unknown(&arg)),
            },
            other => return Err(Error::unknown(&other)),
        }
    }
    Ok(low)
}

/// Replica counts per region, resolved as demo.sh did: REGION_REPLICAS, else REPLICAS, else 3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replicas {
    pub us: u32,
    pub eu: u32,
    pub as_: u32,
}

/// How the eu region is brought back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reconnect {
    /// `batch` nodes at a time with a pause between batches.
    Batches {
        batch: u32,
        pause: Duration,
    },
    AllAtOnce,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub step: Duration,
    pub interval: f64,
    pub drain: Duration,
    pub workers: usize,
    pub interactive: bool,
    pub summary_json: Option<PathBuf>,
    pub run_dir: Option<PathBuf>,
    pub root: Option<PathBuf>,
    pub endpoint_url: String,
    /// Where the puller serves its dashboard (HOST:PORT), if at all.
    pub dashboard: Option<String>,
    pub replicas: Replicas,
    pub reconnect: Reconnect,
}

/// Environment values the configuration reads, passed in so tests need not touch the process
/// environment.
pub trait Env {
    fn get(&self, name: &str) -> Option<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

fn env_number<T>(env: &dyn Env, name: &str) -> Result<Option<T>, Error>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    env.get(name)
        .map(|v| flags::parse_value(name, v.trim()))
        .transpose()
}

fn positive_seconds(flag: &str, value: f64) -> Result<Duration, Error> {
    if !value.is_finite() || value <= 0.0 || value > 86_400.0 {
        return Err(Error::new(format!(
            "{flag} must be between 0 and 86400 seconds, got {value}"
        )));
    }
    Ok(Duration::from_secs_f64(value))
}

impl Config {
    pub fn from_low(low: LowArgs, env: &dyn Env, stdout_is_tty: bool) -> Result<Config, Error> {
        let step = positive_seconds("--step-seconds", low.step_seconds.unwrap_or(8.0))?;
        let explicit_interval = low.interval;
        if let Some(interval) = explicit_interval {
            positive_seconds("--interval", interval)?;
        }
        let drain = positive_seconds("--drain-seconds", low.drain_seconds.unwrap_or(20.0))?;
        let workers = low.workers.unwrap_or(2);
        if workers == 0 || workers > 64 {
            return Err(Error::new(format!(
                "--workers must be 1..=64, got {workers}"
            )));
        }
        let replicas = replicas_from_env(env)?;
        let reconnect = reconnect_from_env(env)?;
        // Five deployments over three regions: us and eu run two versions side by side.
        let fleet =
            f64::from(replicas.us) * 2.0 + f64::from(replicas.eu) * 2.0 + f64::from(replicas.as_);
        let interval =
            explicit_interval.unwrap_or_else(|| (fleet / FLEET_MESSAGES_PER_SEC).max(1.0));
        Ok(Config {
            step,
            interval,
            drain,
            workers,
            interactive: stdout_is_tty && !low.non_interactive,
            summary_json: low.summary_json,
            run_dir: low.run_dir,
            root: low.root,
            endpoint_url: low
                .endpoint_url
                .unwrap_or_else(|| "http://127.0.0.1:4566".to_string()),
            dashboard: dashboard(low.dashboard, low.no_dashboard)?,
            replicas,
            reconnect,
        })
    }
}

/// Edge nodes per region: `US_REPLICAS`, `EU_REPLICAS`, `AS_REPLICAS`, each defaulting to
/// `REPLICAS` (3), demo.sh's variables.
fn replicas_from_env(env: &dyn Env) -> Result<Replicas, Error> {
    let default: u32 = env_number(env, "REPLICAS")?.unwrap_or(3);
    let region = |name: &str| -> Result<u32, Error> {
        let n = env_number(env, name)?.unwrap_or(default);
        if n == 0 || n > 20_000 {
            return Err(Error::new(format!("{name} must be 1..=20000, got {n}")));
        }
        Ok(n)
    };
    Ok(Replicas {
        us: region("US_REPLICAS")?,
        eu: region("EU_REPLICAS")?,
        as_: region("AS_REPLICAS")?,
    })
}

/// How a region comes back: `ALL_AT_ONCE`, else `BATCH_SIZE` nodes every
/// `MS_BETWEEN_RECONNECT` ms (demo.sh's variables).
fn reconnect_from_env(env: &dyn Env) -> Result<Reconnect, Error> {
    let all_at_once = matches!(
        env.get("ALL_AT_ONCE")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref(),
        Some("true" | "1" | "yes")
    );
    if all_at_once {
        return Ok(Reconnect::AllAtOnce);
    }
    let batch: u32 = env_number(env, "BATCH_SIZE")?.unwrap_or(10);
    if batch == 0 {
        return Err(Error::new("BATCH_SIZE must be at least 1"));
    }
    let ms: u64 = env_number(env, "MS_BETWEEN_RECONNECT")?.unwrap_or(250);
    Ok(Reconnect::Batches {
        batch,
        pause: Duration::from_millis(ms),
    })
}

/// `--dashboard ADDR` / `--no-dashboard`: the dashboard's address, on by default.
fn dashboard(addr: Option<String>, off: bool) -> Result<Option<String>, Error> {
    match (addr, off) {
        (Some(_), true) => Err(Error::new("'--dashboard' and '--no-dashboard' contradict")),
        (_, true) => Ok(None),
        (addr, false) => Ok(Some(addr.unwrap_or_else(|| "127.0.0.1:8088".to_string()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct FakeEnv(HashMap<&'static str, &'static str>);
    impl Env for FakeEnv {
        fn get(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|v| v.to_string())
        }
    }

    fn config(args: &[&str], env: &[(&'static str, &'static str)]) -> Result<Config, Error> {
        let low = parse_low(Parser::new(args.iter().copied()))?;
        Config::from_low(low, &FakeEnv(env.iter().copied().collect()), true)
    }

    #[test]
    fn defaults_follow_demo_sh() {
        let c = config(&[], &[]).expect("config");
        assert_eq!(
            c.replicas,
            Replicas {
                us: 3,
                eu: 3,
                as_: 3
            }
        );
        assert_eq!(
            c.reconnect,
            Reconnect::Batches {
                batch: 10,
                pause: Duration::from_millis(250)
            }
        );
        assert!(c.interactive);
    }

    #[test]
    fn region_replicas_override_replicas() {
        let c = config(&[], &[("REPLICAS", "5"), ("EU_REPLICAS", "7")]).expect("config");
        assert_eq!(
            c.replicas,
            Replicas {
                us: 5,
                eu: 7,
                as_: 5
            }
        );
    }

    #[test]
    fn all_at_once_and_pacing() {
        let c = config(&[], &[("ALL_AT_ONCE", "true")]).expect("config");
        assert_eq!(c.reconnect, Reconnect::AllAtOnce);
        let c =
            config(&[], &[("BATCH_SIZE", "4"), ("MS_BETWEEN_RECONNECT", "10")]).expect("config");
        assert_eq!(
            c.reconnect,
            Reconnect::Batches {
                batch: 4,
                pause: Duration::from_millis(10)
            }
        );
    }

    #[test]
    fn bad_environment_values_are_named() {
        let err = config(&[], &[("REPLICAS", "lots")]).expect_err("must fail");
        assert!(err.to_string().contains("REPLICAS"), "{err}");
        let err = config(&[], &[("BATCH_SIZE", "0")]).expect_err("must fail");
        assert!(err.to_string().contains("BATCH_SIZE"), "{err}");
    }

    #[test]
    fn flags_parse_and_validate() {
        let c = config(
            &[
                "--step-seconds",
                "2",
                "--interval=0.2",
                "--workers",
                "1",
                "--non-interactive",
            ],
            &[],
        )
        .expect("config");
        assert_eq!(c.step, Duration::from_secs(2));
        assert_eq!(c.interval, 0.2);
        assert_eq!(c.workers, 1);
        assert!(!c.interactive);
        assert!(config(&["--interval", "0"], &[]).is_err());
        assert_eq!(config(&[], &[]).expect("config").interval, 1.0);
        let big = config(&[], &[("REPLICAS", "1000")]).expect("config");
        assert_eq!(big.interval, 5.0, "5,000 sensors at one message per 5 s");
        let pinned = config(&["--interval", "0.5"], &[("REPLICAS", "1000")]).expect("config");
        assert_eq!(pinned.interval, 0.5);
        assert!(config(&["--workers", "0"], &[]).is_err());
        assert!(config(&["--bogus"], &[]).is_err());
        assert!(config(&["stray"], &[]).is_err());
    }
}
