//! Watches the run: reads the nodes' stats files and the puller's sink, keeps per-region rates
//! and draws the live view (or status lines when not on a terminal).
use crate::deployment::Deployment;
use crate::nodes::{read_stats, NodeStats};
use crate::received::{JsonlTail, Received};
use crate::stack::REGIONS;
use crate::summary::{self, Row};
use crate::view::{self, RegionLine};
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// Per region: (messages answered 2xx, messages received) at one instant.
type Sample = (Instant, HashMap<&'static str, (u64, u64)>);

pub struct Monitor {
    deployments: Vec<Deployment>,
    nodes: HashMap<&'static str, Vec<NodeStats>>,
    received: Received,
    tail: JsonlTail,
    interactive: bool,
    step: String,
    last_sample: Option<Sample>,
    rates: HashMap<&'static str, (f64, f64)>,
    last_draw: Option<Instant>,
    last_status: Option<Instant>,
    warnings: Vec<String>,
}

impl Monitor {
    pub fn new(sink: &Path, interactive: bool) -> Monitor {
        Monitor {
            deployments: Vec::new(),
            nodes: HashMap::new(),
            received: Received::default(),
            tail: JsonlTail::new(sink),
            interactive,
            step: String::from("starting"),
            last_sample: None,
            rates: HashMap::new(),
            last_draw: None,
            last_status: None,
            warnings: Vec::new(),
        }
    }

    pub fn add(&mut self, deployment: Deployment) {
        self.deployments.push(deployment);
    }

    pub fn deployments_mut(&mut self) -> impl Iterator<Item = &mut Deployment> {
        self.deployments.iter_mut()
    }

    /// Records the current step; on plain output it is printed as its own line.
    pub fn note_step(&mut self, title: &str, elapsed: Duration) {
        self.step = title.to_string();
        if !self.interactive {
            println!("[{:>4.0}s] step: {title}", elapsed.as_secs_f64());
        }
    }

    /// Reads new data and redraws at most once per second.
    pub fn refresh(&mut self, elapsed: Duration) {
        if let Err(e) = self.tail.poll(&mut self.received) {
            self.warn(format!("reading the puller's sink: {e}"));
        }
        let due = self
            .last_draw
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
        if !due {
            return;
        }
        self.last_draw = Some(Instant::now());
        self.read_nodes();
        self.sample_rates();
        let lines = self.region_lines();
        if self.interactive {
            let mut screen = view::render(&self.step, elapsed, &lines, true);
            for w in self.warnings.iter().rev().take(3) {
                screen.push_str(&format!("warning: {w}\n"));
            }
            view::redraw(&screen);
        } else if self
            .last_status
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(5))
        {
            self.last_status = Some(Instant::now());
            println!("{}", view::status_line(elapsed, &lines));
        }
    }

    fn warn(&mut self, message: String) {
        if !self.warnings.contains(&message) {
            if !self.interactive {
                eprintln!("demo: warning: {message}");
            }
            self.warnings.push(message);
        }
    }

    fn read_nodes(&mut self) {
        let mut problems = Vec::new();
        for d in &self.deployments {
            match read_stats(&d.stats_file) {
                Ok(nodes) => {
                    self.nodes.insert(d.job_file, nodes);
                }
                // A half-written file is possible only if the runner does not write atomically;
                // keep the previous reading and say so once.
                Err(e) => problems.push(e),
            }
        }
        for p in problems {
            self.warn(p);
        }
    }

    fn sample_rates(&mut self) {
        let now = Instant::now();
        let mut totals: HashMap<&'static str, (u64, u64)> = HashMap::new();
        for d in &self.deployments {
            let entry = totals.entry(d.region).or_default();
            for n in self.nodes.get(d.job_file).into_iter().flatten() {
                entry.0 += n.acked + n.filtered;
            }
        }
        for (region, _) in REGIONS {
            let received = self.received_in(region);
            totals.entry(region).or_default().1 = received;
        }
        if let Some((then, before)) = &self.last_sample {
            let secs = now.duration_since(*then).as_secs_f64().max(0.001);
            for (region, (delivered, received)) in &totals {
                let (d0, r0) = before.get(region).copied().unwrap_or_default();
                self.rates.insert(
                    region,
                    (
                        delivered.saturating_sub(d0) as f64 / secs,
                        received.saturating_sub(r0) as f64 / secs,
                    ),
                );
            }
        }
        self.last_sample = Some((now, totals));
    }

    fn received_in(&self, region: &str) -> u64 {
        self.received
            .by_execution
            .values()
            .filter(|e| e.region == region)
            .map(|e| e.sequences.len() as u64)
            .sum()
    }

    /// One line per region: nodes of the newest running deployment, its identity, rates.
    pub fn region_lines(&self) -> Vec<RegionLine> {
        REGIONS
            .iter()
            .map(|(region, _)| {
                let mut line = RegionLine {
                    region: region.to_string(),
                    ..RegionLine::default()
                };
                let current = self.deployments.iter().rev().find(|d| d.region == *region);
                if let Some(d) = current {
                    let nodes = self.nodes.get(d.job_file).map(Vec::as_slice).unwrap_or(&[]);
                    line.version = d.version;
                    line.color = d.color.to_string();
                    line.icon = d.icon.to_string();
                    line.nodes_total = nodes.len();
                    line.nodes_up = nodes.iter().filter(|n| n.connected && !n.exited).count();
                }
                line.unacked = self
                    .deployments
                    .iter()
                    .filter(|d| d.region == *region)
                    .flat_map(|d| self.nodes.get(d.job_file).into_iter().flatten())
                    .map(NodeStats::unacked)
                    .sum();
                line.received = self.received_in(region);
                let (sent, recv) = self.rates.get(region).copied().unwrap_or_default();
                line.delivered_per_sec = sent;
                line.received_per_sec = recv;
                line
            })
            .collect()
    }

    /// The summary rows, one per deployment.
    pub fn rows(&self) -> Vec<Row> {
        self.deployments
            .iter()
            .map(|d| {
                let nodes = self.nodes.get(d.job_file).map(Vec::as_slice).unwrap_or(&[]);
                let mut row = summary::row(d.region, d.version, nodes, &self.received);
                if row.color.is_empty() {
                    row.color = d.color.to_string();
                    row.icon = d.icon.to_string();
                }
                row
            })
            .collect()
    }

    /// Messages generated but still in the nodes' outboxes.
    pub fn unacked(&self) -> u64 {
        self.nodes.values().flatten().map(NodeStats::unacked).sum()
    }

    /// Messages answered 2xx so far (acknowledged or filtered), a measure of progress.
    pub fn acked_total(&self) -> u64 {
        self.nodes
            .values()
            .flatten()
            .map(|n| n.acked + n.filtered)
            .sum()
    }

    /// Unique messages received so far.
    pub fn received_total(&self) -> u64 {
        self.received
            .by_execution
            .values()
            .map(|e| e.sequences.len() as u64)
            .sum()
    }

    /// Number of nodes known from stats files.
    pub fn node_count(&self) -> u64 {
        self.nodes.values().map(|n| n.len() as u64).sum()
    }

    /// Acknowledged messages not (yet) received.
    pub fn gaps(&self) -> u64 {
        self.nodes
            .values()
            .map(|nodes| summary::gaps(nodes, &self.received))
            .sum()
    }

    /// Stops every runner (they flush their stats on the way out) and reads them once more.
    pub fn stop_runners(&mut self, grace: Duration) {
        for d in &mut self.deployments {
            if let Some(runner) = d.runner.as_mut() {
                runner.stop(grace);
            }
        }
        self.read_nodes();
    }

    /// Forces a full re-read of nodes and the sink (before printing the summary).
    pub fn final_read(&mut self) {
        if let Err(e) = self.tail.poll(&mut self.received) {
            self.warn(format!("reading the puller's sink: {e}"));
        }
        self.read_nodes();
    }

    pub fn unparsable_lines(&self) -> u64 {
        self.received.unparsable
    }
}
