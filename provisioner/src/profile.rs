//! A profile: everything image-specific about the network (images, commands, health checks,
//! environment, limits), read from a built-in base (`bacalhau` or `standin`, see
//! `defaults.rs`), an optional JSON override file, and `*_IMAGE` environment variables, in that
//! order. The rest of the provisioner only ever asks the profile, so the same code drives the
//! real Bacalhau images and the local stand-ins.
use crate::defaults;
use crate::error::Error;
use serde_json::Value;
use std::path::Path;

/// The roles a profile describes, in the order `up` starts the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Orchestrator,
    WebServices,
    Proxy,
    Puller,
    Edge,
}

impl Role {
    /// The key in the profile JSON, also the `edge-sensors.role` label value.
    pub fn key(self) -> &'static str {
        match self {
            Role::Orchestrator => "orchestrator",
            Role::WebServices => "web_services",
            Role::Proxy => "proxy",
            Role::Puller => "puller",
            Role::Edge => "edge",
        }
    }

    /// The environment variable that overrides this role's image.
    fn image_env(self) -> &'static str {
        match self {
            Role::Orchestrator => "ORCHESTRATOR_IMAGE",
            Role::WebServices => "WEB_SERVICES_IMAGE",
            Role::Proxy => "PROXY_IMAGE",
            Role::Puller => "PULLER_IMAGE",
            Role::Edge => "EDGE_IMAGE",
        }
    }

    const ALL: [Role; 5] = [
        Role::Orchestrator,
        Role::WebServices,
        Role::Proxy,
        Role::Puller,
        Role::Edge,
    ];
}

/// How `up` decides a service is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// The container is in state `running`.
    Running,
    /// `docker exec CONTAINER CMD...` exits 0 (the orchestrator's `bacalhau agent alive`).
    Exec(Vec<String>),
    /// An HTTP GET from the host answers 2xx (the proxies' `/health`).
    Http(String),
}

/// One service's container settings. Strings may hold placeholders (see `template.rs`).
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub enabled: bool,
    pub image: String,
    pub command: Vec<String>,
    pub env: Vec<(String, String)>,
    pub health: Health,
    pub health_timeout_s: u64,
    pub privileged: bool,
    /// `Some("host")` runs on the host network instead of our bridge networks.
    pub network_mode: Option<String>,
    pub ports: Vec<String>,
    pub volumes: Vec<String>,
    pub cpus: Option<String>,
    pub memory: Option<String>,
    pub nofile: Option<u64>,
    /// Adds `host.docker.internal:host-gateway` as the original compose file did.
    pub host_gateway: bool,
}

/// The whole profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// `(name, value)` variables usable as placeholders (queue and endpoint URL).
    pub vars: Vec<(String, String)>,
    pub orchestrator: Service,
    pub web_services: Service,
    pub proxy: Service,
    pub puller: Service,
    pub edge: Service,
}

impl Profile {
    /// Loads `spec`: `bacalhau`, `standin`, or a JSON file whose optional `"base"` names one of
    /// those (default `bacalhau`) and whose other keys override it.
    pub fn load(spec: &str) -> Result<Profile, Error> {
        let mut value = match spec {
            "bacalhau" => defaults::bacalhau(),
            "standin" => base_with(defaults::standin()),
            path => {
                let text =
                    std::fs::read_to_string(path).map_err(|e| Error::io(Path::new(path), e))?;
                let over: Value = serde_json::from_str(&text)
                    .map_err(|e| Error::profile(format!("{path} is not valid JSON: {e}")))?;
                let mut base = match over.get("base").and_then(Value::as_str) {
                    None | Some("bacalhau") => defaults::bacalhau(),
                    Some("standin") => base_with(defaults::standin()),
                    Some(other) => {
                        return Err(Error::profile(format!(
                            "{path}: unknown base '{other}' (expected bacalhau or standin)"
                        )))
                    }
                };
                defaults::merge(&mut base, &over);
                base
            }
        };
        for role in Role::ALL {
            if let Some(image) = std::env::var(role.image_env())
                .ok()
                .filter(|v| !v.trim().is_empty())
            {
                value[role.key()]["image"] = Value::String(image.trim().to_string());
            }
        }
        Profile::from_json(&value)
    }

    fn from_json(value: &Value) -> Result<Profile, Error> {
        let vars = match value.get("vars") {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => string_map("vars", v)?,
        };
        Ok(Profile {
            vars,
            orchestrator: service(value, Role::Orchestrator)?,
            web_services: service(value, Role::WebServices)?,
            proxy: service(value, Role::Proxy)?,
            puller: service(value, Role::Puller)?,
            edge: service(value, Role::Edge)?,
        })
    }

    pub fn service(&self, role: Role) -> &Service {
        match role {
            Role::Orchestrator => &self.orchestrator,
            Role::WebServices => &self.web_services,
            Role::Proxy => &self.proxy,
            Role::Puller => &self.puller,
            Role::Edge => &self.edge,
        }
    }
}

fn base_with(over: Value) -> Value {
    let mut base = defaults::bacalhau();
    defaults::merge(&mut base, &over);
    base
}

