//! One URL parser for the workspace.
//!
//! [`GoUrl::parse`] accepts exactly what Go's `net/url.Parse` accepts (Bacalhau's
//! `http_request` parses the guest's URL with it, pkg/executor/wasm/funcs/http/http.go at
//! v1.7.0): any scheme, an empty host, a port of any digits, unescaped spaces in the path. What
//! Go's *client* then refuses (another scheme, no host, a port over 65535) is
//! [`GoUrl::target`]'s error, so the two failures stay apart.
//!
//! [`Url::parse`] is the strict form for configured endpoints (SQS queue URLs, endpoint
//! overrides): `http(s)://host[:port]/path`, no user info, query or fragment, visible ASCII.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// A URL as Go's `url.Parse` splits it (fragment dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoUrl {
    /// Lower-cased; empty for a relative reference.
    pub scheme: String,
    /// `scheme:opaque` URLs (`mailto:x`, `host:9091/send`).
    pub opaque: Option<String>,
    /// Decoded user name and password.
    pub user: Option<UserInfo>,
    /// `host[:port]` as written (IPv6 in brackets), percent-decoded; may be empty.
    pub host: String,
    /// The path as written (not decoded).
    pub raw_path: String,
    /// The query as written, without `?`; `Some("")` for a trailing `?`.
    pub query: Option<String>,
}

/// A decoded user name and optional password (`user:pass@`).
pub type UserInfo = (String, Option<String>);

/// A URL a client can connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub scheme: Scheme,
    /// Lower-cased host name or IP literal, without IPv6 brackets.
    pub host: String,
    pub port: u16,
    /// The request target: path (always starting with `/`) and query.
    pub path: String,
}

impl GoUrl {
    /// Go's `url.Parse`: fails only where Go fails (control characters, a scheme-less first
    /// segment with a colon, a missing `]`, a non-numeric port, a bad `%` escape, a character
    /// Go refuses in a host or in user info).
    pub fn parse(raw: &str) -> Result<GoUrl, String> {
        if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return Err("invalid control character in URL".into());
        }
        let (raw, fragment) = raw.split_once('#').unwrap_or((raw, ""));
        unescape(fragment, false)?;
        let (scheme, rest) = split_scheme(raw)?;
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q.to_string())),
            None => (rest, None),
        };
        let mut url = GoUrl {
            scheme: scheme.to_ascii_lowercase(),
            opaque: None,
            user: None,
            host: String::new(),
            raw_path: String::new(),
            query,
        };
        if !rest.starts_with('/') && !scheme.is_empty() {
            url.opaque = Some(rest.to_string());
            return Ok(url);
        }
        if !rest.starts_with('/') && rest.split('/').next().unwrap_or("").contains(':') {
            return Err("first path segment in URL cannot contain colon".into());
        }
        let mut path = rest;
        if (!scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
            let after = &rest[2..];
            let end = after.find('/').unwrap_or(after.len());
            let (user, host) = parse_authority(&after[..end])?;
            url.user = user;
            url.host = host;
            path = &after[end..];
        }
        unescape(path, false)?;
        url.raw_path = path.to_string();
        Ok(url)
    }

    /// The host without port or brackets (Go's `URL.Hostname`).
    pub fn hostname(&self) -> &str {
        let (host, _) = split_port(&self.host);
        host.strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
    }

    /// The port digits, if any (Go's `URL.Port`).
    pub fn port(&self) -> Option<&str> {
        split_port(&self.host).1.filter(|p| !p.is_empty())
    }

    /// What goes on the request line (Go's `URL.RequestURI`): the path kept as written when
    /// it is a valid encoding, else re-escaped; `/` when empty; then `?query`.
    pub fn request_uri(&self) -> String {
        let mut out = if let Some(opaque) = &self.opaque {
            opaque.clone()
        } else if self.raw_path.is_empty() {
            "/".to_string()
        } else if self.raw_path.bytes().all(valid_in_encoded_path) && valid_escapes(&self.raw_path)
        {
            self.raw_path.clone()
        } else {
            escape_path(&unescape(&self.raw_path, false).unwrap_or_default())
        };
        if let Some(q) = &self.query {
            out.push('?');
            out.push_str(q);
        }
        out
    }

    /// The connection target, refusing what Go's client refuses ("unsupported protocol
    /// scheme", "no Host in request URL", an invalid port).
    pub fn target(&self) -> Result<Url, String> {
        let scheme = match self.scheme.as_str() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            other => return Err(format!("unsupported protocol scheme {other:?}")),
        };
        if self.host.is_empty() {
            return Err("no Host in request URL".into());
        }
        let port = match self.port() {
            None => scheme.default_port(),
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| format!("invalid port {p:?}"))?,
        };
        Ok(Url {
            scheme,
            host: self.hostname().to_ascii_lowercase(),
            port,
            path: self.request_uri(),
        })
    }
}

