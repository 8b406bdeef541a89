//! The crate's error type: what went wrong, in words a user can act on.
use std::fmt;

/// Why the runner could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The module file could not be read.
    ModuleNotFound,
    /// The file is not a valid WebAssembly module.
    BadWasm,
    /// The module imports something this node does not provide.
    Link,
    /// The module needs more memory than the limit allows.
    MemoryLimit,
    /// The job file could not be read, rendered or understood.
    Job,
    /// Any other I/O failure (stats file, thread spawn, ...).
    Io,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
