//! Shared by the test files that run against LocalStack once per wire protocol: a client for
//! either protocol, and `for_both_protocols!`, which turns each `fn name(protocol)` into the
//! tests `json::name` and `query::name`.
#![allow(dead_code)] // each test file uses what it needs

use sigv4::sqs::{Protocol, SqsClient, SqsConfig};
use sigv4::Credentials;

/// A client for LocalStack (started on demand by the testkit) speaking `protocol`.
pub fn client(protocol: Protocol) -> SqsClient {
    let endpoint = edge_tests::localstack::require();
    let mut config = SqsConfig::new(
        "us-east-1",
        Some(endpoint),
        Credentials::new("test", "test", None),
    );
    config.protocol = protocol;
    SqsClient::new(config)
}

macro_rules! for_both_protocols {
    ($($name:ident),* $(,)?) => {
        mod json {
            $(#[test]
            fn $name() {
                super::$name(sigv4::sqs::Protocol::Json)
            })*
        }
        mod query {
            $(#[test]
            fn $name() {
                super::$name(sigv4::sqs::Protocol::Query)
            })*
        }
    };
}
pub(crate) use for_both_protocols;
