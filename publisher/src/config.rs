//! The module's command line, compatible with the original publisher's job specs.
//!
//! Bacalhau passes `argv = ["", parameters...]`. Flags are accepted as `--name=value`,
//! `--name value`, `-name=value` and `-name value` (the Go `flag` spellings the original
//! accepted); the last occurrence wins. Parsing is two steps as elsewhere in the workspace:
//! [`LowArgs`] records what was typed, [`Config::from_low`] validates it.
use crate::message::EMOJIS;
use alloc::string::{String, ToString};

pub const USAGE: &str = "\
usage: sqs-publisher --proxy=URL --region=R [flags]

Posts one JSON sensor message per interval to URL/send; waits for URL/health first.

  --proxy=URL              regional SQS proxy, e.g. http://host.docker.internal:9091 (required)
  --region=R               region label in each message (default: $REGION; required)
  --color=#RRGGBB|-1       message colour, -1 = random (default -1)
  --emoji=N|-1             index into the 20 emojis, -1 = random (default -1)
  --interval=SECONDS       time between messages, fractions allowed (default 5)
  --max-messages=N         stop after N messages are delivered, 0 = unlimited (default 0)
  --submission-time=N      deployment version / submission time in each message (default 0)
  --health-timeout=SECONDS give up (exit 1) if /health never answers 200 (default 60)
  --outbox=N               undelivered messages kept while the proxy is away; when full,
                           the oldest is dropped and counted (default 10000)
  -h, --help               this text

Environment: BACALHAU_JOB_ID, BACALHAU_EXECUTION_ID, HOSTNAME, REGION, PROXY_TOKEN (sent
as `Authorization: Bearer` with every POST /send for a proxy with --auth-token-file; empty
or `none` = no token; never logged).
Exit codes: 0 done, 1 proxy never healthy, 2 bad flags (or a malformed PROXY_TOKEN).";

/// What was typed, before validation.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LowArgs {
    pub help: bool,
    pub proxy: Option<String>,
    pub region: Option<String>,
    pub color: Option<String>,
    pub emoji: Option<String>,
    pub interval: Option<String>,
    pub max_messages: Option<String>,
    pub submission_time: Option<String>,
    pub health_timeout: Option<String>,
    pub outbox: Option<String>,
}

/// A colour or emoji: fixed, or chosen at random at start-up.
#[derive(Debug, Clone, PartialEq)]
pub enum Choice<T> {
    Fixed(T),
    Random,
}

/// Validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Proxy base URL without a trailing slash.
    pub proxy: String,
    pub region: String,
    pub color: Choice<String>,
    pub emoji: Choice<usize>,
    pub interval_ns: u64,
    pub max_messages: u64,
    pub submission_time: i64,
    pub health_timeout_ns: u64,
    pub outbox: usize,
}

/// Outcome of parsing: run, or print the usage and exit 0.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    Run(Config),
    Help,
}

const NS_PER_SEC: u64 = 1_000_000_000;

impl LowArgs {
    /// Reads `args` (argv without `argv[0]`).
    pub fn parse(args: &[String]) -> Result<LowArgs, String> {
        let mut low = LowArgs::default();
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            i += 1;
            let Some(flag) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
                return Err(alloc::format!("unexpected argument '{arg}'"));
            };
            if flag.is_empty() {
                return Err("unexpected argument '--'".into());
            }
            let (name, inline) = match flag.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (flag, None),
            };
            if name == "help" || name == "h" {
                low.help = true;
                continue;
            }
            let slot = match name {
                "proxy" => &mut low.proxy,
                "region" => &mut low.region,
                "color" => &mut low.color,
                "emoji" => &mut low.emoji,
                "interval" => &mut low.interval,
                "max-messages" => &mut low.max_messages,
                "submission-time" => &mut low.submission_time,
                "health-timeout" => &mut low.health_timeout,
                "outbox" => &mut low.outbox,
                _ => return Err(alloc::format!("unknown flag '{arg}'")),
            };
            let value = match inline {
                Some(v) => v,
                None => {
                    let v = args
                        .get(i)
                        .ok_or_else(|| alloc::format!("flag '{arg}' needs a value"))?;
                    i += 1;
                    v.clone()
                }
            };
            *slot = Some(value);
        }
        Ok(low)
    }
}

