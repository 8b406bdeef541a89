//! Step 1 of SigV4: the canonical request.
//!
//! ```text
//! METHOD\nCanonicalURI\nCanonicalQuery\nCanonicalHeaders\n\nSignedHeaders\nPayloadHash
//! ```
//! Rules for non-S3 services (what botocore's `SigV4Auth` does, which we must match byte for
//! byte): the path is normalised (empty and `.` segments dropped, `..` pops, trailing `/` kept)
//! and then URI-encoded *again* with `/` kept, so `%20` on the wire becomes `%2520`; query
//! pairs are encoded and sorted by key, then value; header names are lower-cased, values are
//! trimmed with inner whitespace runs collapsed, repeated names joined with `,` in order.
use std::fmt;

use sha2::{Digest, Sha256};

use crate::uri_encode::{uri_encode, Slash};

/// Headers botocore never signs: proxies and clients add or rewrite them in flight.
const UNSIGNED_HEADERS: [&str; 4] = [
    "expect",
    "transfer-encoding",
    "user-agent",
    "x-amzn-trace-id",
];

pub mod header {
    pub const HOST: &str = "host";
    pub const X_AMZ_DATE: &str = "x-amz-date";
    pub const X_AMZ_SECURITY_TOKEN: &str = "x-amz-security-token";
    pub const X_AMZ_CONTENT_SHA256: &str = "x-amz-content-sha256";
    pub const AUTHORIZATION: &str = "authorization";
}

/// The canonical request; `Display` is the exact text that gets hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalRequest {
    pub method: String,
    pub uri: String,
    pub query: String,
    /// Sorted, lower-case names with their canonical (trimmed, joined) values.
    pub headers: Vec<(String, String)>,
    pub payload_hash: String,
}

impl CanonicalRequest {
    /// `headers` are the request headers as they will be sent, including the ones the signer
    /// adds (`host`, `x-amz-date`, `x-amz-security-token`).
    pub fn new(
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        headers: &[(String, String)],
        body: &[u8],
    ) -> CanonicalRequest {
        let pairs = headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        CanonicalRequest::from_pairs(method, path, query, pairs, body)
    }

    /// [`CanonicalRequest::new`] with the headers as name/value pairs (the signer's are the
    /// caller's and its own, chained without copying either).
    pub fn from_pairs<'h>(
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        headers: impl Iterator<Item = (&'h str, &'h str)> + Clone,
        body: &[u8],
    ) -> CanonicalRequest {
        let uri = uri_encode(&normalize_path(path), Slash::Keep);
        // A caller-supplied x-amz-content-sha256 is the payload hash (first value, verbatim),
        // as in botocore; otherwise hash the body.
        let payload_hash = headers
            .clone()
            .find(|(n, _)| n.eq_ignore_ascii_case(header::X_AMZ_CONTENT_SHA256))
            .map(|(_, v)| v.to_string())
            .unwrap_or_else(|| hex(&Sha256::digest(body)));
        CanonicalRequest {
            method: method.to_ascii_uppercase(),
            uri,
            query: canonical_query(query),
            headers: canonical_headers(headers),
            payload_hash,
        }
    }

    /// `host;x-amz-date;...`
    pub fn signed_headers(&self) -> String {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        names.join(";")
    }
}

impl fmt::Display for CanonicalRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.method)?;
        writeln!(f, "{}", self.uri)?;
        writeln!(f, "{}", self.query)?;
        for (name, value) in &self.headers {
            writeln!(f, "{name}:{value}")?;
        }
        writeln!(f)?;
        writeln!(f, "{}", self.signed_headers())?;
        write!(f, "{}", self.payload_hash)
    }
}

/// RFC 3986 §5.2.4 dot-segment removal plus the AWS rule that empty segments (`//`) collapse.
/// A trailing `/` survives unless nothing is left; an empty path is `/`.
pub fn normalize_path(path: &str) -> String {
    if path.is_empty() {
        return "/".to_string();
    }
    let mut kept: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            s => kept.push(s),
        }
    }
    let lead = if path.starts_with('/') { "/" } else { "" };
    let trail = if path.ends_with('/') && !kept.is_empty() {
        "/"
    } else {
        ""
    };
    format!("{lead}{}{trail}", kept.join("/"))
}

/// Encodes each key and value, sorts by encoded key then encoded value, joins `k=v` with `&`.
pub fn canonical_query(query: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (uri_encode(k, Slash::Encode), uri_encode(v, Slash::Encode)))
        .collect();
    pairs.sort();
    let joined: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    joined.join("&")
}

fn canonical_headers<'h>(
    headers: impl Iterator<Item = (&'h str, &'h str)>,
) -> Vec<(String, String)> {
    // Group by lower-case name, joining values with `,` in the order they were given. Names
    // are then unique, so the sort needs no tie-break.
    let mut grouped: Vec<(String, String)> = Vec::with_capacity(8);
    for (name, value) in headers {
        let lname = name.trim().to_ascii_lowercase();
        if UNSIGNED_HEADERS.contains(&lname.as_str()) {
            continue;
        }
        match grouped.iter_mut().find(|(n, _)| *n == lname) {
            Some((_, values)) => {
                values.push(',');
                push_trimmed(values, value);
            }
            None => {
                let mut values = String::with_capacity(value.len());
                push_trimmed(&mut values, value);
                grouped.push((lname, values));
            }
        }
    }
    grouped.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    grouped
}

/// Trims and collapses whitespace runs to one space. "Whitespace" is Python's `str.isspace`
/// set (what botocore's `' '.join(value.split())` uses): Unicode White_Space plus the ASCII
/// information separators U+001C..U+001F.
pub fn trim_all(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    push_trimmed(&mut out, value);
    out
}

/// [`trim_all`] appending to `out` (a header's values are joined in place).
fn push_trimmed(out: &mut String, value: &str) {
    let is_space = |c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c);
    for (i, word) in value.split(is_space).filter(|w| !w.is_empty()).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0x0f)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_normalisation_follows_rfc3986_and_collapses_slashes() {
        for (input, want) in [
            ("", "/"),
            ("/", "/"),
            ("//", "/"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("/./", "/"),
            ("/example/.", "/example"),
            ("//example//", "/example/"),
            ("/a/./b/../c/", "/a/c/"),
            ("/../../a", "/a"),
        ] {
            assert_eq!(normalize_path(input), want, "input {input:?}");
        }
    }

    #[test]
    fn query_is_encoded_then_sorted_by_key_then_value() {
        let q = [
            ("b", "2"),
            ("a", "z"),
            ("a", "y"),
            ("A", ""),
            ("sp ace", "x/y"),
        ];
        assert_eq!(canonical_query(&q), "A=&a=y&a=z&b=2&sp%20ace=x%2Fy");
    }

    #[test]
    fn headers_are_lowercased_trimmed_joined_and_sorted() {
        let h: Vec<(String, String)> = [
            ("My-Header1", "  a   b   c  "),
            ("Host", "example.amazonaws.com"),
            ("my-header1", "\tsecond"),
            ("User-Agent", "not signed"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let cr = CanonicalRequest::new("get", "/", &[], &h, b"");
        assert_eq!(
            cr.headers,
            vec![
                ("host".to_string(), "example.amazonaws.com".to_string()),
                ("my-header1".to_string(), "a b c,second".to_string()),
            ]
        );
        assert_eq!(cr.signed_headers(), "host;my-header1");
        assert_eq!(cr.method, "GET");
        assert_eq!(
            cr.payload_hash,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
