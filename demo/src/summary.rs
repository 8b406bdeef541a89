//! The account of a run: per region and deployed version, what the sensors generated, what
//! the proxies acknowledged or filtered, what the puller received, and what went missing.
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

/// The final table, one line per deployment, plus a totals line.
pub fn table(rows: &[Row], color: bool) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<7} {:<8} {:>6} {:>8} {:>8} {:>8} {:>7} {:>8} {:>5} {:>5} {:>9} {:>9}\n",
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
        "p50",
        "p99"
    ));
    for r in rows {
        let mark = if color {
            format!("{} {}", swatch(&r.color), r.icon)
        } else {
            r.icon.clone()
        };
        out.push_str(&format!(
            "{:<7} {:<8} {:>6} {:>8} {:>8} {:>8} {:>7} {:>8} {:>5} {:>5} {:>9} {:>9}  {mark}\n",
            r.region,
            format!("v{}", r.version),
            r.nodes,
            r.sent,
            r.acked,
            r.filtered,
            r.unacked,
            r.received,
            r.duplicates,
            r.gaps,
            ms(r.p50_ms),
            ms(r.p99_ms),
        ));
    }
    let sum = |f: fn(&Row) -> u64| rows.iter().map(f).sum::<u64>();
    out.push_str(&format!(
        "{:<7} {:<8} {:>6} {:>8} {:>8} {:>8} {:>7} {:>8} {:>5} {:>5}\n",
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
    ));
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
    fn swatch_only_for_valid_colours() {
        assert_eq!(swatch("#800080"), "\x1b[48;2;128;0;128m  \x1b[0m");
        assert_eq!(swatch("purple"), "  ");
    }
}
