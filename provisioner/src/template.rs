//! Placeholders in profile strings, filled in per container:
//!
//! | placeholder      | value                                                        |
//! |------------------|--------------------------------------------------------------|
//! | `{project}`      | the `--project` name                                         |
//! | `{region}`       | us, eu or as (empty for region-less services)                |
//! | `{hostname}`     | the container's hostname (edge nodes: `edge-us-0001`)        |
//! | `{name}`         | the container's name (`PROJECT-edge-us-0001`)                |
//! | `{index}`        | the edge node's number in its region, from 1                 |
//! | `{proxy_port}`   | the region's published proxy port (9091/9092/9093)           |
//! | `{gateway}`      | the docker bridge gateway IP, i.e. the host seen from inside |
//! | `{modules_dir}`  | absolute path of the modules directory on the host           |
//! | `{config_dir}`   | where `up` writes the Bacalhau node configs (node_config.rs) |
//! | `{proxy_token}`  | the token edge nodes send (`none`: no `up --proxy-token-file`) |
//! | `{proxy_auth_token_file}` | the proxies' token file in their container, or empty (proxy_token.rs) |
//! | `{endpoint_url}`, `{queue_url}`, ... | the profile's `vars` (overridable by flags) |
//!
//! Environment values of the form `env:NAME` or `env:NAME|DEFAULT` are read from the
//! provisioner's own environment, as Bacalhau job specs do with `env:`.

/// A set of placeholder values.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    pairs: Vec<(String, String)>,
}

impl Vars {
    /// Sets `key` (replacing an earlier value).
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        let value = value.into();
        match self.pairs.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.pairs.push((key.to_string(), value)),
        }
    }

    /// A copy with `key` set, for per-container values.
    pub fn with(&self, key: &str, value: impl Into<String>) -> Vars {
        let mut v = self.clone();
        v.set(key, value);
        v
    }

    /// Replaces every `{key}` whose key is known; unknown braces are left alone (a command may
    /// legitimately contain JSON). Values may themselves contain placeholders (the default
    /// queue URL is built from `{endpoint_url}`), so expansion repeats a few times.
    pub fn expand(&self, text: &str) -> String {
        let mut out = text.to_string();
        for _ in 0..4 {
            let before = out.clone();
            for (k, v) in &self.pairs {
                out = out.replace(&format!("{{{k}}}"), v);
            }
            if out == before {
                break;
            }
        }
        out
    }

    pub fn expand_all(&self, items: &[String]) -> Vec<String> {
        items.iter().map(|i| self.expand(i)).collect()
    }

    /// Expands an environment value, resolving `env:NAME|DEFAULT`; `None` means "leave the
    /// variable out" (host variable unset and no default).
    pub fn expand_env_value(&self, value: &str) -> Option<String> {
        match value.strip_prefix("env:") {
            Some(spec) => {
                let (name, default) = match spec.split_once('|') {
                    Some((n, d)) => (n, Some(d)),
                    None => (spec, None),
                };
                match std::env::var(name) {
                    Ok(v) if !v.is_empty() => Some(v),
                    _ => default.map(|d| self.expand(d)),
                }
            }
            None => Some(self.expand(value)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_known_keys_recursively_and_leaves_others() {
        let mut v = Vars::default();
        v.set("gateway", "172.17.0.1");
        v.set("endpoint_url", "http://{gateway}:4566");
        v.set("queue_url", "{endpoint_url}/000000000000/q");
        assert_eq!(
            v.expand("{queue_url}"),
            "http://172.17.0.1:4566/000000000000/q"
        );
        assert_eq!(v.expand("{\"a\": {unknown}}"), "{\"a\": {unknown}}");
        assert_eq!(v.with("region", "eu").expand("r={region}"), "r=eu");
    }

    #[test]
    fn env_values_come_from_the_host_with_defaults() {
        let v = Vars::default();
        assert_eq!(
            v.expand_env_value("env:PROVISIONER_TEST_SURELY_UNSET|test"),
            Some("test".into())
        );
        assert_eq!(
            v.expand_env_value("env:PROVISIONER_TEST_SURELY_UNSET"),
            None
        );
        assert_eq!(v.expand_env_value("plain"), Some("plain".into()));
    }
}
