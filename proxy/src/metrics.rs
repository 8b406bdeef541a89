//! Process-wide counters, all lock-free atomics updated on the hot path, rendered in the
//! Prometheus text exposition format (version 0.0.4) for `GET /metrics`.
use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Route labels; everything unknown counts as "other".
pub const ROUTES: [&str; 4] = ["send", "health", "metrics", "other"];
/// Status labels; index STATUSES.len() counts any other status.
pub const STATUSES: [u16; 11] = [200, 400, 401, 404, 405, 408, 411, 413, 431, 500, 503];
/// Upper bounds (seconds) of the /send latency histogram, request complete → answer queued.
const LATENCY_BOUNDS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.5, 2.0,
];

#[derive(Default)]
pub struct Metrics {
    requests: [[AtomicU64; STATUSES.len() + 1]; ROUTES.len()],
    pub forwarded: AtomicU64,
    pub filtered: AtomicU64,
    pub rejected_queue_full: AtomicU64,
    pub failed_unavailable: AtomicU64,
    pub failed_rejected: AtomicU64,
    pub sqs_calls: AtomicU64,
    /// The part of `sqs_calls` that workers made themselves (`crate::direct`).
    pub sqs_calls_by_workers: AtomicU64,
    pub sqs_errors: AtomicU64,
    pub sqs_retries: AtomicU64,
    pub expired: AtomicU64,
    pub cut_off: AtomicU64,
    pub forwarder_restarts: AtomicU64,
    pub forwarders_hung: AtomicU64,
    /// batch_sizes[n-1] = batches sent with n entries.
    batch_sizes: [AtomicU64; 10],
    latency: [AtomicU64; LATENCY_BOUNDS.len()],
    latency_sum_us: AtomicU64,
    latency_count: AtomicU64,
    /// Microseconds spent inside SendMessageBatch calls (forwarders' and workers'), summed.
    sqs_call_us: AtomicU64,
    pub open_connections: AtomicI64,
    pub accepted_connections: AtomicU64,
    pub refused_connections: AtomicU64,
    pub timed_out_connections: AtomicU64,
    pub cut_off_connections: AtomicU64,
}

/// Values sampled when the page is rendered.
pub struct Gauges {
    pub queue_depth: usize,
    pub queue_capacity: usize,
    pub filter_hosts: usize,
    pub filter_evicted: u64,
    pub healthy: bool,
    pub cpu_seconds: f64,
}

impl Metrics {
    pub fn request(&self, route: usize, status: u16) {
        let s = STATUSES
            .iter()
            .position(|&x| x == status)
            .unwrap_or(STATUSES.len());
        self.requests[route.min(ROUTES.len() - 1)][s].fetch_add(1, Relaxed);
    }

    pub fn batch(&self, size: usize) {
        if (1..=10).contains(&size) {
            self.batch_sizes[size - 1].fetch_add(1, Relaxed);
        }
    }

    pub fn latency(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = LATENCY_BOUNDS.iter().position(|&b| secs <= b) {
            self.latency[i].fetch_add(1, Relaxed);
        }
        self.latency_sum_us.fetch_add(d.as_micros() as u64, Relaxed);
        self.latency_count.fetch_add(1, Relaxed);
    }

    /// A SendMessageBatch call (counted in `sqs_calls` when it began) took `d`.
    pub fn sqs_call_time(&self, d: Duration) {
        self.sqs_call_us
            .fetch_add(u64::try_from(d.as_micros()).unwrap_or(u64::MAX), Relaxed);
    }

    /// The page: one table per metric type, each row one family (`# HELP`, `# TYPE`, samples).
    pub fn render(&self, g: &Gauges) -> String {
        let mut o = String::with_capacity(4096);
        self.render_requests(&mut o);
        for (name, help, value) in self.counters() {
            family(&mut o, name, help, "counter");
            sample(&mut o, name, &[], &value.load(Relaxed).to_string());
        }
        // Over an interval: divided by the calls' rate, the mean call time; divided by the
        // SQS connections (--forwarders + workers × --worker-connections), how busy they were.
        let name = "proxy_sqs_call_seconds_total";
        family(
            &mut o,
            name,
            "Time spent in SendMessageBatch calls (forwarders' and workers'), summed.",
            "counter",
        );
        let secs = self.sqs_call_us.load(Relaxed) as f64 / 1e6;
        sample(&mut o, name, &[], &secs.to_string());
        for h in self.histograms() {
            h.render(&mut o);
        }
        for (name, help, value) in self.gauges(g) {
            family(&mut o, name, help, "gauge");
            sample(&mut o, name, &[], &value);
        }
        o
    }

