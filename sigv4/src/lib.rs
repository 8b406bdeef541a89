//! AWS Signature Version 4 signing and a small SQS client built on it.
//!
//! The signer follows the SigV4 specification for non-S3 services, one file per step:
//! [`canonical_request`] → [`string_to_sign`] → [`signing_key`] → [`signer`], with
//! [`date_time`] and [`uri_encode`] as the shared pieces. Each intermediate artifact has a
//! `Display` that is the exact text AWS specifies, so tests compare every step separately
//! (byte-identical to botocore's `SigV4Auth`, see `tests/botocore_compare.rs`).
//!
//! [`credentials`] finds credentials the way the AWS SDKs' default chain does (environment,
//! shared files, web identity, container endpoint, EC2 IMDSv2) and keeps temporary ones fresh.
//!
//! [`sqs`] is the SQS client the proxy, the puller and the demo use. It speaks AWS JSON 1.0
//! (`X-Amz-Target: AmazonSQS.<Op>`, what current AWS SDKs use) by default and the older
//! query protocol (`Action=...&Version=2012-11-05`, XML answers) on request
//! (`SqsConfig::protocol`, or `SQS_PROTOCOL=query`), over HTTP/1.1 keep-alive on plain TCP or
//! rustls, with typed retryable/fatal errors and the [`Backoff`] helper callers share for
//! retries.
#![forbid(unsafe_code)]

pub mod backoff;
pub mod ca_bundle;
pub mod canonical_request;
pub mod credentials;
pub mod date_time;
pub mod signer;
pub mod signing_key;
pub mod sqs;
pub mod string_to_sign;
pub mod uri_encode;

pub use backoff::Backoff;
pub use credentials::{Credentials, CredentialsError, CredentialsProvider};
pub use signer::{sign_request, SignableRequest, SignedRequest, SigningParams};
