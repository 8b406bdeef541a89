//! The one error type of `tune`: a kind saying what went wrong, with the path or setting it
//! concerns, so every message names what the user has to look at.
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
}

#[derive(Debug)]
pub enum ErrorKind {
    /// A file-system operation failed; `action` says what we were doing ("read", "write"...).
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// `apply` was asked to change the real host without root privileges.
    NotRoot,
    /// /etc/docker/daemon.json exists but is not a JSON object.
    DaemonJson { path: PathBuf, reason: String },
    /// The backup manifest is unreadable or does not match what `tune` writes.
    Manifest { path: PathBuf, reason: String },
    /// Another tune apply or revert holds the lock on this root.
    Busy { root: PathBuf },
    /// `--only` selected no setting.
    NoMatch { only: String },
    /// Some settings could not be written (apply went on with the rest).
    Incomplete { failed: usize },
}

impl Error {
    pub fn new(kind: ErrorKind) -> Error {
        Error { kind }
    }

    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Wraps an I/O error with what was being done and to which path.
    pub fn io(action: &'static str, path: &Path, source: io::Error) -> Error {
        Error::new(ErrorKind::Io {
            action,
            path: path.to_path_buf(),
            source,
        })
    }

    pub fn manifest(path: &Path, reason: impl Into<String>) -> Error {
        Error::new(ErrorKind::Manifest {
            path: path.to_path_buf(),
            reason: reason.into(),
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Io {
                action,
                path,
                source,
            } => {
                write!(f, "failed to {action} {}: {source}", path.display())
            }
            ErrorKind::NotRoot => f.write_str(
                "apply changes kernel settings and files under /etc, which needs root: run it \
                 as root (sudo tune apply ...), see the changes first with --dry-run, or work on \
                 another tree with --root DIR",
            ),
            ErrorKind::DaemonJson { path, reason } => write!(
                f,
                "{} is not a JSON object ({reason}); fix or move it, tune will not guess",
                path.display()
            ),
            ErrorKind::Manifest { path, reason } => {
                write!(
                    f,
                    "backup manifest {} is unusable: {reason}",
                    path.display()
                )
            }
            ErrorKind::Busy { root } => write!(
                f,
                "another `tune apply` or `tune revert` is running on {}; try again when it ends",
                root.display()
            ),
            ErrorKind::NoMatch { only } => write!(
                f,
                "no setting matches --only {only} (names: sysctl names such as net.core.somaxconn, \
                 limits.nofile, docker.<key>; see `tune plan`)"
            ),
            ErrorKind::Incomplete { failed } => write!(
                f,
                "{failed} setting(s) could not be applied (see above); the backup is kept, \
                 `tune revert` undoes what was changed"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
