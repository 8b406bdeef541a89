//! `credential_process`: a command in the profile that prints credentials as JSON.
//!
//! The output is `{"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken",
//! "Expiration"}`; without `Expiration` the credentials are long-term (AWS SDKs and Tools
//! Reference Guide, "Process credential provider", feature-process-credentials.html). The
//! command runs through `sh -c` with its stderr passed through, and must finish within
//! [`TIMEOUT`]: a hung helper is killed, not waited for forever.
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::{from_json_document, Credentials, CredentialsError};

pub const TIMEOUT: Duration = Duration::from_secs(60);
/// A credentials document is a few KiB; anything far bigger is not one.
const MAX_OUTPUT: u64 = 1024 * 1024;

/// Runs `command` for profile `profile` (named in errors; the command line is not, since
/// helpers are sometimes given secrets as arguments).
pub fn run(command: &str, profile: &str) -> Result<Credentials, CredentialsError> {
    let source = format!("credential_process of profile [{profile}]");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| CredentialsError::new(format!("{source}: cannot start sh: {e}")))?;
    let Some(stdout) = child.stdout.take() else {
        return Err(CredentialsError::new(format!("{source}: no stdout pipe")));
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let read = stdout.take(MAX_OUTPUT).read_to_end(&mut out).map(|_| out);
        let _ = tx.send(read);
    });
    let output = match rx.recv_timeout(TIMEOUT) {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => return Err(CredentialsError::new(format!("{source}: reading: {e}"))),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(CredentialsError::new(format!(
                "{source}: did not finish within {TIMEOUT:?}; killed"
            )));
        }
    };
    let status = child
        .wait()
        .map_err(|e| CredentialsError::new(format!("{source}: waiting: {e}")))?;
    if !status.success() {
        return Err(CredentialsError::new(format!(
            "{source}: exited with {status}"
        )));
    }
    let text = String::from_utf8(output)
        .map_err(|_| CredentialsError::new(format!("{source}: output is not utf-8")))?;
    let version = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("Version").and_then(|v| v.as_u64()));
    if version != Some(1) {
        return Err(CredentialsError::new(format!(
            "{source}: output must be a JSON object with \"Version\": 1"
        )));
    }
    from_json_document(&text, "SessionToken", &source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_json_with_expiration() {
        let c = run(
            r#"echo '{"Version":1,"AccessKeyId":"AKP","SecretAccessKey":"SKP","SessionToken":"TP","Expiration":"2031-05-06T07:08:09Z"}'"#,
            "p",
        )
        .unwrap();
        assert_eq!(c.access_key_id, "AKP");
        assert_eq!(c.session_token.as_deref(), Some("TP"));
        assert!(c.expires_at.is_some());
    }

    #[test]
    fn long_term_keys_have_no_expiry() {
        let c = run(
            r#"printf '{"Version":1,"AccessKeyId":"A","SecretAccessKey":"S"}'"#,
            "p",
        )
        .unwrap();
        assert_eq!((c.session_token, c.expires_at), (None, None));
    }

    #[test]
    fn failures_are_named_without_the_output_or_command() {
        let wrong_version = run(
            r#"echo '{"Version":2,"AccessKeyId":"A","SecretAccessKey":"hushhush"}'"#,
            "p",
        )
        .unwrap_err()
        .to_string();
        assert!(wrong_version.contains("\"Version\": 1"), "{wrong_version}");
        assert!(!wrong_version.contains("hushhush"), "{wrong_version}");
        let failed = run("echo hushhush; exit 3", "prof")
            .unwrap_err()
            .to_string();
        assert!(
            failed.contains("[prof]") && failed.contains("exit"),
            "{failed}"
        );
        assert!(!failed.contains("hushhush"), "{failed}");
    }
}
