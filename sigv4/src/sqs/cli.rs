//! The command-line flags every binary that works on one SQS queue shares (the proxy, the
//! puller): `--queue-url`, `--endpoint-url`, `--region`, `--profile`, their environment
//! fallbacks, their validation and their help text, written once.
//!
//! A binary's `LowArgs` holds an [`SqsArgs`], offers each long flag to
//! [`SqsArgs::parse_flag`] first, calls [`SqsArgs::apply_env`], and validates it into
//! [`SqsSettings`], whose [`SqsSettings::sqs_config`] builds the client configuration with
//! credentials from the AWS SDKs' chain (see [`crate::credentials`]).
use flags::{Error as UsageError, Parser};

use super::config::SqsConfig;
use super::error::Error;

/// The shared flags' lines for a binary's `--help`:
/// `concat!("...", sigv4::sqs_flags_usage!(), "...")`.
#[macro_export]
macro_rules! sqs_flags_usage {
    () => {
        "  --queue-url URL           the queue [env SQS_QUEUE_URL]
  --endpoint-url URL        send requests here, keeping the queue's path (e.g. LocalStack)
                            [env AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL]
  --region NAME             signing region [env AWS_REGION, AWS_DEFAULT_REGION; us-east-1]
  --profile NAME            profile in ~/.aws/credentials and ~/.aws/config
                            [env AWS_PROFILE; default]
                            credentials, in the AWS SDKs' order: AWS_ACCESS_KEY_ID/
                            AWS_SECRET_ACCESS_KEY, the profile (keys or credential_process),
                            web identity (EKS IRSA), container endpoint (ECS, EKS Pod
                            Identity), EC2 instance metadata; temporary ones are renewed
"
    };
}

/// What was typed for the shared flags (plus environment fallbacks), unvalidated.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SqsArgs {
    pub queue_url: Option<String>,
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
}

/// The validated shared settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsSettings {
    pub queue_url: String,
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
}

impl SqsArgs {
    /// Reads the value of `--name` when it is one of the shared flags (`Ok(true)`);
    /// `Ok(false)` leaves every other flag to the binary.
    pub fn parse_flag(&mut self, name: &str, parser: &mut Parser) -> Result<bool, UsageError> {
        let slot = match name {
            "queue-url" => &mut self.queue_url,
            "endpoint-url" => &mut self.endpoint_url,
            "region" => &mut self.region,
            "profile" => &mut self.profile,
            _ => return Ok(false),
        };
        *slot = Some(parser.value()?);
        Ok(true)
    }

    /// Fills what no flag set: `SQS_QUEUE_URL`, `AWS_REGION`. (`AWS_DEFAULT_REGION`, the
    /// endpoint variables and `AWS_PROFILE` are read when the client configuration is built.)
    pub fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) {
        let get = |name: &str| {
            env(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        if self.queue_url.is_none() {
            self.queue_url = get("SQS_QUEUE_URL");
        }
        if self.region.is_none() {
            self.region = get("AWS_REGION");
        }
    }

    /// A queue URL is required and must be http(s).
    pub fn validate(self) -> Result<SqsSettings, UsageError> {
        let queue_url = self.queue_url.ok_or_else(|| {
            UsageError::new("missing queue: pass --queue-url URL or set SQS_QUEUE_URL")
        })?;
        if !(queue_url.starts_with("http://") || queue_url.starts_with("https://")) {
            return Err(UsageError::new(format!(
                "'--queue-url' must be an http(s) URL such as \
                 https://sqs.us-east-1.amazonaws.com/123456789012/name (got '{queue_url}')"
            )));
        }
        Ok(SqsSettings {
            queue_url,
            endpoint_url: self.endpoint_url,
            region: self.region,
            profile: self.profile,
        })
    }
}

impl SqsSettings {
    /// The client configuration: these settings over the environment's, credentials from
    /// the chain (which may call STS, a container endpoint or IMDS once, at start-up).
    pub fn sqs_config(&self) -> Result<SqsConfig, Error> {
        SqsConfig::from_env_with_profile(
            self.region.as_deref(),
            self.endpoint_url.as_deref(),
            self.profile.as_deref(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flags::Arg;

    const Q: &str = "http://127.0.0.1:4566/000000000000/q";

    /// Parses `args` the way a binary does: shared flags first, anything else is unknown.
    fn parse(args: &[&str], env: &[(&str, &str)]) -> Result<SqsArgs, UsageError> {
        let mut parser = Parser::new(args.iter().copied());
        let mut sqs = SqsArgs::default();
        while let Some(arg) = parser.next()? {
            match arg {
                Arg::Long(name) if sqs.parse_flag(&name, &mut parser)? => {}
                other => return Err(UsageError::unknown(&other)),
            }
        }
        sqs.apply_env(&|name| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        });
        Ok(sqs)
    }

    #[test]
    fn flags_are_read_and_win_over_the_environment() {
        let args = [
            "--queue-url",
            "http://x/1/flag",
            "--endpoint-url=http://127.0.0.1:4566",
            "--region",
            "eu-west-1",
            "--profile",
            "prod",
        ];
        let env = [("SQS_QUEUE_URL", Q), ("AWS_REGION", "us-west-2")];
        let s = parse(&args, &env).unwrap().validate().unwrap();
        assert_eq!(s.queue_url, "http://x/1/flag");
        assert_eq!(s.endpoint_url.as_deref(), Some("http://127.0.0.1:4566"));
        assert_eq!(s.region.as_deref(), Some("eu-west-1"));
        assert_eq!(s.profile.as_deref(), Some("prod"));
    }

    #[test]
    fn environment_fallbacks() {
        let s = parse(&[], &[("SQS_QUEUE_URL", Q), ("AWS_REGION", " ap-south-1 ")])
            .unwrap()
            .validate()
            .unwrap();
        assert_eq!(
            (s.queue_url.as_str(), s.region.as_deref()),
            (Q, Some("ap-south-1"))
        );
        assert_eq!((s.endpoint_url, s.profile), (None, None));
    }

    #[test]
    fn queue_is_required_and_must_be_a_url() {
        let missing = parse(&[], &[]).unwrap().validate().unwrap_err().to_string();
        assert!(
            missing.contains("--queue-url") && missing.contains("SQS_QUEUE_URL"),
            "{missing}"
        );
        let bad = parse(&["--queue-url", "q"], &[]).unwrap().validate();
        assert!(bad.unwrap_err().to_string().contains("http(s) URL"));
        assert!(parse(&["--queue-url"], &[])
            .unwrap_err()
            .to_string()
            .contains("needs a value"));
    }

    #[test]
    fn other_flags_are_left_to_the_binary() {
        let err = parse(&["--port", "1"], &[]).unwrap_err().to_string();
        assert!(err.contains("unknown flag '--port'"), "{err}");
    }

    #[test]
    fn usage_names_every_shared_flag_and_the_chain() {
        let usage = crate::sqs_flags_usage!();
        for needle in [
            "--queue-url",
            "--endpoint-url",
            "--region",
            "--profile",
            "AWS_PROFILE",
            "web identity",
        ] {
            assert!(usage.contains(needle), "{needle}");
        }
    }
}
