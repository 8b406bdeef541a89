//! Web identity: trade the OIDC token a platform mounts for a role's temporary credentials
//! with STS `AssumeRoleWithWebIdentity` (EKS IAM roles for service accounts, "IRSA").
//!
//! Configured by `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` (+ `AWS_ROLE_SESSION_NAME`),
//! as in the AWS SDKs ("Assume role credential provider", feature-assume-role-credentials.html).
//! The call is an unsigned query-API POST (`Action=AssumeRoleWithWebIdentity&Version=2011-06-15`,
//! STS API Reference) to the regional endpoint `https://sts.REGION.amazonaws.com/`, or to
//! `AWS_ENDPOINT_URL_STS` / `AWS_STS_ENDPOINT_URL` / `AWS_ENDPOINT_URL` when set, trusting
//! the certificate authorities of `AWS_CA_BUNDLE` too when it is set (as botocore's STS
//! client does; [`crate::ca_bundle`]). The token file is read again for every refresh: the
//! platform rotates it.
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use http1::tls::TlsConnector;

use super::http;
use super::{parse_expiration, Credentials, CredentialsError, Env};
use crate::ca_bundle;
use crate::sqs::xml;
use crate::uri_encode::{uri_encode, Slash};

pub const ENV_TOKEN_FILE: &str = "AWS_WEB_IDENTITY_TOKEN_FILE";
pub const ENV_ROLE_ARN: &str = "AWS_ROLE_ARN";
pub const ENV_ROLE_SESSION_NAME: &str = "AWS_ROLE_SESSION_NAME";
/// Endpoint overrides, most specific first: the SDKs' service-specific variable, the spelling
/// some tools use, then the SDKs' global one.
pub const ENV_ENDPOINTS: [&str; 3] = [
    "AWS_ENDPOINT_URL_STS",
    "AWS_STS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL",
];
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct WebIdentity {
    pub token_file: PathBuf,
    pub role_arn: String,
    pub session_name: String,
    /// `scheme://host[:port]` plus path, where the POST goes.
    pub endpoint: String,
    /// Who an https STS is trusted from (`None`: the webpki roots).
    pub tls: Option<TlsConnector>,
}

impl WebIdentity {
    /// `Ok(None)` when `AWS_WEB_IDENTITY_TOKEN_FILE` is not set.
    pub fn from_env(env: &Env, region: &str) -> Result<Option<WebIdentity>, CredentialsError> {
        let Some(token_file) = env.get(ENV_TOKEN_FILE) else {
            return Ok(None);
        };
        let role_arn = env.get(ENV_ROLE_ARN).ok_or_else(|| {
            CredentialsError::new(format!("{ENV_TOKEN_FILE} is set but {ENV_ROLE_ARN} is not"))
        })?;
        let session_name = env.get(ENV_ROLE_SESSION_NAME).unwrap_or_else(|| {
            let ms = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            format!("edge-sensors-{ms}")
        });
        let endpoint = ENV_ENDPOINTS
            .iter()
            .find_map(|name| env.get(name))
            .unwrap_or_else(|| format!("https://sts.{region}.amazonaws.com"));
        let endpoint = if endpoint.ends_with('/') {
            endpoint
        } else {
            format!("{endpoint}/")
        };
        let tls = ca_bundle::from_value(env.get(ca_bundle::ENV_CA_BUNDLE))
            .map_err(|why| CredentialsError::new(format!("web identity: {why}")))?;
        Ok(Some(WebIdentity {
            token_file: PathBuf::from(token_file),
            role_arn,
            session_name,
            endpoint,
            tls,
        }))
    }

    pub fn describe(&self) -> String {
        format!(
            "web identity ({ENV_TOKEN_FILE}={}, role {}, STS {})",
            self.token_file.display(),
            self.role_arn,
            self.endpoint
        )
    }

