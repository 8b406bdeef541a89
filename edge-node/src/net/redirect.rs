//! Following redirects the way Go's `http.Client` (and so Bacalhau's host) does: up to 10;
//! 301/302/303 turn into a body-less GET (HEAD stays HEAD), 307/308 repeat the method and body.
//! Like Bacalhau, only the first URL is checked against the job's network policy.
use super::client::{Request, Response};
use super::url::Url;

/// Go's client gives up after this many redirects.
pub const MAX_REDIRECTS: usize = 10;

/// The request to make after `resp`, or `None` if `resp` is the final answer.
pub fn follow(req: &Request, resp: &Response) -> Option<Request> {
    if !matches!(resp.status, 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = resp
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("location"))?
        .1
        .trim();
    let url = resolve(&req.url, location)?;
    let keep_method = matches!(resp.status, 307 | 308) || req.method == "HEAD";
    let (method, body) = if keep_method {
        (req.method, req.body.clone())
    } else {
        ("GET", Vec::new())
    };
    let headers = req
        .headers
        .iter()
        .filter(|(k, _)| {
            // A body-less retry must not claim the old body's type; a new host gets no Host pin.
            let stale_type = body.is_empty() && k.eq_ignore_ascii_case("content-type");
            !stale_type && !k.eq_ignore_ascii_case("host")
        })
        .cloned()
        .collect();
    Some(Request {
        method,
        url,
        headers,
        body,
    })
}

/// `Location` may be absolute (`http://h/p`), host-relative (`/p`) or path-relative (`p`).
fn resolve(base: &Url, location: &str) -> Option<Url> {
    if location.contains("://") {
        return Url::parse(location);
    }
    let path = if location.starts_with('/') {
        location.to_string()
    } else {
        let dir = base.path.split('?').next().unwrap_or("/");
        let dir = &dir[..dir.rfind('/').map_or(0, |i| i + 1)];
        format!("{dir}{location}")
    };
    Some(Url {
        path,
        ..base.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &'static str) -> Request {
        Request {
            method,
            url: Url::parse("http://a.test:8080/x/send").expect("url"),
            headers: vec![("Content-Type".into(), "application/json".into())],
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

    #[test]
    fn see_other_becomes_get_and_307_keeps_post() {
        let next = follow(&req("POST"), &resp(303, "/done")).expect("redirect");
        assert_eq!(
            (next.method, next.url.path.as_str(), next.body.len()),
            ("GET", "/done", 0)
        );
        assert!(next.headers.is_empty());
        let next = follow(&req("POST"), &resp(307, "http://b.test/y")).expect("redirect");
        assert_eq!(
            (next.method, next.url.host.as_str(), next.body.as_slice()),
            ("POST", "b.test", &b"{}"[..])
        );
        let next = follow(&req("GET"), &resp(302, "other")).expect("redirect");
        assert_eq!((next.url.port, next.url.path.as_str()), (8080, "/x/other"));
        assert!(follow(&req("GET"), &resp(200, "/x")).is_none());
        assert!(follow(
            &req("GET"),
            &Response {
                status: 302,
                headers: vec![],
                body: vec![]
            }
        )
        .is_none());
    }
}
