//! Absolute `http(s)://` URLs as SQS uses them: queue URLs and endpoint overrides.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

/// An absolute `http(s)://host[:port]/path` URL (no query or fragment: SQS never needs one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub scheme: Scheme,
    /// Without brackets for IPv6.
    pub host: String,
    pub port: u16,
    pub path: String,
}

impl Url {
    pub fn parse(url: &str) -> Result<Url, String> {
        let (scheme, rest) = if let Some(r) = url.strip_prefix("http://") {
            (Scheme::Http, r)
        } else if let Some(r) = url.strip_prefix("https://") {
            (Scheme::Https, r)
        } else {
            return Err("must start with http:// or https://".to_string());
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if path.contains(['?', '#']) {
            return Err("must not have a query or fragment".to_string());
        }
        // The path goes on the request line verbatim: only visible ASCII is allowed there.
        if !path.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("path must be percent-encoded ASCII".to_string());
        }
        let default_port = match scheme {
            Scheme::Http => 80,
            Scheme::Https => 443,
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let close = v6.find(']').ok_or("unclosed [ in host")?;
            let port = match &v6[close + 1..] {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or("junk after ]")?),
            };
            (&v6[..close], port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        let port = match port {
            None => default_port,
            Some(p) => p.parse::<u16>().map_err(|_| format!("bad port {p:?}"))?,
        };
        if host.is_empty() || host.contains(['@', ' ']) {
            return Err(format!("bad host {host:?}"));
        }
        Ok(Url {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
            path: path.to_string(),
        })
    }

    /// The `Host` header value: port only when not the scheme's default (as botocore does).
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default_port = match self.scheme {
            Scheme::Http => 80,
            Scheme::Https => 443,
        };
        if self.port == default_port {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    pub fn origin(&self) -> String {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        format!("{scheme}://{}", self.authority())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_queue_urls_and_endpoints() {
        let u = Url::parse("http://sqs.us-east-1.localhost.localstack.cloud:4566/000000000000/q")
            .unwrap();
        assert_eq!(u.scheme, Scheme::Http);
        assert_eq!(u.host, "sqs.us-east-1.localhost.localstack.cloud");
        assert_eq!(u.port, 4566);
        assert_eq!(u.path, "/000000000000/q");
        assert_eq!(
            u.authority(),
            "sqs.us-east-1.localhost.localstack.cloud:4566"
        );

        let u = Url::parse("https://SQS.eu-west-1.amazonaws.com").unwrap();
        assert_eq!((u.port, u.path.as_str()), (443, "/"));
        assert_eq!(u.authority(), "sqs.eu-west-1.amazonaws.com");
        assert_eq!(u.origin(), "https://sqs.eu-west-1.amazonaws.com");

        let u = Url::parse("http://[::1]:4566/").unwrap();
        assert_eq!(u.host, "::1");
        assert_eq!(u.authority(), "[::1]:4566");
        assert_eq!(Url::parse("https://h:443/x").unwrap().authority(), "h");
    }

    #[test]
    fn rejects_what_cannot_go_on_a_request_line() {
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
        ] {
            assert!(Url::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
