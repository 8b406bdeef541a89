//! The seed's Complete Demo Scenario as data, and the runner that plays it: each step's
//! actions, then a wait while the live view refreshes.
use crate::args::{Config, Reconnect};
use crate::children::Service;
use crate::deployment::Deployment;
use crate::monitor::Monitor;
use crate::stack::Paths;
use crate::sys;
use std::process::Command;
use std::time::{Duration, Instant};

/// What a scenario step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Run a job file: its nodes start sending.
    Deploy(&'static str),
    /// Cut a region off: its nodes keep running but reach no proxy.
    Disconnect(&'static str),
    /// Submit a job whose nodes are unreachable: Bacalhau keeps it queued until they return,
    /// so the demo starts it when the region reconnects.
    Queue(&'static str),
    /// Bring a region back, paced by BATCH_SIZE / MS_BETWEEN_RECONNECT / ALL_AT_ONCE, and
    /// start the jobs queued for it.
    Reconnect(&'static str),
}

/// One step: a title for the live view and its actions.
pub struct Step {
    pub title: &'static str,
    pub actions: &'static [Action],
}

/// The seed's scenario, steps 2 to 8.
pub const SCENARIO: &[Step] = &[
    Step {
        title: "deploy us v1, eu v1, as v1",
        actions: &[
            Action::Deploy("deploy-us-v1.yaml"),
            Action::Deploy("deploy-eu-v1.yaml"),
            Action::Deploy("deploy-as-v1.yaml"),
        ],
    },
    Step {
        title: "update us to v2 (us v1 messages are now filtered)",
        actions: &[Action::Deploy("deploy-us-v2.yaml")],
    },
    Step {
        title: "disconnect eu (its outboxes hold the messages)",
        actions: &[Action::Disconnect("eu")],
    },
    Step {
        title: "deploy eu v2 (queued while eu is unreachable)",
        actions: &[Action::Queue("deploy-eu-v2.yaml")],
    },
    Step {
        title: "reconnect eu",
        actions: &[Action::Reconnect("eu")],
    },
];

/// Region, version, colour and emoji of a deployment file, as the seed's visual identity says.
pub fn identity(job_file: &str) -> (&'static str, i64, &'static str, &'static str) {
    match job_file {
        "deploy-us-v1.yaml" => ("us", 1, "#FF0000", "🚀"),
        "deploy-eu-v1.yaml" => ("eu", 1, "#0000FF", "📡"),
        "deploy-as-v1.yaml" => ("as", 1, "#00FF00", "💡"),
        "deploy-us-v2.yaml" => ("us", 2, "#800080", "⚡"),
        "deploy-eu-v2.yaml" => ("eu", 2, "#FFFF00", "🔋"),
        _ => ("?", 0, "", "?"),
    }
}

/// How the scenario ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    Interrupted,
}

/// Plays [`SCENARIO`], refreshing the monitor while each step runs.
pub struct Player<'a> {
    pub config: &'a Config,
    pub paths: &'a Paths,
    pub monitor: &'a mut Monitor,
    pub started: Instant,
}

impl Player<'_> {
    pub fn play(&mut self) -> Result<Outcome, String> {
        let mut queued: Vec<&'static str> = Vec::new();
        for step in SCENARIO {
            self.monitor.note_step(step.title, self.started.elapsed());
            for action in step.actions {
                match *action {
                    Action::Deploy(job) => self.deploy(job)?,
                    Action::Queue(job) => queued.push(job),
                    Action::Disconnect(region) => {
                        self.send_to_region(region, "disconnect")?;
                    }
                    Action::Reconnect(region) => {
                        let line = match self.config.reconnect {
                            Reconnect::AllAtOnce => "reconnect 0 0".to_string(),
                            Reconnect::Batches { batch, pause } => {
                                format!("reconnect {batch} {}", pause.as_millis())
                            }
                        };
                        self.send_to_region(region, &line)?;
                        let (now, later): (Vec<_>, Vec<_>) =
                            queued.iter().partition(|job| identity(job).0 == region);
                        queued = later;
                        for job in now {
                            self.deploy(job)?;
                        }
                    }
                }
            }
            if self.wait(self.config.step) == Outcome::Interrupted {
                return Ok(Outcome::Interrupted);
            }
        }
        Ok(Outcome::Completed)
    }

    /// Starts `edge-node job` for a job file with the demo's replica counts and interval.
    fn deploy(&mut self, job_file: &'static str) -> Result<(), String> {
        let (region, version, color, icon) = identity(job_file);
        let name = job_file
            .trim_start_matches("deploy-")
            .trim_end_matches(".yaml");
        let stats_file = self.paths.run_dir.join(format!("nodes-{name}.json"));
        let replicas = &self.config.replicas;
        let mut cmd = Command::new(self.paths.bin("edge-node"));
        cmd.arg("job")
            .arg(self.paths.jobs(job_file))
            .args(["-E", "^(REPLICAS|US_REPLICAS|EU_REPLICAS|AS_REPLICAS)$"])
            .arg("-V")
            .arg(format!("INTERVAL={}", self.config.interval))
            .arg("--mount")
            .arg(format!(
                "/app/modules={}",
                self.paths.modules_dir().display()
            ))
            .arg("--stats-file")
            .arg(&stats_file)
            .args(["--control", "stdin"])
            .env("US_REPLICAS", replicas.us.to_string())
            .env("EU_REPLICAS", replicas.eu.to_string())
            .env("AS_REPLICAS", replicas.as_.to_string());
        let log = self.paths.run_dir.join(format!("nodes-{name}.log"));
        let mut runner =
            Service::start(&format!("nodes-{name}"), cmd, &log, true).map_err(|e| e.to_string())?;
        if let Some(status) = runner.wait_for(Duration::from_millis(200)) {
            return Err(format!(
                "edge-node for {job_file} exited at start ({status}); its log:\n{}",
                runner.log_tail(20)
            ));
        }
        self.monitor.add(Deployment {
            job_file,
            region,
            version,
            color,
            icon,
            stats_file,
            runner: Some(runner),
        });
        Ok(())
    }

    fn send_to_region(&mut self, region: &str, line: &str) -> Result<(), String> {
        for deployment in self.monitor.deployments_mut() {
            if deployment.region != region {
                continue;
            }
            if let Some(runner) = deployment.runner.as_mut() {
                runner.send(line).map_err(|e| {
                    format!(
                        "sending '{line}' to {}: {e}; its log:\n{}",
                        runner.name,
                        runner.log_tail(10)
                    )
                })?;
            }
        }
        Ok(())
    }

    /// Lets the system run for `duration`, refreshing the view; stops early on Ctrl-C.
    pub fn wait(&mut self, duration: Duration) -> Outcome {
        let until = Instant::now() + duration;
        while Instant::now() < until {
            if sys::stop_requested() {
                return Outcome::Interrupted;
            }
            self.monitor.refresh(self.started.elapsed());
            std::thread::sleep(Duration::from_millis(100));
        }
        Outcome::Completed
    }

    /// Waits until `done` holds (checked on every refresh), or until `progress` has not
    /// changed for `stall` (a backlog still flowing is waited for, a stuck one is not), and
    /// never longer than `cap`.
    pub fn wait_until(
        &mut self,
        stall: Duration,
        cap: Duration,
        done: impl Fn(&Monitor) -> bool,
        progress: impl Fn(&Monitor) -> u64,
    ) -> bool {
        let mut last = progress(self.monitor);
        let mut until = Instant::now() + stall;
        let hard_stop = Instant::now() + cap;
        loop {
            self.monitor.refresh(self.started.elapsed());
            if done(self.monitor) {
                return true;
            }
            let now_progress = progress(self.monitor);
            if now_progress != last {
                last = now_progress;
                until = Instant::now() + stall;
            }
            if Instant::now() >= until.min(hard_stop) || sys::stop_requested() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
