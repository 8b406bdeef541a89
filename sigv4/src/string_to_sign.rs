//! Step 2 of SigV4: the string to sign.
//!
//! ```text
//! AWS4-HMAC-SHA256\n<X-Amz-Date>\n<date>/<region>/<service>/aws4_request\nhex(sha256(CR))
//! ```
use std::fmt;

use sha2::{Digest, Sha256};

use crate::canonical_request::{hex, CanonicalRequest};

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// `<date>/<region>/<service>/aws4_request`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope {
    pub date: String,
    pub region: String,
    pub service: String,
}

impl fmt::Display for CredentialScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/aws4_request",
            self.date, self.region, self.service
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringToSign {
    pub timestamp: String,
    pub scope: CredentialScope,
    pub canonical_request_hash: String,
}

impl StringToSign {
    pub fn new(timestamp: &str, scope: CredentialScope, canonical_request: &str) -> StringToSign {
        StringToSign {
            timestamp: timestamp.to_string(),
            scope,
            canonical_request_hash: hex(&Sha256::digest(canonical_request.as_bytes())),
        }
    }

    /// As [`StringToSign::new`] with the canonical request's text, hashed as it is written
    /// out rather than written to a string first.
    pub fn for_request(
        timestamp: &str,
        scope: CredentialScope,
        canonical_request: &CanonicalRequest,
    ) -> StringToSign {
        let mut hasher = Hashing(Sha256::new());
        // Writing to a hasher cannot fail.
        let _ = fmt::write(&mut hasher, format_args!("{canonical_request}"));
        StringToSign {
            timestamp: timestamp.to_string(),
            scope,
            canonical_request_hash: hex(&hasher.0.finalize()),
        }
    }
}

/// Text written to it goes into the hash.
struct Hashing(Sha256);

impl fmt::Write for Hashing {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.update(s.as_bytes());
        Ok(())
    }
}

impl fmt::Display for StringToSign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{ALGORITHM}\n{}\n{}\n{}",
            self.timestamp, self.scope, self.canonical_request_hash
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_the_request_as_written_equals_hashing_its_text() {
        let headers = [
            ("Host".to_string(), "example.amazonaws.com".to_string()),
            ("X-Amz-Date".to_string(), "20150830T123600Z".to_string()),
            ("My-Header1".to_string(), "  a   b  ".to_string()),
        ];
        let request = CanonicalRequest::new("GET", "/a b", &[("k", "v")], &headers, b"body");
        let scope = || CredentialScope {
            date: "20150830".into(),
            region: "us-east-1".into(),
            service: "service".into(),
        };
        assert_eq!(
            StringToSign::for_request("20150830T123600Z", scope(), &request),
            StringToSign::new("20150830T123600Z", scope(), &request.to_string())
        );
    }
}
