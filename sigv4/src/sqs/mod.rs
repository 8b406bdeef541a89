//! SQS client speaking either wire protocol, SigV4-signed POSTs both:
//! - [`Protocol::Json`] (default): AWS JSON 1.0, `X-Amz-Target: AmazonSQS.<Op>` to `/`, JSON
//!   in and out (`json_ops`). What current SDKs use; LocalStack serves it several times
//!   faster than the query protocol.
//! - [`Protocol::Query`]: `Action=...&Version=2012-11-05` form bodies to the queue URL, XML
//!   answers (`query_ops`).
//!
//! - [`SqsClient`]: one keep-alive HTTP/1.1 connection, one thread; the operations the proxy,
//!   puller and demo need.
//! - [`SqsConfig`]: region, endpoint override, credentials, timeouts (`from_env` reads the
//!   usual `AWS_*` variables).
//! - [`cli`]: the flags every SQS binary shares (`--queue-url`, `--endpoint-url`, `--region`,
//!   `--profile`), parsed, validated and documented once.
//! - [`Error`]: `is_retryable()` separates throttling/5xx/transport trouble from mistakes that
//!   retrying cannot fix.
pub mod cli;
mod client;
mod config;
mod error;
mod json_batch_answer;
mod json_ops;
mod json_read;
mod json_receive;
mod model;
mod prepared;
mod query;
mod query_ops;
pub(crate) mod transport;
pub(crate) mod url;
pub mod xml;

pub use client::{is_fifo_token, SqsClient};
pub use config::{Protocol, SqsConfig};
pub use error::{Error, ErrorKind};
pub use model::{
    entry_id, BatchEntry, BatchOutcome, ChangeVisibilityEntry, ChangeVisibilityOutcome,
    DeleteEntry, DeleteOutcome, Message, MessageAttribute, ReceiveExtras, ReceiveOptions,
    SentMessage,
};
pub use prepared::PreparedBatch;
pub use query::{MAX_BATCH_BYTES, MAX_BATCH_ENTRIES, MAX_MESSAGE_ATTRIBUTES};
