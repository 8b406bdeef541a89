//! EC2 instance metadata (IMDSv2): the instance profile's role credentials.
//!
//! `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds` gets a session token;
//! `GET /latest/meta-data/iam/security-credentials/` with `X-aws-ec2-metadata-token` names the
//! role; `GET .../ROLE` answers JSON `Code`, `AccessKeyId`, `SecretAccessKey`, `Token`,
//! `Expiration` (Amazon EC2 User Guide, "Use IMDSv2" and "Retrieve security credentials from
//! instance metadata"; AWS SDKs and Tools Reference Guide, "IMDS credential provider",
//! feature-imds-credentials.html). `AWS_EC2_METADATA_SERVICE_ENDPOINT` moves the endpoint and
//! `AWS_EC2_METADATA_DISABLED=true` turns the provider off, as the SDKs honour them.
//!
//! Every step has a 1-s deadline: on a host that is not on EC2 the token request fails or
//! times out at once and the chain reports "nothing found" instead of hanging. Only IMDSv2 is
//! spoken (no fallback to the token-less IMDSv1, which instances should have disabled).
use std::time::Duration;

use super::http;
use super::{from_json_document, Credentials, CredentialsError, Env};

pub const ENV_ENDPOINT: &str = "AWS_EC2_METADATA_SERVICE_ENDPOINT";
pub const ENV_DISABLED: &str = "AWS_EC2_METADATA_DISABLED";
pub const DEFAULT_ENDPOINT: &str = "http://169.254.169.254";
pub const TIMEOUT: Duration = Duration::from_secs(1);
const TOKEN_TTL_SECONDS: &str = "21600";
const CREDENTIALS_PATH: &str = "/latest/meta-data/iam/security-credentials/";

#[derive(Debug, Clone)]
pub struct Imds {
    pub endpoint: String,
}

/// Why IMDS gave no credentials.
#[derive(Debug)]
pub enum ImdsError {
    /// Nothing answered the token request: not on EC2 (the chain goes on).
    Unavailable(String),
    /// IMDS answered but gave no usable credentials (no role attached, bad answer).
    Failed(CredentialsError),
}

impl Imds {
    /// `None` when `AWS_EC2_METADATA_DISABLED` is `true`.
    pub fn from_env(env: &Env) -> Option<Imds> {
        if env
            .get(ENV_DISABLED)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            return None;
        }
        let endpoint = env
            .get(ENV_ENDPOINT)
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        Some(Imds {
            endpoint: endpoint.trim_end_matches('/').to_string(),
        })
    }

    pub fn describe(&self) -> String {
        format!("EC2 instance metadata (IMDSv2) at {}", self.endpoint)
    }

    pub fn fetch(&self) -> Result<Credentials, ImdsError> {
        let source = self.describe();
        let failed =
            |why: String| ImdsError::Failed(CredentialsError::new(format!("{source}: {why}")));
        let token = http::call(
            "PUT",
            &format!("{}/latest/api/token", self.endpoint),
            &[("x-aws-ec2-metadata-token-ttl-seconds", TOKEN_TTL_SECONDS)],
            b"",
            TIMEOUT,
            None,
        )
        .map_err(ImdsError::Unavailable)?;
        if token.status != 200 {
            return Err(failed(format!(
                "token request answered http {}",
                token.status
            )));
        }
        let token = token.body.trim().to_string();
        let get = |path: &str| {
            let url = format!("{}{path}", self.endpoint);
            let answer = http::call(
                "GET",
                &url,
                &[("x-aws-ec2-metadata-token", &token)],
                b"",
                TIMEOUT,
                None,
            )
            .map_err(&failed)?;
            match answer.status {
                200 => Ok(answer.body),
                404 if path == CREDENTIALS_PATH => Err(failed(
                    "the instance has no IAM role (instance profile) attached".to_string(),
                )),
                s => Err(failed(format!("GET {path} answered http {s}"))),
            }
        };
        let roles = get(CREDENTIALS_PATH)?;
        let role = roles
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .ok_or_else(|| {
                failed("the instance has no IAM role (instance profile) attached".to_string())
            })?
            .to_string();
        if !role.bytes().all(|b| b.is_ascii_graphic() && b != b'/') {
            return Err(failed(
                "the role name is not a plain path segment".to_string(),
            ));
        }
        let document = get(&format!("{CREDENTIALS_PATH}{role}"))?;
        let code = serde_json::from_str::<serde_json::Value>(&document)
            .ok()
            .and_then(|v| v.get("Code").and_then(|c| c.as_str()).map(str::to_string));
        if let Some(code) = code.filter(|c| c != "Success") {
            return Err(failed(format!("role {role} answered Code {code:?}")));
        }
        from_json_document(&document, "Token", &format!("{source} role {role}"))
            .map_err(ImdsError::Failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_override_and_disable_switch() {
        assert_eq!(
            Imds::from_env(&Env::from_pairs(&[])).unwrap().endpoint,
            DEFAULT_ENDPOINT
        );
        let env = Env::from_pairs(&[(ENV_ENDPOINT, "http://127.0.0.1:9/")]);
        assert_eq!(Imds::from_env(&env).unwrap().endpoint, "http://127.0.0.1:9");
        assert!(Imds::from_env(&Env::from_pairs(&[(ENV_DISABLED, "TRUE")])).is_none());
        assert!(Imds::from_env(&Env::from_pairs(&[(ENV_DISABLED, "false")])).is_some());
    }
}
