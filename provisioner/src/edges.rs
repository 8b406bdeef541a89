//! Bringing edge nodes to their desired count: create the missing ones, start the stopped ones,
//! either in batches (BATCH_SIZE per region per step, each step waited on until it runs, like
//! demo.sh) or all at once with a bounded number of docker invocations in flight.
use crate::args::Launch;
use crate::containers::{edge_hostname, edge_name, network_name, Plan};
use crate::docker::{Container, Docker};
use crate::error::{Error, ErrorKind};
use crate::pool::run_bounded;
use crate::profile::{Role, Service};
use crate::progress::Progress;
use crate::template::Vars;
use std::sync::Mutex;

/// What has to happen to one edge node.
#[derive(Debug, Clone)]
pub struct EdgeTask {
    pub plan: Plan,
    /// Already exists (stopped or created): `docker start` instead of `docker run`.
    pub exists: bool,
}

/// For each region `(region, wanted count)`, the tasks that bring it to that count, plus how
/// many already run. Nodes numbered above the count are not touched here (see `scale`).
pub fn plan_region(
    project: &str,
    region: &str,
    count: u32,
    existing: &[Container],
) -> (Vec<EdgeTask>, u64) {
    let mut tasks = Vec::new();
    let mut running = 0;
    for index in 1..=count {
        let name = edge_name(project, region, index);
        let found = existing.iter().find(|c| c.name == name);
        if found.is_some_and(Container::is_running) {
            running += 1;
            continue;
        }
        tasks.push(EdgeTask {
            plan: Plan {
                name,
                hostname: edge_hostname(region, index),
                role: Role::Edge,
                region: Some(region.to_string()),
                index: Some(index),
                network: network_name(project, region),
            },
            exists: found.is_some(),
        });
    }
    (tasks, running)
}

/// Everything `launch` needs besides the tasks.
pub struct Launcher<'a> {
    pub docker: &'a Docker,
    pub project: &'a str,
    pub service: &'a Service,
    /// Project-wide placeholders; `proxy_port` is set per region from `proxy_ports`.
    pub vars: &'a Vars,
    /// `(region, proxy port)` pairs.
    pub proxy_ports: &'a [(String, u16)],
}

impl Launcher<'_> {
    /// Runs `per_region` (tasks per region, with the count already running) to completion.
    pub fn launch(
        &self,
        per_region: &[(String, Vec<EdgeTask>, u64)],
        mode: Launch,
    ) -> Result<(), Error> {
        let rows: Vec<(String, u64, u64)> = per_region
            .iter()
            .map(|(r, tasks, running)| (r.clone(), *running, *running + tasks.len() as u64))
            .collect();
        let progress = Mutex::new(Progress::new(&rows));
        let steps: Vec<Vec<&EdgeTask>> = match mode {
            Launch::Batch(size) => batch_steps(per_region, size),
            // One step with every task, interleaved across regions so all bars move together.
            Launch::AllAtOnce(_) => {
                vec![batch_steps(per_region, 1).into_iter().flatten().collect()]
            }
        };
        let limit = match mode {
            Launch::Batch(_) => usize::MAX,
            Launch::AllAtOnce(n) => n,
        };
        for step in steps {
            let errors = run_bounded(
                &step,
                limit,
                |task| self.start(task),
                |task, ok| {
                    let region = task.plan.region.as_deref().unwrap_or("");
                    progress
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .tick(region, ok);
                },
            );
            progress
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .step_done();
            if let Some((_, first)) = errors.into_iter().next() {
                return Err(first);
            }
            // demo.sh waited for each step to be up before the next; `docker run -d` returns
            // once started, so confirm nothing exited straight away.
            self.confirm_running(&step)?;
        }
        Ok(())
    }

    fn start(&self, task: &EdgeTask) -> Result<(), Error> {
        let resource = format!("container {}", task.plan.name);
        let result = if task.exists {
            self.docker
                .run(&["start", &task.plan.name], &resource, "start")
        } else {
            let region = task.plan.region.as_deref().unwrap_or("");
            let port = self
                .proxy_ports
                .iter()
                .find(|(r, _)| r == region)
                .map(|(_, p)| *p)
                .unwrap_or(0);
            let vars = self.vars.with("proxy_port", port.to_string());
            let args = task.plan.run_args(self.project, self.service, &vars);
            self.docker.run(&args, &resource, "create and start")
        };
        // Report every failure as it happens; only the first is returned.
        if let Err(e) = &result {
            eprintln!("provisioner: {e}");
        }
        result.map(drop)
    }

    fn confirm_running(&self, step: &[&EdgeTask]) -> Result<(), Error> {
        for chunk in step.chunks(100) {
            let names: Vec<String> = chunk.iter().map(|t| t.plan.name.clone()).collect();
            for (name, state) in self.docker.states(&names)? {
                if state != "running" {
                    let logs = self.docker.log_tail(&name, 10);
                    return Err(Error::new(ErrorKind::NotRunning {
                        container: name,
                        state,
                        logs,
                    }));
                }
            }
        }
        Ok(())
    }
}

/// Splits each region's tasks into chunks of `size` and zips them: step k holds the k-th chunk
/// of every region.
fn batch_steps(per_region: &[(String, Vec<EdgeTask>, u64)], size: usize) -> Vec<Vec<&EdgeTask>> {
    let chunked: Vec<Vec<&[EdgeTask]>> = per_region
        .iter()
        .map(|(_, t, _)| t.chunks(size.max(1)).collect())
        .collect();
    let steps = chunked.iter().map(Vec::len).max().unwrap_or(0);
    (0..steps)
        .map(|k| {
            chunked
                .iter()
                .filter_map(|c| c.get(k))
                .flat_map(|c| c.iter())
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(name: &str, state: &str) -> Container {
        Container {
            id: format!("id-{name}"),
            name: name.into(),
            state: state.into(),
            role: "edge".into(),
            region: "us".into(),
            index: None,
        }
    }

    #[test]
    fn plan_skips_running_and_restarts_stopped() {
        let existing = vec![
            container("p-edge-us-0001", "running"),
            container("p-edge-us-0002", "exited"),
        ];
        let (tasks, running) = plan_region("p", "us", 4, &existing);
        assert_eq!(running, 1);
        let names: Vec<(&str, bool)> = tasks
            .iter()
            .map(|t| (t.plan.name.as_str(), t.exists))
            .collect();
        assert_eq!(
            names,
            vec![
                ("p-edge-us-0002", true),
                ("p-edge-us-0003", false),
                ("p-edge-us-0004", false)
            ]
        );
        let (tasks, running) = plan_region("p", "us", 1, &existing);
        assert!(tasks.is_empty());
        assert_eq!(running, 1);
    }

    #[test]
    fn batch_steps_interleave_regions() {
        let us = plan_region("p", "us", 5, &[]).0;
        let eu = plan_region("p", "eu", 2, &[]).0;
        let regions = vec![("us".to_string(), us, 0), ("eu".to_string(), eu, 0)];
        let steps = batch_steps(&regions, 2);
        let sizes: Vec<usize> = steps.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![4, 2, 1]);
        assert_eq!(steps[0][2].plan.name, "p-edge-eu-0001");
        assert_eq!(steps[2][0].plan.name, "p-edge-us-0005");
    }
}
