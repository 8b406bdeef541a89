//! `up --proxy-token-file FILE`: an authenticated network. The file (the proxy's token file
//! format: one token per line, `#` comments, RFC 6750 b64token characters) is copied into the
//! config directory, whose `proxy/` folder every proxy mounts at [`MOUNT_DIR`]; the proxies
//! read it through `PROXY_AUTH_TOKEN_FILE` (`proxy --auth-token-file`) and answer 401 to a
//! `/send` without one of its tokens. Every edge node gets the file's last token as
//! `PROXY_TOKEN` (appending a token is how one is rolled out, so new nodes get the newest).
//!
//! The copy stays until `down`, so `scale` and a later `up` keep authenticating. Without a
//! token file the placeholders say "no token": `PROXY_AUTH_TOKEN_FILE` is empty (the proxy
//! then serves without authentication) and `PROXY_TOKEN` is `none` (the sensor module then
//! sends none).
use crate::error::Error;
use std::io;
use std::path::{Path, PathBuf};

/// The folder under the config directory that proxies mount.
pub const DIR: &str = "proxy";
const FILE: &str = "tokens";
/// Where proxies see [`DIR`].
pub const MOUNT_DIR: &str = "/etc/edge-sensors";

/// The placeholder values: `proxy_token` (what edge nodes send) and `proxy_auth_token_file`
/// (the proxies' token file inside their container).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenVars {
    pub proxy_token: String,
    pub proxy_auth_token_file: String,
}

fn path(config_dir: &Path) -> PathBuf {
    config_dir.join(DIR).join(FILE)
}

/// Creates the folder proxies mount (it exists with or without a token) and, given
/// `source`, installs a checked copy of it (readable by its owner only).
pub fn prepare(config_dir: &Path, source: Option<&Path>) -> Result<(), Error> {
    // The file is checked before anything is written.
    let text = match source {
        Some(source) => Some(checked(source)?),
        None => None,
    };
    let dir = config_dir.join(DIR);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let Some(text) = text else {
        return Ok(());
    };
    let target = path(config_dir);
    write_private(&target, &text).map_err(|e| Error::io(&target, e))
}

/// The text of the token file at `source`, if it holds tokens the proxy accepts.
fn checked(source: &Path) -> Result<String, Error> {
    let text = std::fs::read_to_string(source).map_err(|e| Error::io(source, e))?;
    tokens(&text)
        .map_err(|why| Error::io(source, io::Error::new(io::ErrorKind::InvalidData, why)))?;
    Ok(text)
}

/// Writes `text` to a new file only its owner may read, replacing `target` in one rename.
fn write_private(target: &Path, text: &str) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let partial = target.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&partial, target)
}

/// The placeholders for the config directory as `prepare` left it.
pub fn vars(config_dir: &Path) -> Result<TokenVars, Error> {
    let file = path(config_dir);
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(TokenVars {
                proxy_token: "none".to_string(),
                proxy_auth_token_file: String::new(),
            })
        }
        Err(e) => return Err(Error::io(&file, e)),
    };
    let all = tokens(&text)
        .map_err(|why| Error::io(&file, io::Error::new(io::ErrorKind::InvalidData, why)))?;
    Ok(TokenVars {
        proxy_token: all.last().map_or("none", |t| t).to_string(),
        proxy_auth_token_file: format!("{MOUNT_DIR}/{FILE}"),
    })
}

/// Removes what `prepare` made (`down`); already gone is fine.
pub fn remove(config_dir: &Path) -> Result<(), Error> {
    let file = path(config_dir);
    match std::fs::remove_file(&file) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(&file, e)),
    }
    // Not empty (something of the user's) or already gone: both fine.
    let _ = std::fs::remove_dir(config_dir.join(DIR));
    Ok(())
}

/// The tokens of a token file, by the proxy's rules (crate `proxy`, auth.rs): one per line,
/// blank lines and `#` comments skipped, RFC 6750 §2.1 b64token characters only, at least
/// one. A token is never put in a message.
pub fn tokens(text: &str) -> Result<Vec<&str>, String> {
    let mut all = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let token = line.trim();
        if token.is_empty() || token.starts_with('#') {
            continue;
        }
        if !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b))
        {
            return Err(format!(
                "line {}: a token may hold only letters, digits and -._~+/= (RFC 6750 b64token)",
                n + 1
            ));
        }
        all.push(token);
    }
    if all.is_empty() {
        return Err("no token in it (one per line; '#' starts a comment)".to_string());
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("prov-token-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn without_a_token_file_nothing_authenticates() {
        let dir = temp_dir("none");
        prepare(&dir, None).unwrap();
        assert!(dir.join(DIR).is_dir(), "the folder proxies mount exists");
        let v = vars(&dir).unwrap();
        assert_eq!(v.proxy_token, "none");
        assert_eq!(v.proxy_auth_token_file, "");
    }

    #[test]
    fn an_installed_file_gives_the_last_token_to_edges_and_stays_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("some");
        let source = dir.join("mine");
        std::fs::write(&source, "# rotation\nold-token\n\n  new.token+/=  \n").unwrap();
        prepare(&dir, Some(&source)).unwrap();
        let v = vars(&dir).unwrap();
        assert_eq!(v.proxy_token, "new.token+/=");
        assert_eq!(v.proxy_auth_token_file, "/etc/edge-sensors/tokens");
        let mode = std::fs::metadata(path(&dir)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // A later command (scale, up again) finds it without the flag; down removes it.
        prepare(&dir, None).unwrap();
        assert_eq!(vars(&dir).unwrap().proxy_token, "new.token+/=");
        remove(&dir).unwrap();
        assert_eq!(vars(&dir).unwrap().proxy_token, "none");
        assert!(!dir.join(DIR).exists());
    }

    #[test]
    fn a_file_the_proxy_would_refuse_is_refused_without_showing_tokens() {
        let dir = temp_dir("bad");
        for (text, why) in [
            ("# only a comment\n\n", "no token"),
            ("good\nbad token\n", "line 2"),
        ] {
            let source = dir.join("bad");
            std::fs::write(&source, text).unwrap();
            let err = prepare(&dir, Some(&source)).unwrap_err().to_string();
            assert!(err.contains(why) && !err.contains("good"), "{err}");
            assert!(!dir.join(DIR).exists(), "nothing written");
        }
        let missing = prepare(&dir, Some(&dir.join("missing"))).unwrap_err();
        assert!(missing.to_string().contains("missing"), "{missing}");
    }
}
