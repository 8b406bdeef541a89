//! `AWS_CA_BUNDLE`, the AWS CLI's and SDKs' variable naming a PEM file of certificate
//! authorities to trust for https endpoints (a TLS-inspecting corporate proxy, a private
//! endpoint with an in-house CA). The SQS client and the STS call of web identity use it, as
//! botocore does; botocore trusts only the bundle, we trust it in addition to the webpki
//! roots. Read once, at start, so a wrong path is an error then rather than at the first call.
use std::path::Path;

use http1::tls::TlsConnector;

pub const ENV_CA_BUNDLE: &str = "AWS_CA_BUNDLE";

/// The TLS client configuration for the variable's `value`: `None` (the caller's default,
/// the webpki roots) when it is unset or blank.
pub(crate) fn from_value(value: Option<String>) -> Result<Option<TlsConnector>, String> {
    let Some(path) = value.filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    TlsConnector::with_extra_ca(Some(Path::new(&path)))
        .map(Some)
        .map_err(|why| format!("{ENV_CA_BUNDLE}: {why}"))
}
