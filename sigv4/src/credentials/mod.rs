//! AWS credentials: the provider chain a service running on AWS uses, how temporary
//! credentials stay fresh, and how secrets stay out of logs and errors.
//!
//! # The chain
//! [`chain::resolve`] (behind [`CredentialsProvider::from_environment`] and
//! `SqsConfig::from_env`) looks in the places the AWS SDKs' default chain looks, in their
//! order, and the first one that is configured wins. AWS SDKs and Tools Reference Guide,
//! "Standardized credential providers" and "Understand the credential provider chain":
//! <https://docs.aws.amazon.com/sdkref/latest/guide/standardized-credentials.html>.
//!
//! 1. Environment: `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`);
//!    "AWS access keys",
//!    <https://docs.aws.amazon.com/sdkref/latest/guide/feature-static-credentials.html>.
//! 2. Shared `credentials` and `config` files, profile `AWS_PROFILE` (or `--profile`), else
//!    `default`: static keys, or `credential_process` ([`profile`], [`process`]); "Process
//!    credential provider",
//!    <https://docs.aws.amazon.com/sdkref/latest/guide/feature-process-credentials.html>.
//! 3. Web identity: `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` → STS
//!    AssumeRoleWithWebIdentity, EKS IRSA ([`web_identity`]); "Assume role credential
//!    provider",
//!    <https://docs.aws.amazon.com/sdkref/latest/guide/feature-assume-role-credentials.html>.
//! 4. Container: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` / `_FULL_URI` with
//!    `AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE)`, ECS task roles and EKS Pod Identity
//!    ([`container`]); "Container credential provider",
//!    <https://docs.aws.amazon.com/sdkref/latest/guide/feature-container-credentials.html>.
//! 5. EC2 instance metadata, IMDSv2 ([`imds`]); "IMDS credential provider",
//!    <https://docs.aws.amazon.com/sdkref/latest/guide/feature-imds-credentials.html>.
//!
//! A source that is configured but broken (a half key pair, a token file that cannot be read,
//! an STS refusal) is an error that names it, not a silent fall-through to another identity.
//! IMDS is the exception the SDKs make too: it counts as configured only when it answers, so a
//! host that is not on EC2 falls through within its 1-s timeouts. When nothing is found the
//! error lists every place that was looked at.
//!
//! # Staying fresh
//! [`CredentialsProvider`] is shared by every SQS client of a process; see [`provider`] for
//! how temporary credentials are refreshed ahead of expiry without stalling a request.
//!
//! # Secrets
//! `Debug` of [`Credentials`] redacts the secret key and session token; error messages never
//! quote a token, a secret or an answer body that may hold one.
use std::fmt;
use std::time::SystemTime;

pub mod chain;
pub mod container;
mod http;
pub mod imds;
pub mod process;
pub mod profile;
pub mod provider;
pub mod web_identity;

pub use chain::{resolve, Env};
pub use provider::CredentialsProvider;

pub const ENV_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
pub const ENV_SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
pub const ENV_SESSION_TOKEN: &str = "AWS_SESSION_TOKEN";
pub const ENV_SHARED_CREDENTIALS_FILE: &str = "AWS_SHARED_CREDENTIALS_FILE";
pub const ENV_CONFIG_FILE: &str = "AWS_CONFIG_FILE";
pub const ENV_PROFILE: &str = "AWS_PROFILE";

/// An access key pair, optionally with a session token and an expiry (temporary credentials).
///
/// `Debug` shows the access key id (it is not secret and identifies the principal) but never
/// the secret key or the token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// When temporary credentials stop working; `None` for long-term keys.
    pub expires_at: Option<SystemTime>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "** redacted **"),
            )
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl Credentials {
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
    ) -> Credentials {
        Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token,
            expires_at: None,
        }
    }

    /// The same credentials, expiring at `at`.
    pub fn expiring(mut self, at: SystemTime) -> Credentials {
        self.expires_at = Some(at);
        self
    }

    /// Resolves the whole chain once, from the process environment, and returns the
    /// credentials it found (no refreshing: use [`CredentialsProvider`] for a service).
    pub fn from_environment() -> Result<Credentials, CredentialsError> {
        let provider = CredentialsProvider::from_environment(None, None)?;
        provider.current().map(|c| (*c).clone())
    }
}

/// No usable credentials; `Display` says what was looked for and where (never a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialsError {
    message: String,
}

impl CredentialsError {
    pub fn new(message: impl Into<String>) -> CredentialsError {
        CredentialsError {
            message: message.into(),
        }
    }
}

impl fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CredentialsError {}

/// Reads the JSON credential document the container endpoint, IMDS and `credential_process`
/// all answer: `AccessKeyId`, `SecretAccessKey`, `Token` (`SessionToken` for a process),
/// `Expiration` (RFC 3339). `source` names where it came from; the document itself is never
/// quoted in an error, since it holds the secret.
pub(crate) fn from_json_document(
    text: &str,
    token_field: &str,
    source: &str,
) -> Result<Credentials, CredentialsError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        CredentialsError::new(format!(
            "{source}: the answer is not a JSON credentials document (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let field = |name: &str| {
        value
            .get(name)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let (Some(access), Some(secret)) = (field("AccessKeyId"), field("SecretAccessKey")) else {
        return Err(CredentialsError::new(format!(
            "{source}: the answer has no AccessKeyId and SecretAccessKey"
        )));
    };
    let mut credentials = Credentials::new(access, secret, field(token_field));
    if let Some(expiration) = field("Expiration") {
        credentials.expires_at = Some(parse_expiration(&expiration, source)?);
    }
    Ok(credentials)
}

/// An RFC 3339 `Expiration` as a point in time.
pub(crate) fn parse_expiration(text: &str, source: &str) -> Result<SystemTime, CredentialsError> {
    let ms = crate::date_time::parse_rfc3339_ms(text).ok_or_else(|| {
        CredentialsError::new(format!(
            "{source}: Expiration {text:?} is not an RFC 3339 time"
        ))
    })?;
    let ms = u64::try_from(ms).map_err(|_| {
        CredentialsError::new(format!("{source}: Expiration {text:?} is before 1970"))
    })?;
    Ok(SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let c = Credentials::new("AKIDEXAMPLE", "topsecretkey", Some("sessiontok".into()));
        let shown = format!("{c:?} {c:#?}");
        assert!(shown.contains("AKIDEXAMPLE"));
        assert!(!shown.contains("topsecretkey"), "{shown}");
        assert!(!shown.contains("sessiontok"), "{shown}");
    }

    #[test]
    fn json_document_with_expiration() {
        let c = from_json_document(
            r#"{"AccessKeyId":"AK","SecretAccessKey":"SK","Token":"T",
                "Expiration":"2030-01-02T03:04:05Z"}"#,
            "Token",
            "test",
        )
        .unwrap();
        assert_eq!(c.session_token.as_deref(), Some("T"));
        let secs = c
            .expires_at
            .unwrap()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert_eq!(secs, 1_893_553_445);
    }

    #[test]
    fn bad_json_document_errors_never_quote_it() {
        for text in [
            r#"{"AccessKeyId":"AK","SecretAccessKey":"verysecret""#,
            r#"{"AccessKeyId":"AK","Token":"verysecret"}"#,
            r#"{"AccessKeyId":"AK","SecretAccessKey":"verysecret","Expiration":"soon"}"#,
        ] {
            let err = from_json_document(text, "Token", "test").unwrap_err();
            assert!(!err.to_string().contains("verysecret"), "{err}");
        }
    }
}
