//! Client configuration and how it is read from the environment.
use std::time::Duration;

use super::error::{Error, ErrorKind};
use super::url::Url;
use crate::credentials::Credentials;

pub const DEFAULT_REGION: &str = "us-east-1";
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Must exceed the 20 s long poll; the client also stretches it per call when needed.
pub const DEFAULT_IO_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct SqsConfig {
    pub region: String,
    /// Overrides scheme+host+port of queue URLs, keeps the path (LocalStack, VPC endpoints).
    pub endpoint_url: Option<String>,
    pub credentials: Credentials,
    pub connect_timeout: Duration,
    pub io_timeout: Duration,
}

impl SqsConfig {
    /// A config with default timeouts.
    pub fn new(
        region: impl Into<String>,
        endpoint_url: Option<String>,
        credentials: Credentials,
    ) -> SqsConfig {
        SqsConfig {
            region: region.into(),
            endpoint_url,
            credentials,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            io_timeout: DEFAULT_IO_TIMEOUT,
        }
    }

    /// region: arg, else AWS_REGION, else AWS_DEFAULT_REGION, else "us-east-1".
    /// endpoint: arg, else AWS_ENDPOINT_URL_SQS, else AWS_ENDPOINT_URL, else None.
    /// credentials: env, then shared credentials file; error names what was looked for.
    pub fn from_env(region: Option<&str>, endpoint_url: Option<&str>) -> Result<SqsConfig, Error> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
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
        let credentials = Credentials::from_environment().map_err(|e| {
            Error::new(
                ErrorKind::Credentials(e.to_string()),
                "reading sqs configuration",
            )
        })?;
        Ok(SqsConfig::new(region, endpoint_url, credentials))
    }
}
