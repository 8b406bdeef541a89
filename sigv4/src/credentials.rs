//! AWS credentials: where they come from and how they stay out of logs.
//!
//! Resolution order (like the AWS CLI, minus SSO/IMDS which this project does not need):
//! 1. `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ optional `AWS_SESSION_TOKEN`);
//! 2. the shared credentials file `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`,
//!    profile `AWS_PROFILE`, else `default`.
//!
//! When nothing is found the error lists every place that was looked at, so an operator can
//! fix the deployment without reading code.
use std::fmt;
use std::path::{Path, PathBuf};

pub const ENV_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
pub const ENV_SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
pub const ENV_SESSION_TOKEN: &str = "AWS_SESSION_TOKEN";
pub const ENV_SHARED_CREDENTIALS_FILE: &str = "AWS_SHARED_CREDENTIALS_FILE";
pub const ENV_PROFILE: &str = "AWS_PROFILE";
const DEFAULT_PROFILE: &str = "default";

/// An access key pair, optionally with a session token (temporary credentials).
///
/// `Debug` shows the access key id (it is not secret and identifies the principal) but never
/// the secret key or the token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
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
            .finish()
    }
}

/// No usable credentials; `Display` says what was looked for and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialsError {
    message: String,
}

impl CredentialsError {
    fn new(message: String) -> CredentialsError {
        CredentialsError { message }
    }
}

impl fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CredentialsError {}

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
        }
    }

    /// Resolves credentials from the process environment and the shared credentials file.
    pub fn from_environment() -> Result<Credentials, CredentialsError> {
        Credentials::resolve(&|name| std::env::var(name).ok())
    }

    /// Same as [`Credentials::from_environment`] with an injectable environment (tests use
    /// this instead of mutating the process environment, which other threads share).
    pub fn resolve(env: &dyn Fn(&str) -> Option<String>) -> Result<Credentials, CredentialsError> {
        let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let access = get(ENV_ACCESS_KEY_ID);
        let secret = get(ENV_SECRET_ACCESS_KEY);
        match (access, secret) {
            (Some(a), Some(s)) => return Ok(Credentials::new(a, s, get(ENV_SESSION_TOKEN))),
            // Half a key pair in the environment is a deployment mistake: say so rather than
            // silently falling back to a file with different credentials.
            (Some(_), None) => {
                return Err(CredentialsError::new(format!(
                    "{ENV_ACCESS_KEY_ID} is set but {ENV_SECRET_ACCESS_KEY} is not"
                )))
            }
            (None, Some(_)) => {
                return Err(CredentialsError::new(format!(
                    "{ENV_SECRET_ACCESS_KEY} is set but {ENV_ACCESS_KEY_ID} is not"
                )))
            }
            (None, None) => {}
        }
        let profile = get(ENV_PROFILE).unwrap_or_else(|| DEFAULT_PROFILE.to_string());
        let path = match get(ENV_SHARED_CREDENTIALS_FILE) {
            Some(p) => PathBuf::from(p),
            None => match get("HOME") {
                Some(home) => Path::new(&home).join(".aws").join("credentials"),
                None => {
                    return Err(CredentialsError::new(format!(
                        "no AWS credentials: {ENV_ACCESS_KEY_ID}/{ENV_SECRET_ACCESS_KEY} are not \
                         set, {ENV_SHARED_CREDENTIALS_FILE} is not set and HOME is unknown so \
                         ~/.aws/credentials cannot be read"
                    )))
                }
            },
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            CredentialsError::new(format!(
                "no AWS credentials: {ENV_ACCESS_KEY_ID}/{ENV_SECRET_ACCESS_KEY} are not set and \
                 the shared credentials file {} ({ENV_SHARED_CREDENTIALS_FILE}, default \
                 ~/.aws/credentials; profile {profile:?} from {ENV_PROFILE}, default \
                 \"default\") could not be read: {e}",
                path.display()
            ))
        })?;
        from_shared_file_text(&text, &profile).map_err(|why| {
            CredentialsError::new(format!(
                "no AWS credentials: {ENV_ACCESS_KEY_ID}/{ENV_SECRET_ACCESS_KEY} are not set and \
                 profile [{profile}] in {}: {why}",
                path.display()
            ))
        })
    }
}

