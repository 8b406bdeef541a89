//! Running many nodes for the demo: the stats file, the stdin control channel and the
//! main wait loop shared by `simulate` and `job`.
use crate::runner::status::NodeStatus;
use crate::runner::{NodeSpec, Running, Shared};
use crate::sys;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Writes all nodes' stats to `path` atomically (temporary file + rename).
pub fn write_stats(path: &Path, shared: &Shared) -> std::io::Result<()> {
    let nodes: Vec<serde_json::Value> = shared.nodes().iter().map(|n| n.to_json()).collect();
    let updated = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let doc = serde_json::json!({ "updated_unix_ms": updated, "nodes": nodes });
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, doc.to_string())?;
    std::fs::rename(&tmp, path)
}

/// A command read from the control channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    Disconnect,
    Reconnect {
        batch: usize,
        pause: Duration,
    },
    /// A compute node joins the cluster: `join NAME:K=V,...` (see `edge-node job`).
    Join(String),
    Stop,
}

pub fn parse_control(line: &str) -> Result<Control, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["disconnect"] => Ok(Control::Disconnect),
        ["stop"] => Ok(Control::Stop),
        ["join", node] => Ok(Control::Join(node.to_string())),
        ["reconnect"] => Ok(Control::Reconnect {
            batch: 0,
            pause: Duration::ZERO,
        }),
        ["reconnect", batch, ms] => {
            let batch = batch
                .parse()
                .map_err(|_| format!("invalid batch size '{batch}'"))?;
            let ms: u64 = ms
                .parse()
                .map_err(|_| format!("invalid pause '{ms}' (milliseconds)"))?;
            Ok(Control::Reconnect {
                batch,
                pause: Duration::from_millis(ms),
            })
        }
        _ => Err(format!(
            "unknown control command '{}' (disconnect | reconnect BATCH MS | join NAME:K=V,... | stop)",
            line.trim()
        )),
    }
}

/// Applies one control command (reconnect batches are paced on the calling thread).
pub fn apply(shared: &Shared, cmd: &Control) {
    match cmd {
        Control::Disconnect => {
            for n in &shared.nodes() {
                n.connected.store(false, Ordering::SeqCst);
            }
        }
        Control::Reconnect { batch, pause } => {
            let size = if *batch == 0 {
                shared.nodes().len().max(1)
            } else {
                *batch
            };
            for (i, group) in shared.nodes().chunks(size).enumerate() {
                if i > 0 && !pause.is_zero() {
                    std::thread::sleep(*pause);
                }
                if shared.stopping() {
                    return;
                }
                for n in group {
                    n.connected.store(true, Ordering::SeqCst);
                }
            }
        }
        Control::Stop => shared.stop.store(true, Ordering::SeqCst),
        // Placement is the job's business: `control_from_stdin` hands joins to `supervise`.
        Control::Join(_) => {}
    }
}

/// Reads control lines from stdin until EOF or `stop`; `join` lines go to `joins`.
fn control_from_stdin(shared: Arc<Shared>, joins: Sender<String>) {
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { return };
        if line.trim().is_empty() {
            continue;
        }
        match parse_control(&line) {
            Ok(Control::Join(node)) => {
                if joins.send(node).is_err() {
                    eprintln!("edge-node: join: this run does not take new nodes");
                }
            }
            Ok(cmd) => {
                apply(&shared, &cmd);
                eprintln!("edge-node: control: {}", line.trim());
                if cmd == Control::Stop {
                    return;
                }
            }
            Err(e) => eprintln!("edge-node: {e}"),
        }
    }
}

/// When a fleet run counts as a success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// `simulate`: every node exited 0 or returned from `_start` (-1, Bacalhau's code for it).
    AllExitZero,
    /// `job`: no execution Failed (a wasm execution with any exit code is Completed under
    /// Bacalhau v1.7, pkg/executor/wasm/handler.go; a trap or a missing entrypoint fails it).
    NoneFailed,
}

/// How `supervise` watches a run.
pub struct Supervision<'a> {
    pub stats_file: Option<&'a Path>,
    pub control_stdin: bool,
    pub verdict: Verdict,
    /// The job fails at this instant with this message (too few nodes after QueueTimeout).
    pub deadline: Option<(Instant, String)>,
    /// Places a node that joined (`join` on the control channel); `None` = the run takes no
    /// new nodes.
    pub on_join: Option<&'a mut dyn FnMut(&str) -> Joined>,
}

/// What a job made of a node that joined.
pub enum Joined {
    /// Run this execution on it; `filled` = the job is no longer short of nodes.
    Placed { spec: NodeSpec, filled: bool },
    /// Not placed there, and why.
    Skipped(String),
}

/// Why the watch loop ended.
enum Ending {
    Stopped,
    Exited,
    QueueTimeout(String),
}

fn write_stats_logged(path: &Path, shared: &Shared) {
    if let Err(e) = write_stats(path, shared) {
        eprintln!("edge-node: cannot write stats file {}: {e}", path.display());
    }
}

fn start_control(shared: &Arc<Shared>, joins: Sender<String>) {
    let shared = Arc::clone(shared);
    let spawned = std::thread::Builder::new()
        .name("control".into())
        .spawn(move || control_from_stdin(shared, joins));
    if let Err(e) = spawned {
        eprintln!("edge-node: cannot start the control thread: {e}");
    }
}

