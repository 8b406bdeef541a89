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

/// The next request an AWS JSON 1.0 SQS client sent on `reader`, for hand-written SQS
/// stand-ins in tests: its `X-Amz-Target` ("" when absent) and JSON body (`Null` when the
/// body is not JSON). `None` when the connection ends or does not carry HTTP.
pub fn next_json_request<R: std::io::Read>(
    reader: &mut http1::MessageReader<R>,
) -> Option<(String, serde_json::Value)> {
    let limits = http1::Limits::default();
    let request = reader
        .read_request(&limits, http1::BodyLimit::Reject(16 << 20))
        .ok()??;
    let target = request.header("x-amz-target").unwrap_or("").to_string();
    let body = serde_json::from_slice(&request.body).unwrap_or(serde_json::Value::Null);
    Some((target, body))
}

/// Writes `answer` as an AWS JSON 1.0 response with `status`, in one write (two small writes
/// would meet Nagle and delayed ACKs), for hand-written SQS stand-ins in tests.
pub fn write_json_answer(
    writer: &mut impl std::io::Write,
    status: u16,
    answer: &serde_json::Value,
) -> std::io::Result<()> {
    let answer = answer.to_string();
    let response = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/x-amz-json-1.0\r\n\
         Content-Length: {}\r\n\r\n{answer}",
        answer.len()
    );
    writer.write_all(response.as_bytes())
}

/// The answer to a DeleteMessageBatch or ChangeMessageVisibilityBatch `request` that
/// succeeded for every entry.
pub fn all_successful(request: &serde_json::Value) -> serde_json::Value {
    let ids: Vec<serde_json::Value> = request["Entries"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| serde_json::json!({"Id": e["Id"]}))
                .collect()
        })
        .unwrap_or_default();
    serde_json::json!({"Successful": ids, "Failed": []})
}
