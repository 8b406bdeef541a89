//! What the operator reads: the periodic one-line summary, the final report, and the
//! `--report-json` document (schema in the crate docs and the README draft).
use crate::accounting::{Accounting, Instance};
use safe_text::{inert, inert_truncated};
use serde_json::{json, Value};
use std::fmt::Write;
use std::time::Duration;

/// Display caps for fields a sender chose (display only: --report-json keeps them whole).
const REGION_CHARS: usize = 12;
const HOSTNAME_CHARS: usize = 32;
const KEY_CHARS: usize = 40;

/// `puller: 12034 msgs (2480/s now, 2391/s avg) | as=4000 eu=4000 us=4034 | gaps 0 | dups 3 | ...`
pub fn summary_line(acc: &Accounting, rate_now: f64, elapsed: Duration) -> String {
    let regions: Vec<String> = acc
        .per_region
        .iter()
        .map(|(r, n)| format!("{}={n}", inert_truncated(r, REGION_CHARS)))
        .collect();
    let mut line = format!(
        "puller: {} msgs ({rate_now:.0}/s now, {:.0}/s avg) | {} | gaps {} | dups {}",
        acc.messages,
        rate(acc.messages, elapsed),
        if regions.is_empty() {
            "no regions yet".to_string()
        } else {
            regions.join(" ")
        },
        acc.gaps(),
        acc.duplicates(),
    );
    for (label, n) in [
        ("non-json", acc.non_json),
        ("schema-less", acc.schema_less),
        ("refused", acc.rejected),
        ("dead-lettered", acc.dead_lettered),
        ("undeleted", acc.delete_failures),
        ("receive errors", acc.receive_errors),
    ] {
        if n > 0 {
            let _ = write!(line, " | {label} {n}");
        }
    }
    line
}

pub fn rate(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        count as f64 / secs
    } else {
        0.0
    }
}

/// The multi-line report printed to stderr on exit.
/// `busy`: start to last handled batch, the time the rate is computed over.
pub fn final_report(
    acc: &Accounting,
    elapsed: Duration,
    busy: Duration,
    stop_reason: &str,
) -> String {
    let mut out = format!(
        "puller: stopped ({}) after {:.1}s: {} messages, {:.0}/s over {:.1}s busy\n",
        inert(stop_reason),
        elapsed.as_secs_f64(),
        acc.messages,
        rate(acc.messages, busy),
        busy.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "  gaps {}, duplicates {}, non-JSON {}, schema-less {}, refused {}, dead-lettered {}, \
         sink failures {}, undeleted {}, receive errors {}",
        acc.gaps(),
        acc.duplicates(),
        acc.non_json,
        acc.schema_less,
        acc.rejected,
        acc.dead_lettered,
        acc.sink_failures,
        acc.delete_failures,
        acc.receive_errors
    );
    if !acc.instances.is_empty() {
        let _ = writeln!(
            out,
            "  {:<6} {:<20} {:<24} {:>7} {:>9} {:>5} {:>5} {:>8}",
            "region", "hostname", "instance", "count", "seq", "gaps", "dups", "p50/p99"
        );
    }
    for (key, i) in &acc.instances {
        let _ = writeln!(out, "  {}", instance_row(key, i));
    }
    out
}

fn instance_row(key: &str, i: &Instance) -> String {
    let seq = match (i.sequences.min(), i.sequences.max()) {
        (Some(min), Some(max)) => format!("{min}-{max}"),
        _ => "-".to_string(),
    };
    let latency = match (i.latency.quantile(0.5), i.latency.quantile(0.99)) {
        (Some(p50), Some(p99)) => format!("{p50}s/{p99}s"),
        _ => "-".to_string(),
    };
    let mut row = format!(
        "{:<6} {:<20} {:<24} {:>7} {:>9} {:>5} {:>5} {:>8}",
        inert_truncated(&i.region, REGION_CHARS),
        inert_truncated(&i.hostname, HOSTNAME_CHARS),
        inert_truncated(key, KEY_CHARS),
        i.count,
        seq,
        i.sequences.gaps(),
        i.duplicates,
        latency
    );
    let missing = i.sequences.missing_ranges(3);
    if !missing.is_empty() {
        let ranges: Vec<String> = missing
            .iter()
            .map(|(a, b)| {
                if a == b {
                    a.to_string()
                } else {
                    format!("{a}-{b}")
                }
            })
            .collect();
        let _ = write!(row, "  missing {}", ranges.join(","));
    }
    row
}

