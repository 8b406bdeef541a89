//! An SQS client for LocalStack with its throwaway credentials.
use sigv4::sqs::{SqsClient, SqsConfig};
use sigv4::Credentials;

/// A client sending to `endpoint` (LocalStack) as `test`/`test` in us-east-1.
pub fn client(endpoint: &str) -> SqsClient {
    let credentials = Credentials::new("test", "test", None);
    SqsClient::new(SqsConfig::new(
        "us-east-1",
        Some(endpoint.to_string()),
        credentials,
    ))
}