fn service(root: &Value, role: Role) -> Result<Service, Error> {
    let key = role.key();
    let v = root
        .get(key)
        .ok_or_else(|| Error::profile(format!("missing section '{key}'")))?;
    if !v.is_object() {
        return Err(Error::profile(format!("'{key}' must be an object")));
    }
    let field = |name: &str| format!("{key}.{name}");
    let image = opt_string(v, "image", &field("image"))?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| Error::profile(format!("{} is required", field("image"))))?;
    let health = match v.get("health") {
        None | Some(Value::Null) => Health::Running,
        Some(h) => parse_health(h, &field("health"))?,
    };
    Ok(Service {
        enabled: opt_bool(v, "enabled", &field("enabled"))?.unwrap_or(true),
        image,
        command: string_list(v, "command", &field("command"))?,
        env: match v.get("env") {
            None | Some(Value::Null) => Vec::new(),
            Some(e) => string_map(&field("env"), e)?,
        },
        health,
        health_timeout_s: opt_u64(v, "health_timeout_s", &field("health_timeout_s"))?.unwrap_or(60),
        privileged: opt_bool(v, "privileged", &field("privileged"))?.unwrap_or(false),
        network_mode: opt_string(v, "network_mode", &field("network_mode"))?,
        ports: string_list(v, "ports", &field("ports"))?,
        volumes: string_list(v, "volumes", &field("volumes"))?,
        cpus: opt_string(v, "cpus", &field("cpus"))?,
        memory: opt_string(v, "memory", &field("memory"))?,
        nofile: opt_u64(v, "nofile", &field("nofile"))?,
        host_gateway: opt_bool(v, "host_gateway", &field("host_gateway"))?.unwrap_or(false),
    })
}

fn parse_health(h: &Value, what: &str) -> Result<Health, Error> {
    if h.get("exec").is_some() {
        let cmd = string_list(h, "exec", what)?;
        if cmd.first().is_none_or(|c| c.is_empty()) {
            return Err(Error::profile(format!(
                "{what}.exec must be a non-empty command, got {cmd:?}"
            )));
        }
        return Ok(Health::Exec(cmd));
    }
    if let Some(url) = h.get("http") {
        let url = url
            .as_str()
            .ok_or_else(|| Error::profile(format!("{what}.http must be a string")))?;
        return Ok(Health::Http(url.to_string()));
    }
    if h.get("running").is_some() {
        return Ok(Health::Running);
    }
    Err(Error::profile(format!(
        "{what} must be {{\"exec\": [...]}}, {{\"http\": URL}} or {{\"running\": true}}"
    )))
}

fn opt_string(v: &Value, key: &str, what: &str) -> Result<Option<String>, Error> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        // Accept numbers for cpus/memory written without quotes.
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(Error::profile(format!(
            "{what} must be a string, got {other}"
        ))),
    }
}

fn opt_bool(v: &Value, key: &str, what: &str) -> Result<Option<bool>, Error> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(Error::profile(format!(
            "{what} must be true or false, got {other}"
        ))),
    }
}

fn opt_u64(v: &Value, key: &str, what: &str) -> Result<Option<u64>, Error> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(n) => n.as_u64().map(Some).ok_or_else(|| {
            Error::profile(format!("{what} must be a non-negative integer, got {n}"))
        }),
    }
}

fn string_list(v: &Value, key: &str, what: &str) -> Result<Vec<String>, Error> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str().map(String::from).ok_or_else(|| {
                    Error::profile(format!("{what} must be a list of strings, got {i}"))
                })
            })
            .collect(),
        Some(other) => Err(Error::profile(format!(
            "{what} must be a list of strings, got {other}"
        ))),
    }
}

fn string_map(what: &str, v: &Value) -> Result<Vec<(String, String)>, Error> {
    let map = v
        .as_object()
        .ok_or_else(|| Error::profile(format!("{what} must be an object")))?;
    map.iter()
        .map(|(k, val)| match val {
            Value::String(s) => Ok((k.clone(), s.clone())),
            Value::Number(n) => Ok((k.clone(), n.to_string())),
            Value::Bool(b) => Ok((k.clone(), b.to_string())),
            other => Err(Error::profile(format!(
                "{what}.{k} must be a string, got {other}"
            ))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builtin_profiles_parse() {
        let real = Profile::load("bacalhau").expect("bacalhau");
        assert_eq!(
            real.orchestrator.health,
            Health::Exec(vec!["bacalhau".into(), "agent".into(), "alive".into()])
        );
        assert_eq!(real.orchestrator.network_mode.as_deref(), Some("host"));
        assert!(real.web_services.privileged);
        let standin = Profile::load("standin").expect("standin");
        assert_eq!(standin.edge.image, "edge-sensors/runner:local");
        assert_eq!(standin.orchestrator.network_mode, None);
        assert_eq!(standin.edge.nofile, Some(4096));
    }

    #[test]
    fn override_file_merges_over_its_base() {
        let dir = std::env::temp_dir().join(format!("prov-profile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join("p.json");
        let over = json!({"base": "standin", "edge": {"image": "mine:1", "cpus": 0.5}, "puller": {"enabled": false}});
        std::fs::write(&path, over.to_string()).expect("write");
        let p = Profile::load(path.to_str().expect("utf8")).expect("load");
        assert_eq!(p.edge.image, "mine:1");
        assert_eq!(p.edge.cpus.as_deref(), Some("0.5"));
        assert!(!p.puller.enabled);
        assert_eq!(p.orchestrator.image, "edge-sensors/standin:local");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn bad_profiles_say_what_is_wrong() {
        let mut v = defaults::bacalhau();
        v["edge"]["command"] = json!("serve");
        let err = Profile::from_json(&v).expect_err("bad command");
        assert!(err.to_string().contains("edge.command"), "{err}");
        let mut v = defaults::bacalhau();
        v["proxy"]["health"] = json!({"tcp": 1});
        assert!(Profile::from_json(&v).is_err());
        let err = Profile::load("/nonexistent/profile.json").expect_err("missing file");
        assert!(
            err.to_string().contains("/nonexistent/profile.json"),
            "{err}"
        );
    }
}
