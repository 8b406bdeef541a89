//! The few URL shapes a guest may ask for: `http://host[:port][/path][?query]`.
//!
//! Only plain `http` is served (the guests talk to regional proxies on a private network);
//! `https` parses, so the policy can still answer NotAllowed, but the client reports it as a
//! network error.

/// A parsed request target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub scheme: Scheme,
    /// Lower-cased host name or IP literal (without IPv6 brackets).
    pub host: String,
    pub port: u16,
    /// Path plus query, always starting with `/`.
    pub path: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Url {
    /// Parses `raw`; `None` means Bacalhau's InvalidURL.
    pub fn parse(raw: &str) -> Option<Url> {
        let (scheme, rest) = if let Some(r) = strip_prefix_ci(raw, "http://") {
            (Scheme::Http, r)
        } else if let Some(r) = strip_prefix_ci(raw, "https://") {
            (Scheme::Https, r)
        } else {
            return None;
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.contains('@') || authority.is_empty() {
            return None;
        }
        let default_port = if scheme == Scheme::Http { 80 } else { 443 };
        let (host, port) = split_host_port(authority, default_port)?;
        if host.is_empty()
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._:".contains(c))
        {
            return None;
        }
        let tail = tail.split('#').next().unwrap_or("");
        let path = if tail.starts_with('?') || tail.is_empty() {
            format!("/{tail}")
        } else {
            tail.to_string()
        };
        if path.chars().any(|c| c.is_ascii_control() || c == ' ') {
            return None;
        }
        Some(Url {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
            path,
        })
    }

    /// The `Host:` header value.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default = if self.scheme == Scheme::Http { 80 } else { 443 };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn split_host_port(authority: &str, default_port: u16) -> Option<(&str, u16)> {
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(p) => Some((host, p.parse().ok()?)),
            None if after.is_empty() => Some((host, default_port)),
            None => None,
        };
    }
    match authority.rsplit_once(':') {
        Some((host, p)) => Some((host, p.parse().ok()?)),
        None => Some((authority, default_port)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_port_path() {
        let u = Url::parse("http://Proxy.Local:9091/send?x=1").expect("valid");
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("proxy.local", 9091, "/send?x=1")
        );
        assert_eq!(u.host_header(), "proxy.local:9091");
        let u = Url::parse("http://10.0.0.1").expect("valid");
        assert_eq!((u.port, u.path.as_str()), (80, "/"));
        let u = Url::parse("http://[::1]:8080/h").expect("valid");
        assert_eq!(u.host, "::1");
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "proxy:9091/send",
            "ftp://x/",
            "http://",
            "http://host:99999/",
            "http://a b/",
            "http://u@h/",
        ] {
            assert_eq!(Url::parse(bad), None, "{bad}");
        }
    }
}
