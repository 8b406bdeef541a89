//! SQS query-API client (`Version=2012-11-05`): form-encoded, SigV4-signed POSTs to the queue
//! URL, XML answers.
//!
//! - [`SqsClient`]: one keep-alive HTTP/1.1 connection, one thread; the operations the proxy,
//!   puller and demo need.
//! - [`SqsConfig`]: region, endpoint override, credentials, timeouts (`from_env` reads the
//!   usual `AWS_*` variables).
//! - [`Error`]: `is_retryable()` separates throttling/5xx/transport trouble from mistakes that
//!   retrying cannot fix.
mod client;
mod config;
mod error;
mod model;
mod query;
mod transport;
mod url;
pub mod xml;

pub use client::SqsClient;
pub use config::SqsConfig;
pub use error::{Error, ErrorKind};
pub use model::{
    BatchEntry, BatchOutcome, DeleteEntry, DeleteOutcome, Message, ReceiveOptions, SentMessage,
};
pub use query::{MAX_BATCH_BYTES, MAX_BATCH_ENTRIES};