impl Config {
    /// Validates `low`; `region_env` is `$REGION`, used when `--region` is absent.
    pub fn from_low(low: LowArgs, region_env: Option<&str>) -> Result<Parsed, String> {
        if low.help {
            return Ok(Parsed::Help);
        }
        let proxy = proxy_url(low.proxy)?;
        let region = low
            .region
            .or_else(|| region_env.map(ToString::to_string))
            .filter(|r| !r.is_empty())
            .ok_or("missing --region=R (and $REGION is not set)")?;
        let color = color_choice(low.color.as_deref())?;
        let emoji = emoji_choice(low.emoji.as_deref())?;
        let interval_ns = match low.interval.as_deref() {
            None => 5 * NS_PER_SEC,
            Some(s) => match parse_seconds(s) {
                Some(ns) if ns > 0 && ns <= 86_400 * NS_PER_SEC => ns,
                _ => {
                    return Err(alloc::format!(
                        "--interval '{s}': expected seconds > 0 (fractions allowed, e.g. 0.2)"
                    ))
                }
            },
        };
        let max_messages = parse_int::<u64>(low.max_messages.as_deref(), "--max-messages", 0)?;
        let submission_time =
            parse_int::<i64>(low.submission_time.as_deref(), "--submission-time", 0)?;
        let health_timeout_ns = match low.health_timeout.as_deref() {
            None => 60 * NS_PER_SEC,
            Some(s) => parse_seconds(s)
                .ok_or_else(|| alloc::format!("--health-timeout '{s}': expected seconds >= 0"))?,
        };
        let outbox = parse_int::<usize>(low.outbox.as_deref(), "--outbox", 10_000)?;
        if outbox == 0 {
            return Err("--outbox must be at least 1".into());
        }
        Ok(Parsed::Run(Config {
            proxy,
            region,
            color,
            emoji,
            interval_ns,
            max_messages,
            submission_time,
            health_timeout_ns,
            outbox,
        }))
    }
}

/// `--proxy=URL`: an http:// or https:// URL with a host, kept without trailing slashes.
fn proxy_url(flag: Option<String>) -> Result<String, String> {
    let proxy = flag.ok_or("missing --proxy=URL")?;
    let proxy = proxy.trim_end_matches('/').to_string();
    let host = proxy
        .strip_prefix("http://")
        .or_else(|| proxy.strip_prefix("https://"));
    if host.is_none_or(str::is_empty) {
        return Err(alloc::format!(
            "--proxy '{proxy}': expected an http:// or https:// URL"
        ));
    }
    Ok(proxy)
}

/// `--color=#RRGGBB`, or -1 / absent for a random one.
fn color_choice(flag: Option<&str>) -> Result<Choice<String>, String> {
    match flag {
        None | Some("-1") => Ok(Choice::Random),
        Some(c) if is_hex_color(c) => Ok(Choice::Fixed(c.to_string())),
        Some(c) => Err(alloc::format!("--color '{c}': expected #RRGGBB or -1")),
    }
}

/// `--emoji=N`, an index into the emoji list, or -1 / absent for a random one.
fn emoji_choice(flag: Option<&str>) -> Result<Choice<usize>, String> {
    match flag {
        None | Some("-1") => Ok(Choice::Random),
        Some(e) => match e.parse::<usize>() {
            Ok(n) if n < EMOJIS.len() => Ok(Choice::Fixed(n)),
            _ => Err(alloc::format!(
                "--emoji '{e}': expected -1 or an index from 0 to {}",
                EMOJIS.len() - 1
            )),
        },
    }
}

