//! The one place that runs the `docker` CLI. Every call goes through [`Docker::run`], which turns
//! a non-zero exit into an error naming the resource and carrying docker's own message, so a
//! failure deep in a batch of 300 containers still says which container and why.
use crate::error::{Error, ErrorKind};
use std::process::{Command, Stdio};

/// Label keys every resource we create carries. `region` and `type` are the names the original
/// network used (Bacalhau node labels mirror them); the rest are namespaced to avoid clashes.
pub mod label {
    pub const PROJECT: &str = "edge-sensors.project";
    pub const ROLE: &str = "edge-sensors.role";
    pub const INDEX: &str = "edge-sensors.index";
    pub const REGION: &str = "region";
    pub const TYPE: &str = "type";
}

/// A handle on the docker CLI (`$DOCKER` or `docker` on PATH).
#[derive(Debug, Clone)]
pub struct Docker {
    program: String,
}

/// One container as `docker ps -a` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub id: String,
    pub name: String,
    /// docker's state word: created, running, exited, paused, restarting, dead, removing.
    pub state: String,
    pub role: String,
    pub region: String,
    pub index: Option<u32>,
}

impl Container {
    pub fn is_running(&self) -> bool {
        self.state == "running"
    }
}

impl Default for Docker {
    fn default() -> Docker {
        let program = std::env::var("DOCKER")
            .ok()
            .filter(|p| !p.trim().is_empty());
        Docker {
            program: program.unwrap_or_else(|| "docker".to_string()),
        }
    }
}

impl Docker {
    /// Runs `docker ARGS...`; returns stdout, or an error "failed to ACTION RESOURCE: stderr".
    pub fn run<S: AsRef<str>>(
        &self,
        args: &[S],
        resource: &str,
        action: &str,
    ) -> Result<String, Error> {
        let output = Command::new(&self.program)
            .args(args.iter().map(AsRef::as_ref))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::new(ErrorKind::DockerMissing(e)))?;
        if output.status.success() {
            return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let message = if stderr.trim().is_empty() {
            format!("docker exited with {}", output.status)
        } else {
            stderr.into_owned()
        };
        Err(Error::docker(resource, action, &message))
    }

    /// Like [`Docker::run`] but only reports whether the command succeeded (for probes such as
    /// "does this image exist" or an exec health check, where failure is an answer).
    pub fn succeeds<S: AsRef<str>>(&self, args: &[S]) -> Result<bool, Error> {
        let status = Command::new(&self.program)
            .args(args.iter().map(AsRef::as_ref))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| Error::new(ErrorKind::DockerMissing(e)))?;
        Ok(status.success())
    }

    /// Every container (any state) carrying `edge-sensors.project=PROJECT`.
    pub fn containers(&self, project: &str) -> Result<Vec<Container>, Error> {
        let format = format!(
            "{{{{.ID}}}}\t{{{{.Names}}}}\t{{{{.State}}}}\t{{{{.Label \"{}\"}}}}\t{{{{.Label \"{}\"}}}}\t{{{{.Label \"{}\"}}}}",
            label::ROLE,
            label::REGION,
            label::INDEX
        );
        let filter = format!("label={}={project}", label::PROJECT);
        let args = [
            "ps",
            "-a",
            "--no-trunc",
            "--filter",
            &filter,
            "--format",
            &format,
        ];
        let out = self.run(&args, &format!("project {project}"), "list containers of")?;
        Ok(out.lines().filter_map(parse_ps_line).collect())
    }

    /// Names of the networks (or volumes, with `kind = "volume"`) labelled with the project.
    pub fn labelled(&self, kind: &str, project: &str) -> Result<Vec<String>, Error> {
        let filter = format!("label={}={project}", label::PROJECT);
        let args = [kind, "ls", "--filter", &filter, "--format", "{{.Name}}"];
        let out = self.run(
            &args,
            &format!("project {project}"),
            &format!("list {kind}s of"),
        )?;
        Ok(out
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect())
    }

    /// `name state` for each container, straight from `docker inspect` (fresher than `ps`).
    pub fn states(&self, names: &[String]) -> Result<Vec<(String, String)>, Error> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = vec![
            "inspect".to_string(),
            "--format".into(),
            "{{.Name}}\t{{.State.Status}}".into(),
        ];
        args.extend(names.iter().cloned());
        let out = self.run(&args, &names.join(", "), "inspect")?;
        Ok(out
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(n, s)| (n.trim_start_matches('/').to_string(), s.trim().to_string()))
            .collect())
    }

    /// `(name, state, started at in Unix ms)` for each container, from `docker inspect`.
    pub fn started(&self, names: &[String]) -> Result<Vec<(String, String, Option<i64>)>, Error> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = vec![
            "inspect".to_string(),
            "--format".into(),
            "{{.Name}}\t{{.State.Status}}\t{{.State.StartedAt}}".into(),
        ];
        args.extend(names.iter().cloned());
        let out = self.run(&args, &names.join(", "), "inspect")?;
        Ok(out
            .lines()
            .filter_map(|l| {
                let mut f = l.split('\t');
                let name = f.next()?.trim_start_matches('/').to_string();
                let state = f.next()?.trim().to_string();
                let started = f
                    .next()
                    .and_then(|t| sigv4::date_time::parse_rfc3339_ms(t.trim()));
                Some((name, state, started))
            })
            .collect())
    }

    /// Makes sure `image` is on this host: present already, or `docker pull` succeeds.
    /// Err carries docker's pull message.
    pub fn ensure_image(&self, image: &str) -> Result<(), String> {
        match self.succeeds(&["image", "inspect", image]) {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) => return Err(e.to_string()),
        }
        self.run(&["pull", "-q", image], &format!("image {image}"), "pull")
            .map(drop)
            .map_err(|e| match e.kind() {
                ErrorKind::Docker { message, .. } => message.clone(),
                _ => e.to_string(),
            })
    }

    /// The last lines a container logged (both streams), for error messages; empty on failure.
    pub fn log_tail(&self, name: &str, lines: u32) -> String {
        let output = Command::new(&self.program)
            .args(["logs", "--tail", &lines.to_string(), name])
            .stdin(Stdio::null())
            .output();
        match output {
            Ok(o) => {
                let mut text = String::from_utf8_lossy(&o.stdout).into_owned();
                text.push_str(&String::from_utf8_lossy(&o.stderr));
                text
            }
            Err(_) => String::new(),
        }
    }
}

fn parse_ps_line(line: &str) -> Option<Container> {
    let mut fields = line.split('\t');
    let id = fields.next()?.trim().to_string();
    if id.is_empty() {
        return None;
    }
    let name = fields.next()?.trim().to_string();
    let state = fields.next()?.trim().to_string();
    let role = fields.next().unwrap_or("").trim().to_string();
    let region = fields.next().unwrap_or("").trim().to_string();
    let index = fields.next().and_then(|i| i.trim().parse().ok());
    Some(Container {
        id,
        name,
        state,
        role,
        region,
        index,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_ps_line() {
        let c = parse_ps_line("abc\tp-edge-us-0001\texited\tedge\tus\t1").expect("parse");
        assert_eq!(c.name, "p-edge-us-0001");
        assert_eq!(c.state, "exited");
        assert_eq!(c.role, "edge");
        assert_eq!(c.region, "us");
        assert_eq!(c.index, Some(1));
        assert!(!c.is_running());
    }

    #[test]
    fn core_services_have_no_index() {
        let c = parse_ps_line("abc\tp-puller\trunning\tpuller\t\t").expect("parse");
        assert_eq!(c.index, None);
        assert!(c.is_running());
        assert!(parse_ps_line("").is_none());
    }
}
