//! Host name resolution for guest requests.
//!
//! Order: `--host-alias` overrides, then `/etc/hosts` read by us (so a static binary in a
//! FROM-scratch container, with no NSS, still resolves), then the system resolver, and finally
//! `host.docker.internal` → 127.0.0.1, which is what docker's `host-gateway` gives a container
//! and what the original job specs use to reach the proxies.
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

#[derive(Debug, Clone, Default)]
pub struct Resolver {
    aliases: HashMap<String, IpAddr>,
    hosts_file: HashMap<String, IpAddr>,
}

impl Resolver {
    /// A resolver with the given aliases and the contents of `/etc/hosts` (missing file: none).
    pub fn new(aliases: &[(String, IpAddr)]) -> Resolver {
        let text = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        Resolver::with_hosts_text(aliases, &text)
    }

    pub fn with_hosts_text(aliases: &[(String, IpAddr)], hosts_text: &str) -> Resolver {
        let aliases = aliases
            .iter()
            .map(|(n, ip)| (n.to_ascii_lowercase(), *ip))
            .collect();
        Resolver {
            aliases,
            hosts_file: parse_hosts(hosts_text),
        }
    }

    /// All addresses for `host:port`, best first; empty when the name does not resolve. The
    /// system resolver's part must finish by `deadline` (else a timeout, as Go's dialer
    /// bounds the lookup by the request's deadline).
    pub fn resolve(
        &self,
        host: &str,
        port: u16,
        deadline: Instant,
    ) -> Result<Vec<SocketAddr>, http1::Error> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let host = host.to_ascii_lowercase();
        if let Some(ip) = self
            .aliases
            .get(&host)
            .or_else(|| self.hosts_file.get(&host))
        {
            return Ok(vec![SocketAddr::new(*ip, port)]);
        }
        let system = match http1::resolve(&host, port, deadline) {
            Ok(addrs) => addrs,
            Err(e @ http1::Error::TimedOut(_)) => return Err(e),
            Err(_) => Vec::new(),
        };
        if system.is_empty() && host == "host.docker.internal" {
            return Ok(vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)]);
        }
        Ok(system)
    }
}

/// `/etc/hosts`: `IP name [aliases...]`, `#` comments; the first line naming a host wins.
fn parse_hosts(text: &str) -> HashMap<String, IpAddr> {
    let mut map = HashMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut fields = line.split_whitespace();
        let Some(ip) = fields.next().and_then(|f| f.parse::<IpAddr>().ok()) else {
            continue;
        };
        for name in fields {
            map.entry(name.to_ascii_lowercase()).or_insert(ip);
        }
    }
    map
}

/// Parses a `--host-alias NAME=IP` value.
pub fn parse_alias(raw: &str) -> Result<(String, IpAddr), String> {
    let (name, ip) = raw
        .split_once('=')
        .ok_or_else(|| format!("invalid host alias '{raw}': expected NAME=IP"))?;
    let ip = ip
        .trim()
        .parse::<IpAddr>()
        .map_err(|_| format!("invalid host alias '{raw}': '{ip}' is not an IP address"))?;
    if name.trim().is_empty() {
        return Err(format!("invalid host alias '{raw}': empty name"));
    }
    Ok((name.trim().to_string(), ip))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn hosts_file_then_alias_then_docker_fallback() {
        let by = Instant::now() + Duration::from_secs(5);
        let resolve = |r: &Resolver, h: &str, p: u16| r.resolve(h, p, by).expect("no timeout");
        let hosts = "# c\n10.1.2.3 proxy-us proxy-us.local\n10.9.9.9 proxy-us\n::1 six\n";
        let r = Resolver::with_hosts_text(
            &[("proxy-eu".into(), "10.0.0.7".parse().expect("ip"))],
            hosts,
        );
        assert_eq!(
            resolve(&r, "PROXY-US", 80),
            vec!["10.1.2.3:80".parse().expect("addr")]
        );
        assert_eq!(
            resolve(&r, "proxy-eu", 81),
            vec!["10.0.0.7:81".parse().expect("addr")]
        );
        assert_eq!(
            resolve(&r, "127.0.0.1", 9),
            vec!["127.0.0.1:9".parse().expect("addr")]
        );
        let docker = resolve(&r, "host.docker.internal", 9091);
        assert!(!docker.is_empty());
    }

    #[test]
    fn alias_syntax() {
        assert!(parse_alias("a=1.2.3.4").is_ok());
        assert!(parse_alias("a").is_err());
        assert!(parse_alias("a=notip").is_err());
        assert!(parse_alias("=1.2.3.4").is_err());
    }
}
