//! The provisioner's error type: what went wrong, with the context a user needs to act on it
//! (which container, which docker command, what docker said).
use safe_text::inert;
use std::fmt;

/// Each line of a container's log made inert on its own, so the lines stay lines.
fn inert_lines(text: &str) -> String {
    text.lines()
        .map(|l| inert(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Why an operation failed.
#[derive(Debug)]
pub enum ErrorKind {
    /// The `docker` CLI could not be run at all (not installed, not on PATH).
    DockerMissing(std::io::Error),
    /// A docker command about one resource failed; `resource` names it (a container, network
    /// or image) and `message` is docker's own stderr.
    Docker {
        resource: String,
        action: String,
        message: String,
    },
    /// A container started but is not running afterwards (it exited or was never created).
    NotRunning {
        container: String,
        state: String,
        logs: String,
    },
    /// An image a service needs is not on this host and `docker pull` failed (there may be no
    /// registry at all); `message` is docker's.
    ImageUnavailable {
        role: String,
        image: String,
        message: String,
    },
    /// The SQS queue could not be found or created.
    Queue(String),
    /// A core service did not pass its health check in time.
    Unhealthy { service: String, detail: String },
    /// The profile (built-in or `--profile FILE`) is malformed.
    Profile(String),
    /// The host is not tuned for this many edge nodes and `--force` was not given.
    NotTuned(String),
    /// Building images failed (cargo, a non-static binary, a missing file).
    Images(String),
    /// Reading or writing a local file failed.
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// A provisioner error.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
}

impl Error {
    pub fn new(kind: ErrorKind) -> Error {
        Error { kind }
    }

    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    pub fn docker(resource: &str, action: &str, message: &str) -> Error {
        Error::new(ErrorKind::Docker {
            resource: resource.to_string(),
            action: action.to_string(),
            message: message.trim().to_string(),
        })
    }

    pub fn profile(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Profile(message.into()))
    }

    pub fn images(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Images(message.into()))
    }

    pub fn io(path: &std::path::Path, source: std::io::Error) -> Error {
        Error::new(ErrorKind::Io {
            path: path.display().to_string(),
            source,
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::DockerMissing(e) => write!(f, "cannot run the docker CLI: {e}"),
            ErrorKind::Docker {
                resource,
                action,
                message,
            } => {
                write!(f, "failed to {action} {resource}: {}", inert(message))
            }
            ErrorKind::NotRunning {
                container,
                state,
                logs,
            } => {
                write!(f, "container {container} is not running (state: {state})")?;
                if !logs.trim().is_empty() {
                    write!(f, "; last log lines:\n{}", inert_lines(logs.trim_end()))?;
                }
                Ok(())
            }
            ErrorKind::ImageUnavailable {
                role,
                image,
                message,
            } => write!(
                f,
                "image {} ({role}) is not on this host and could not be pulled: {}\n\
                 hint: `provisioner images` builds our images here (proxy, puller, runner, \
                 standin); `--profile standin` runs the network on those alone, without the \
                 public Bacalhau image; or load the image with `docker load` / set {}_IMAGE",
                inert(image),
                inert(message.trim()),
                role.to_ascii_uppercase()
            ),
            ErrorKind::Queue(m) => write!(f, "SQS queue: {}", inert(m)),
            ErrorKind::Unhealthy { service, detail } => {
                write!(f, "{service} did not become healthy: {}", inert(detail))
            }
            ErrorKind::Profile(m) => write!(f, "bad profile: {}", inert(m)),
            // Quotes the `tune` tool's output: multi-line, so inert line by line.
            ErrorKind::NotTuned(m) => f.write_str(&inert_lines(m)),
            ErrorKind::Images(m) => write!(f, "building images failed: {}", inert(m)),
            ErrorKind::Io { path, source } => write!(f, "{path}: {source}"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "edge\u{1b}[2J\u{1b}[31mEVIL \u{1b}]0;pwned\u{7} us\u{202e}x\u{9b}";

    /// Issue 20: docker's messages and a container's log reach the terminal inert, and a log
    /// keeps its line structure.
    #[test]
    fn docker_and_container_text_is_shown_inert() {
        let errors = [
            Error::docker("container c", "start", HOSTILE),
            Error::new(ErrorKind::NotRunning {
                container: "c".into(),
                state: "exited".into(),
                logs: format!("line one {HOSTILE}\nline two\n"),
            }),
            Error::new(ErrorKind::ImageUnavailable {
                role: "edge".into(),
                image: "img".into(),
                message: HOSTILE.into(),
            }),
            Error::new(ErrorKind::Unhealthy {
                service: "s".into(),
                detail: HOSTILE.into(),
            }),
            Error::new(ErrorKind::Queue(HOSTILE.into())),
            Error::new(ErrorKind::NotTuned(HOSTILE.into())),
        ];
        for e in errors {
            let text = e.to_string();
            assert!(
                !text.chars().any(|c| c != '\n' && safe_text::is_hostile(c)),
                "raw control character in {text:?}"
            );
            assert!(text.contains("edge\\u{1b}[2J"), "{text}");
        }
        let logs = Error::new(ErrorKind::NotRunning {
            container: "c".into(),
            state: "exited".into(),
            logs: "a\u{1b}\nb\n".into(),
        });
        assert!(logs.to_string().ends_with("lines:\na\\u{1b}\nb"), "{logs}");
    }
}
