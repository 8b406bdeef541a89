//! `sqs-standin`: a fast SQS stand-in for benchmarks, so that what a benchmark measures is
//! the proxy or the puller, not the queue. It speaks both SQS protocols (AWS JSON 1.0 and
//! query), counts and drops what is sent, hands out `--prefill` canned sensor messages to
//! receives, and times each message from its receive to its delete. `GET /stats` reports it.
//! It stores no messages and never redelivers: it is not an SQS emulator (LocalStack is).
#![forbid(unsafe_code)]

pub mod args;
pub mod canned;
pub mod error;
pub mod form;
pub mod histogram;
pub mod json_api;
pub mod json_request;
pub mod json_scan;
pub mod md5;
pub mod ops;
pub mod query_api;
pub mod queue;
pub mod server;
pub mod stats;
pub mod write;
