//! Names, labels and `docker run` arguments for every container we create. Names are derived
//! from the project and the role (edge nodes: from region and number), so `up` can tell what
//! already exists and an edge node's hostname, hence its Bacalhau node id, is stable.
use crate::docker::label;
use crate::profile::{Role, Service};
use crate::template::Vars;

/// Network names: one for the core, one per region.
pub fn network_name(project: &str, net: &str) -> String {
    format!("{project}-{net}")
}

/// An edge node's hostname, which Bacalhau (NameProvider: hostname) uses as its node id.
pub fn edge_hostname(region: &str, index: u32) -> String {
    format!("edge-{region}-{index:04}")
}

pub fn edge_name(project: &str, region: &str, index: u32) -> String {
    format!("{project}-{}", edge_hostname(region, index))
}

/// Container name of a core service (`region` only for proxies).
pub fn core_name(project: &str, role: Role, region: Option<&str>) -> String {
    let base = role.key().replace('_', "-");
    match region {
        Some(r) => format!("{project}-{base}-{r}"),
        None => format!("{project}-{base}"),
    }
}

/// `--cpus`, `--memory` and `--ulimit nofile` as the profile sets them.
fn limits(service: &Service) -> Vec<String> {
    let mut a = Vec::new();
    if let Some(cpus) = &service.cpus {
        a.extend(["--cpus".into(), cpus.clone()]);
    }
    if let Some(mem) = &service.memory {
        a.extend(["--memory".into(), mem.clone()]);
    }
    if let Some(n) = service.nofile {
        a.extend(["--ulimit".into(), format!("nofile={n}:{n}")]);
    }
    a
}

/// Everything needed to create one container.
#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    pub hostname: String,
    pub role: Role,
    pub region: Option<String>,
    pub index: Option<u32>,
    /// Our network to attach to (ignored when the profile asks for `network_mode`).
    pub network: String,
}

impl Plan {
    /// The labels `up`, `status` and `down` find our containers by.
    fn labels(&self, project: &str) -> Vec<(&'static str, String)> {
        let mut labels = vec![
            (label::PROJECT, project.to_string()),
            (label::ROLE, self.role.key().to_string()),
        ];
        if let Some(region) = &self.region {
            labels.push((label::REGION, region.clone()));
        }
        if self.role == Role::Edge {
            labels.push((label::TYPE, "edge".to_string()));
        }
        if let Some(index) = self.index {
            labels.push((label::INDEX, index.to_string()));
        }
        labels
    }

    /// `docker run -d ...` arguments for this container under `service`, with `vars` already
    /// holding the project-wide placeholders.
    pub fn run_args(&self, project: &str, service: &Service, vars: &Vars) -> Vec<String> {
        let mut vars = vars
            .with("name", &self.name)
            .with("hostname", &self.hostname);
        vars.set("region", self.region.clone().unwrap_or_default());
        vars.set(
            "index",
            self.index.map(|i| i.to_string()).unwrap_or_default(),
        );
        let mut a: Vec<String> = vec![
            "run".into(),
            "-d".into(),
            "--name".into(),
            self.name.clone(),
        ];
        for (k, v) in self.labels(project) {
            a.push("--label".into());
            a.push(format!("{k}={v}"));
        }
        match &service.network_mode {
            // Docker refuses --hostname together with the host network.
            Some(mode) => a.extend(["--network".into(), mode.clone()]),
            None => a.extend([
                "--network".into(),
                self.network.clone(),
                "--hostname".into(),
                self.hostname.clone(),
            ]),
        }
        if service.privileged {
            a.push("--privileged".into());
        }
        if service.host_gateway {
            a.extend([
                "--add-host".into(),
                "host.docker.internal:host-gateway".into(),
            ]);
        }
        if service.network_mode.is_none() {
            for p in &service.ports {
                a.extend(["-p".into(), vars.expand(p)]);
            }
        }
        for v in &service.volumes {
            a.extend(["-v".into(), vars.expand(v)]);
        }
        for (k, v) in &service.env {
            if let Some(value) = vars.expand_env_value(v) {
                a.extend(["-e".into(), format!("{k}={value}")]);
            }
        }
        a.extend(limits(service));
        a.push(vars.expand(&service.image));
        a.extend(vars.expand_all(&service.command));
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;

    fn edge_plan() -> Plan {
        Plan {
            name: edge_name("p", "eu", 7),
            hostname: edge_hostname("eu", 7),
            role: Role::Edge,
            region: Some("eu".into()),
            index: Some(7),
            network: network_name("p", "eu"),
        }
    }

    fn window(args: &[String], flag: &str, value: &str) -> bool {
        args.windows(2).any(|w| w[0] == flag && w[1] == value)
    }

    #[test]
    fn names_are_stable_and_hostname_based() {
        assert_eq!(edge_name("p", "us", 12), "p-edge-us-0012");
        assert_eq!(core_name("p", Role::WebServices, None), "p-web-services");
        assert_eq!(core_name("p", Role::Proxy, Some("as")), "p-proxy-as");
    }

    #[test]
    fn edge_run_args_carry_labels_limits_and_mounts() {
        let profile = Profile::load("standin").expect("profile");
        let mut vars = Vars::default();
        vars.set("gateway", "172.17.0.1");
        vars.set("proxy_port", "9092");
        vars.set("modules_dir", "/m");
        let args = edge_plan().run_args("p", &profile.edge, &vars);
        assert!(window(&args, "--name", "p-edge-eu-0007"));
        assert!(window(&args, "--hostname", "edge-eu-0007"));
        assert!(window(&args, "--network", "p-eu"));
        for l in [
            "edge-sensors.project=p",
            "region=eu",
            "type=edge",
            "edge-sensors.role=edge",
        ] {
            assert!(window(&args, "--label", l), "missing label {l}: {args:?}");
        }
        assert!(window(&args, "-e", "REGION=eu"));
        assert!(window(&args, "--cpus", "0.03"));
        assert!(window(&args, "--memory", "200m"));
        assert!(window(&args, "--ulimit", "nofile=4096:4096"));
        assert!(window(
            &args,
            "--add-host",
            "host.docker.internal:host-gateway"
        ));
        assert!(window(&args, "-v", "/m:/app/modules"));
        assert!(
            args.contains(&"--proxy=http://172.17.0.1:9092".to_string()),
            "{args:?}"
        );
        assert!(window(&args, "--hostname", "edge-eu-0007"));
    }

    #[test]
    fn host_network_drops_hostname_and_ports() {
        let profile = Profile::load("bacalhau").expect("profile");
        let plan = Plan {
            name: "p-orchestrator".into(),
            hostname: "orchestrator".into(),
            role: Role::Orchestrator,
            region: None,
            index: None,
            network: "p-core".into(),
        };
        let args = plan.run_args("p", &profile.orchestrator, &Vars::default());
        assert!(window(&args, "--network", "host"));
        assert!(!args.contains(&"--hostname".to_string()));
    }
}
