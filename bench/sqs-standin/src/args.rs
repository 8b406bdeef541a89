//! The command line: [`LowArgs`] is what was typed, [`Config`] what the stand-in runs with.
use flags::{in_range, Arg, Error, Parser};
use std::time::Duration;

pub const USAGE: &str = "\
usage: sqs-standin [--port PORT] [--bind ADDR] [--prefill N] [--instances N]

A fast SQS stand-in for benchmarks. Any queue URL on it names its one queue. It speaks AWS
JSON 1.0 (X-Amz-Target) and the query protocol (Action=...), and answers SendMessage(Batch),
ReceiveMessage, DeleteMessage(Batch), ChangeMessageVisibility(Batch), GetQueueAttributes
and GetQueueUrl in SQS's shapes, digests (MD5OfMessageBody, ...) included.

Sends are counted and dropped. Receives hand out N canned sensor messages, up to 10 a call,
each once (no visibility timeout, no redelivery); once they are gone a receive waits its
WaitTimeSeconds, at most --max-wait-ms, and answers empty. A delete records the time since
the message was handed out.

GET /stats   JSON: sent, received, deleted, in_flight, remaining, receive_calls,
             empty_receives, errors, delete_latency_p50_ms, delete_latency_p99_ms
GET /count   the number of messages sent, as text

  --port PORT            TCP port; 0 picks a free one [9324]
  --bind ADDR            address [127.0.0.1]
  --prefill N            canned messages to hand out, 0..=100000000 [0]
  --instances N          sensor instances the canned messages come from, 1..=10000000 [12]
  --max-wait-ms MS       longest wait of an empty receive, 0..=20000 [200]
  --max-connections N    connections at once (one thread each), 1..=100000 [512]
  -h, --help             print this help

Prints 'listening ADDR:PORT' on stdout once it accepts connections.
";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub bind: String,
    pub port: u16,
    pub prefill: u64,
    pub instances: u64,
    pub max_wait: Duration,
    pub max_connections: usize,
}

/// What was typed; `None` for a flag not given.
#[derive(Debug, Default)]
struct LowArgs {
    bind: Option<String>,
    port: Option<u16>,
    prefill: Option<u64>,
    instances: Option<u64>,
    max_wait_ms: Option<u64>,
    max_connections: Option<usize>,
}

/// `Ok(None)`: --help was asked for.
pub fn parse(mut parser: Parser) -> Result<Option<Config>, Error> {
    let mut low = LowArgs::default();
    while let Some(arg) = parser.next()? {
        match arg {
            Arg::Short('h') => return Ok(None),
            Arg::Long(name) => match name.as_str() {
                "help" => return Ok(None),
                "bind" => low.bind = Some(parser.value()?),
                "port" => low.port = Some(parser.parse()?),
                "prefill" => low.prefill = Some(parser.parse()?),
                "instances" => low.instances = Some(parser.parse()?),
                "max-wait-ms" => low.max_wait_ms = Some(parser.parse()?),
                "max-connections" => low.max_connections = Some(parser.parse()?),
                _ => return Err(Error::unknown(&Arg::Long(name))),
            },
            other => return Err(Error::unknown(&other)),
        }
    }
    Ok(Some(Config {
        bind: low.bind.unwrap_or_else(|| "127.0.0.1".into()),
        port: low.port.unwrap_or(9324),
        // A handed-out time is kept per canned message: 8 bytes each.
        prefill: in_range("--prefill", low.prefill.unwrap_or(0), 0, 100_000_000)?,
        instances: in_range("--instances", low.instances.unwrap_or(12), 1, 10_000_000)?,
        max_wait: Duration::from_millis(in_range(
            "--max-wait-ms",
            low.max_wait_ms.unwrap_or(200),
            0,
            20_000,
        )?),
        max_connections: in_range(
            "--max-connections",
            low.max_connections.unwrap_or(512),
            1,
            100_000,
        )?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str]) -> Result<Option<Config>, Error> {
        parse(Parser::new(args.iter().copied()))
    }

    #[test]
    fn defaults_and_flags() {
        let c = config(&[]).unwrap().unwrap();
        assert_eq!((c.port, c.prefill, c.instances), (9324, 0, 12));
        assert_eq!(c.max_wait, Duration::from_millis(200));
        let c = config(&["--port", "0", "--prefill", "5000", "--instances=3"])
            .unwrap()
            .unwrap();
        assert_eq!((c.port, c.prefill, c.instances), (0, 5000, 3));
        assert!(config(&["--help"]).unwrap().is_none());
    }

    #[test]
    fn bad_values_name_the_flag() {
        for (args, flag) in [
            (&["--instances", "0"][..], "--instances"),
            (&["--max-wait-ms", "30000"][..], "--max-wait-ms"),
            (&["--prefill", "many"][..], "--prefill"),
            (&["--bogus"][..], "--bogus"),
        ] {
            let err = config(args).unwrap_err().to_string();
            assert!(err.contains(flag), "{args:?}: {err}");
        }
    }
}
