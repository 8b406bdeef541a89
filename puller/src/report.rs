//! What the operator reads: the periodic one-line summary, the final report, and the
//! `--report-json` document (schema in docs/puller.md).
//!
//! The final report is bounded whatever the fleet size: puller-wide counters, one line per
//! (region, version) group and the [`WORST_SHOWN`] worst instances. The whole per-instance
//! table is only in --report-json, which is written row by row, not built in memory first.
use crate::accounting::{Accounting, InstanceRow, Totals, STALE_AFTER_MS};
use crate::latency::Latency;
use safe_text::{inert, inert_truncated};
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::Duration;

/// Display caps for fields a sender chose (display only: --report-json keeps them whole).
const REGION_CHARS: usize = 12;
const HOSTNAME_CHARS: usize = 32;
const KEY_CHARS: usize = 40;
/// Instances listed in the final report.
pub const WORST_SHOWN: usize = 10;

/// `puller: 12034 msgs (2480/s now, 2391/s avg) | as=4000 eu=4000 us=4034 | gaps 0 | dups 3 | ...`
pub fn summary_line(acc: &Accounting, rate_now: f64, elapsed: Duration) -> String {
    let regions: Vec<String> = acc
        .per_region
        .iter()
        .map(|(r, n)| format!("{}={n}", inert_truncated(r, REGION_CHARS)))
        .collect();
    let totals = acc.totals();
    let mut line = format!(
        "puller: {} msgs ({rate_now:.0}/s now, {:.0}/s avg) | {} | gaps {} | dups {}",
        acc.messages,
        rate(acc.messages, elapsed),
        if regions.is_empty() {
            "no regions yet".to_string()
        } else {
            regions.join(" ")
        },
        totals.gaps,
        totals.duplicates,
    );
    for (label, n) in [
        ("dropped at source", totals.dropped_at_source),
        ("non-json", acc.non_json),
        ("schema-less", acc.schema_less),
        ("refused", acc.rejected),
        ("dead-lettered", acc.dead_lettered),
        ("left for redrive", acc.left_for_redrive),
        ("undeleted", acc.delete_failures),
        ("receive errors", acc.receive_errors),
        ("poller restarts", acc.poller_restarts),
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

/// The multi-line report printed to stderr on exit; its length does not depend on the number
/// of instances. `busy`: start to last handled batch, the time the rate is computed over.
pub fn final_report(
    acc: &Accounting,
    elapsed: Duration,
    busy: Duration,
    stop_reason: &str,
) -> String {
    let totals = acc.totals();
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
        "  gaps {}, duplicates {}, dropped at source {}, non-JSON {}, schema-less {}, \
         refused {}, dead-lettered {}, sink failures {}, undeleted {}, receive errors {}, \
         released {}, poller restarts {}, left for redrive {}, visibility extended {}, \
         held back {}",
        totals.gaps,
        totals.duplicates,
        totals.dropped_at_source,
        acc.non_json,
        acc.schema_less,
        acc.rejected,
        acc.dead_lettered,
        acc.sink_failures,
        acc.delete_failures,
        acc.receive_errors,
        acc.released,
        acc.poller_restarts,
        acc.left_for_redrive,
        acc.visibility_extended,
        acc.held_back
    );
    group_table(&mut out, acc);
    worst_table(&mut out, acc, &totals);
    out
}

/// One line per (region, version): the totals that say where loss happened.
fn group_table(out: &mut String, acc: &Accounting) {
    let groups = acc.group_totals();
    if groups.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "  {:<12} {:>11} {:>9} {:>9} {:>6} {:>17} {:>5} {:>15}",
        "region",
        "version",
        "instances",
        "messages",
        "gaps",
        "dropped at source",
        "dups",
        "latency p50/p99"
    );
    for (group, t) in groups {
        let version = group
            .version
            .map_or_else(|| "-".to_string(), |v| v.to_string());
        let _ = writeln!(
            out,
            "  {:<12} {:>11} {:>9} {:>9} {:>6} {:>17} {:>5} {:>15}",
            inert_truncated(&group.region, REGION_CHARS),
            version,
            t.instances,
            t.messages,
            t.gaps,
            t.dropped_at_source,
            t.duplicates,
            latency_text(&group.latency)
        );
    }
}

