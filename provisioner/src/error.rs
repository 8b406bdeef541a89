//! The provisioner's error type: what went wrong, with the context a user needs to act on it
//! (which container, which docker command, what docker said).
use std::fmt;

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
                write!(f, "failed to {action} {resource}: {message}")
            }
            ErrorKind::NotRunning {
                container,
                state,
                logs,
            } => {
                write!(f, "container {container} is not running (state: {state})")?;
                if !logs.trim().is_empty() {
                    write!(f, "; last log lines:\n{}", logs.trim_end())?;
                }
                Ok(())
            }
            ErrorKind::ImageUnavailable {
                role,
                image,
                message,
            } => write!(
                f,
                "image {image} ({role}) is not on this host and could not be pulled: {}\n\
                 hint: `provisioner images` builds our images here (proxy, puller, runner, \
                 standin); `--profile standin` runs the network on those alone, without the \
                 public Bacalhau image; or load the image with `docker load` / set {}_IMAGE",
                message.trim(),
                role.to_ascii_uppercase()
            ),
            ErrorKind::Queue(m) => write!(f, "SQS queue: {m}"),
            ErrorKind::Unhealthy { service, detail } => {
                write!(f, "{service} did not become healthy: {detail}")
            }
            ErrorKind::Profile(m) => write!(f, "bad profile: {m}"),
            ErrorKind::NotTuned(m) => f.write_str(m),
            ErrorKind::Images(m) => write!(f, "building images failed: {m}"),
            ErrorKind::Io { path, source } => write!(f, "{path}: {source}"),
        }
    }
}

impl std::error::Error for Error {}
