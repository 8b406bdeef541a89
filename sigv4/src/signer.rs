//! Header signing: puts the steps together and says which headers to add to the request.
//!
//! What is signed is what botocore's `SigV4Auth.add_auth` signs for a non-S3 service:
//! every header given (except the few in `canonical_request::UNSIGNED_HEADERS`), plus `host`
//! when missing, `x-amz-date`, and `x-amz-security-token` for session credentials. Any
//! `authorization` or `x-amz-date` the caller passed is replaced, and so is
//! `x-amz-security-token` when the credentials carry a token.
//! The payload hash is not sent as a header (only S3 wants `x-amz-content-sha256`).
//!
//! One deliberate difference from botocore: when the request carries a `Date` header,
//! botocore rewrites it and omits `X-Amz-Date`; we always sign with `X-Amz-Date` and leave
//! `Date` as given (SQS accepts both; the comparison test does not generate `Date`).
use std::time::SystemTime;

use crate::canonical_request::{header, CanonicalRequest};
use crate::credentials::Credentials;
use crate::date_time::AmzDateTime;
use crate::signing_key::{signature, SigningKeyCache};
use crate::string_to_sign::{CredentialScope, StringToSign, ALGORITHM};

/// What to sign with.
#[derive(Debug, Clone, Copy)]
pub struct SigningParams<'a> {
    pub credentials: &'a Credentials,
    pub region: &'a str,
    pub service: &'a str,
    pub time: SystemTime,
}

/// The parts of an HTTP request that SigV4 covers.
#[derive(Debug, Clone, Copy)]
pub struct SignableRequest<'a> {
    pub method: &'a str,
    /// `Host` header value (host, plus `:port` when not the scheme's default); used when
    /// `headers` has no `host`.
    pub host: &'a str,
    /// The path as it appears in the request line (already percent-encoded on the wire;
    /// SigV4 for non-S3 services encodes it once more).
    pub path: &'a str,
    /// Decoded query parameters; order does not matter, repeats are allowed.
    pub query: &'a [(&'a str, &'a str)],
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// The result: headers to add, and every intermediate artifact (for tests and debugging;
/// none of them contains the secret key).
#[derive(Debug, Clone)]
pub struct SignedRequest {
    /// `x-amz-date`, maybe `x-amz-security-token`, and `authorization`, in that order.
    /// `host` is added here too when the caller's headers had none.
    pub headers_to_add: Vec<(String, String)>,
    pub canonical_request: CanonicalRequest,
    pub string_to_sign: StringToSign,
    pub signature: String,
    pub authorization: String,
}

/// Signs with a freshly derived key. Clients that sign repeatedly use [`sign_request_cached`].
pub fn sign_request(request: &SignableRequest<'_>, params: &SigningParams<'_>) -> SignedRequest {
    sign_request_cached(request, params, &mut SigningKeyCache::new())
}

/// Whether signing replaces a header of the caller's: `authorization` and `x-amz-date`
/// always, `x-amz-security-token` only when we have a token of our own (botocore does the
/// same: without session credentials it is just another header).
fn replaced(name: &str, has_token: bool) -> bool {
    let name = name.trim();
    name.eq_ignore_ascii_case(header::AUTHORIZATION)
        || name.eq_ignore_ascii_case(header::X_AMZ_DATE)
        || (has_token && name.eq_ignore_ascii_case(header::X_AMZ_SECURITY_TOKEN))
}

/// The headers signing adds: `host` when the caller's have none, `x-amz-date`, and the
/// session token.
fn added_headers(
    request: &SignableRequest<'_>,
    params: &SigningParams<'_>,
    timestamp: &str,
) -> Vec<(String, String)> {
    let mut added = Vec::with_capacity(4);
    if !request
        .headers
        .iter()
        .any(|(n, _)| n.trim().eq_ignore_ascii_case(header::HOST))
    {
        added.push((header::HOST.to_string(), request.host.to_string()));
    }
    added.push((header::X_AMZ_DATE.to_string(), timestamp.to_string()));
    if let Some(token) = &params.credentials.session_token {
        added.push((header::X_AMZ_SECURITY_TOKEN.to_string(), token.clone()));
    }
    added
}

pub fn sign_request_cached(
    request: &SignableRequest<'_>,
    params: &SigningParams<'_>,
    keys: &mut SigningKeyCache,
) -> SignedRequest {
    let when = AmzDateTime::from_system_time(params.time);
    let timestamp = when.timestamp();
    let date = when.date_stamp();

    let mut headers_to_add = added_headers(request, params, &timestamp);
    // What the signature covers: the caller's headers but those signing replaces, and the
    // added ones.
    let has_token = params.credentials.session_token.is_some();
    let signed = request
        .headers
        .iter()
        .filter(|(n, _)| !replaced(n, has_token))
        .chain(headers_to_add.iter())
        .map(|(n, v)| (n.as_str(), v.as_str()));
    let canonical_request = CanonicalRequest::from_pairs(
        request.method,
        request.path,
        request.query,
        signed,
        request.body,
    );
    let scope = CredentialScope {
        date: date.clone(),
        region: params.region.to_string(),
        service: params.service.to_string(),
    };
    let string_to_sign = StringToSign::for_request(&timestamp, scope, &canonical_request);
    let key = keys.get(
        &params.credentials.secret_access_key,
        &date,
        params.region,
        params.service,
    );
    let signature = signature(&key, &string_to_sign.to_string());
    let authorization = format!(
        "{ALGORITHM} Credential={}/{}, SignedHeaders={}, Signature={}",
        params.credentials.access_key_id,
        string_to_sign.scope,
        canonical_request.signed_headers(),
        signature
    );
    headers_to_add.push((header::AUTHORIZATION.to_string(), authorization.clone()));
    SignedRequest {
        headers_to_add,
        canonical_request,
        string_to_sign,
        signature,
        authorization,
    }
}
