//! Following redirects the way Go's `http.Client` (and so Bacalhau's host) does
//! (net/http/client.go `Client.do`, `redirectBehavior`, `makeHeadersCopier`):
//! - 301/302/303 turn a request other than GET/HEAD into a body-less GET; 307/308 repeat the
//!   method and the original body; a 3xx without `Location` is the final answer;
//! - every hop carries the *initial* request's headers, minus `Authorization`, `Cookie` and
//!   the like once the chain leaves the initial host (and its subdomains), minus the body's
//!   `Content-*` headers when the body is dropped, plus `Referer` (not from https to http);
//! - the 10th redirect answer is an error ("stopped after 10 redirects"), not followed.
//!
//! Like Bacalhau, only the first URL is checked against the job's network policy.
use super::message::{Failure, Request, Response};
use super::url::GoUrl;

/// Go's default `CheckRedirect` stops when this many requests have been made.
pub const MAX_REDIRECTS: usize = 10;

const SENSITIVE: [&str; 6] = [
    "authorization",
    "www-authenticate",
    "cookie",
    "cookie2",
    "proxy-authorization",
    "proxy-authenticate",
];
const BODY_HEADERS: [&str; 4] = [
    "content-encoding",
    "content-language",
    "content-location",
    "content-type",
];

/// The request to make after `resp` answered `current` (the chain began with `initial`), or
/// `None` when `resp` is the final answer.
pub fn follow(
    initial: &Request,
    current: &Request,
    resp: &Response,
) -> Result<Option<Request>, Failure> {
    let include_body = match resp.status {
        301..=303 => false,
        307 | 308 => true,
        _ => return Ok(None),
    };
    let Some((_, location)) = resp
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("location"))
    else {
        return Ok(None);
    };
    let url = resolve(&current.url, location.trim())
        .map_err(|e| Failure::Network(format!("failed to parse Location header: {e}")))?;
    let method = if include_body || matches!(current.method, "GET" | "HEAD") {
        current.method
    } else {
        "GET"
    };
    let strip_sensitive = !same_site(&initial.url, &url);
    let mut headers: Vec<(String, String)> = initial
        .headers
        .iter()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            let k = k.as_str();
            let sensitive = strip_sensitive && SENSITIVE.contains(&k);
            let body_header = !include_body && BODY_HEADERS.contains(&k);
            !sensitive && !body_header && k != "referer"
        })
        .cloned()
        .collect();
    if let Some(referer) = referer(&current.url, &url) {
        headers.push(("Referer".to_string(), referer));
    }
    let body = if include_body {
        initial.body.clone()
    } else {
        Vec::new()
    };
    Ok(Some(Request {
        method,
        url,
        headers,
        body,
    }))
}

/// Go's `shouldCopyHeaderOnRedirect`: same host name, or a subdomain of the initial one.
fn same_site(initial: &GoUrl, next: &GoUrl) -> bool {
    let i = initial.hostname().to_ascii_lowercase();
    let n = next.hostname().to_ascii_lowercase();
    n == i || n.ends_with(&format!(".{i}"))
}

/// Go's `refererForURL`: the previous URL without user info; none from https to http.
fn referer(last: &GoUrl, next: &GoUrl) -> Option<String> {
    if last.scheme == "https" && next.scheme == "http" {
        return None;
    }
    Some(format!(
        "{}://{}{}",
        last.scheme,
        last.host,
        last.request_uri()
    ))
}

/// Go's `URL.ResolveReference` for a `Location` value (RFC 3986 §5.2).
fn resolve(base: &GoUrl, location: &str) -> Result<GoUrl, String> {
    let loc = GoUrl::parse(location)?;
    if !loc.scheme.is_empty() {
        return Ok(loc);
    }
    let mut out = GoUrl {
        scheme: base.scheme.clone(),
        ..loc.clone()
    };
    if location.starts_with("//") {
        return Ok(out);
    }
    out.user = base.user.clone();
    out.host = base.host.clone();
    if loc.raw_path.is_empty() {
        out.raw_path = base.raw_path.clone();
        if loc.query.is_none() {
            out.query = base.query.clone();
        }
        return Ok(out);
    }
    let merged = if loc.raw_path.starts_with('/') {
        loc.raw_path.clone()
    } else {
        let dir = &base.raw_path[..base.raw_path.rfind('/').map_or(0, |i| i + 1)];
        let dir = if dir.is_empty() { "/" } else { dir };
        format!("{dir}{}", loc.raw_path)
    };
    out.raw_path = remove_dot_segments(&merged);
    Ok(out)
}

fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *seg {
            "." if last => out.push(""),
            "." => {}
            ".." => {
                out.pop();
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &'static str) -> Request {
        Request {
            method,
            url: GoUrl::parse("http://a.test:8080/x/send").expect("url"),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Authorization".into(), "secret".into()),
            ],
            body: b"{}".to_vec(),
        }
    }

    fn resp(status: u16, location: &str) -> Response {
        Response {
            status,
            headers: vec![("Location".into(), location.into())],
            body: Vec::new(),
        }
    }

    fn next(r: &Request, status: u16, location: &str) -> Request {
        follow(r, r, &resp(status, location))
            .expect("valid")
            .expect("redirect")
    }

    #[test]
    fn see_other_becomes_get_and_307_keeps_post() {
        let n = next(&req("POST"), 303, "/done");
        assert_eq!(
            (n.method, n.url.request_uri().as_str(), n.body.len()),
            ("GET", "/done", 0)
        );
        let names: Vec<&str> = n.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["Authorization", "Referer"]);
        assert_eq!(n.headers[1].1, "http://a.test:8080/x/send");
        let n = next(&req("POST"), 307, "http://b.test/y");
        assert_eq!(
            (n.method, n.url.hostname(), n.body.as_slice()),
            ("POST", "b.test", &b"{}"[..])
        );
        assert!(
            !n.headers.iter().any(|(k, _)| k == "Authorization"),
            "other host"
        );
        let n = next(&req("GET"), 302, "other/../z?q");
        assert_eq!(
            (n.url.port(), n.url.request_uri().as_str()),
            (Some("8080"), "/x/z?q")
        );
        assert_eq!(next(&req("GET"), 301, "//c.test/p").url.host, "c.test");
        assert!(follow(&req("GET"), &req("GET"), &resp(200, "/x"))
            .expect("ok")
            .is_none());
        let bare = Response {
            status: 302,
            headers: vec![],
            body: vec![],
        };
        assert!(follow(&req("GET"), &req("GET"), &bare)
            .expect("ok")
            .is_none());
        assert!(follow(&req("GET"), &req("GET"), &resp(302, "http://a b/")).is_err());
    }
}
