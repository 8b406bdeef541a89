//! The order the sources are tried in (see the `credentials` module docs) and the
//! environment they are read from.
use std::sync::Arc;

use super::container::Container;
use super::imds::{Imds, ImdsError};
use super::profile::{self, ProfileCredentials};
use super::web_identity::WebIdentity;
use super::{process, Credentials, CredentialsError, CredentialsProvider};
use super::{ENV_ACCESS_KEY_ID, ENV_SECRET_ACCESS_KEY, ENV_SESSION_TOKEN};

/// Where settings are read from: the process environment, or a map in tests (which must not
/// mutate the environment other test threads share). Blank values count as unset.
#[derive(Clone)]
pub struct Env(Arc<Lookup>);

/// Reads one variable.
type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

impl Env {
    pub fn process() -> Env {
        Env::from_fn(|name| std::env::var(name).ok())
    }

    pub fn from_fn(f: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Env {
        Env(Arc::new(f))
    }

    pub fn from_pairs(pairs: &[(&str, &str)]) -> Env {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env::from_fn(move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    /// The trimmed value, `None` when unset or blank.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }
}

/// The region STS is called in when none is given: `AWS_REGION`, `AWS_DEFAULT_REGION`,
/// else us-east-1 (the same rule `SqsConfig::from_env` applies).
fn region_of(env: &Env, region: Option<&str>) -> String {
    region
        .map(str::to_string)
        .or_else(|| env.get("AWS_REGION"))
        .or_else(|| env.get("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".to_string())
}

/// Tries each source in order; the first configured one gives the provider. `profile`
/// overrides `AWS_PROFILE`; `region` picks the STS endpoint for web identity.
pub fn resolve(
    env: &Env,
    region: Option<&str>,
    profile: Option<&str>,
) -> Result<CredentialsProvider, CredentialsError> {
    if let Some(credentials) = from_env_vars(env)? {
        return Ok(CredentialsProvider::fixed(
            credentials,
            "environment variables",
        ));
    }
    let lookup = profile::Lookup::new(env, profile);
    if let Some(found) = profile::load(&lookup)? {
        return from_profile(found, &lookup.profile);
    }
    if let Some(web) = WebIdentity::from_env(env, &region_of(env, region))? {
        let initial = web.fetch()?;
        return Ok(CredentialsProvider::refreshing(
            initial,
            web.describe(),
            move || web.fetch(),
        ));
    }
    if let Some(container) = Container::from_env(env)? {
        let initial = container.fetch()?;
        let name = container.describe();
        return Ok(CredentialsProvider::refreshing(initial, name, move || {
            container.fetch()
        }));
    }
    let imds_note = match Imds::from_env(env) {
        None => format!(
            "EC2 instance metadata (disabled by {})",
            super::imds::ENV_DISABLED
        ),
        Some(imds) => match imds.fetch() {
            Ok(initial) => {
                let name = imds.describe();
                let source = move || {
                    imds.fetch().map_err(|e| match e {
                        ImdsError::Unavailable(why) => CredentialsError::new(why),
                        ImdsError::Failed(e) => e,
                    })
                };
                return Ok(CredentialsProvider::refreshing(initial, name, source));
            }
            Err(ImdsError::Failed(e)) => return Err(e),
            Err(ImdsError::Unavailable(why)) => format!("{} (no answer: {why})", imds.describe()),
        },
    };
    Err(CredentialsError::new(format!(
        "no AWS credentials found. Looked at, in order: {ENV_ACCESS_KEY_ID}/\
         {ENV_SECRET_ACCESS_KEY} (not set); {}; web identity ({} not set); container \
         credentials ({} / {} not set); {imds_note}",
        lookup.describe(),
        super::web_identity::ENV_TOKEN_FILE,
        super::container::ENV_RELATIVE_URI,
        super::container::ENV_FULL_URI,
    )))
}

/// `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`). Half a pair is a
/// deployment mistake: say so rather than fall back to other credentials.
fn from_env_vars(env: &Env) -> Result<Option<Credentials>, CredentialsError> {
    match (env.get(ENV_ACCESS_KEY_ID), env.get(ENV_SECRET_ACCESS_KEY)) {
        (Some(a), Some(s)) => Ok(Some(Credentials::new(a, s, env.get(ENV_SESSION_TOKEN)))),
        (Some(_), None) => Err(CredentialsError::new(format!(
            "{ENV_ACCESS_KEY_ID} is set but {ENV_SECRET_ACCESS_KEY} is not"
        ))),
        (None, Some(_)) => Err(CredentialsError::new(format!(
            "{ENV_SECRET_ACCESS_KEY} is set but {ENV_ACCESS_KEY_ID} is not"
        ))),
        (None, None) => Ok(None),
    }
}

fn from_profile(
    found: ProfileCredentials,
    profile: &str,
) -> Result<CredentialsProvider, CredentialsError> {
    let name = format!("profile [{profile}]");
    match found {
        ProfileCredentials::Static(c) => Ok(CredentialsProvider::fixed(c, name)),
        ProfileCredentials::Process(command) => {
            let initial = process::run(&command, profile)?;
            if initial.expires_at.is_none() {
                return Ok(CredentialsProvider::fixed(initial, name));
            }
            let profile = profile.to_string();
            Ok(CredentialsProvider::refreshing(initial, name, move || {
                process::run(&command, &profile)
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A directory of its own per test (tests run in parallel).
    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sigv4-chain-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// No IMDS: a closed loopback port refuses at once.
    const NO_IMDS: (&str, &str) = ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1");

    fn current(env: &[(&str, &str)], profile: Option<&str>) -> Result<Credentials, String> {
        let mut all = env.to_vec();
        all.push(NO_IMDS);
        resolve(&Env::from_pairs(&all), None, profile)
            .map(|p| (*p.current().unwrap()).clone())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn environment_wins_and_carries_the_session_token() {
        let c = current(
            &[
                (ENV_ACCESS_KEY_ID, "AK"),
                (ENV_SECRET_ACCESS_KEY, "SK"),
                (ENV_SESSION_TOKEN, "TOK"),
                ("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(c, Credentials::new("AK", "SK", Some("TOK".into())));
    }

    #[test]
    fn half_a_key_pair_is_an_error_naming_the_missing_variable() {
        let err = current(&[(ENV_ACCESS_KEY_ID, "AK")], None).unwrap_err();
        assert!(err.contains(ENV_SECRET_ACCESS_KEY), "{err}");
    }

    #[test]
    fn profiles_from_both_files_credentials_file_first() {
        let dir = temp_dir("profiles");
        let creds = dir.join("credentials");
        let config = dir.join("config");
        std::fs::write(
            &creds,
            "# comment\n[default]\naws_access_key_id = DEF\naws_secret_access_key = DEFSK\n\n\
             [prod]\naws_access_key_id=PROD\naws_secret_access_key= PRODSK \naws_session_token=T\n",
        )
        .unwrap();
        std::fs::write(
            &config,
            "[profile prod]\naws_access_key_id=FROMCONFIG\naws_secret_access_key=X\n\
             [profile cfg]\naws_access_key_id=CFG\naws_secret_access_key=CFGSK\n",
        )
        .unwrap();
        let (c, f) = (creds.to_str().unwrap(), config.to_str().unwrap());
        let files = [("AWS_SHARED_CREDENTIALS_FILE", c), ("AWS_CONFIG_FILE", f)];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut env = files.to_vec();
            env.extend_from_slice(extra);
            env
        };
        assert_eq!(current(&files, None).unwrap().access_key_id, "DEF");
        let prod = current(&with(&[("AWS_PROFILE", "prod")]), None).unwrap();
        assert_eq!(prod, Credentials::new("PROD", "PRODSK", Some("T".into())));
        assert_eq!(current(&files, Some("cfg")).unwrap().access_key_id, "CFG");
        let flag_wins = current(&with(&[("AWS_PROFILE", "prod")]), Some("cfg")).unwrap();
        assert_eq!(flag_wins.access_key_id, "CFG");
        let missing = current(&with(&[("AWS_PROFILE", "nope")]), None).unwrap_err();
        assert!(
            missing.contains("[nope]") && missing.contains("does not exist"),
            "{missing}"
        );
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn home_default_paths_are_used_without_the_overrides() {
        let home = temp_dir("home");
        std::fs::create_dir_all(home.join(".aws")).unwrap();
        std::fs::write(
            home.join(".aws/config"),
            "[default]\naws_access_key_id=H\naws_secret_access_key=HS\n",
        )
        .unwrap();
        let c = current(&[("HOME", home.to_str().unwrap())], None).unwrap();
        assert_eq!(c.access_key_id, "H");
        std::fs::remove_dir_all(home).ok();
    }

    #[test]
    fn credential_process_with_expiration_is_refreshable() {
        let dir = temp_dir("process");
        let config = dir.join("config");
        std::fs::write(
            &config,
            "[profile proc]\ncredential_process = echo '{\"Version\": 1, \"AccessKeyId\": \
             \"AKPROC\", \"SecretAccessKey\": \"S\", \"SessionToken\": \"T\", \"Expiration\": \
             \"2099-01-01T00:00:00Z\"}'\n",
        )
        .unwrap();
        let env = Env::from_pairs(&[
            ("AWS_CONFIG_FILE", config.to_str().unwrap()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"),
            NO_IMDS,
        ]);
        let provider = resolve(&env, None, Some("proc")).unwrap();
        assert_eq!(provider.current().unwrap().access_key_id, "AKPROC");
        let used = provider.current().unwrap();
        assert!(
            provider.force_refresh(&used).is_ok(),
            "a process can be run again"
        );
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn nothing_found_names_everything_looked_for() {
        let err = current(&[("HOME", "/nonexistent-home")], None).unwrap_err();
        for needle in [
            ENV_ACCESS_KEY_ID,
            "AWS_PROFILE",
            "/nonexistent-home/.aws/credentials",
            "/nonexistent-home/.aws/config",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "IMDSv2",
        ] {
            assert!(err.contains(needle), "{needle} missing from: {err}");
        }
    }
}