/// The worst instances (gaps not explained by drops first), with their first missing ranges.
fn worst_table(out: &mut String, acc: &Accounting, totals: &Totals) {
    let worst = acc.worst(WORST_SHOWN);
    let _ = writeln!(
        out,
        "  instances: {} seen, {} tracked, {} retired (silent for {} min, or least recent \
         beyond --max-instances); the full table is in --report-json",
        totals.instances,
        acc.live_count(),
        acc.retired_instances,
        STALE_AFTER_MS / 60_000
    );
    if worst.is_empty() {
        if totals.instances > 0 {
            out.push_str("  no instance has gaps, drops at source or duplicates\n");
        }
        return;
    }
    let _ = writeln!(
        out,
        "  worst instances:\n  {:<12} {:<32} {:<40} {:>7} {:>13} {:>5} {:>7} {:>5}",
        "region", "hostname", "instance", "count", "seq", "gaps", "dropped", "dups"
    );
    for row in &worst {
        let _ = writeln!(out, "  {}", instance_line(row));
    }
}

fn instance_line(i: &InstanceRow) -> String {
    let seq = match (i.min_sequence, i.max_sequence) {
        (Some(min), Some(max)) => format!("{min}-{max}"),
        _ => "-".to_string(),
    };
    let mut row = format!(
        "{:<12} {:<32} {:<40} {:>7} {:>13} {:>5} {:>7} {:>5}",
        inert_truncated(&i.region, REGION_CHARS),
        inert_truncated(&i.hostname, HOSTNAME_CHARS),
        inert_truncated(&i.key, KEY_CHARS),
        i.count,
        seq,
        i.gaps,
        i.dropped_at_source(),
        i.duplicates,
    );
    if !i.missing_ranges.is_empty() {
        let ranges: Vec<String> = i
            .missing_ranges
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
    if i.retired {
        row.push_str("  (retired)");
    }
    row
}

fn latency_text(l: &Latency) -> String {
    match (l.quantile_secs(0.5), l.quantile_secs(0.99)) {
        (Some(p50), Some(p99)) => format!("{p50:.3}s/{p99:.3}s"),
        _ => "-".to_string(),
    }
}

fn row_json(i: &InstanceRow) -> Value {
    json!({
        "key": i.key,
        "region": i.region,
        "job_id": i.job_id,
        "execution_id": i.execution_id,
        "hostname": i.hostname,
        "job_submission_time": i.version,
        "count": i.count,
        "distinct": i.distinct,
        "min_sequence": i.min_sequence,
        "max_sequence": i.max_sequence,
        "missing": i.missing,
        "gaps": i.gaps,
        "missing_before_first": i.missing_before_first,
        "dropped_permanent": i.dropped_permanent,
        "dropped_overflow": i.dropped_overflow,
        "duplicates": i.duplicates,
        "retired": i.retired,
    })
}

/// Everything in `--report-json` but the per-instance table.
fn summary_json(acc: &Accounting, elapsed: Duration, busy: Duration, stop_reason: &str) -> Value {
    let totals = acc.totals();
    let latency = acc.latency();
    let groups: Vec<Value> = acc
        .group_totals()
        .iter()
        .map(|(g, t)| {
            json!({
                "region": g.region, "version": g.version, "instances": t.instances,
                "messages": t.messages, "distinct": t.distinct, "missing": t.missing,
                "gaps": t.gaps, "dropped_at_source": t.dropped_at_source,
                "duplicates": t.duplicates,
                "latency_p50_seconds": g.latency.quantile_secs(0.5),
                "latency_p99_seconds": g.latency.quantile_secs(0.99),
            })
        })
        .collect();
    let worst: Vec<Value> = acc.worst(WORST_SHOWN).iter().map(row_json).collect();
    json!({
        "stop_reason": stop_reason,
        "elapsed_seconds": elapsed.as_secs_f64(),
        "messages": acc.messages,
        "busy_seconds": busy.as_secs_f64(),
        "messages_per_second": rate(acc.messages, busy),
        "per_region": acc.per_region,
        "gaps": totals.gaps,
        "missing": totals.missing,
        "dropped_at_source": totals.dropped_at_source,
        "duplicates": totals.duplicates,
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
        "released": acc.released,
        "poller_restarts": acc.poller_restarts,
        "left_for_redrive": acc.left_for_redrive,
        "visibility_extended": acc.visibility_extended,
        "held_back": acc.held_back,
        "latency_p50_seconds": latency.quantile_secs(0.5),
        "latency_p99_seconds": latency.quantile_secs(0.99),
        "instances_seen": totals.instances,
        "instances_tracked": acc.live_count(),
        "instances_retired": acc.retired_instances,
        "groups": groups,
        "worst_instances": worst,
    })
}

/// Writes the `--report-json` document: the summary, then `instances` (every tracked
/// instance, sorted by key) one row at a time, so a large table is never held as JSON values.
pub fn write_report_json(
    out: &mut impl Write,
    acc: &Accounting,
    elapsed: Duration,
    busy: Duration,
    stop_reason: &str,
) -> io::Result<()> {
    let head = serde_json::to_string_pretty(&summary_json(acc, elapsed, busy, stop_reason))
        .map_err(io::Error::other)?;
    // The summary is an object: reopen it to append the table.
    let head = head.strip_suffix('}').unwrap_or(&head).trim_end();
    out.write_all(head.as_bytes())?;
    out.write_all(b",\n  \"instances\": [")?;
    for (n, (key, instance)) in acc.live_instances().into_iter().enumerate() {
        out.write_all(if n == 0 { b"\n    " } else { b",\n    " })?;
        serde_json::to_writer(&mut *out, &row_json(&instance.row(key, false)))
            .map_err(io::Error::other)?;
    }
    out.write_all(b"\n  ]\n}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensor::tests::sample;
    use crate::sensor::Body;

    fn accounting() -> Accounting {
        let mut acc = Accounting::default();
        for s in [1, 2, 2, 5] {
            acc.delivered(
                &Body::classify(&sample("exec-1", s)),
                1_742_992_496_000 + 4_000,
            );
        }
        acc.delivered(&Body::classify("plain text"), 0);
        acc
    }

    fn report_json(acc: &Accounting) -> Value {
        let mut bytes = Vec::new();
        write_report_json(
            &mut bytes,
            acc,
            Duration::from_secs(4),
            Duration::from_secs(2),
            "idle",
        )
        .expect("write");
        serde_json::from_slice(&bytes).expect("valid json")
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
    fn final_report_has_groups_and_worst_instances() {
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
        assert!(
            text.contains("gaps 2, duplicates 1, dropped at source 0"),
            "{text}"
        );
        assert!(text.contains("1711449600"), "group line: {text}");
        assert!(text.contains("4.000s/4.000s"), "group latency: {text}");
        assert!(text.contains("exec-1"), "{text}");
        assert!(text.contains("missing 3-4"), "{text}");
    }

    #[test]
    fn final_report_is_bounded_however_many_instances() {
        let mut acc = Accounting::new(1_000);
        for n in 0..5_000u64 {
            // Every instance has a gap, so every one is a candidate for the worst list.
            for s in [1, 3] {
                let body = sample(&format!("e-{n}"), s);
                acc.delivered(&Body::classify(&body), 1_742_992_496_000 + n);
            }
        }
        let text = final_report(&acc, Duration::ZERO, Duration::ZERO, "x");
        assert!(text.lines().count() <= 8 + WORST_SHOWN, "{text}");
        assert!(
            text.contains("5000 seen, 1000 tracked, 4000 retired"),
            "{text}"
        );
        let json = report_json(&acc);
        assert_eq!(json["instances"].as_array().map(Vec::len), Some(1_000));
        assert_eq!(json["instances_retired"], 4_000);
        assert_eq!(json["gaps"], 5_000);
        assert_eq!(
            json["worst_instances"].as_array().map(Vec::len),
            Some(WORST_SHOWN)
        );
    }

    #[test]
    fn report_json_schema() {
        let v = report_json(&accounting());
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
        assert_eq!(v["latency_p50_seconds"], 4.0);
        let g = &v["groups"][0];
        assert_eq!(
            (g["region"].as_str(), g["version"].as_i64()),
            (Some("us"), Some(1_711_449_600))
        );
        assert_eq!(
            (g["instances"].as_u64(), g["messages"].as_u64()),
            (Some(1), Some(4))
        );
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
        assert_eq!(i["job_submission_time"], 1_711_449_600);
        assert_eq!(v["worst_instances"][0]["key"], "exec-1");
    }
}