    fn render_requests(&self, o: &mut String) {
        let name = "proxy_requests_total";
        family(
            o,
            name,
            "HTTP requests answered, by route and status.",
            "counter",
        );
        for (r, route) in ROUTES.iter().enumerate() {
            for (s, count) in self.requests[r].iter().enumerate() {
                let n = count.load(Relaxed);
                if n == 0 {
                    continue;
                }
                let status = STATUSES
                    .get(s)
                    .map_or("other".to_string(), |x| x.to_string());
                sample(
                    o,
                    name,
                    &[("route", route), ("status", &status)],
                    &n.to_string(),
                );
            }
        }
    }

    fn counters(&self) -> [(&'static str, &'static str, &AtomicU64); 17] {
        [
            ("proxy_messages_forwarded_total", "Messages SQS accepted.", &self.forwarded),
            ("proxy_messages_filtered_total", "Messages superseded by a newer job on the same host.", &self.filtered),
            ("proxy_messages_rejected_queue_full_total", "Messages refused with 503 because the pending queue was full.", &self.rejected_queue_full),
            ("proxy_messages_failed_total", "Messages answered 503 because SQS stayed unavailable after retries or their forwarder failed.", &self.failed_unavailable),
            ("proxy_messages_refused_by_sqs_total", "Messages SQS refused as invalid (answered 400).", &self.failed_rejected),
            ("proxy_messages_expired_total", "Messages answered 503 because SQS did not accept them within the request budget.", &self.expired),
            ("proxy_messages_cut_off_total", "Messages answered 503 at shutdown because SQS had not accepted them by the end of the drain time.", &self.cut_off),
            ("proxy_sqs_calls_total", "SendMessageBatch calls made (counted when they start).", &self.sqs_calls),
            ("proxy_sqs_calls_by_workers_total", "The part of proxy_sqs_calls_total that worker threads made themselves instead of handing the messages to a forwarder.", &self.sqs_calls_by_workers),
            ("proxy_sqs_errors_total", "SendMessageBatch calls or entries that failed.", &self.sqs_errors),
            ("proxy_sqs_retries_total", "SendMessageBatch calls repeated after a retryable failure.", &self.sqs_retries),
            ("proxy_forwarder_restarts_total", "Forwarders restarted after failing (panic) or hanging in an SQS call.", &self.forwarder_restarts),
            ("proxy_forwarders_hung_total", "Forwarders abandoned in an SQS call that outlasted every deadline.", &self.forwarders_hung),
            ("proxy_connections_accepted_total", "Connections accepted.", &self.accepted_connections),
            ("proxy_connections_refused_total", "Connections refused at the connection cap.", &self.refused_connections),
            ("proxy_connections_timed_out_total", "Connections closed by the idle or slow-client timeout.", &self.timed_out_connections),
            ("proxy_connections_cut_off_total", "Connections closed at shutdown with answers still unwritten.", &self.cut_off_connections),
        ]
    }

    fn histograms(&self) -> [Histogram; 2] {
        let batch_counts: Vec<u64> = self.batch_sizes.iter().map(|c| c.load(Relaxed)).collect();
        let batch_sum = batch_counts
            .iter()
            .enumerate()
            .map(|(i, n)| n * (i as u64 + 1))
            .sum::<u64>();
        let latency_count = self.latency_count.load(Relaxed);
        [
            Histogram {
                name: "proxy_batch_size",
                help: "Entries per SendMessageBatch call.",
                bounds: (1..=batch_counts.len()).map(|n| n.to_string()).collect(),
                counts: batch_counts,
                count: None,
                sum: batch_sum.to_string(),
            },
            Histogram {
                name: "proxy_send_latency_seconds",
                help: "/send requests: complete request to answer.",
                bounds: LATENCY_BOUNDS.iter().map(|b| b.to_string()).collect(),
                counts: self.latency.iter().map(|c| c.load(Relaxed)).collect(),
                count: Some(latency_count),
                sum: (self.latency_sum_us.load(Relaxed) as f64 / 1e6).to_string(),
            },
        ]
    }

