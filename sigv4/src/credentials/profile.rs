//! The shared `credentials` and `config` files: one profile's settings.
//!
//! Both are INI files. In `credentials` a section is the bare profile name (`[prod]`); in
//! `config` it is `[profile prod]`, except `[default]` (AWS SDKs and Tools Reference Guide,
//! "The shared config and credentials files", file-format.html). When both files set a key
//! for the same profile, the credentials file wins, as in the SDKs.
use std::collections::HashMap;
use std::path::PathBuf;

use super::{Credentials, CredentialsError, Env};
use super::{ENV_CONFIG_FILE, ENV_PROFILE, ENV_SHARED_CREDENTIALS_FILE};

pub const DEFAULT_PROFILE: &str = "default";

/// What one profile says about credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileCredentials {
    Static(Credentials),
    /// A `credential_process` command line (run by [`super::process`]).
    Process(String),
}

/// The profile's name and the files it was looked for in, for messages.
pub struct Lookup {
    pub profile: String,
    /// Whether the profile was asked for (flag or `AWS_PROFILE`) rather than the default.
    pub explicit: bool,
    /// The credentials file, then the config file (`true`), those whose path is known.
    pub files: Vec<(PathBuf, bool)>,
}

impl Lookup {
    pub fn new(env: &Env, profile: Option<&str>) -> Lookup {
        let explicit = profile.map(str::to_string).or_else(|| env.get(ENV_PROFILE));
        let home = env.get("HOME").map(PathBuf::from);
        let file = |var: &str, name: &str| {
            env.get(var)
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".aws").join(name)))
        };
        Lookup {
            profile: explicit
                .clone()
                .unwrap_or_else(|| DEFAULT_PROFILE.to_string()),
            explicit: explicit.is_some(),
            files: [
                file(ENV_SHARED_CREDENTIALS_FILE, "credentials").map(|p| (p, false)),
                file(ENV_CONFIG_FILE, "config").map(|p| (p, true)),
            ]
            .into_iter()
            .flatten()
            .collect(),
        }
    }

    /// Where this looked, for the "nothing found" message.
    pub fn describe(&self) -> String {
        let files = self.describe_files();
        format!(
            "profile [{}] ({ENV_PROFILE}, default \"default\") in the shared files {} \
             ({ENV_SHARED_CREDENTIALS_FILE}, {ENV_CONFIG_FILE}; default ~/.aws/credentials, \
             ~/.aws/config)",
            self.profile,
            if files.is_empty() {
                "(none: HOME is unknown)"
            } else {
                &files
            }
        )
    }
}

/// `Ok(None)` when neither file has the profile (or sets credentials in it) and the profile
/// was not asked for by name; an error when it was, or when its keys are half set.
pub fn load(lookup: &Lookup) -> Result<Option<ProfileCredentials>, CredentialsError> {
    let mut settings: HashMap<String, String> = HashMap::new();
    let mut found = false;
    // Config first, so the credentials file's values overwrite it.
    for (path, is_config) in lookup.files.iter().rev() {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(CredentialsError::new(format!(
                    "reading {}: {e}",
                    path.display()
                )))
            }
        };
        if let Some(section) = section(&text, &lookup.profile, *is_config) {
            found = true;
            settings.extend(section);
        }
    }
    let at = || {
        format!(
            "profile [{}] in {}",
            lookup.profile,
            lookup.describe_files()
        )
    };
    if !found {
        return if lookup.explicit {
            Err(CredentialsError::new(format!(
                "{}: the profile does not exist",
                at()
            )))
        } else {
            Ok(None)
        };
    }
    let get = |k: &str| settings.get(k).filter(|v| !v.is_empty()).cloned();
    match (get("aws_access_key_id"), get("aws_secret_access_key")) {
        (Some(a), Some(s)) => Ok(Some(ProfileCredentials::Static(Credentials::new(
            a,
            s,
            get("aws_session_token"),
        )))),
        (Some(_), None) | (None, Some(_)) => Err(CredentialsError::new(format!(
            "{}: aws_access_key_id and aws_secret_access_key are not both set",
            at()
        ))),
        (None, None) => match get("credential_process") {
            Some(command) => Ok(Some(ProfileCredentials::Process(command))),
            None if lookup.explicit => Err(CredentialsError::new(format!(
                "{}: neither aws_access_key_id/aws_secret_access_key nor credential_process \
                 is set",
                at()
            ))),
            None => Ok(None),
        },
    }
}

impl Lookup {
    fn describe_files(&self) -> String {
        let files: Vec<String> = self
            .files
            .iter()
            .map(|(p, _)| p.display().to_string())
            .collect();
        files.join(" and ")
    }
}

/// The `key = value` pairs of one profile's section (keys lower-cased), or `None` when the
/// file has no such section.
fn section(text: &str, profile: &str, is_config: bool) -> Option<HashMap<String, String>> {
    let mut in_profile = false;
    let mut found = false;
    let mut pairs = HashMap::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_profile = section_names(name.trim(), is_config) == Some(profile);
            found |= in_profile;
            continue;
        }
        if !in_profile {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            pairs.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    found.then_some(pairs)
}

/// The profile a section header names: `[name]` in the credentials file; `[profile name]`
/// or `[default]` in the config file.
fn section_names(header: &str, is_config: bool) -> Option<&str> {
    if !is_config || header == DEFAULT_PROFILE {
        return Some(header);
    }
    header
        .strip_prefix("profile")
        .filter(|rest| rest.starts_with([' ', '\t']))
        .map(str::trim)
}