/// Places the nodes that joined since the last look.
fn take_joins(running: &Running, how: &mut Supervision, joins: &Receiver<String>) {
    while let Ok(raw) = joins.try_recv() {
        let Some(place) = how.on_join.as_mut() else {
            eprintln!("edge-node: join {raw}: this run does not take new nodes");
            continue;
        };
        match place(&raw) {
            Joined::Placed { spec, filled } => {
                let name = spec.status.hostname.clone();
                match running.add(spec) {
                    Ok(()) => eprintln!("edge-node: join {name}: execution placed"),
                    Err(e) => eprintln!("edge-node: join {name}: {e}"),
                }
                if filled {
                    how.deadline = None;
                    running.shared.open.store(false, Ordering::SeqCst);
                }
            }
            Joined::Skipped(reason) => eprintln!("edge-node: join {raw}: {reason}"),
        }
    }
}

fn watch(running: &Running, how: &mut Supervision, joins: &Receiver<String>) -> Ending {
    let shared = &running.shared;
    let mut next_stats = Instant::now();
    loop {
        if sys::stop_requested() || shared.stopping() {
            return Ending::Stopped;
        }
        take_joins(running, how, joins);
        if let Some((at, message)) = &how.deadline {
            if Instant::now() >= *at {
                return Ending::QueueTimeout(message.clone());
            }
        }
        // A queued job waits for its missing nodes even when the placed executions ended, and
        // a run open to joining nodes (a daemon job) runs until stopped.
        let waiting = how.deadline.is_some() || shared.is_open();
        if (shared.all_exited() || !running.schedulers_alive()) && !waiting {
            return Ending::Exited;
        }
        if let Some(path) = how.stats_file {
            if Instant::now() >= next_stats {
                write_stats_logged(path, shared);
                next_stats += Duration::from_secs(1);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until every node exits, `stop` arrives, a signal, or the job's queue deadline; keeps
/// the stats file fresh. Returns the process exit code (see [`Verdict`]).
pub fn supervise(running: Running, mut how: Supervision) -> u8 {
    let shared = Arc::clone(&running.shared);
    let (joins_tx, joins) = channel();
    if how.control_stdin {
        start_control(&shared, joins_tx);
    }
    let ending = watch(&running, &mut how, &joins);
    running.join();
    if let Some(path) = how.stats_file {
        write_stats_logged(path, &shared);
    }
    match ending {
        Ending::Stopped => return 0,
        Ending::QueueTimeout(message) => {
            eprintln!("edge-node: job failed: {message}");
            return 1;
        }
        Ending::Exited => {}
    }
    if !shared.all_exited() {
        eprintln!("edge-node: the node schedulers ended while nodes were still running (a bug)");
        return 1;
    }
    let bad = |n: &&Arc<NodeStatus>| match how.verdict {
        Verdict::AllExitZero => n.exited().is_some_and(|c| c != 0 && c != -1),
        Verdict::NoneFailed => n.failure().is_some(),
    };
    let nodes = shared.nodes();
    let failed = nodes.iter().filter(bad).count();
    if failed == 0 {
        return 0;
    }
    let what = match how.verdict {
        Verdict::AllExitZero => "nodes exited with a non-zero code",
        Verdict::NoneFailed => "executions failed",
    };
    eprintln!("edge-node: {failed} of {} {what}", nodes.len());
    1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::status::NodeStatus;

    #[test]
    fn control_lines() {
        assert_eq!(parse_control("disconnect"), Ok(Control::Disconnect));
        assert_eq!(parse_control(" stop "), Ok(Control::Stop));
        assert_eq!(
            parse_control("reconnect 10 250"),
            Ok(Control::Reconnect {
                batch: 10,
                pause: Duration::from_millis(250)
            })
        );
        assert!(parse_control("reconnect x 1").is_err());
        assert!(parse_control("explode").is_err());
        assert_eq!(
            parse_control("join lab-1:type=edge,region=eu"),
            Ok(Control::Join("lab-1:type=edge,region=eu".into()))
        );
    }

    #[test]
    fn reconnect_in_batches_and_stats_file() {
        let nodes: Vec<_> = (0..5)
            .map(|i| {
                Arc::new(NodeStatus::new(
                    &format!("h{i}"),
                    "us",
                    "j",
                    &format!("e{i}"),
                ))
            })
            .collect();
        let shared = Shared::new(nodes);
        apply(&shared, &Control::Disconnect);
        assert!(shared.nodes().iter().all(|n| !n.is_connected()));
        apply(
            &shared,
            &Control::Reconnect {
                batch: 2,
                pause: Duration::from_millis(1),
            },
        );
        assert!(shared.nodes().iter().all(|n| n.is_connected()));
        let path =
            std::env::temp_dir().join(format!("edge-node-stats-{}.json", std::process::id()));
        write_stats(&path, &shared).expect("write");
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        assert_eq!(doc["nodes"].as_array().map(Vec::len), Some(5));
        assert_eq!(doc["nodes"][4]["execution_id"], "e4");
        let _ = std::fs::remove_file(path);
    }
}
