//! `--metrics-port`: the accounting counters in Prometheus text format (version 0.0.4), served
//! by one blocking thread. Scrapes are rare and tiny, so no event loop is needed; each
//! connection gets a short timeout so a stuck client cannot block the next scrape for long.
use crate::accounting::Accounting;
use crate::run::Shared;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Renders the counters; `receives_in_flight` is the number of long polls waiting now.
pub fn render(acc: &Accounting, receives_in_flight: usize) -> String {
    let mut out = String::new();
    for (name, kind, help, value) in scalars(acc, receives_in_flight) {
        let _ = write!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        );
    }
    render_regions(&mut out, acc);
    render_latency(&mut out, acc);
    out
}

/// Every single-valued metric: (name, type, help, value).
fn scalars(
    acc: &Accounting,
    receives_in_flight: usize,
) -> Vec<(&'static str, &'static str, &'static str, u64)> {
    let totals = acc.totals();
    vec![
        (
            "puller_messages_total",
            "counter",
            "Messages delivered to the sink.",
            acc.messages,
        ),
        (
            "puller_sequence_gaps",
            "gauge",
            "Sequences missing between the lowest and highest seen that the sensors' own drop \
         counters do not explain (lost in transit or not yet arrived), over all instances.",
            totals.gaps,
        ),
        (
            "puller_dropped_at_source",
            "gauge",
            "Messages the sensors report having dropped themselves (refused for good or evicted \
         from a full outbox), over all instances.",
            totals.dropped_at_source,
        ),
        (
            "puller_duplicates_total",
            "counter",
            "Sensor messages whose sequence was already seen.",
            totals.duplicates,
        ),
        (
            "puller_non_json_total",
            "counter",
            "Delivered bodies that are not JSON.",
            acc.non_json,
        ),
        (
            "puller_schema_less_total",
            "counter",
            "Delivered JSON bodies that are not sensor messages.",
            acc.schema_less,
        ),
        (
            "puller_refused_total",
            "counter",
            "Messages the sink refused (left for redelivery).",
            acc.rejected,
        ),
        (
            "puller_dead_lettered_total",
            "counter",
            "Messages written to the dead-letter file and deleted.",
            acc.dead_lettered,
        ),
        (
            "puller_sink_failures_total",
            "counter",
            "Batches the sink failed to write.",
            acc.sink_failures,
        ),
        (
            "puller_delete_failures_total",
            "counter",
            "Messages that could not be deleted (will be redelivered).",
            acc.delete_failures,
        ),
        (
            "puller_receive_errors_total",
            "counter",
            "Failed receive calls (retried).",
            acc.receive_errors,
        ),
        (
            "puller_released_total",
            "counter",
            "Messages handed back to SQS undelivered (visibility 0) at shutdown.",
            acc.released,
        ),
        (
            "puller_left_for_redrive_total",
            "counter",
            "Refusals left for the queue's RedrivePolicy (SQS dead-letter queue).",
            acc.left_for_redrive,
        ),
        (
            "puller_visibility_extended_total",
            "counter",
            "Message visibility extensions sent while the sink had not accepted them.",
            acc.visibility_extended,
        ),
        (
            "puller_held_back_total",
            "counter",
            "FIFO messages left undelivered behind a refused one of their group.",
            acc.held_back,
        ),
        (
            "puller_poller_restarts_total",
            "counter",
            "Poller threads restarted after dying.",
            acc.poller_restarts,
        ),
        (
            "puller_receives_in_flight",
            "gauge",
            "ReceiveMessage calls (long polls) waiting for an answer.",
            receives_in_flight as u64,
        ),
        (
            "puller_instances",
            "gauge",
            "Publisher instances tracked now (retired ones excluded).",
            acc.live_count() as u64,
        ),
        (
            "puller_instances_retired_total",
            "counter",
            "Publisher instances retired (silent too long, or beyond --max-instances).",
            acc.retired_instances,
        ),
    ]
}

fn render_regions(out: &mut String, acc: &Accounting) {
    out.push_str("# HELP puller_region_messages_total Messages delivered per region.\n");
    out.push_str("# TYPE puller_region_messages_total counter\n");
    for (region, n) in &acc.per_region {
        let _ = writeln!(
            out,
            "puller_region_messages_total{{region=\"{}\"}} {n}",
            label(region)
        );
    }
}

fn render_latency(out: &mut String, acc: &Accounting) {
    let latency = acc.latency();
    out.push_str(
        "# HELP puller_latency_seconds End-to-end latency (receive time - message timestamp).\n",
    );
    out.push_str("# TYPE puller_latency_seconds summary\n");
    for q in [0.5, 0.99] {
        if let Some(v) = latency.quantile_secs(q) {
            let _ = writeln!(out, "puller_latency_seconds{{quantile=\"{q}\"}} {v}");
        }
    }
    let _ = writeln!(out, "puller_latency_seconds_count {}", latency.count());
}

/// Escapes a label value as the exposition format requires.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Binds 0.0.0.0:`port` now (so a bad port fails at startup) and serves in a thread.
pub fn start(port: u16, shared: Arc<Shared>) -> io::Result<()> {
    let listener = TcpListener::bind(("0.0.0.0", port))
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on 0.0.0.0:{port}: {e}")))?;
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                if let Err(e) = answer(stream, &shared) {
                    eprintln!("puller: warning: metrics request failed: {e}");
                }
            }
        })?;
    Ok(())
}

/// Reads the request (the workspace's one HTTP/1.1 reader, 2 s for all of it) and answers:
/// /metrics → counters, anything else → 404.
fn answer(stream: TcpStream, shared: &Shared) -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut reader = http1::MessageReader::new(http1::DeadlineStream::new(stream, Some(deadline)));
    let limits = http1::Limits {
        max_head: 16 * 1024,
        max_headers: 64,
    };
    let request = match reader.read_request(&limits, http1::BodyLimit::Reject(16 * 1024)) {
        Ok(Some(r)) => Some(r),
        Ok(None) => return Ok(()),
        Err(http1::Error::Malformed(_) | http1::Error::TooLarge(_)) => None,
        Err(e) => return Err(io::Error::other(e.to_string())),
    };
    let (method, path) = request
        .as_ref()
        .map_or(("", ""), |r| (r.method.as_str(), r.target.as_str()));
    let (status, body) = match (method, path.split('?').next().unwrap_or("")) {
        ("GET", "/metrics") => (
            "200 OK",
            shared.with_accounting(|a| render(a, shared.shutdown.receives_in_flight())),
        ),
        ("GET", _) => ("404 Not Found", "not found; try /metrics\n".to_string()),
        ("", _) => ("400 Bad Request", "not an HTTP/1.1 request\n".to_string()),
        _ => ("405 Method Not Allowed", "only GET\n".to_string()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    reader.get_mut().write_all(response.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensor::tests::sample;
    use crate::sensor::Body;

    #[test]
    fn renders_counters_regions_and_latency() {
        let mut acc = Accounting::default();
        for s in [1, 3, 3] {
            acc.delivered(&Body::classify(&sample("e", s)), 1_742_992_497_000);
        }
        acc.delivered(&Body::classify("x"), 0);
        let text = render(&acc, 3);
        for want in [
            "puller_messages_total 4\n",
            "puller_sequence_gaps 1\n",
            "puller_duplicates_total 1\n",
            "puller_non_json_total 1\n",
            "puller_region_messages_total{region=\"us\"} 3\n",
            "puller_latency_seconds{quantile=\"0.5\"} 1\n",
            "# TYPE puller_messages_total counter\n",
            "puller_receives_in_flight 3\n",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
