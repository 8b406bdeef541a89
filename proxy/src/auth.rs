//! Bearer tokens for `POST /send` (and `/metrics` with `--auth-metrics`): the token file, how
//! a request's `Authorization` header is checked, and the 401 answer.
//!
//! The file holds one token per line (several, so a new one can be rolled out before the old
//! one is removed); blank lines and lines starting with `#` are ignored. Tokens are kept only
//! as SHA-256 digests and a presented token is hashed and compared with every one of them
//! without an early exit, so the time a check takes says nothing about how much of a token
//! matched, nor which one.
use crate::response::Response;
use sha2::{Digest, Sha256};
use std::path::Path;

/// The tokens of one reading of the token file.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for Tokens {
    // Never print tokens (or their digests) in logs or panics.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} tokens)", self.digests.len())
    }
}

/// The outcome of checking a request's `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Allowed,
    /// No `Authorization: Bearer ...` header at all.
    Missing,
    /// A bearer token that is not in the file.
    Invalid,
}

impl Tokens {
    /// Reads the token file; an error says why (unreadable, no token in it, a bad line).
    pub fn load(path: &Path) -> Result<Tokens, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read token file {}: {e}", path.display()))?;
        Tokens::parse(&text).map_err(|e| format!("token file {}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Tokens, String> {
        let mut digests = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let token = line.trim();
            if token.is_empty() || token.starts_with('#') {
                continue;
            }
            // RFC 6750 §2.1 b64token characters; anything else could never be sent.
            let valid = token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b));
            if !valid {
                return Err(format!(
                    "line {}: a token may hold only letters, digits and -._~+/= (RFC 6750 b64token)",
                    n + 1
                ));
            }
            digests.push(digest(token.as_bytes()));
        }
        if digests.is_empty() {
            return Err("no token in it (one per line; '#' starts a comment)".to_string());
        }
        Ok(Tokens { digests })
    }

    pub fn len(&self) -> usize {
        self.digests.len()
    }

    /// Checks the value of an `Authorization` header (RFC 6750 §2.1: scheme `Bearer`, case
    /// insensitive, one space, the token).
    pub fn check(&self, authorization: Option<&str>) -> Check {
        let Some(presented) = authorization.and_then(bearer_token) else {
            return Check::Missing;
        };
        let presented = digest(presented.as_bytes());
        let mut matched = 0u8;
        for known in &self.digests {
            let diff = known
                .iter()
                .zip(presented.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b));
            matched |= u8::from(diff == 0);
        }
        if matched == 1 {
            Check::Allowed
        } else {
            Check::Invalid
        }
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn bearer_token(value: &str) -> Option<&str> {
    let value = value.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim_start();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The 401 answer (RFC 6750 §3): `WWW-Authenticate: Bearer`, with `error="invalid_token"`
/// when a token was presented but is not known.
pub fn unauthorized(check: Check) -> Response {
    let (challenge, message) = match check {
        Check::Invalid => ("Bearer error=\"invalid_token\"", "invalid bearer token"),
        Check::Missing | Check::Allowed => (
            "Bearer",
            "authorization required: send Authorization: Bearer TOKEN",
        ),
    };
    Response::error(401, message).with_header("WWW-Authenticate", challenge.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_blank_lines_and_several_tokens() {
        let t = Tokens::parse("# rotated 2026-12\n\n  old-token  \nnew.token_2\n").unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t.check(Some("Bearer old-token")), Check::Allowed);
        assert_eq!(t.check(Some("bearer new.token_2")), Check::Allowed);
        assert_eq!(t.check(Some("Bearer # rotated 2026-12")), Check::Invalid);
    }

    #[test]
    fn wrong_missing_and_malformed_headers() {
        let t = Tokens::parse("secret\n").unwrap();
        assert_eq!(t.check(None), Check::Missing);
        assert_eq!(t.check(Some("Basic c2VjcmV0")), Check::Missing);
        assert_eq!(t.check(Some("Bearer")), Check::Missing);
        assert_eq!(t.check(Some("secret")), Check::Missing);
        assert_eq!(t.check(Some("Bearer secre")), Check::Invalid);
        assert_eq!(t.check(Some("Bearer secrets")), Check::Invalid);
        assert_eq!(t.check(Some("Bearer SECRET")), Check::Invalid);
    }

    #[test]
    fn empty_and_bad_files_are_refused() {
        assert!(Tokens::parse("").unwrap_err().contains("no token"));
        assert!(Tokens::parse("# only a comment\n\n").is_err());
        assert!(Tokens::parse("two words\n").unwrap_err().contains("line 1"));
        assert!(Tokens::load(Path::new("/nonexistent/tokens")).is_err());
    }

    #[test]
    fn the_answer_is_401_with_a_challenge_and_never_shows_tokens() {
        let r = unauthorized(Check::Missing);
        assert_eq!(r.status, 401);
        assert!(r
            .headers
            .contains(&("WWW-Authenticate", "Bearer".to_string())));
        let r = unauthorized(Check::Invalid);
        assert!(r.headers[0].1.starts_with("Bearer error="));
        let t = Tokens::parse("secret\n").unwrap();
        assert!(!format!("{t:?}").contains("secret"));
    }
}
