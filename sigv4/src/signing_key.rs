//! Step 3 of SigV4: the signing key, `HMAC` chained over date, region, service and
//! `aws4_request`, and the final signature.
//!
//! Deriving the key costs four HMACs; it only changes once a day per region/service, so
//! [`SigningKeyCache`] keeps the last one (a client talks to one region and service).
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::canonical_request::hex;

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")
pub fn derive_signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// hex(HMAC(kSigning, string_to_sign))
pub fn signature(signing_key: &[u8; 32], string_to_sign: &str) -> String {
    hex(&hmac(signing_key, string_to_sign.as_bytes()))
}

/// The last derived key, keyed by date/region/service and a hash of the secret (so rotated
/// credentials never reuse a stale key, and the secret itself is not kept twice).
#[derive(Default)]
pub struct SigningKeyCache {
    entry: Option<CachedKey>,
    derivations: u64,
}

struct CachedKey {
    secret_hash: [u8; 32],
    date: String,
    region: String,
    service: String,
    key: [u8; 32],
}

impl std::fmt::Debug for SigningKeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyCache")
            .field("derivations", &self.derivations)
            .finish_non_exhaustive()
    }
}

impl SigningKeyCache {
    pub fn new() -> SigningKeyCache {
        SigningKeyCache::default()
    }

    pub fn get(&mut self, secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
        let secret_hash: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        if let Some(e) = &self.entry {
            if e.secret_hash == secret_hash
                && e.date == date
                && e.region == region
                && e.service == service
            {
                return e.key;
            }
        }
        let key = derive_signing_key(secret, date, region, service);
        self.derivations += 1;
        self.entry = Some(CachedKey {
            secret_hash,
            date: date.to_string(),
            region: region.to_string(),
            service: service.to_string(),
            key,
        });
        key
    }

    /// How many times a key was actually derived (for tests of the cache).
    pub fn derivations(&self) -> u64 {
        self.derivations
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_the_documented_example_key() {
        // AWS docs' example: secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 20150830,
        // us-east-1, iam.
        let key = derive_signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20150830",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex(&key),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }

    #[test]
    fn cache_reuses_until_date_region_service_or_secret_change() {
        let mut cache = SigningKeyCache::new();
        let a = cache.get("s", "20240101", "us-east-1", "sqs");
        assert_eq!(cache.get("s", "20240101", "us-east-1", "sqs"), a);
        assert_eq!(cache.derivations(), 1);
        assert_ne!(cache.get("s", "20240102", "us-east-1", "sqs"), a);
        assert_ne!(cache.get("s", "20240102", "eu-west-1", "sqs"), a);
        assert_ne!(cache.get("s2", "20240102", "eu-west-1", "sqs"), a);
        assert_eq!(cache.derivations(), 4);
        assert_eq!(
            cache.get("s", "20240101", "us-east-1", "sqs"),
            derive_signing_key("s", "20240101", "us-east-1", "sqs")
        );
    }
}