/// Reads one profile from the INI-style shared credentials file. In that file (unlike
/// `~/.aws/config`) sections are bare profile names: `[default]`, `[prod]`.
pub fn from_shared_file_text(text: &str, profile: &str) -> Result<Credentials, String> {
    let mut in_profile = false;
    let mut found_section = false;
    let (mut access, mut secret, mut token) = (None, None, None);
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_profile = section.trim() == profile;
            found_section |= in_profile;
            continue;
        }
        if !in_profile {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim().to_string();
        match key.trim().to_ascii_lowercase().as_str() {
            "aws_access_key_id" => access = Some(value),
            "aws_secret_access_key" => secret = Some(value),
            "aws_session_token" => token = Some(value).filter(|t| !t.is_empty()),
            _ => {}
        }
    }
    if !found_section {
        return Err("the profile does not exist".to_string());
    }
    match (access, secret) {
        (Some(a), Some(s)) if !a.is_empty() && !s.is_empty() => Ok(Credentials::new(a, s, token)),
        _ => Err("aws_access_key_id and aws_secret_access_key are not both set".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn temp_file(contents: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!(
            "sigv4-creds-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn debug_never_shows_secrets() {
        let c = Credentials::new("AKIDEXAMPLE", "topsecretkey", Some("sessiontok".into()));
        let shown = format!("{c:?} {c:#?}");
        assert!(shown.contains("AKIDEXAMPLE"));
        assert!(!shown.contains("topsecretkey"), "{shown}");
        assert!(!shown.contains("sessiontok"), "{shown}");
    }

    #[test]
    fn environment_wins_and_carries_the_session_token() {
        let env = env_of(&[
            (ENV_ACCESS_KEY_ID, "AK"),
            (ENV_SECRET_ACCESS_KEY, "SK"),
            (ENV_SESSION_TOKEN, "TOK"),
            (ENV_SHARED_CREDENTIALS_FILE, "/nonexistent"),
        ]);
        let c = Credentials::resolve(&env).unwrap();
        assert_eq!(c, Credentials::new("AK", "SK", Some("TOK".into())));
    }

    #[test]
    fn half_a_key_pair_is_an_error_naming_the_missing_variable() {
        let err = Credentials::resolve(&env_of(&[(ENV_ACCESS_KEY_ID, "AK")])).unwrap_err();
        assert!(err.to_string().contains(ENV_SECRET_ACCESS_KEY), "{err}");
    }

    #[test]
    fn shared_file_profile_is_selected_by_aws_profile() {
        let path = temp_file(
            "# comment\n[default]\naws_access_key_id = DEF\naws_secret_access_key = DEFSK\n\n\
             [prod]\naws_access_key_id=PROD\naws_secret_access_key= PRODSK \naws_session_token=T\n",
        );
        let p = path.to_str().unwrap();
        let def = Credentials::resolve(&env_of(&[(ENV_SHARED_CREDENTIALS_FILE, p)])).unwrap();
        assert_eq!(def, Credentials::new("DEF", "DEFSK", None));
        let prod = Credentials::resolve(&env_of(&[
            (ENV_SHARED_CREDENTIALS_FILE, p),
            (ENV_PROFILE, "prod"),
        ]))
        .unwrap();
        assert_eq!(prod, Credentials::new("PROD", "PRODSK", Some("T".into())));
        let missing = Credentials::resolve(&env_of(&[
            (ENV_SHARED_CREDENTIALS_FILE, p),
            (ENV_PROFILE, "nope"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(
            missing.contains("[nope]") && missing.contains("does not exist"),
            "{missing}"
        );
        std::fs::remove_file(path).ok();
    }

    #[test]
    fn home_default_path_is_used_without_the_override() {
        let home = std::env::temp_dir().join(format!("sigv4-home-{}", std::process::id()));
        std::fs::create_dir_all(home.join(".aws")).unwrap();
        std::fs::write(
            home.join(".aws/credentials"),
            "[default]\naws_access_key_id=H\naws_secret_access_key=HS\n",
        )
        .unwrap();
        let c = Credentials::resolve(&env_of(&[("HOME", home.to_str().unwrap())])).unwrap();
        assert_eq!(c.access_key_id, "H");
        std::fs::remove_dir_all(home).ok();
    }

    #[test]
    fn nothing_found_names_everything_looked_for() {
        let err = Credentials::resolve(&env_of(&[("HOME", "/nonexistent-home")]))
            .unwrap_err()
            .to_string();
        for needle in [
            ENV_ACCESS_KEY_ID,
            ENV_SECRET_ACCESS_KEY,
            ENV_SHARED_CREDENTIALS_FILE,
            ENV_PROFILE,
            "/nonexistent-home/.aws/credentials",
        ] {
            assert!(err.contains(needle), "{needle} missing from: {err}");
        }
    }
}
