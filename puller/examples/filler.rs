//! Fills a queue with sensor messages for benchmarks and manual runs:
//!
//! ```text
//! cargo run --release -p puller --example filler -- --queue-url URL \
//!     [--endpoint-url URL] [--count 20000] [--instances 12] [--threads 8]
//! ```
//!
//! Messages follow the publisher's schema; each of `--instances` executions counts its
//! `sequence` from 1 with no gaps, so a full drain must report 0 gaps and 0 duplicates.
//! Sends use SendMessageBatch (10 per call) from `--threads` connections.
use flags::{Arg, Parser};
use sigv4::sqs::{BatchEntry, BatchOutcome, SqsClient, SqsConfig};
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

const USAGE: &str = "\
usage: filler --queue-url URL [--endpoint-url URL] [--region NAME] [--count N]
              [--instances N] [--threads N]
Sends N (default 20000) sensor messages from --instances (default 12) publisher executions,
10 per SendMessageBatch, over --threads (default 8) connections.
";

struct Options {
    queue_url: String,
    endpoint_url: Option<String>,
    region: Option<String>,
    count: u64,
    instances: u64,
    threads: u64,
}

fn parse() -> Result<Option<Options>, flags::Error> {
    let mut parser = Parser::from_env();
    let (mut queue_url, mut endpoint_url, mut region) = (None, None, None);
    let (mut count, mut instances, mut threads) = (20_000u64, 12u64, 8u64);
    while let Some(arg) = parser.next()? {
        match arg {
            Arg::Short('h') => return Ok(None),
            Arg::Long(name) => match name.as_str() {
                "help" => return Ok(None),
                "queue-url" => queue_url = Some(parser.value()?),
                "endpoint-url" => endpoint_url = Some(parser.value()?),
                "region" => region = Some(parser.value()?),
                "count" => count = parser.parse()?,
                "instances" => instances = parser.parse::<u64>()?.max(1),
                "threads" => threads = parser.parse::<u64>()?.clamp(1, 64),
                _ => return Err(flags::Error::unknown(&Arg::Long(name))),
            },
            other => return Err(flags::Error::unknown(&other)),
        }
    }
    let queue_url = queue_url.ok_or_else(|| flags::Error::new("--queue-url is required"))?;
    Ok(Some(Options {
        queue_url,
        endpoint_url,
        region,
        count,
        instances,
        threads,
    }))
}

/// Message `n` (0-based) overall: instance `n % instances`, sequence `n / instances + 1`.
fn body(n: u64, instances: u64, now: &str) -> String {
    let instance = n % instances;
    let sequence = n / instances + 1;
    let (region, color, icon) = match instance % 3 {
        0 => ("us", "#FF5733", "🚀"),
        1 => ("eu", "#3375FF", "📡"),
        _ => ("as", "#33FF57", "💡"),
    };
    format!(
        r#"{{"job_id":"bench-job","execution_id":"bench-exec-{instance}","hostname":"edge-{region}-{instance}","job_submission_time":1711449600,"icon_name":"{icon}","timestamp":"{now}","color":"{color}","sequence":{sequence},"region":"{region}"}}"#
    )
}

fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    // Civil date from days since 1970 (Hinnant's algorithm), as in the puller's time module.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn send_range(client: &mut SqsClient, o: &Options, start: u64, end: u64) -> Result<(), String> {
    let now = now_rfc3339();
    let mut n = start;
    while n < end {
        let batch_end = (n + 10).min(end);
        let bodies: Vec<String> = (n..batch_end).map(|i| body(i, o.instances, &now)).collect();
        let ids: Vec<String> = (0..bodies.len()).map(|i| i.to_string()).collect();
        let mut pending: Vec<usize> = (0..bodies.len()).collect();
        for _attempt in 0..5 {
            let entries: Vec<BatchEntry<'_>> = pending
                .iter()
                .map(|&i| BatchEntry {
                    id: &ids[i],
                    body: &bodies[i],
                    ..Default::default()
                })
                .collect();
            match client.send_message_batch(&o.queue_url, &entries) {
                Ok(outcomes) => {
                    let failed: Vec<usize> = outcomes
                        .iter()
                        .filter(|r| matches!(r, BatchOutcome::Failed { .. }))
                        .filter_map(|r| r.id().parse().ok())
                        .collect();
                    pending.retain(|i| failed.contains(i));
                }
                Err(e) if e.is_retryable() => eprintln!("filler: retrying: {e}"),
                Err(e) => return Err(e.to_string()),
            }
            if pending.is_empty() {
                break;
            }
        }
        if !pending.is_empty() {
            return Err(format!("{} messages could not be sent", pending.len()));
        }
        n = batch_end;
    }
    Ok(())
}

fn main() -> ExitCode {
    let o = match parse() {
        Ok(Some(o)) => o,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => return flags::usage_error("filler", &e),
    };
    let config = match SqsConfig::from_env(o.region.as_deref(), o.endpoint_url.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("filler: error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let per_thread = o.count.div_ceil(o.threads);
    let results: Vec<Result<(), String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..o.threads)
            .map(|t| {
                let (start, end) = (t * per_thread, ((t + 1) * per_thread).min(o.count));
                let (o, config) = (&o, config.clone());
                scope.spawn(move || send_range(&mut SqsClient::new(config), o, start, end))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("sender thread panicked".into()))
            })
            .collect()
    });
    if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
        eprintln!("filler: error: {e}");
        return ExitCode::FAILURE;
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "filler: sent {} messages in {secs:.1}s ({:.0}/s)",
        o.count,
        o.count as f64 / secs
    );
    ExitCode::SUCCESS
}