impl Url {
    /// A configured endpoint: `http(s)://host[:port][/path]`, strictly (no user info, query
    /// or fragment; the path is visible ASCII, as it goes on the request line verbatim).
    pub fn parse(raw: &str) -> Result<Url, String> {
        let lower = raw.get(..8).unwrap_or(raw).to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return Err("must start with http:// or https://".into());
        }
        if raw.contains(['?', '#']) {
            return Err("must not have a query or fragment".into());
        }
        let go = GoUrl::parse(raw)?;
        if go.user.is_some() {
            return Err("must not carry user info".into());
        }
        if !go.raw_path.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("path must be percent-encoded ASCII".into());
        }
        if go.host.starts_with('[') != go.host.contains(']') {
            return Err(format!("bad host {:?}", go.host));
        }
        let url = go.target()?;
        if url.host.is_empty() {
            return Err(format!("bad host {:?}", go.host));
        }
        Ok(url)
    }

    /// The `Host` header value: the port only when not the scheme's default.
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == self.scheme.default_port() {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// `scheme://authority`.
    pub fn origin(&self) -> String {
        format!("{}://{}", self.scheme.as_str(), self.authority())
    }
}

/// Go's `getScheme`: letters, then letters, digits, `+-.`, up to a `:`.
fn split_scheme(raw: &str) -> Result<(&str, &str), String> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err("missing protocol scheme".into()),
            b':' => return Ok((&raw[..i], &raw[i + 1..])),
            _ => return Ok(("", raw)),
        }
    }
    Ok(("", raw))
}

/// `host` and the part after its last `:` (outside IPv6 brackets).
fn split_port(host: &str) -> (&str, Option<&str>) {
    let from = host.rfind(']').unwrap_or(0);
    match host[from..].rfind(':') {
        Some(i) => (&host[..from + i], Some(&host[from + i + 1..])),
        None => (host, None),
    }
}

fn parse_authority(auth: &str) -> Result<(Option<UserInfo>, String), String> {
    let (user, host) = match auth.rfind('@') {
        Some(i) => (Some(&auth[..i]), &auth[i + 1..]),
        None => (None, auth),
    };
    let user = match user {
        None => None,
        Some(u) => {
            let ok = |b: u8| b.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&b);
            if !u.bytes().all(ok) {
                return Err("invalid userinfo".into());
            }
            let (name, pass) = match u.split_once(':') {
                Some((n, p)) => (n, Some(unescape(p, false)?)),
                None => (u, None),
            };
            Some((unescape(name, false)?, pass))
        }
    };
    Ok((user, parse_host(host)?))
}

/// Go's `parseHost`: brackets closed, an all-digit optional port, allowed characters only.
fn parse_host(host: &str) -> Result<String, String> {
    let port_part = if host.starts_with('[') {
        let close = host.rfind(']').ok_or("missing ']' in host")?;
        &host[close + 1..]
    } else {
        host.rfind(':').map_or("", |i| &host[i..])
    };
    let port_ok = port_part.is_empty()
        || port_part
            .strip_prefix(':')
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
    if !port_ok {
        return Err(format!("invalid port {port_part:?} after host"));
    }
    unescape(host, true)
}

/// Percent-decoding; in host mode only `%25` and non-ASCII escapes, and only Go's host bytes.
fn unescape(s: &str, host: bool) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            let v = hex
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .filter(|_| hex.is_some_and(|h| h.bytes().all(|c| c.is_ascii_hexdigit())))
                .ok_or_else(|| {
                    format!(
                        "invalid URL escape {:?}",
                        s.get(i..(i + 3).min(s.len())).unwrap_or("%")
                    )
                })?;
            if host && v < 0x80 && v != b'%' {
                return Err(format!("invalid URL escape in host {s:?}"));
            }
            out.push(v);
            i += 3;
            continue;
        }
        if host && b < 0x80 && !valid_host_byte(b) {
            return Err(format!("invalid character {:?} in host name", b as char));
        }
        out.push(b);
        i += 1;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn valid_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!$&'()*+,;=:[]<>\"-_.~".contains(&b)
}

