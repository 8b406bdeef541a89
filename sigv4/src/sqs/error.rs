//! Typed SQS client errors: what went wrong, and whether trying again can help.
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// Rejected before any I/O (bad batch, bad option, bad URL).
    InvalidInput(String),
    Credentials(String),
    /// Could not connect (refused, unreachable, DNS, TLS handshake).
    Connect(String),
    /// Connect, read or write timed out.
    Timeout(String),
    /// The connection broke mid-exchange (reset, unexpected EOF).
    Io(String),
    /// An AWS error response. Retryable iff 5xx or a throttling code.
    Service {
        status: u16,
        code: String,
        message: String,
    },
    /// The peer answered something that is not HTTP/1.1 or not the expected XML.
    Protocol(String),
}

/// Error codes AWS uses for throttling and transient trouble (botocore's retry list plus the
/// SQS-specific one); the rest of the 4xx codes are fatal.
const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "RequestThrottled",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "SlowDown",
    "PriorRequestNotComplete",
    "RequestTimeout",
    "RequestTimeoutException",
    "IDPCommunicationError",
    "EC2ThrottledException",
    "KmsThrottled",
    "KMS.ThrottlingException",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    /// What we were doing, e.g. "SendMessage to http://127.0.0.1:4566/000000000000/q".
    context: String,
}

impl Error {
    pub fn new(kind: ErrorKind, context: impl Into<String>) -> Error {
        Error {
            kind,
            context: context.into(),
        }
    }

    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    pub fn context(&self) -> &str {
        &self.context
    }

    /// Throttling codes, HTTP 5xx, connect refused/reset, timeouts.
    pub fn is_retryable(&self) -> bool {
        match &self.kind {
            ErrorKind::Connect(_) | ErrorKind::Timeout(_) | ErrorKind::Io(_) => true,
            ErrorKind::Service { status, code, .. } => {
                *status >= 500
                    || *status == 429
                    || RETRYABLE_CODES.contains(&code.as_str())
                    || RETRYABLE_CODES.contains(&code.rsplit('.').next().unwrap_or(""))
            }
            ErrorKind::InvalidInput(_) | ErrorKind::Credentials(_) | ErrorKind::Protocol(_) => {
                false
            }
        }
    }

    pub(crate) fn with_context(mut self, context: impl Into<String>) -> Error {
        self.context = context.into();
        self
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::InvalidInput(m) => write!(f, "invalid input: {m}"),
            ErrorKind::Credentials(m) => write!(f, "credentials: {m}"),
            ErrorKind::Connect(m) => write!(f, "connect failed: {m}"),
            ErrorKind::Timeout(m) => write!(f, "timed out: {m}"),
            ErrorKind::Io(m) => write!(f, "connection error: {m}"),
            ErrorKind::Service {
                status,
                code,
                message,
            } => write!(f, "sqs answered http {status} {code}: {message}"),
            ErrorKind::Protocol(m) => write!(f, "malformed answer: {m}"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.context.is_empty() {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "{}: {}", self.context, self.kind)
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(status: u16, code: &str) -> Error {
        Error::new(
            ErrorKind::Service {
                status,
                code: code.into(),
                message: "m".into(),
            },
            "op",
        )
    }

    #[test]
    fn retryable_classification() {
        assert!(service(500, "InternalError").is_retryable());
        assert!(service(503, "ServiceUnavailable").is_retryable());
        assert!(service(400, "ThrottlingException").is_retryable());
        assert!(service(400, "AWS.SimpleQueueService.RequestThrottled").is_retryable());
        assert!(!service(400, "AWS.SimpleQueueService.NonExistentQueue").is_retryable());
        assert!(!service(403, "InvalidClientTokenId").is_retryable());
        assert!(!service(403, "SignatureDoesNotMatch").is_retryable());
        assert!(Error::new(ErrorKind::Connect("refused".into()), "x").is_retryable());
        assert!(Error::new(ErrorKind::Timeout("read".into()), "x").is_retryable());
        assert!(!Error::new(ErrorKind::InvalidInput("x".into()), "x").is_retryable());
    }

    #[test]
    fn display_has_context_and_cause() {
        let e = service(400, "Bad");
        assert_eq!(e.to_string(), "op: sqs answered http 400 Bad: m");
    }
}