    fn gauges(&self, g: &Gauges) -> [(&'static str, &'static str, String); 7] {
        [
            (
                "proxy_open_connections",
                "Client connections open now.",
                self.open_connections.load(Relaxed).to_string(),
            ),
            (
                "proxy_queue_depth",
                "Messages waiting to be batched.",
                g.queue_depth.to_string(),
            ),
            (
                "proxy_queue_capacity",
                "Bound of the pending queue.",
                g.queue_capacity.to_string(),
            ),
            (
                "proxy_filter_hosts",
                "Hostnames the supersede filter remembers.",
                g.filter_hosts.to_string(),
            ),
            (
                "proxy_filter_evicted",
                "Hostnames the filter forgot to stay within its capacity.",
                g.filter_evicted.to_string(),
            ),
            (
                "proxy_healthy",
                "1 when forwarding to SQS works.",
                u8::from(g.healthy).to_string(),
            ),
            (
                "process_cpu_seconds_total",
                "User and system CPU time.",
                format!("{:.3}", g.cpu_seconds),
            ),
        ]
    }
}

/// A histogram as rendered: cumulative buckets, `+Inf`, sum and count.
struct Histogram {
    name: &'static str,
    help: &'static str,
    bounds: Vec<String>,
    /// Per bucket, not cumulative.
    counts: Vec<u64>,
    /// Observations in total, when some fall above the last bound; else the buckets' sum.
    count: Option<u64>,
    sum: String,
}

impl Histogram {
    fn render(&self, o: &mut String) {
        family(o, self.name, self.help, "histogram");
        let bucket = format!("{}_bucket", self.name);
        let mut cumulative = 0u64;
        for (bound, n) in self.bounds.iter().zip(&self.counts) {
            cumulative += n;
            sample(o, &bucket, &[("le", bound)], &cumulative.to_string());
        }
        let count = self.count.unwrap_or(cumulative).to_string();
        sample(o, &bucket, &[("le", "+Inf")], &count);
        sample(o, &format!("{}_sum", self.name), &[], &self.sum);
        sample(o, &format!("{}_count", self.name), &[], &count);
    }
}

fn family(o: &mut String, name: &str, help: &str, kind: &str) {
    // Writing into a String cannot fail.
    let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn sample(o: &mut String, name: &str, labels: &[(&str, &str)], value: &str) {
    o.push_str(name);
    if !labels.is_empty() {
        o.push('{');
        for (i, (label, v)) in labels.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            let _ = write!(o, "{label}=\"{}\"", escape_label(v));
        }
        o.push('}');
    }
    let _ = writeln!(o, " {value}");
}

/// A label value as the text format requires: backslash, double quote and line feed escaped,
/// so no value can end its label or forge a line.
fn escape_label(value: &str) -> Cow<'_, str> {
    if !value.contains(['\\', '"', '\n']) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gauges() -> Gauges {
        Gauges {
            queue_depth: 3,
            queue_capacity: 10,
            filter_hosts: 2,
            filter_evicted: 0,
            healthy: true,
            cpu_seconds: 0.5,
        }
    }

    #[test]
    fn renders_counters_histograms_and_gauges() {
        let m = Metrics::default();
        m.request(0, 200);
        m.request(0, 200);
        m.request(3, 404);
        m.request(0, 299);
        m.batch(10);
        m.batch(3);
        m.latency(Duration::from_millis(4));
        m.sqs_call_time(Duration::from_millis(1500));
        m.sqs_call_time(Duration::from_micros(250));
        let text = m.render(&gauges());
        assert!(text.contains("proxy_sqs_call_seconds_total 1.50025\n"));
        assert!(text.contains("proxy_requests_total{route=\"send\",status=\"200\"} 2\n"));
        assert!(text.contains("proxy_requests_total{route=\"other\",status=\"404\"} 1\n"));
        assert!(text.contains("proxy_requests_total{route=\"send\",status=\"other\"} 1\n"));
        assert!(text.contains("proxy_batch_size_bucket{le=\"3\"} 1\n"));
        assert!(text.contains("proxy_batch_size_bucket{le=\"10\"} 2\n"));
        assert!(text.contains("proxy_batch_size_sum 13\n"));
        assert!(text.contains("proxy_send_latency_seconds_bucket{le=\"0.003\"} 0\n"));
        assert!(text.contains("proxy_send_latency_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("proxy_queue_depth 3\n"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "bad sample line {line:?}");
        }
        assert!(text.contains(
            "# TYPE proxy_forwarder_restarts_total counter\nproxy_forwarder_restarts_total 0\n"
        ));
        assert!(text.contains("proxy_send_latency_seconds_count 1\n"));
    }

    #[test]
    fn label_values_cannot_forge_a_line() {
        assert_eq!(escape_label("send"), "send");
        assert_eq!(
            escape_label("a\\b\"c\nproxy_healthy 1"),
            "a\\\\b\\\"c\\nproxy_healthy 1"
        );
        let mut o = String::new();
        sample(&mut o, "m", &[("host", "x\"} 1\nforged 2")], "3");
        assert_eq!(o.lines().count(), 1, "{o}");
    }
}
