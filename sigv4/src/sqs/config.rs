//! Client configuration and how it is read from the environment.
use std::sync::OnceLock;
use std::time::Duration;

use http1::tls::TlsConnector;

use super::error::{Error, ErrorKind};
use super::url::Url;
use crate::ca_bundle;
use crate::credentials::CredentialsProvider;

pub const DEFAULT_REGION: &str = "us-east-1";
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Must exceed the 20 s long poll; the client also stretches it per call when needed.
pub const DEFAULT_IO_TIMEOUT: Duration = Duration::from_secs(30);

/// The wire protocol spoken to SQS. Both are SigV4-signed POSTs; they differ in body and
/// answer format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// AWS JSON 1.0 (`X-Amz-Target: AmazonSQS.<Op>`, JSON in and out), what current AWS SDKs
    /// use. The default: LocalStack 4.13 serves it about 4-6x faster than the query protocol.
    Json,
    /// The original query protocol (form-encoded `Action=...`, XML answers).
    Query,
}

impl Protocol {
    /// `json` or `query` (case-insensitive), as in `SQS_PROTOCOL`.
    pub fn parse(text: &str) -> Result<Protocol, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(Protocol::Json),
            "query" => Ok(Protocol::Query),
            _ => Err(format!("sqs protocol {text:?}: expected json or query")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SqsConfig {
    pub region: String,
    /// Overrides scheme+host+port of queue URLs, keeps the path (LocalStack, VPC endpoints).
    pub endpoint_url: Option<String>,
    /// Shared by every client made from this config (clones share one cache and refresher).
    pub credentials: CredentialsProvider,
    pub connect_timeout: Duration,
    pub io_timeout: Duration,
    /// Default [`Protocol::Json`]; `SQS_PROTOCOL` overrides it in `from_env`.
    pub protocol: Protocol,
    /// Who https endpoints are trusted from: `None` is the compiled-in webpki roots;
    /// `from_env` adds the PEM bundle named by `AWS_CA_BUNDLE` (the AWS CLI's and SDKs'
    /// variable; botocore trusts only the bundle, this client the bundle and the roots).
    pub tls: Option<TlsConnector>,
}

impl SqsConfig {
    /// A config with default timeouts.
    pub fn new(
        region: impl Into<String>,
        endpoint_url: Option<String>,
        credentials: impl Into<CredentialsProvider>,
    ) -> SqsConfig {
        SqsConfig {
            region: region.into(),
            endpoint_url,
            credentials: credentials.into(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            io_timeout: DEFAULT_IO_TIMEOUT,
            protocol: Protocol::Json,
            tls: None,
        }
    }

    /// The TLS client configuration https endpoints get.
    pub fn tls_connector(&self) -> Result<TlsConnector, String> {
        match &self.tls {
            Some(tls) => Ok(tls.clone()),
            None => default_tls(),
        }
    }

    /// region: arg, else AWS_REGION, else AWS_DEFAULT_REGION, else "us-east-1".
    /// endpoint: arg, else AWS_ENDPOINT_URL_SQS, else AWS_ENDPOINT_URL, else None.
    /// protocol: SQS_PROTOCOL (`json` or `query`), else json.
    /// tls: the webpki roots, plus the PEM bundle `AWS_CA_BUNDLE` names (unreadable: error).
    /// credentials: the AWS SDKs' chain (environment, shared files with `AWS_PROFILE`, web
    /// identity, container endpoint, EC2 IMDSv2; see [`crate::credentials`]); the error
    /// names everything looked at.
    pub fn from_env(region: Option<&str>, endpoint_url: Option<&str>) -> Result<SqsConfig, Error> {
        SqsConfig::from_env_with_profile(region, endpoint_url, None)
    }

    /// [`SqsConfig::from_env`] with `profile` (e.g. `--profile`) instead of `AWS_PROFILE`.
    pub fn from_env_with_profile(
        region: Option<&str>,
        endpoint_url: Option<&str>,
        profile: Option<&str>,
    ) -> Result<SqsConfig, Error> {
        let env = |name: &str| std::env::var(name).ok();
        let (region, endpoint_url) = resolve_region_and_endpoint(region, endpoint_url, &env)?;
        let protocol = resolve_protocol(&env)?;
        let credentials =
            CredentialsProvider::from_environment(Some(&region), profile).map_err(|e| {
                Error::new(
                    ErrorKind::Credentials(e.to_string()),
                    "reading sqs configuration",
                )
            })?;
        let mut config = SqsConfig::new(region, endpoint_url, credentials);
        config.protocol = protocol;
        config.tls = resolve_ca_bundle(&env)?;
        Ok(config)
    }
}

/// The compiled-in roots, built once per process.
pub(super) fn default_tls() -> Result<TlsConnector, String> {
    static CONNECTOR: OnceLock<Result<TlsConnector, String>> = OnceLock::new();
    CONNECTOR.get_or_init(TlsConnector::webpki).clone()
}

/// `AWS_CA_BUNDLE` ([`crate::ca_bundle`]).
fn resolve_ca_bundle(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<TlsConnector>, Error> {
    ca_bundle::from_value(env(ca_bundle::ENV_CA_BUNDLE))
        .map_err(|why| Error::new(ErrorKind::InvalidInput(why), "reading sqs configuration"))
}

/// `SQS_PROTOCOL`, else [`Protocol::Json`]; a value that is neither is an error, not ignored.
fn resolve_protocol(env: &dyn Fn(&str) -> Option<String>) -> Result<Protocol, Error> {
    match env("SQS_PROTOCOL").filter(|v| !v.trim().is_empty()) {
        None => Ok(Protocol::Json),
        Some(v) => Protocol::parse(&v).map_err(|why| {
            Error::new(
                ErrorKind::InvalidInput(format!("SQS_PROTOCOL: {why}")),
                "reading sqs configuration",
            )
        }),
    }
}

/// The region and endpoint parts of [`SqsConfig::from_env`], with an injectable environment.
fn resolve_region_and_endpoint(
    region: Option<&str>,
    endpoint_url: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, Option<String>), Error> {
    let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let region = region
        .map(str::to_string)
        .or_else(|| env("AWS_REGION"))
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| DEFAULT_REGION.to_string());
    let endpoint_url = endpoint_url
        .map(str::to_string)
        .or_else(|| env("AWS_ENDPOINT_URL_SQS"))
        .or_else(|| env("AWS_ENDPOINT_URL"));
    if let Some(ep) = &endpoint_url {
        Url::parse(ep).map_err(|why| {
            Error::new(
                ErrorKind::InvalidInput(format!("endpoint url {ep:?}: {why}")),
                "reading sqs configuration",
            )
        })?;
    }
    Ok((region, endpoint_url))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::Credentials;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn region_precedence() {
        let all = env_of(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "ap-south-1"),
        ]);
        let r = |arg, env: &dyn Fn(&str) -> Option<String>| {
            resolve_region_and_endpoint(arg, None, env).unwrap().0
        };
        assert_eq!(r(Some("us-west-2"), &all), "us-west-2");
        assert_eq!(r(None, &all), "eu-west-1");
        assert_eq!(
            r(None, &env_of(&[("AWS_DEFAULT_REGION", "ap-south-1")])),
            "ap-south-1"
        );
        assert_eq!(r(None, &env_of(&[("AWS_REGION", " ")])), "us-east-1");
        assert_eq!(r(None, &env_of(&[])), "us-east-1");
    }

    #[test]
    fn endpoint_precedence_and_validation() {
        let all = env_of(&[
            ("AWS_ENDPOINT_URL_SQS", "http://sqs-only:1"),
            ("AWS_ENDPOINT_URL", "http://any:2"),
        ]);
        let e = |arg, env: &dyn Fn(&str) -> Option<String>| {
            resolve_region_and_endpoint(None, arg, env).map(|(_, e)| e)
        };
        assert_eq!(
            e(Some("http://arg:3"), &all).unwrap().as_deref(),
            Some("http://arg:3")
        );
        assert_eq!(e(None, &all).unwrap().as_deref(), Some("http://sqs-only:1"));
        let general = env_of(&[("AWS_ENDPOINT_URL", "http://any:2")]);
        assert_eq!(e(None, &general).unwrap().as_deref(), Some("http://any:2"));
        assert_eq!(e(None, &env_of(&[])).unwrap(), None);
        let err = e(Some("localhost:4566"), &env_of(&[])).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::InvalidInput(_)), "{err}");
    }

    #[test]
    fn protocol_defaults_to_json_and_env_overrides() {
        assert_eq!(resolve_protocol(&env_of(&[])).unwrap(), Protocol::Json);
        let p = |v: &'static str| -> Result<Protocol, Error> {
            match v {
                "query" => resolve_protocol(&env_of(&[("SQS_PROTOCOL", "query")])),
                "JSON" => resolve_protocol(&env_of(&[("SQS_PROTOCOL", "JSON")])),
                " " => resolve_protocol(&env_of(&[("SQS_PROTOCOL", " ")])),
                _ => resolve_protocol(&env_of(&[("SQS_PROTOCOL", "xml")])),
            }
        };
        assert_eq!(p("query").unwrap(), Protocol::Query);
        assert_eq!(p("JSON").unwrap(), Protocol::Json);
        assert_eq!(p(" ").unwrap(), Protocol::Json);
        let err = p("xml").unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::InvalidInput(_)), "{err}");
        assert!(err.to_string().contains("SQS_PROTOCOL"), "{err}");
        let new = SqsConfig::new("r", None, Credentials::new("a", "b", None));
        assert_eq!(new.protocol, Protocol::Json);
    }

    #[test]
    fn a_ca_bundle_is_read_at_once_and_a_bad_one_is_an_error() {
        assert!(resolve_ca_bundle(&env_of(&[])).unwrap().is_none());
        assert!(resolve_ca_bundle(&env_of(&[("AWS_CA_BUNDLE", " ")]))
            .unwrap()
            .is_none());
        let missing =
            resolve_ca_bundle(&env_of(&[("AWS_CA_BUNDLE", "/nonexistent/ca.pem")])).unwrap_err();
        assert!(missing.to_string().contains("AWS_CA_BUNDLE"), "{missing}");
        let ca = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../edge-node/tests/fixtures/test-ca.pem"
        );
        let env = move |name: &str| (name == "AWS_CA_BUNDLE").then(|| ca.to_string());
        assert!(resolve_ca_bundle(&env).unwrap().is_some());
    }
}
