//! The puller's runtime errors (usage errors are `flags::Error`). Messages are lower-case and
//! carry their context, as in "cannot open /x.jsonl: permission denied".
use std::fmt;

#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// Configuration that could not be completed at startup (credentials, sink, ports).
    Setup(String),
    /// An SQS error that retrying cannot fix (unknown queue, denied access).
    Sqs(String),
    /// Writing the report file failed.
    Io(String),
    /// The pollers kept dying: the puller could not poll at all.
    Pollers(String),
}

impl Error {
    pub fn new(kind: ErrorKind) -> Error {
        Error { kind }
    }

    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Setup(m) | ErrorKind::Sqs(m) | ErrorKind::Io(m) | ErrorKind::Pollers(m) => {
                f.write_str(m)
            }
        }
    }
}

impl std::error::Error for Error {}
