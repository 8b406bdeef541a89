//! Container credentials: an HTTP endpoint the platform runs next to the task or pod (ECS task
//! roles, EKS Pod Identity).
//!
//! `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` is a path on `http://169.254.170.2` (ECS);
//! otherwise `AWS_CONTAINER_CREDENTIALS_FULL_URI` is the whole URL, which must be https or
//! point at a loopback address, the ECS host 169.254.170.2 or the EKS Pod Identity agent
//! 169.254.170.23 / fd00:ec2::23 (every address a name resolves to), as the SDKs require.
//! The `Authorization` header comes from `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (read for
//! every fetch; EKS rotates it), else `AWS_CONTAINER_AUTHORIZATION_TOKEN`. The answer is JSON
//! `AccessKeyId`, `SecretAccessKey`, `Token`, `Expiration` (AWS SDKs and Tools Reference
//! Guide, "Container credential provider", feature-container-credentials.html).
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use super::http;
use super::{from_json_document, Credentials, CredentialsError, Env};
use crate::sqs::url::{Scheme, Url};

pub const ENV_RELATIVE_URI: &str = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI";
pub const ENV_FULL_URI: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
pub const ENV_TOKEN: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN";
pub const ENV_TOKEN_FILE: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";
const ECS_HOST: &str = "http://169.254.170.2";
/// The endpoint is on the same host or link; a few seconds is already generous.
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
enum Authorization {
    None,
    Token(String),
    File(PathBuf),
}

#[derive(Clone)]
pub struct Container {
    pub url: String,
    authorization: Authorization,
}

impl std::fmt::Debug for Container {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Container")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Container {
    /// `Ok(None)` when neither URI variable is set; an error for a URL the SDKs refuse.
    pub fn from_env(env: &Env) -> Result<Option<Container>, CredentialsError> {
        let url = if let Some(relative) = env.get(ENV_RELATIVE_URI) {
            format!("{ECS_HOST}{relative}")
        } else if let Some(full) = env.get(ENV_FULL_URI) {
            check_full_uri(&full)?;
            full
        } else {
            return Ok(None);
        };
        let authorization = match (env.get(ENV_TOKEN_FILE), env.get(ENV_TOKEN)) {
            (Some(file), _) => Authorization::File(PathBuf::from(file)),
            (None, Some(token)) => Authorization::Token(token),
            (None, None) => Authorization::None,
        };
        Ok(Some(Container { url, authorization }))
    }

    pub fn describe(&self) -> String {
        format!("container credentials endpoint {}", self.url)
    }

    pub fn fetch(&self) -> Result<Credentials, CredentialsError> {
        let source = self.describe();
        let token = match &self.authorization {
            Authorization::None => None,
            Authorization::Token(t) => Some(t.clone()),
            Authorization::File(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| {
                        CredentialsError::new(format!(
                            "{source}: reading {ENV_TOKEN_FILE} {}: {e}",
                            path.display()
                        ))
                    })?
                    .trim()
                    .to_string(),
            ),
        };
        let headers: Vec<(&str, &str)> = match &token {
            Some(t) => vec![
                ("authorization", t.as_str()),
                ("accept", "application/json"),
            ],
            None => vec![("accept", "application/json")],
        };
        // botocore's container fetcher does not use AWS_CA_BUNDLE either: these endpoints
        // are link-local http, or https with a public certificate.
        let answer = http::call("GET", &self.url, &headers, b"", TIMEOUT, None)
            .map_err(|why| CredentialsError::new(format!("{source}: {why}")))?;
        if answer.status != 200 {
            return Err(CredentialsError::new(format!(
                "{source}: answered http {}{}",
                answer.status,
                error_code(&answer.body)
            )));
        }
        from_json_document(&answer.body, "Token", &source)
    }
}

/// `: code: message` of a JSON error answer (`{"code": ..., "message": ...}`), if any.
fn error_code(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
        return String::new();
    };
    let field = |n: &str| v.get(n).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let message: String = field("message").chars().take(300).collect();
    format!(": {} {message}", field("code"))
}

/// https, or an address the platform's agent uses (see the module docs).
fn check_full_uri(full: &str) -> Result<(), CredentialsError> {
    let url = Url::parse(full)
        .map_err(|why| CredentialsError::new(format!("{ENV_FULL_URI} {full:?}: {why}")))?;
    if url.scheme == Scheme::Https {
        return Ok(());
    }
    let allowed = |ip: IpAddr| {
        ip.is_loopback()
            || ip == IpAddr::V4(Ipv4Addr::new(169, 254, 170, 2))
            || ip == IpAddr::V4(Ipv4Addr::new(169, 254, 170, 23))
            || ip == IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23))
    };
    let addrs: Vec<IpAddr> = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|e| CredentialsError::new(format!("{ENV_FULL_URI}: resolving {}: {e}", url.host)))?
        .map(|a| a.ip())
        .collect();
    if addrs.is_empty() || !addrs.iter().all(|ip| allowed(*ip)) {
        return Err(CredentialsError::new(format!(
            "{ENV_FULL_URI} {full:?} must be https or resolve only to a loopback address, \
             169.254.170.2 (ECS) or 169.254.170.23 / fd00:ec2::23 (EKS Pod Identity)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_uri_is_on_the_ecs_host_and_wins() {
        let env = Env::from_pairs(&[
            (ENV_RELATIVE_URI, "/v2/credentials/abc"),
            (ENV_FULL_URI, "http://127.0.0.1:1/x"),
        ]);
        let c = Container::from_env(&env).unwrap().unwrap();
        assert_eq!(c.url, "http://169.254.170.2/v2/credentials/abc");
    }

    #[test]
    fn full_uri_hosts_follow_the_sdks() {
        for ok in [
            "http://127.0.0.1:8080/creds",
            "http://169.254.170.23/v1/credentials",
            "http://[fd00:ec2::23]/v1/credentials",
            "http://[::1]:9/x",
            "https://creds.example.com/x",
        ] {
            let env = Env::from_pairs(&[(ENV_FULL_URI, ok)]);
            assert!(Container::from_env(&env).is_ok(), "{ok} should be accepted");
        }
        for bad in [
            "http://10.0.0.1/creds",
            "http://169.254.169.254/x",
            "ftp://x/",
        ] {
            let env = Env::from_pairs(&[(ENV_FULL_URI, bad)]);
            assert!(
                Container::from_env(&env).is_err(),
                "{bad} should be refused"
            );
        }
    }

    #[test]
    fn debug_does_not_show_the_token() {
        let env = Env::from_pairs(&[
            (ENV_FULL_URI, "http://127.0.0.1:1/x"),
            (ENV_TOKEN, "sekrit-auth"),
        ]);
        let c = Container::from_env(&env).unwrap().unwrap();
        assert!(!format!("{c:?}").contains("sekrit-auth"));
    }
}
