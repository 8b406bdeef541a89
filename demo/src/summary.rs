//! The account of a run: per region and deployed version, what the sensors generated, what
//! the proxies acknowledged or filtered, what the puller received, what went missing, and
//! what the sensors themselves dropped at the source (and said so).
//!
//! Icons come from the received messages, so they are shown through `safe_text` (issue 20):
//! anyone who can post to a proxy chooses them. Our own colour swatches stay colours.
use crate::nodes::NodeStats;
use crate::received::Received;
use std::collections::HashSet;

/// One deployment's line in the summary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    pub region: String,
    pub version: i64,
    pub nodes: usize,
    pub nodes_connected: usize,
    pub sent: u64,
    pub acked: u64,
    pub filtered: u64,
    pub unacked: u64,
    pub received: u64,
    pub duplicates: u64,
    /// Acknowledged by a proxy but never received: the one number that must be 0.
    pub gaps: u64,
    /// Dropped at the source, as the sensors counted them: refused by a proxy for good, and
    /// evicted from a full outbox. Losses, but known and explained ones, not gaps.
    pub dropped_permanent: u64,
    pub dropped_overflow: u64,
    pub p50_ms: Option<u64>,
    pub p99_ms: Option<u64>,
    pub color: String,
    pub icon: String,
}

/// Builds the row of one deployment from its nodes' counters and what was received.
pub fn row(region: &str, version: i64, nodes: &[NodeStats], received: &Received) -> Row {
    let mut r = Row {
        region: region.to_string(),
        version,
        nodes: nodes.len(),
        ..Row::default()
    };
    let mut latencies = Vec::new();
    let executions: HashSet<&str> = nodes.iter().map(|n| n.execution_id.as_str()).collect();
    for node in nodes {
        r.nodes_connected += usize::from(node.connected && !node.exited);
        r.sent += node.max_sequence_posted;
        r.acked += node.acked;
        r.filtered += node.filtered;
        r.unacked += node.unacked();
        // The node's stats see every count the sensor posted, the messages only those that
        // arrived; either may be ahead, and both are cumulative.
        let got = received.by_execution.get(&node.execution_id);
        r.dropped_permanent += node
            .dropped_permanent
            .max(got.map_or(0, |g| g.dropped_permanent));
        r.dropped_overflow += node
            .dropped_overflow
            .max(got.map_or(0, |g| g.dropped_overflow));
    }
    r.gaps = gaps(nodes, received);
    for (execution, got) in &received.by_execution {
        if executions.contains(execution.as_str()) {
            r.received += got.sequences.len() as u64;
            r.duplicates += got.duplicates;
            latencies.extend_from_slice(&got.latencies_ms);
            if r.color.is_empty() {
                r.color = got.color.clone();
                r.icon = got.icon.clone();
            }
        }
    }
    latencies.sort_unstable();
    r.p50_ms = percentile(&latencies, 50.0);
    r.p99_ms = percentile(&latencies, 99.0);
    r
}

/// Messages the nodes had acknowledged that were not received, summed over nodes. Cheap
/// enough to poll: no latencies are touched.
pub fn gaps(nodes: &[NodeStats], received: &Received) -> u64 {
    nodes
        .iter()
        .map(|node| {
            let got = received.by_execution.get(&node.execution_id);
            node.acked
                .saturating_sub(got.map_or(0, |g| g.sequences.len() as u64))
        })
        .sum()
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[u64], pct: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((pct / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// A 24-bit ANSI colour swatch for `#RRGGBB`, or blanks when the colour is unknown.
pub fn swatch(color: &str) -> String {
    let hex = color.trim_start_matches('#');
    let channel = |i: usize| {
        hex.get(i..i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
    };
    match (hex.len(), channel(0), channel(2), channel(4)) {
        (6, Some(r), Some(g), Some(b)) => format!("\x1b[48;2;{r};{g};{b}m  \x1b[0m"),
        _ => "  ".to_string(),
    }
}

fn ms(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v} ms"))
}

/// Longest icon shown: an emoji is one or two characters; anything longer was not ours.
const ICON_MAX_CHARS: usize = 4;

/// A row's mark: our colour swatch (when colour is on) and the icon made inert.
pub fn mark(color_code: &str, icon: &str, color: bool) -> String {
    let icon = safe_text::inert_truncated(icon, ICON_MAX_CHARS);
    if color {
        format!("{} {icon}", swatch(color_code))
    } else {
        icon.into_owned()
    }
}

/// The final table, one line per deployment, plus a totals line.
pub fn table(rows: &[Row], color: bool) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<7} {:<8} {:>6} {:>8} {:>8} {:>8} {:>7} {:>8} {:>5} {:>5} {:>7} {:>8} {:>9} {:>9}\n",
        "region",
        "version",
        "nodes",
        "sent",
        "acked",
        "filtered",
        "unacked",
        "received",
        "dups",
        "gaps",
        "refused",
        "overflow",
        "p50",
        "p99"
    ));
    for r in rows {
        let mark = mark(&r.color, &r.icon, color);
        out.push_str(&format!(
            "{:<7} {:<8} {:>6} {:>8} {:>8} {:>8} {:>7} {:>8} {:>5} {:>5} {:>7} {:>8} {:>9} {:>9}  {mark}\n",
            safe_text::inert(&r.region),
            format!("v{}", r.version),
            r.nodes,
            r.sent,
            r.acked,
            r.filtered,
            r.unacked,
            r.received,
            r.duplicates,
            r.gaps,
            r.dropped_permanent,
            r.dropped_overflow,
            ms(r.p50_ms),
            ms(r.p99_ms),
        ));
    }
    let sum = |f: fn(&Row) -> u64| rows.iter().map(f).sum::<u64>();
    out.push_str(&format!(
        "{:<7} {:<8} {:>6} {:>8} {:>8} {:>8} {:>7} {:>8} {:>5} {:>5} {:>7} {:>8}\n",
        "total",
        "",
        rows.iter().map(|r| r.nodes).sum::<usize>(),
        sum(|r| r.sent),
        sum(|r| r.acked),
        sum(|r| r.filtered),
        sum(|r| r.unacked),
        sum(|r| r.received),
        sum(|r| r.duplicates),
        sum(|r| r.gaps),
        sum(|r| r.dropped_permanent),
        sum(|r| r.dropped_overflow),
    ));
    let (refused, overflow) = (sum(|r| r.dropped_permanent), sum(|r| r.dropped_overflow));
    if refused + overflow > 0 {
        out.push_str(&format!(
            "dropped at the source, as the sensors counted and reported them (not gaps): \
             {refused} refused by a proxy for good, {overflow} evicted from full outboxes\n"
        ));
    }
    out
}