    /// One AssumeRoleWithWebIdentity call with the token as it is now in the file.
    pub fn fetch(&self) -> Result<Credentials, CredentialsError> {
        let source = self.describe();
        let token = std::fs::read_to_string(&self.token_file)
            .map_err(|e| CredentialsError::new(format!("{source}: reading the token: {e}")))?;
        let token = token.trim();
        if token.is_empty() {
            return Err(CredentialsError::new(format!(
                "{source}: the token file is empty"
            )));
        }
        let form = |k: &str, v: &str| format!("{k}={}", uri_encode(v, Slash::Encode));
        let body = [
            form("Action", "AssumeRoleWithWebIdentity"),
            form("RoleArn", &self.role_arn),
            form("RoleSessionName", &self.session_name),
            form("Version", "2011-06-15"),
            form("WebIdentityToken", token),
        ]
        .join("&");
        let answer = http::call(
            "POST",
            &self.endpoint,
            &[(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )],
            body.as_bytes(),
            TIMEOUT,
            self.tls.as_ref(),
        )
        .map_err(|why| CredentialsError::new(format!("{source}: {why}")))?;
        read_answer(answer.status, &answer.body)
            .map_err(|why| CredentialsError::new(format!("{source}: {why}")))
    }
}

/// The credentials of a 200 answer, or the STS error code and message of another one.
fn read_answer(status: u16, body: &str) -> Result<Credentials, String> {
    let doc = xml::parse(body).map_err(|_| format!("http {status}, answer is not XML"))?;
    if status != 200 {
        let code = doc.find("Code").map_or("", |e| e.text.as_str());
        let message: String = doc
            .find("Message")
            .map_or("", |e| e.text.as_str())
            .chars()
            .take(300)
            .collect();
        return Err(format!("STS answered http {status} {code}: {message}"));
    }
    let creds = doc
        .find("Credentials")
        .ok_or_else(|| "the answer has no Credentials element".to_string())?;
    let text = |name: &str| {
        creds
            .child_text(name)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or_else(|| format!("the answer has no {name}"))
    };
    let mut credentials = Credentials::new(
        text("AccessKeyId")?,
        text("SecretAccessKey")?,
        Some(text("SessionToken")?),
    );
    credentials.expires_at =
        Some(parse_expiration(&text("Expiration")?, "STS").map_err(|e| e.to_string())?);
    Ok(credentials)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_defaults_to_the_region_and_overrides_win() {
        let env = Env::from_pairs(&[(ENV_TOKEN_FILE, "/t"), (ENV_ROLE_ARN, "arn:r")]);
        let w = WebIdentity::from_env(&env, "eu-central-1")
            .unwrap()
            .unwrap();
        assert_eq!(w.endpoint, "https://sts.eu-central-1.amazonaws.com/");
        assert!(w.session_name.starts_with("edge-sensors-"));
        let env = Env::from_pairs(&[
            (ENV_TOKEN_FILE, "/t"),
            (ENV_ROLE_ARN, "arn:r"),
            ("AWS_STS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            ("AWS_ENDPOINT_URL", "http://other:1"),
            (ENV_ROLE_SESSION_NAME, "s"),
        ]);
        let w = WebIdentity::from_env(&env, "eu-central-1")
            .unwrap()
            .unwrap();
        assert_eq!(
            (w.endpoint.as_str(), w.session_name.as_str()),
            ("http://127.0.0.1:5000/", "s")
        );
    }

    #[test]
    fn token_file_without_role_is_an_error_and_nothing_set_is_none() {
        let err =
            WebIdentity::from_env(&Env::from_pairs(&[(ENV_TOKEN_FILE, "/t")]), "r").unwrap_err();
        assert!(err.to_string().contains(ENV_ROLE_ARN), "{err}");
        assert!(WebIdentity::from_env(&Env::from_pairs(&[]), "r")
            .unwrap()
            .is_none());
    }

    #[test]
    fn sts_error_answers_name_code_and_message() {
        let body = "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>\
                    <Message>bad token</Message></Error></ErrorResponse>";
        let err = read_answer(400, body).unwrap_err();
        assert_eq!(err, "STS answered http 400 InvalidIdentityToken: bad token");
    }
}
