//! The one error type of the job-spec reader: what went wrong and where.
use std::fmt;

/// Which stage refused the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The Go template could not be rendered (syntax, missing key, unknown function).
    Template,
    /// A `-V` or `-E` value was malformed (bad pair, bad regex).
    Values,
    /// The YAML is malformed or uses a feature outside the supported subset.
    Yaml,
    /// The YAML is well formed but a field has the wrong shape or value.
    Spec,
    /// The spec is readable but Bacalhau would refuse it.
    Invalid,
    /// A module path could not be mapped to a host file.
    Path,
}

/// A job-spec error. `Display` is lower-case and names the line or field where known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    line: Option<usize>,
    message: String,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            line: None,
            message: message.into(),
        }
    }

    pub(crate) fn at(kind: ErrorKind, line: usize, message: impl Into<String>) -> Error {
        Error {
            kind,
            line: Some(line),
            message: message.into(),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// 1-based line of the input where the problem is, when known.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = match self.kind {
            ErrorKind::Template => "template",
            ErrorKind::Values => "template values",
            ErrorKind::Yaml => "yaml",
            ErrorKind::Spec => "job spec",
            ErrorKind::Invalid => "invalid job",
            ErrorKind::Path => "module path",
        };
        match self.line {
            Some(line) => write!(f, "{stage}: line {line}: {}", self.message),
            None => write!(f, "{stage}: {}", self.message),
        }
    }
}

impl std::error::Error for Error {}
