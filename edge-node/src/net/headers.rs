//! The request head Go's `net/http` client writes for a guest's request
//! (net/http/request.go `Request.write`, header.go, transport.go), and Go's header-name form.
use super::message::Request;
use super::url::Url;

/// Go's default `User-Agent` (net/http/request.go `defaultUserAgent`).
pub const GO_USER_AGENT: &str = "Go-http-client/1.1";

/// Headers the client sets itself; the guest's copies are ignored, as Go's
/// `reqWriteExcludeHeader` does (User-Agent is used when the guest sets one).
const EXCLUDED: [&str; 5] = [
    "Host",
    "User-Agent",
    "Content-Length",
    "Transfer-Encoding",
    "Trailer",
];

/// Go's `textproto.CanonicalMIMEHeaderKey`: `content-type` → `Content-Type`; a name holding
/// a byte that is not a token character is returned unchanged.
pub fn canonical_key(name: &str) -> String {
    if !name.bytes().all(is_token_byte) {
        return name.to_string();
    }
    let mut upper = true;
    name.bytes()
        .map(|b| {
            let c = if upper {
                b.to_ascii_uppercase()
            } else {
                b.to_ascii_lowercase()
            };
            upper = b == b'-';
            c as char
        })
        .collect()
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Go's `httpguts.ValidHeaderFieldValue`: no control bytes except tab.
fn valid_value(v: &str) -> bool {
    v.bytes().all(|b| b == b'\t' || !(b < 0x20 || b == 0x7f))
}

/// The request bytes Go would send, or Go's error for an invalid header (a network error).
pub fn encode_request(req: &Request, target: &Url) -> Result<Vec<u8>, String> {
    let mut guest: Vec<(String, &str)> = Vec::with_capacity(req.headers.len());
    for (name, value) in &req.headers {
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(format!("invalid header field name {name:?}"));
        }
        if !valid_value(value) {
            return Err(format!("invalid header field value for {name:?}"));
        }
        guest.push((canonical_key(name), value.as_str()));
    }
    // Go's client turns URL user info into Basic credentials unless the guest set its own.
    let basic = req.url.user.as_ref().map(|(user, pass)| {
        let creds = format!("{user}:{}", pass.as_deref().unwrap_or(""));
        format!("Basic {}", base64(creds.as_bytes()))
    });
    if let Some(basic) = &basic {
        if !guest.iter().any(|(k, _)| k == "Authorization") {
            guest.push(("Authorization".to_string(), basic));
        }
    }
    // Go writes the header map sorted by name; a stable sort keeps repeated values in order.
    guest.sort_by(|a, b| a.0.cmp(&b.0));
    let find = |key: &str| guest.iter().find(|(k, _)| k == key).map(|(_, v)| *v);
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\n",
        req.method,
        target.path,
        host_header(req)
    );
    head.push_str(&format!(
        "User-Agent: {}\r\n",
        find("User-Agent").unwrap_or(GO_USER_AGENT)
    ));
    if !req.body.is_empty() || matches!(req.method, "POST" | "PUT" | "PATCH") {
        head.push_str(&format!("Content-Length: {}\r\n", req.body.len()));
    }
    for (k, v) in guest
        .iter()
        .filter(|(k, _)| !EXCLUDED.contains(&k.as_str()))
    {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut wire = head.into_bytes();
    wire.extend_from_slice(&req.body);
    Ok(wire)
}

/// Go sends the URL's host as written (a default port stays, an empty one goes).
fn host_header(req: &Request) -> &str {
    req.url.host.strip_suffix(':').unwrap_or(&req.url.host)
}

/// Whether the guest asked to close the connection after this exchange.
pub fn wants_close(req: &Request) -> bool {
    req.headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("connection")
            && v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close"))
    })
}

/// Standard base64 with padding (RFC 4648 §4), for Basic credentials from URL user info.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for group in data.chunks(3) {
        let b = [
            group[0],
            *group.get(1).unwrap_or(&0),
            *group.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= group.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::url::GoUrl;

    fn request(url: &str, headers: &[(&str, &str)], method: &'static str, body: &[u8]) -> Request {
        Request {
            method,
            url: GoUrl::parse(url).expect("url"),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.to_vec(),
        }
    }

    fn wire(req: &Request) -> String {
        let target = req.url.target().expect("target");
        String::from_utf8(encode_request(req, &target).expect("valid")).expect("utf-8")
    }

    #[test]
    fn canonical_keys_as_go() {
        assert_eq!(canonical_key("content-type"), "Content-Type");
        assert_eq!(canonical_key("X-AMZ-id"), "X-Amz-Id");
        assert_eq!(canonical_key("x_y"), "X_y");
        assert_eq!(canonical_key("bad key"), "bad key");
    }

    #[test]
    fn go_request_head() {
        let req = request(
            "http://u:p@h.test:80/a?b=1",
            &[
                ("x-b", "2"),
                ("host", "evil"),
                ("content-length", "9"),
                ("x-a", "1"),
            ],
            "POST",
            b"",
        );
        assert_eq!(
            wire(&req),
            "POST /a?b=1 HTTP/1.1\r\nHost: h.test:80\r\nUser-Agent: Go-http-client/1.1\r\n\
             Content-Length: 0\r\nAuthorization: Basic dTpw\r\nX-A: 1\r\nX-B: 2\r\n\r\n"
        );
        let req = request("http://h/", &[("User-Agent", "mine")], "GET", b"");
        assert_eq!(
            wire(&req),
            "GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: mine\r\n\r\n"
        );
        let bad = request("http://h/", &[("a b", "1")], "GET", b"");
        assert!(encode_request(&bad, &bad.url.target().expect("t")).is_err());
        let bad = request("http://h/", &[("a", "x\ry")], "GET", b"");
        assert!(encode_request(&bad, &bad.url.target().expect("t")).is_err());
    }

    #[test]
    fn base64_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
    }
}