/// The header lines of every `POST /send` (Bacalhau's `http_request` takes `Key: Value`
/// lines joined by `\n`): the JSON content type, plus `Authorization: Bearer TOKEN` when
/// `$PROXY_TOKEN` is set. Empty and `none` mean no token: a Bacalhau task cannot have an empty
/// Env value (ValidateEnvVars in pkg/models/env_var.go at v1.7.0) and our job renderer has no
/// `if`, so the job files default to `none`. Built once at start-up. The error never shows
/// the token.
pub fn send_headers(token: Option<&str>) -> Result<String, String> {
    let mut headers = String::from("Content-Type: application/json");
    match token.map(str::trim) {
        None | Some("" | "none") => {}
        // RFC 6750 §2.1 b64token: also keeps a stray newline from forging a header line.
        Some(t)
            if t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b)) =>
        {
            headers.push_str("\nAuthorization: Bearer ");
            headers.push_str(t);
        }
        Some(_) => {
            return Err(
                "$PROXY_TOKEN holds characters a bearer token cannot have (allowed: \
                 letters, digits and -._~+/=); its value is not shown"
                    .into(),
            )
        }
    }
    Ok(headers)
}

fn is_hex_color(c: &str) -> bool {
    c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn parse_int<T: core::str::FromStr>(
    raw: Option<&str>,
    flag: &str,
    default: T,
) -> Result<T, String> {
    match raw {
        None => Ok(default),
        Some(s) => s
            .parse()
            .map_err(|_| alloc::format!("{flag} '{s}': expected a whole number")),
    }
}

/// Decimal seconds ("5", "0.2", "1.25", ".5") to nanoseconds, without floating point:
/// digits beyond nanoseconds are ignored.
pub fn parse_seconds(s: &str) -> Option<u64> {
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut frac_ns = 0u64;
    for (i, b) in frac.bytes().take(9).enumerate() {
        frac_ns += (b - b'0') as u64 * 10u64.pow(8 - i as u32);
    }
    whole.checked_mul(NS_PER_SEC)?.checked_add(frac_ns)
}

/// Splits `KEY=value` environment entries (as WASI's environ_get gives them).
pub fn env_lookup<'a>(env: &'a [String], key: &str) -> Option<&'a str> {
    env.iter().find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then_some(v)
    })
}

