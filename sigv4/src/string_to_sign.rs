//! Step 2 of SigV4: the string to sign.
//!
//! ```text
//! AWS4-HMAC-SHA256\n<X-Amz-Date>\n<date>/<region>/<service>/aws4_request\nhex(sha256(CR))
//! ```
use std::fmt;

use sha2::{Digest, Sha256};

use crate::canonical_request::hex;

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
