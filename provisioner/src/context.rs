//! What every command shares: the docker handle, the validated arguments, the profile and the
//! project-wide placeholder values.
use crate::args::{HiArgs, REGIONS};
use crate::docker::{label, Docker};
use crate::error::Error;
use crate::profile::Profile;
use crate::proxy_token;
use crate::template::Vars;

pub struct Context {
    pub docker: Docker,
    pub args: HiArgs,
    pub profile: Profile,
}

impl Context {
    pub fn new(args: HiArgs) -> Result<Context, Error> {
        let profile = Profile::load(&args.profile)?;
        Ok(Context {
            docker: Docker::default(),
            args,
            profile,
        })
    }

    pub fn project(&self) -> &str {
        &self.args.project
    }

    /// `--label edge-sensors.project=P` style label for networks and volumes.
    pub fn project_label(&self) -> String {
        format!("{}={}", label::PROJECT, self.args.project)
    }

    /// `(region, published proxy port)` in region order.
    pub fn proxy_ports(&self) -> Vec<(String, u16)> {
        REGIONS
            .iter()
            .zip(self.args.proxy_ports)
            .map(|(r, p)| (r.to_string(), p))
            .collect()
    }

    /// Project-wide placeholders: builtins, then the profile's vars, then flag overrides.
    /// Fails only when a proxy token file `up` installed cannot be read.
    pub fn vars(&self) -> Result<Vars, Error> {
        let mut vars = Vars::default();
        vars.set("project", self.args.project.clone());
        vars.set("gateway", self.bridge_gateway());
        vars.set("modules_dir", self.args.modules_dir.display().to_string());
        vars.set("config_dir", self.args.config_dir.display().to_string());
        let tokens = proxy_token::vars(&self.args.config_dir)?;
        vars.set("proxy_token", tokens.proxy_token);
        vars.set("proxy_auth_token_file", tokens.proxy_auth_token_file);
        for (k, v) in &self.profile.vars {
            vars.set(k, v.clone());
        }
        if let Some(q) = &self.args.queue_url {
            vars.set("queue_url", q.clone());
        }
        if let Some(e) = &self.args.endpoint_url {
            vars.set("endpoint_url", e.clone());
        }
        Ok(vars)
    }

    /// The host as containers see it: the gateway of the project's core network (created by
    /// `up` before anything needs this), else the default bridge's. An IP rather than
    /// host.docker.internal because static binaries in scratch images cannot always resolve
    /// names.
    fn bridge_gateway(&self) -> String {
        let format = "{{range .IPAM.Config}}{{.Gateway}} {{end}}";
        let core = crate::containers::network_name(self.project(), "core");
        [core.as_str(), "bridge"]
            .iter()
            .filter_map(|net| {
                let out = self
                    .docker
                    .run(
                        &["network", "inspect", net, "--format", format],
                        net,
                        "inspect",
                    )
                    .ok()?;
                out.split_whitespace()
                    .find(|g| g.contains('.'))
                    .map(String::from)
            })
            .next()
            .unwrap_or_else(|| "172.17.0.1".to_string())
    }
}