/// Convenience for tests and the entry point: `args` is argv without `argv[0]`.
pub fn parse(args: &[String], region_env: Option<&str>) -> Result<Parsed, String> {
    Config::from_low(LowArgs::parse(args)?, region_env)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn run(list: &[&str]) -> Result<Config, String> {
        match parse(&args(list), None)? {
            Parsed::Run(c) => Ok(c),
            Parsed::Help => Err("help".into()),
        }
    }

    const BASE: [&str; 2] = ["--proxy=http://h:9091", "--region=us"];

    fn with(extra: &[&str]) -> Result<Config, String> {
        let mut all = BASE.to_vec();
        all.extend_from_slice(extra);
        run(&all)
    }

    #[test]
    fn original_job_spec_parameters() {
        let c = run(&[
            "--proxy=http://host.docker.internal:9091",
            "--emoji=-1",
            "--color=#FF0000",
            "--interval=5",
            "--max-messages=0",
            "--region=us",
            "--submission-time=1",
        ])
        .unwrap();
        assert_eq!(c.proxy, "http://host.docker.internal:9091");
        assert_eq!(c.region, "us");
        assert_eq!(c.color, Choice::Fixed("#FF0000".into()));
        assert_eq!(c.emoji, Choice::Random);
        assert_eq!(c.interval_ns, 5_000_000_000);
        assert_eq!(c.max_messages, 0);
        assert_eq!(c.submission_time, 1);
        assert_eq!(c.outbox, 10_000);
        assert_eq!(c.health_timeout_ns, 60_000_000_000);
    }

    #[test]
    fn flag_spellings_and_last_wins() {
        let c = run(&[
            "-proxy",
            "http://h:1/",
            "--region",
            "eu",
            "-region=as",
            "--emoji",
            "-1",
        ])
        .unwrap();
        assert_eq!(c.proxy, "http://h:1", "trailing slash removed");
        assert_eq!(c.region, "as");
        assert_eq!(c.emoji, Choice::Random);
    }

    #[test]
    fn proxy_is_required_and_must_be_http() {
        assert!(run(&["--region=us"]).unwrap_err().contains("--proxy"));
        assert!(with(&["--proxy=ftp://x"]).is_err());
        assert!(with(&["--proxy=http://"]).is_err());
    }

    #[test]
    fn region_falls_back_to_env() {
        let a = args(&["--proxy=http://h"]);
        assert!(parse(&a, None).unwrap_err().contains("--region"));
        let Parsed::Run(c) = parse(&a, Some("eu")).unwrap() else {
            panic!()
        };
        assert_eq!(c.region, "eu");
        assert!(parse(&a, Some("")).is_err());
    }

    #[test]
    fn color_forms() {
        assert_eq!(
            with(&["--color=#00ff00"]).unwrap().color,
            Choice::Fixed("#00ff00".into())
        );
        assert_eq!(with(&["--color=-1"]).unwrap().color, Choice::Random);
        for bad in [
            "--color=red",
            "--color=#12345",
            "--color=#GGGGGG",
            "--color=",
        ] {
            assert!(with(&[bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn emoji_range() {
        assert_eq!(with(&["--emoji=19"]).unwrap().emoji, Choice::Fixed(19));
        assert_eq!(with(&["--emoji=0"]).unwrap().emoji, Choice::Fixed(0));
        for bad in ["--emoji=20", "--emoji=-2", "--emoji=x"] {
            assert!(with(&[bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn interval_accepts_fractions() {
        assert_eq!(with(&["--interval=0.2"]).unwrap().interval_ns, 200_000_000);
        assert_eq!(with(&["--interval=.5"]).unwrap().interval_ns, 500_000_000);
        assert_eq!(
            with(&["--interval=1.25"]).unwrap().interval_ns,
            1_250_000_000
        );
        for bad in [
            "--interval=0",
            "--interval=-1",
            "--interval=abc",
            "--interval=.",
            "--interval=1e3",
        ] {
            assert!(with(&[bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn numeric_flags() {
        assert_eq!(with(&["--max-messages=7"]).unwrap().max_messages, 7);
        assert!(with(&["--max-messages=-1"]).is_err());
        assert_eq!(
            with(&["--submission-time=1711449600"])
                .unwrap()
                .submission_time,
            1711449600
        );
        assert!(with(&["--submission-time=v2"]).is_err());
        assert_eq!(with(&["--outbox=5"]).unwrap().outbox, 5);
        assert!(with(&["--outbox=0"]).is_err());
        assert_eq!(
            with(&["--health-timeout=0.5"]).unwrap().health_timeout_ns,
            500_000_000
        );
        assert!(with(&["--health-timeout=soon"]).is_err());
    }

    #[test]
    fn unknown_flags_positionals_and_missing_values() {
        assert!(with(&["--bogus"])
            .unwrap_err()
            .contains("unknown flag '--bogus'"));
        assert!(with(&["stray"])
            .unwrap_err()
            .contains("unexpected argument"));
        assert!(with(&["--interval"]).unwrap_err().contains("needs a value"));
    }

    #[test]
    fn help_wins() {
        assert_eq!(parse(&args(&["--help"]), None), Ok(Parsed::Help));
        assert_eq!(parse(&args(&["-h"]), None), Ok(Parsed::Help));
    }

    #[test]
    fn proxy_token_becomes_a_bearer_header_line() {
        let plain = "Content-Type: application/json";
        assert_eq!(send_headers(None).unwrap(), plain);
        assert_eq!(send_headers(Some("")).unwrap(), plain, "empty = unset");
        assert_eq!(
            send_headers(Some("none")).unwrap(),
            plain,
            "the job files' default"
        );
        assert_eq!(
            send_headers(Some(" abc.DEF-1_~+/= \n")).unwrap(),
            "Content-Type: application/json\nAuthorization: Bearer abc.DEF-1_~+/="
        );
        for bad in ["tok en", "a\nX-Evil: 1", "tok\u{e9}n"] {
            let e = send_headers(Some(bad)).unwrap_err();
            assert!(e.contains("PROXY_TOKEN") && !e.contains(bad), "{e}");
        }
    }

    #[test]
    fn env_entries() {
        let env = args(&["A=1", "HOSTNAME=edge-us-0", "EMPTY="]);
        assert_eq!(env_lookup(&env, "HOSTNAME"), Some("edge-us-0"));
        assert_eq!(env_lookup(&env, "EMPTY"), Some(""));
        assert_eq!(env_lookup(&env, "B"), None);
    }
}