/// Go's `validEncoded` for paths.
fn valid_in_encoded_path(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!$&'()*+,;=:@[]-_.~/%".contains(&b)
}

fn valid_escapes(s: &str) -> bool {
    unescape(s, false).is_ok()
}

/// Go's `escape(path, encodePath)`.
fn escape_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~$&+,/:;=@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_strictly() {
        let u = Url::parse("http://sqs.us-east-1.localhost.localstack.cloud:4566/000000000000/q")
            .unwrap();
        assert_eq!(u.scheme, Scheme::Http);
        assert_eq!(u.host, "sqs.us-east-1.localhost.localstack.cloud");
        assert_eq!((u.port, u.path.as_str()), (4566, "/000000000000/q"));
        assert_eq!(
            u.authority(),
            "sqs.us-east-1.localhost.localstack.cloud:4566"
        );
        let u = Url::parse("https://SQS.eu-west-1.amazonaws.com").unwrap();
        assert_eq!((u.port, u.path.as_str()), (443, "/"));
        assert_eq!(u.origin(), "https://sqs.eu-west-1.amazonaws.com");
        let u = Url::parse("http://[::1]:4566/").unwrap();
        assert_eq!(
            (u.host.as_str(), u.authority().as_str()),
            ("::1", "[::1]:4566")
        );
        assert_eq!(Url::parse("https://h:443/x").unwrap().authority(), "h");
        for bad in [
            "ftp://h/",
            "h:4566",
            "http://",
            "http://h:99999/",
            "http://h:port/",
            "http://h/q?x=1",
            "http://h/with space",
            "http://h/ü",
            "http://user@h/",
            "http://[::1/",
            "http://h/#f",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    /// Each case follows Go's `url.Parse` (net/url/url.go: getScheme, parseAuthority, parseHost,
    /// unescape): ok where Go returns a URL, an error where Go returns one.
    #[test]
    fn go_leniency_and_go_errors() {
        for ok in [
            "",
            "ftp://x/",
            "proxy:9091/send",
            "http://",
            "http:///p",
            "http://h:99999/",
            "http://h:/",
            "http://u:p@h/",
            "http://h/with space",
            "http://h/ü",
            "relative/path",
            "HTTP://H/",
            "http://h/%41?x y#frag",
        ] {
            assert!(GoUrl::parse(ok).is_ok(), "{ok:?} parses in Go");
        }
        for bad in [
            "http://a b/",
            "http://h:port/",
            "http://[::1/",
            "http://h/%zz",
            "http://h/\n",
            ":x",
            "127.0.0.1:8080/x",
            "http://%41/",
            "http://h/#%zz",
            "http://u{@h/",
        ] {
            assert!(GoUrl::parse(bad).is_err(), "{bad:?} fails in Go");
        }
    }

    #[test]
    fn go_parts_and_targets() {
        let u = GoUrl::parse("HTTP://u:p%40@Proxy.Local:9091/a b?x=1#f").unwrap();
        assert_eq!(u.scheme, "http");
        assert_eq!(u.user, Some(("u".into(), Some("p@".into()))));
        assert_eq!((u.hostname(), u.port()), ("Proxy.Local", Some("9091")));
        assert_eq!(u.request_uri(), "/a%20b?x=1");
        let t = u.target().unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("proxy.local", 9091, "/a%20b?x=1")
        );
        assert_eq!(
            GoUrl::parse("http://h").unwrap().target().unwrap().path,
            "/"
        );
        assert_eq!(
            GoUrl::parse("http://h:/").unwrap().target().unwrap().port,
            80
        );
        assert_eq!(
            GoUrl::parse("https://[::1]:8443/")
                .unwrap()
                .target()
                .unwrap()
                .host,
            "::1"
        );
        assert!(GoUrl::parse("ftp://h/").unwrap().target().is_err());
        assert!(GoUrl::parse("http:///p").unwrap().target().is_err());
        assert!(GoUrl::parse("http://h:99999/").unwrap().target().is_err());
        assert!(GoUrl::parse("proxy:9091/send").unwrap().target().is_err());
    }
}
