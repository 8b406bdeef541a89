//! What the simulated edge nodes report: edge-node's `--stats-file`, a JSON document with one
//! entry per node that the runner rewrites atomically every second and at exit.
use serde_json::Value;
use std::path::Path;

/// One node's counters as edge-node reports them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NodeStats {
    pub hostname: String,
    pub region: String,
    pub execution_id: String,
    /// Highest `sequence` the module tried to send: messages generated so far.
    pub max_sequence_posted: u64,
    /// 2xx answers carrying a `message_id`: the proxy confirmed SQS has it.
    pub acked: u64,
    /// 2xx answers saying `filtered`: superseded by a newer deployment, delivered by design.
    pub filtered: u64,
    /// Failed attempts (network error or non-2xx); the module retries most of these.
    pub failed: u64,
    /// Messages the sensor reported dropping at the source: refused by the proxy for good,
    /// and evicted from its full outbox (cumulative, as the module counts them).
    pub dropped_permanent: u64,
    pub dropped_overflow: u64,
    pub connected: bool,
    pub exited: bool,
}

impl NodeStats {
    fn from_json(v: &Value) -> Option<NodeStats> {
        let text = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let num = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
        let execution_id = text("execution_id");
        if execution_id.is_empty() {
            return None;
        }
        Some(NodeStats {
            hostname: text("hostname"),
            region: text("region"),
            execution_id,
            max_sequence_posted: num("max_sequence_posted"),
            acked: num("acked"),
            filtered: num("filtered"),
            failed: num("failed"),
            dropped_permanent: num("dropped_permanent"),
            dropped_overflow: num("dropped_overflow"),
            connected: v.get("connected").and_then(Value::as_bool).unwrap_or(true),
            exited: v.get("exited").is_some_and(|e| !e.is_null()),
        })
    }

    /// Posted at least once but neither acknowledged, filtered nor dropped yet. (Messages the
    /// module generated but has not tried to send yet are invisible to the host: while the
    /// proxy is away only the oldest is retried, the rest wait in the module's outbox.)
    pub fn unacked(&self) -> u64 {
        self.max_sequence_posted.saturating_sub(
            self.acked + self.filtered + self.dropped_permanent + self.dropped_overflow,
        )
    }
}

/// Reads a stats file; a file not written yet (node still starting) reads as no nodes.
pub fn read_stats(path: &Path) -> Result<Vec<NodeStats>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("reading {}: {e}", path.display())),
    };
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not valid JSON: {e}", path.display()))?;
    let list = match &doc {
        Value::Array(items) => items.as_slice(),
        Value::Object(map) => match map.get("nodes") {
            Some(Value::Array(items)) => items.as_slice(),
            _ => return Err(format!("{} has no \"nodes\" array", path.display())),
        },
        _ => {
            return Err(format!(
                "{} is neither a list nor an object",
                path.display()
            ))
        }
    };
    Ok(list.iter().filter_map(NodeStats::from_json).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_shapes_and_computes_unacked() {
        let dir = std::env::temp_dir().join(edge_tests::unique_name("demo-nodes"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join("s.json");
        assert_eq!(read_stats(&path), Ok(vec![]));
        let node = r#"{"hostname":"edge-us-1","region":"us","execution_id":"e1","max_sequence_posted":10,"acked":7,"filtered":1,"failed":3,"connected":false,"exited":null}"#;
        std::fs::write(&path, format!("{{\"nodes\":[{node}]}}")).expect("write");
        let nodes = read_stats(&path).expect("read");
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].unacked(), 2);
        let dropping = node.replace(
            r#""failed":3"#,
            r#""dropped_permanent":1,"dropped_overflow":1"#,
        );
        std::fs::write(&path, format!("[{dropping}]")).expect("write");
        let nodes = read_stats(&path).expect("read");
        assert_eq!(
            (nodes[0].dropped_permanent, nodes[0].dropped_overflow),
            (1, 1)
        );
        assert_eq!(
            nodes[0].unacked(),
            0,
            "dropped messages are not waiting for an answer"
        );
        assert!(!nodes[0].connected && !nodes[0].exited);
        std::fs::write(&path, format!("[{node}]")).expect("write");
        assert_eq!(read_stats(&path).expect("read").len(), 1);
        std::fs::write(&path, "{").expect("write");
        assert!(read_stats(&path).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}