/// The summary as JSON, for scripts and the demo's own test.
pub fn to_json(rows: &[Row]) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "region": r.region, "version": r.version, "nodes": r.nodes,
                "sent": r.sent, "acked": r.acked, "filtered": r.filtered, "unacked": r.unacked,
                "received": r.received, "duplicates": r.duplicates, "gaps": r.gaps,
                "dropped_permanent": r.dropped_permanent, "dropped_overflow": r.dropped_overflow,
                "latency_p50_ms": r.p50_ms, "latency_p99_ms": r.p99_ms,
                "color": r.color, "icon": r.icon,
            })
        })
        .collect();
    let gaps: u64 = rows.iter().filter_map(|r| r["gaps"].as_u64()).sum();
    serde_json::json!({ "rows": rows, "total_gaps": gaps })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(exec: &str, posted: u64, acked: u64, filtered: u64) -> NodeStats {
        NodeStats {
            hostname: "h".into(),
            region: "us".into(),
            execution_id: exec.into(),
            max_sequence_posted: posted,
            acked,
            filtered,
            failed: 0,
            dropped_permanent: 0,
            dropped_overflow: 0,
            connected: true,
            exited: false,
        }
    }

    fn received(exec: &str, seqs: &[u64]) -> Received {
        let mut r = Received::default();
        for s in seqs {
            r.add_line(
                &serde_json::json!({"body": serde_json::json!({
                    "execution_id": exec, "sequence": s, "region": "us", "job_submission_time": 1,
                    "color": "#FF0000", "icon_name": "🚀"
                }).to_string()})
                .to_string(),
            );
        }
        r
    }

    #[test]
    fn acknowledged_but_missing_counts_as_gap() {
        let r = row("us", 1, &[node("e", 5, 4, 0)], &received("e", &[1, 2, 4]));
        assert_eq!(
            (r.sent, r.acked, r.unacked, r.received, r.gaps),
            (5, 4, 1, 3, 1)
        );
    }

    #[test]
    fn filtered_messages_are_not_gaps() {
        let r = row("us", 1, &[node("e", 6, 2, 4)], &received("e", &[1, 2, 2]));
        assert_eq!((r.filtered, r.received, r.duplicates, r.gaps), (4, 2, 1, 0));
        assert_eq!(r.icon, "🚀");
    }

    #[test]
    fn percentiles() {
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[10], 99.0), Some(10));
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 99.0), Some(99));
    }

    #[test]
    fn drops_at_the_source_are_shown_not_counted_as_gaps() {
        let mut n = node("e", 10, 6, 0);
        n.dropped_overflow = 3;
        let mut got = received("e", &[1, 2, 6, 7, 8, 9]);
        got.by_execution.get_mut("e").unwrap().dropped_permanent = 1;
        let r = row("us", 1, &[n], &got);
        assert_eq!(
            (r.dropped_permanent, r.dropped_overflow, r.gaps, r.unacked),
            (1, 3, 0, 1)
        );
        let text = table(std::slice::from_ref(&r), false);
        assert!(
            text.contains("refused") && text.contains("overflow"),
            "{text}"
        );
        assert!(
            text.contains("1 refused by a proxy for good, 3 evicted from full outboxes"),
            "{text}"
        );
        let json = to_json(&[r]);
        assert_eq!(json["rows"][0]["dropped_permanent"], 1);
        assert_eq!(json["rows"][0]["dropped_overflow"], 3);
        let quiet = table(
            &[row("us", 1, &[node("e", 2, 2, 0)], &received("e", &[1, 2]))],
            false,
        );
        assert!(!quiet.contains("dropped at the source"), "{quiet}");
    }

    #[test]
    fn hostile_icons_come_out_escaped_and_swatches_stay_colours() {
        let mut r = row("us", 1, &[node("e", 1, 1, 0)], &received("e", &[1]));
        r.icon = "\x1b]0;pwned\x07".into();
        r.color = "#800080".into();
        let plain = table(&[r.clone()], false);
        assert!(
            !plain.contains('\x1b') && !plain.contains('\x07'),
            "{plain:?}"
        );
        assert!(plain.contains("\\u{1b}]0;…"), "{plain}");
        let coloured = table(&[r.clone()], true);
        assert_eq!(
            coloured.matches('\x1b').count(),
            2,
            "only the swatch: {coloured:?}"
        );
        assert!(coloured.contains("\x1b[48;2;128;0;128m  \x1b[0m"));
        r.icon = "a\u{202e}b".into();
        assert!(table(&[r], false).contains("a\\u{202e}b"));
    }

    #[test]
    fn swatch_only_for_valid_colours() {
        assert_eq!(swatch("#800080"), "\x1b[48;2;128;0;128m  \x1b[0m");
        assert_eq!(swatch("purple"), "  ");
    }
}