/// The `--report-json` document.
/// `busy` is the time from start to the last handled batch.
pub fn report_json(
    acc: &Accounting,
    elapsed: Duration,
    busy: Duration,
    stop_reason: &str,
) -> Value {
    let latency = acc.latency();
    let instances: Vec<Value> = acc
        .instances
        .iter()
        .map(|(key, i)| {
            json!({
                "key": key,
                "region": i.region,
                "job_id": i.job_id,
                "execution_id": i.execution_id,
                "hostname": i.hostname,
                "job_submission_time": i.job_submission_time,
                "count": i.count,
                "distinct": i.sequences.distinct(),
                "min_sequence": i.sequences.min(),
                "max_sequence": i.sequences.max(),
                "gaps": i.sequences.gaps(),
                "missing_before_first": i.sequences.missing_before_first(),
                "duplicates": i.duplicates,
                "latency_p50_seconds": i.latency.quantile(0.5),
                "latency_p99_seconds": i.latency.quantile(0.99),
            })
        })
        .collect();
    json!({
        "stop_reason": stop_reason,
        "elapsed_seconds": elapsed.as_secs_f64(),
        "messages": acc.messages,
        "busy_seconds": busy.as_secs_f64(),
        "messages_per_second": rate(acc.messages, busy),
        "per_region": acc.per_region,
        "gaps": acc.gaps(),
        "duplicates": acc.duplicates(),
        "non_json": acc.non_json,
        "schema_less": acc.schema_less,
        "refused": acc.rejected,
        "dead_lettered": acc.dead_lettered,
        "sink_failures": acc.sink_failures,
        "delete_failures": acc.delete_failures,
        "delete_retries": acc.delete_retries,
        "receive_errors": acc.receive_errors,
        "receive_calls": acc.receive_calls,
        "received": acc.received,
        "delete_calls": acc.delete_calls,
        "latency_p50_seconds": latency.quantile(0.5),
        "latency_p99_seconds": latency.quantile(0.99),
        "instances": instances,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensor::tests::sample;
    use crate::sensor::Body;

    fn accounting() -> Accounting {
        let mut acc = Accounting::default();
        for s in [1, 2, 2, 5] {
            acc.delivered(&Body::classify(&sample("exec-1", s)), 1_742_992_496 + 4);
        }
        acc.delivered(&Body::classify("plain text"), 0);
        acc
    }

    #[test]
    fn summary_line_has_rate_regions_gaps_dups() {
        let line = summary_line(&accounting(), 12.0, Duration::from_secs(1));
        assert!(
            line.starts_with("puller: 5 msgs (12/s now, 5/s avg)"),
            "{line}"
        );
        assert!(line.contains("| -=1 us=4 |"), "{line}");
        assert!(line.contains("gaps 2 | dups 1 | non-json 1"), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn final_report_lists_instances_and_missing_ranges() {
        let text = final_report(
            &accounting(),
            Duration::from_secs(3),
            Duration::from_secs(2),
            "SIGTERM received",
        );
        assert!(
            text.starts_with(
                "puller: stopped (SIGTERM received) after 3.0s: 5 messages, 2/s over 2.0s busy"
            ),
            "{text}"
        );
        assert!(text.contains("exec-1"), "{text}");
        assert!(text.contains("missing 3-4"), "{text}");
    }

    #[test]
    fn report_json_schema() {
        let v = report_json(
            &accounting(),
            Duration::from_secs(4),
            Duration::from_secs(2),
            "idle",
        );
        assert_eq!(v["messages"], 5);
        assert_eq!(
            (
                v["busy_seconds"].as_f64(),
                v["messages_per_second"].as_f64()
            ),
            (Some(2.0), Some(2.5))
        );
        assert_eq!(
            (v["gaps"].as_u64(), v["duplicates"].as_u64()),
            (Some(2), Some(1))
        );
        assert_eq!(v["per_region"]["us"], 4);
        let i = &v["instances"][0];
        assert_eq!(i["execution_id"], "exec-1");
        assert_eq!(
            (i["region"].as_str(), i["hostname"].as_str()),
            (Some("us"), Some("edge-us-1"))
        );
        assert_eq!(
            (i["count"].as_u64(), i["distinct"].as_u64()),
            (Some(4), Some(3))
        );
        assert_eq!(
            (i["min_sequence"].as_u64(), i["max_sequence"].as_u64()),
            (Some(1), Some(5))
        );
        assert_eq!(i["latency_p50_seconds"], 4);
        assert_eq!(i["job_submission_time"], 1_711_449_600);
    }
}
