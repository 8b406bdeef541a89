//! The compute nodes a job is placed on: names and labels, as a Bacalhau cluster's nodes have
//! them (`bacalhau serve -c labels=region=us,type=edge`), and placement over them as the
//! orchestrator does it (pkg/orchestrator/scheduler/ at v1.7.0): constraints select nodes, at
//! most one execution of a job per node, batch/service on `Count` nodes, daemon and ops on
//! every matching node.
use jobspec::JobSpec;

/// One compute node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryNode {
    pub name: String,
    pub labels: Vec<(String, String)>,
}

impl InventoryNode {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// `NAME:K=V,K=V` (`--node`); a name alone has no labels.
pub fn parse_node(raw: &str) -> Result<InventoryNode, String> {
    let (name, labels) = raw.split_once(':').unwrap_or((raw, ""));
    node(name.trim(), labels, raw)
}

/// `NAME K=V,K=V` per line (`--nodes-file`), `#` starts a comment.
pub fn parse_nodes_file(text: &str) -> Result<Vec<InventoryNode>, String> {
    let mut nodes = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let (name, labels) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        nodes.push(node(name, labels.trim(), line).map_err(|e| format!("line {}: {e}", i + 1))?);
    }
    Ok(nodes)
}

/// `R=N,R2=N2` (`--edge-nodes`): N nodes `edge-R-0..` with labels type=edge, region=R, as the
/// original demo's edge containers.
pub fn generate_edge_nodes(raw: &str) -> Result<Vec<InventoryNode>, String> {
    let mut nodes = Vec::new();
    for part in raw.split(',') {
        let (region, count) = part.split_once('=').ok_or_else(|| {
            format!("invalid value '{raw}' for '--edge-nodes': expected REGION=N")
        })?;
        let count: u32 = count.trim().parse().map_err(|_| {
            format!("invalid value '{raw}' for '--edge-nodes': {count:?} is not a count")
        })?;
        let region = region.trim();
        if region.is_empty() {
            return Err(format!(
                "invalid value '{raw}' for '--edge-nodes': empty region"
            ));
        }
        nodes.extend((0..count).map(|i| InventoryNode {
            name: format!("edge-{region}-{i}"),
            labels: vec![
                ("type".into(), "edge".into()),
                ("region".into(), region.into()),
            ],
        }));
    }
    Ok(nodes)
}

fn node(name: &str, labels: &str, raw: &str) -> Result<InventoryNode, String> {
    if name.is_empty() {
        return Err(format!("node {raw:?}: empty name"));
    }
    let labels = labels
        .split(',')
        .filter(|l| !l.trim().is_empty())
        .map(|l| match l.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                Ok((k.trim().to_string(), v.trim().to_string()))
            }
            _ => Err(format!("node {raw:?}: label {l:?} is not KEY=VALUE")),
        })
        .collect::<Result<_, _>>()?;
    Ok(InventoryNode {
        name: name.to_string(),
        labels,
    })
}

/// Refuses two nodes with one name: node ids are unique in a cluster.
pub fn check_unique(nodes: &[InventoryNode]) -> Result<(), String> {
    for (i, n) in nodes.iter().enumerate() {
        if nodes[..i].iter().any(|m| m.name == n.name) {
            return Err(format!("node {:?} is listed twice", n.name));
        }
    }
    Ok(())
}

/// The nodes every constraint of `job` selects, in inventory order.
pub fn matching<'a>(job: &JobSpec, nodes: &'a [InventoryNode]) -> Vec<&'a InventoryNode> {
    nodes
        .iter()
        .filter(|n| job.constraints.iter().all(|c| c.matches(&n.labels)))
        .collect()
}

/// How many executions the job wants: `Count` for batch/service, every suitable node for
/// daemon/ops; `None` = every suitable node.
pub fn wanted(job: &JobSpec) -> Option<usize> {
    match job.job_type.as_str() {
        "daemon" | "ops" => None,
        _ => Some(usize::try_from(job.effective_count()).unwrap_or(0)),
    }
}

/// Bacalhau's wording when too few nodes are suitable (pkg/orchestrator/errors.go).
pub fn not_enough_nodes(requested: usize, available: usize, suitable: usize) -> String {
    format!(
        "not enough nodes to run job. requested: {requested}, available: {available}, suitable: {suitable}."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(constraints: &str, job_type: &str) -> JobSpec {
        JobSpec::parse(&format!(
            "name: j\ntype: {job_type}\nconstraints:\n{constraints}tasks:\n  - name: t\n"
        ))
        .unwrap()
    }

    #[test]
    fn node_arguments_and_files() {
        let n = parse_node("edge-us-0:type=edge,region=us").unwrap();
        assert_eq!(n.name, "edge-us-0");
        assert_eq!(n.label("region"), Some("us"));
        assert_eq!(parse_node("bare").unwrap().labels, vec![]);
        assert!(parse_node(":type=edge").is_err());
        assert!(parse_node("n:type").is_err());
        let nodes = parse_nodes_file(
            "# fleet\nweb-0 type=web-services\n\nedge-eu-0 type=edge,region=eu # eu\n",
        )
        .unwrap();
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[1].label("region"), Some("eu"));
        assert!(parse_nodes_file("n x\n").unwrap_err().starts_with("line 1"));
        let gen = generate_edge_nodes("us=2,eu=1").unwrap();
        let names: Vec<_> = gen.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["edge-us-0", "edge-us-1", "edge-eu-0"]);
        assert!(generate_edge_nodes("us").is_err());
        assert!(check_unique(&[gen[0].clone(), gen[0].clone()]).is_err());
    }

    #[test]
    fn constraints_select_and_types_decide_how_many() {
        let nodes = generate_edge_nodes("us=2,eu=3").unwrap();
        let eu = job(
            "  - key: region\n    operator: \"=\"\n    values: [eu]\n",
            "batch",
        );
        assert_eq!(matching(&eu, &nodes).len(), 3);
        assert_eq!(wanted(&eu), Some(1), "batch without Count runs once");
        let daemon = job(
            "  - key: type\n    operator: \"=\"\n    values: [edge]\n",
            "daemon",
        );
        assert_eq!(matching(&daemon, &nodes).len(), 5);
        assert_eq!(wanted(&daemon), None);
        let none = job(
            "  - key: type\n    operator: \"=\"\n    values: [web-services]\n",
            "ops",
        );
        assert!(matching(&none, &nodes).is_empty());
        assert_eq!(
            not_enough_nodes(3, 5, 2),
            "not enough nodes to run job. requested: 3, available: 5, suitable: 2."
        );
    }
}
