//! Which hosts a job may reach, as Bacalhau's network types define it.
use std::net::IpAddr;

/// A job's `network.type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkPolicy {
    /// No network: the `http_request` import is not even offered.
    None,
    /// Any host.
    Host,
    /// Only hosts matching one of these domains (`*.example.com` wildcards, ports ignored).
    Http { domains: Vec<String> },
}

impl NetworkPolicy {
    /// Builds the `http` policy, checking each domain as Bacalhau does: it must contain a dot
    /// or be an IP address (so `localhost` is refused).
    pub fn http(domains: Vec<String>) -> Result<NetworkPolicy, String> {
        let mut out = Vec::new();
        for d in domains {
            let d = strip_port(d.trim()).to_ascii_lowercase();
            if d.is_empty() || !(d.contains('.') || d.parse::<IpAddr>().is_ok()) {
                return Err(format!(
                    "invalid domain '{d}': a domain must contain a dot or be an IP address"
                ));
            }
            out.push(d);
        }
        Ok(NetworkPolicy::Http { domains: out })
    }

    /// Whether the import exists at all.
    pub fn offers_http(&self) -> bool {
        !matches!(self, NetworkPolicy::None)
    }

    /// Whether a request to `host` (already lower-cased, no port) is allowed.
    pub fn allows(&self, host: &str) -> bool {
        match self {
            NetworkPolicy::None => false,
            NetworkPolicy::Host => true,
            NetworkPolicy::Http { domains } => domains.iter().any(|d| domain_matches(d, host)),
        }
    }
}

fn strip_port(d: &str) -> &str {
    if d.parse::<IpAddr>().is_ok() {
        return d;
    }
    match d.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => d,
    }
}

/// Bacalhau's simple glob: no `*` = exact match; `*.example.com` = ends with `.example.com`;
/// `api.*` = starts with `api.`; `api.*.org` = both. Only the first `*` counts.
fn domain_matches(pattern: &str, host: &str) -> bool {
    match pattern.split_once('*') {
        None => host == pattern,
        Some((prefix, suffix)) => host.starts_with(prefix) && host.ends_with(suffix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_ports() {
        let p = NetworkPolicy::http(vec![
            "*.example.com".into(),
            "proxy.local:9091".into(),
            "10.0.0.1".into(),
        ])
        .expect("valid");
        assert!(p.allows("a.example.com"));
        assert!(p.allows("b.a.example.com"));
        assert!(!p.allows("example.com"));
        assert!(!p.allows("badexample.com"));
        assert!(p.allows("proxy.local"));
        assert!(p.allows("10.0.0.1"));
        assert!(!p.allows("10.0.0.2"));
        let p = NetworkPolicy::http(vec!["api.*.org".into()]).expect("valid");
        assert!(p.allows("api.eu.org") && !p.allows("web.eu.org") && !p.allows("api.eu.com"));
    }

    #[test]
    fn domains_need_a_dot_or_an_ip() {
        assert!(NetworkPolicy::http(vec!["localhost".into()]).is_err());
        assert!(NetworkPolicy::http(vec!["::1".into()]).is_ok());
        assert!(!NetworkPolicy::None.offers_http());
        assert!(NetworkPolicy::Host.allows("anything"));
    }
}
