//! The operations over AWS JSON 1.0: a JSON body POSTed to `/` of the endpoint (or of the
//! queue URL's origin) with `X-Amz-Target: AmazonSQS.<Op>`; JSON answers, and JSON error
//! bodies (`{"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": ...}`). Field names
//! follow botocore's SQS service model. Input was already checked by `SqsClient`.
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::credentials::Credentials;

use super::client::{Answer, SqsClient};
use super::error::{Error, ErrorKind};
use super::json_batch_answer::{self, BatchAnswer};
use super::json_receive;
use super::model::{
    BatchEntry, BatchOutcome, ChangeVisibilityEntry, ChangeVisibilityOutcome, DeleteEntry,
    DeleteOutcome, EntryOutcome, Message, ReceiveExtras, ReceiveOptions, SentMessage,
};
use super::prepared::PreparedBatch;
use super::url::Url;

const CONTENT_TYPE: &str = "application/x-amz-json-1.0";
/// SQS (being "awsQueryCompatible") names the query protocol's error code in this header,
/// `AWS.SimpleQueueService.NonExistentQueue;Sender`; preferred over `__type` so codes are the
/// same whichever protocol is configured.
const QUERY_ERROR_HEADER: &str = "x-amzn-query-error";

pub(super) fn send_message(
    c: &mut SqsClient,
    queue_url: &str,
    body: &str,
) -> Result<SentMessage, Error> {
    let action = "SendMessage";
    let answer = call(
        c,
        Some(queue_url),
        action,
        &json!({"QueueUrl": queue_url, "MessageBody": body}),
        None,
    )?;
    Ok(SentMessage {
        message_id: required_str(&answer, "MessageId", action)?,
        md5_of_body: required_str(&answer, "MD5OfMessageBody", action)?,
    })
}

pub(super) fn send_message_batch(
    c: &mut SqsClient,
    queue_url: &str,
    entries: &[BatchEntry<'_>],
) -> Result<Vec<BatchOutcome>, Error> {
    let action = "SendMessageBatch";
    let request = batch_request(queue_url, entries);
    let answer = call_raw(c, Some(queue_url), action, &request, None)?;
    batch_outcomes(&answer.text, answer.context, entries.iter().map(|e| e.id))
}

/// `send_message_batch`'s request, signed with `credentials`, for the caller to send.
pub(super) fn prepare_send_message_batch(
    c: &mut SqsClient,
    queue_url: &str,
    entries: &[BatchEntry<'_>],
    credentials: &Credentials,
) -> Result<PreparedBatch, Error> {
    let action = "SendMessageBatch";
    let target = json_target(c, Some(queue_url), action)?;
    let body = batch_request(queue_url, entries);
    let bytes = c.signed_bytes(&target, &json_headers(action), &body, credentials);
    let ids = entries.iter().map(|e| e.id.to_string()).collect();
    Ok(PreparedBatch::new(bytes, target, ids))
}

/// The answer to a prepared `SendMessageBatch`, read as `send_message_batch` reads it.
pub(super) fn read_batch_answer(
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    context: &str,
    ids: &[String],
) -> Result<Vec<BatchOutcome>, Error> {
    let text = std::str::from_utf8(body).map_err(|_| {
        Error::new(
            ErrorKind::Protocol("answer body is not utf-8".to_string()),
            context,
        )
    })?;
    if !(200..300).contains(&status) {
        return Err(service_error(status, headers, text).with_context(context));
    }
    batch_outcomes(text, context.to_string(), ids.iter().map(String::as_str))
}

/// One outcome per id, in order, from a 2xx answer's text.
fn batch_outcomes<'a>(
    text: &str,
    context: String,
    ids: impl Iterator<Item = &'a str>,
) -> Result<Vec<BatchOutcome>, Error> {
    let mut read = json_batch_answer::read(text)
        .map_err(|why| Error::new(ErrorKind::Protocol(why), context))?;
    ids.map(|id| batch_outcome(&mut read, id)).collect()
}

/// What the answer says of entry `id`: sent (with its message id and digest), failed (its
/// error), or, listed nowhere, a failure worth a retry. The strings move out of the answer
/// (entry ids are unique within a batch).
fn batch_outcome(answer: &mut BatchAnswer, id: &str) -> Result<BatchOutcome, Error> {
    let action = "SendMessageBatch";
    let required = |v: &mut Option<String>, name: &str| {
        v.take()
            .ok_or_else(|| malformed(action, &format!("answer has no string {name:?}")))
    };
    if let Some(sent) = answer.sent(id) {
        return Ok(BatchOutcome::Sent {
            id: id.to_string(),
            message_id: required(&mut sent.message_id, "MessageId")?,
            md5_of_body: required(&mut sent.md5_of_body, "MD5OfMessageBody")?,
        });
    }
    let (code, message, sender_fault) = match answer.failure(id) {
        Some(f) => (
            f.code.take().unwrap_or_default(),
            f.message.take().unwrap_or_default(),
            f.sender_fault,
        ),
        None => missing_from_response(),
    };
    Ok(BatchOutcome::Failed {
        id: id.to_string(),
        code,
        message,
        sender_fault,
    })
}

/// The `SendMessageBatch` request, written straight into bytes: each body is escaped once
/// into the request instead of being copied into a JSON tree first (this runs once per
/// batch on the proxy's hot path). Entries carry the optional members only when set.
fn batch_request(queue_url: &str, entries: &[BatchEntry<'_>]) -> Vec<u8> {
    // Sized so the buffer is not grown (and copied) while it is written: escaping adds a
    // backslash per quote of a JSON body, about an eighth of it.
    let size: usize = entries.iter().map(entry_size).sum();
    entries_request(queue_url, entries, size, |out, e| {
        out.extend_from_slice(b"{\"Id\":");
        put_str(out, e.id);
        out.extend_from_slice(b",\"MessageBody\":");
        put_str(out, e.body);
        if let Some(group) = e.group_id {
            out.extend_from_slice(b",\"MessageGroupId\":");
            put_str(out, group);
        }
        if let Some(dedup) = e.deduplication_id {
            out.extend_from_slice(b",\"MessageDeduplicationId\":");
            put_str(out, dedup);
        }
        if !e.attributes.is_empty() {
            out.extend_from_slice(b",\"MessageAttributes\":{");
            for (j, a) in e.attributes.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                put_str(out, &a.name);
                out.extend_from_slice(b":{\"DataType\":");
                put_str(out, &a.data_type);
                out.extend_from_slice(b",\"StringValue\":");
                put_str(out, &a.value);
                out.push(b'}');
            }
            out.push(b'}');
        }
        out.push(b'}');
    })
}

/// About what `batch_request` writes for `e`.
fn entry_size(e: &BatchEntry<'_>) -> usize {
    let optional = |v: Option<&str>| v.map_or(0, |v| v.len() + 32);
    let attributes: usize = e
        .attributes
        .iter()
        .map(|a| a.name.len() + a.data_type.len() + a.value.len() + 40)
        .sum();
    e.body.len()
        + e.body.len() / 8
        + 48
        + optional(e.group_id)
        + optional(e.deduplication_id)
        + attributes
}

/// `{"QueueUrl": queue_url, "Entries": [...]}` with each entry written by `entry` (an object),
/// into one buffer sized for `size` bytes of entries.
fn entries_request<E>(
    queue_url: &str,
    entries: &[E],
    size: usize,
    entry: impl Fn(&mut Vec<u8>, &E),
) -> Vec<u8> {
    let mut out = Vec::with_capacity(queue_url.len() + size + 32);
    out.extend_from_slice(b"{\"QueueUrl\":");
    put_str(&mut out, queue_url);
    out.extend_from_slice(b",\"Entries\":[");
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        entry(&mut out, e);
    }
    out.extend_from_slice(b"]}");
    out
}

/// `s` as a JSON string literal (quoted and escaped) at the end of `out`.
fn put_str(out: &mut Vec<u8>, s: &str) {
    // Serializing a str into a Vec cannot fail (no I/O, no map keys to check).
    let _ = serde_json::to_writer(&mut *out, s);
}

pub(super) fn receive_message(
    c: &mut SqsClient,
    queue_url: &str,
    options: &ReceiveOptions,
    extras: &ReceiveExtras,
    wait: Duration,
) -> Result<Vec<Message>, Error> {
    let action = "ReceiveMessage";
    let mut request = json!({
        "QueueUrl": queue_url,
        "MaxNumberOfMessages": options.max_messages,
        "WaitTimeSeconds": options.wait_seconds,
    });
    if let Some(v) = options.visibility_timeout {
        request["VisibilityTimeout"] = json!(v);
    }
    if !options.system_attributes.is_empty() {
        request["MessageSystemAttributeNames"] = json!(options.system_attributes);
    }
    if !options.message_attributes.is_empty() {
        request["MessageAttributeNames"] = json!(options.message_attributes);
    }
    if let Some(id) = &extras.attempt_id {
        request["ReceiveRequestAttemptId"] = json!(id);
    }
    let body = request.to_string();
    let answer = call_raw(c, Some(queue_url), action, body.as_bytes(), Some(wait))?;
    json_receive::messages(&answer.text)
        .map_err(|why| Error::new(ErrorKind::Protocol(why), answer.context))
}

pub(super) fn delete_message_batch(
    c: &mut SqsClient,
    queue_url: &str,
    entries: &[DeleteEntry<'_>],
) -> Result<Vec<DeleteOutcome>, Error> {
    // Written straight into bytes, like `batch_request`: the puller deletes every batch.
    let request = entries_request(queue_url, entries, entries.len() * 256, |out, e| {
        out.extend_from_slice(b"{\"Id\":");
        put_str(out, e.id);
        out.extend_from_slice(b",\"ReceiptHandle\":");
        put_str(out, e.receipt_handle);
        out.push(b'}');
    });
    let answer = call_with_body(c, Some(queue_url), "DeleteMessageBatch", &request, None)?;
    Ok(outcomes(&answer, entries.iter().map(|e| e.id)))
}

pub(super) fn change_message_visibility_batch(
    c: &mut SqsClient,
    queue_url: &str,
    entries: &[ChangeVisibilityEntry<'_>],
) -> Result<Vec<ChangeVisibilityOutcome>, Error> {
    let list: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!({"Id": e.id, "ReceiptHandle": e.receipt_handle,
                   "VisibilityTimeout": e.visibility_timeout})
        })
        .collect();
    let answer = call(
        c,
        Some(queue_url),
        "ChangeMessageVisibilityBatch",
        &json!({"QueueUrl": queue_url, "Entries": list}),
        None,
    )?;
    Ok(outcomes(&answer, entries.iter().map(|e| e.id)))
}

pub(super) fn delete_message(
    c: &mut SqsClient,
    queue_url: &str,
    receipt_handle: &str,
) -> Result<(), Error> {
    let request = json!({"QueueUrl": queue_url, "ReceiptHandle": receipt_handle});
    call(c, Some(queue_url), "DeleteMessage", &request, None).map(drop)
}

pub(super) fn create_queue(
    c: &mut SqsClient,
    name: &str,
    attributes: &[(&str, &str)],
) -> Result<String, Error> {
    let mut request = json!({"QueueName": name});
    if !attributes.is_empty() {
        let map: Map<String, Value> = attributes
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        request["Attributes"] = Value::Object(map);
    }
    let answer = call(c, None, "CreateQueue", &request, None)?;
    required_str(&answer, "QueueUrl", "CreateQueue")
}

pub(super) fn get_queue_url(c: &mut SqsClient, name: &str) -> Result<String, Error> {
    let answer = call(c, None, "GetQueueUrl", &json!({"QueueName": name}), None)?;
    required_str(&answer, "QueueUrl", "GetQueueUrl")
}

pub(super) fn get_queue_attributes(
    c: &mut SqsClient,
    queue_url: &str,
    names: &[&str],
) -> Result<Vec<(String, String)>, Error> {
    let request = json!({"QueueUrl": queue_url, "AttributeNames": names});
    let answer = call(c, Some(queue_url), "GetQueueAttributes", &request, None)?;
    Ok(string_map(answer.get("Attributes")))
}

pub(super) fn purge_queue(c: &mut SqsClient, queue_url: &str) -> Result<(), Error> {
    let request = json!({"QueueUrl": queue_url});
    call(c, Some(queue_url), "PurgeQueue", &request, None).map(drop)
}

/// Signs and sends one action to the target's `/`; returns the 2xx answer's JSON (an empty
/// object for an empty body, as `DeleteMessage` may answer) or a typed error.
pub(super) fn call(
    c: &mut SqsClient,
    queue_url: Option<&str>,
    action: &'static str,
    request: &Value,
    min_read_timeout: Option<Duration>,
) -> Result<Value, Error> {
    let body = request.to_string();
    call_with_body(c, queue_url, action, body.as_bytes(), min_read_timeout)
}

/// One call: the answer of a 2xx, else the service's error.
fn call_raw(
    c: &mut SqsClient,
    queue_url: Option<&str>,
    action: &'static str,
    body: &[u8],
    min_read_timeout: Option<Duration>,
) -> Result<Answer, Error> {
    let target = json_target(c, queue_url, action)?;
    let answer = c.signed_post(
        action,
        &target,
        &json_headers(action),
        body,
        min_read_timeout,
    )?;
    if !(200..300).contains(&answer.status) {
        return Err(service_error(answer.status, &answer.headers, &answer.text)
            .with_context(answer.context));
    }
    Ok(answer)
}

/// Where a JSON request goes: `/` of the endpoint (or of the queue URL's origin).
pub(super) fn json_target(
    c: &SqsClient,
    queue_url: Option<&str>,
    action: &str,
) -> Result<Url, Error> {
    let mut target = c
        .target(queue_url)
        .map_err(|why| Error::new(ErrorKind::InvalidInput(why), action))?;
    target.path = "/".to_string();
    Ok(target)
}

fn json_headers(action: &str) -> [(String, String); 2] {
    [
        ("content-type".to_string(), CONTENT_TYPE.to_string()),
        ("x-amz-target".to_string(), format!("AmazonSQS.{action}")),
    ]
}

/// `call` with the request already serialized.
fn call_with_body(
    c: &mut SqsClient,
    queue_url: Option<&str>,
    action: &'static str,
    body: &[u8],
    min_read_timeout: Option<Duration>,
) -> Result<Value, Error> {
    let answer = call_raw(c, queue_url, action, body, min_read_timeout)?;
    if answer.text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    match serde_json::from_str::<Value>(&answer.text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(Error::new(
            ErrorKind::Protocol("answer is not a json object".to_string()),
            answer.context,
        )),
        Err(why) => Err(Error::new(
            ErrorKind::Protocol(format!("answer is not valid json: {why}")),
            answer.context,
        )),
    }
}

/// Code: the `x-amzn-query-error` header's code, else `__type` without its namespace
/// (`com.amazonaws.sqs#QueueDoesNotExist` → `QueueDoesNotExist`). A body that is not JSON
/// (a proxy's HTML page, say) still yields the status and a snippet.
fn service_error(status: u16, headers: &[(String, String)], text: &str) -> Error {
    let parsed: Option<Value> = serde_json::from_str(text).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
    };
    let header_code = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(QUERY_ERROR_HEADER))
        .and_then(|(_, v)| v.split(';').next())
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let type_code = field("__type").map(|t| {
        let t = t.rsplit('#').next().unwrap_or(t);
        t.split(':').next().unwrap_or(t)
    });
    let code = header_code.or(type_code).unwrap_or("").to_string();
    let message = match field("message").or_else(|| field("Message")) {
        Some(m) => m.to_string(),
        None if parsed.is_some() => String::new(),
        None => text.chars().take(200).collect(),
    };
    Error::new(
        ErrorKind::Service {
            status,
            code,
            message,
        },
        "",
    )
}

fn malformed(action: &str, why: &str) -> Error {
    Error::new(ErrorKind::Protocol(why.to_string()), action.to_string())
}

fn required_str(v: &Value, name: &str, action: &str) -> Result<String, Error> {
    v.get(name)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| malformed(action, &format!("answer has no string {name:?}")))
}

fn optional_str(v: &Value, name: &str) -> String {
    v.get(name)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// `{"Name": "value", ...}` as pairs; non-string values are skipped (SQS sends none).
fn string_map(v: Option<&Value>) -> Vec<(String, String)> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// Each entry's outcome: done when the answer lists it under `Successful`, else the error
/// it gives for it (a synthetic one when it names the entry in neither list).
fn outcomes<'a, O: EntryOutcome>(answer: &Value, ids: impl Iterator<Item = &'a str>) -> Vec<O> {
    ids.map(|id| {
        if find_by_id(answer, "Successful", id).is_some() {
            O::done(id.to_string())
        } else {
            let (code, message, sender_fault) = batch_error(answer, id);
            O::failed(id.to_string(), code, message, sender_fault)
        }
    })
    .collect()
}

/// The entry of `answer[list]` whose `Id` is `id`.
fn find_by_id<'a>(answer: &'a Value, list: &str, id: &str) -> Option<&'a Value> {
    answer
        .get(list)?
        .as_array()?
        .iter()
        .find(|e| e.get("Id").and_then(Value::as_str) == Some(id))
}

/// The `Failed` entry for `id`; an entry in neither list gets a synthetic failure so the
/// caller retries it rather than assuming it went through.
fn batch_error(answer: &Value, id: &str) -> (String, String, bool) {
    match find_by_id(answer, "Failed", id) {
        Some(e) => (
            optional_str(e, "Code"),
            optional_str(e, "Message"),
            e.get("SenderFault").and_then(Value::as_bool) == Some(true),
        ),
        None => missing_from_response(),
    }
}

/// The failure of an entry the answer names in neither list: retryable, so the caller
/// retries it rather than assuming it went through.
fn missing_from_response() -> (String, String, bool) {
    (
        "MissingFromResponse".to_string(),
        "the answer listed this entry neither as done nor as failed".to_string(),
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqs::MessageAttribute;

    /// The request as the JSON it is, to compare with what the service model says.
    fn batch_entry(e: &BatchEntry<'_>) -> Value {
        let request: Value = serde_json::from_slice(&batch_request("u", &[*e])).unwrap();
        assert_eq!(request["QueueUrl"], "u");
        request["Entries"][0].clone()
    }

    #[test]
    fn the_query_error_header_is_found_whatever_its_case() {
        // HTTP header names are case-insensitive (RFC 9110 §5.1); a reader that does not
        // lower-case them (the proxy's own connections) must still find the code.
        let body = r#"{"__type":"com.amazon.coral.service#Other","message":"m"}"#;
        for name in ["x-amzn-query-error", "X-Amzn-Query-Error"] {
            let headers = [(
                name.to_string(),
                "AWS.SimpleQueueService.NonExistentQueue;Sender".to_string(),
            )];
            let e = service_error(400, &headers, body).to_string();
            assert!(
                e.contains("AWS.SimpleQueueService.NonExistentQueue"),
                "{name}: {e}"
            );
        }
    }

    #[test]
    fn a_sensor_batch_fits_the_buffer_sized_for_it() {
        let body = r##"{"job_id":"j-3","execution_id":"e-1","hostname":"edge-node-17","job_submission_time":1711449600,"icon_name":"🛰️","timestamp":"2025-03-26T12:34:56Z","color":"#3357FF","sequence":17,"region":"us"}"##;
        let attributes = [
            MessageAttribute::string("region", "us"),
            MessageAttribute::string("hostname", "edge-node-17"),
            MessageAttribute::number("job_submission_time", "1711449600"),
            MessageAttribute::string("proxy_region", "us-east-1"),
        ];
        let ids: Vec<String> = (0..10).map(|i| i.to_string()).collect();
        let entries: Vec<BatchEntry<'_>> = ids
            .iter()
            .map(|id| BatchEntry {
                id,
                body,
                group_id: None,
                deduplication_id: None,
                attributes: &attributes,
            })
            .collect();
        let queue = "http://127.0.0.1:4566/000000000000/edge-sensors";
        let sized = queue.len() + entries.iter().map(entry_size).sum::<usize>() + 32;
        let written = batch_request(queue, &entries);
        assert!(written.len() <= sized, "{} > {sized}", written.len());
        assert_eq!(written.capacity(), sized, "the buffer grew");
    }

    #[test]
    fn batch_request_escapes_bodies_and_lists_every_entry() {
        let bodies = ["{\"a\":\"\\\"\\n\"}", "\u{1}\u{7f}\u{2028}😀", ""];
        let entries: Vec<BatchEntry<'_>> = bodies
            .iter()
            .map(|body| BatchEntry {
                id: "x",
                body,
                ..BatchEntry::default()
            })
            .collect();
        let request: Value = serde_json::from_slice(&batch_request("q\"u", &entries)).unwrap();
        assert_eq!(request["QueueUrl"], "q\"u");
        let got: Vec<&str> = request["Entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["MessageBody"].as_str().unwrap())
            .collect();
        assert_eq!(got, bodies);
    }

    #[test]
    fn batch_entry_carries_fifo_ids_and_attributes_only_when_set() {
        let plain = BatchEntry {
            id: "0",
            body: "b",
            ..BatchEntry::default()
        };
        assert_eq!(batch_entry(&plain), json!({"Id": "0", "MessageBody": "b"}));
        let attributes = [
            MessageAttribute::string("hostname", "h"),
            MessageAttribute::number("job_submission_time", "17"),
        ];
        let full = BatchEntry {
            group_id: Some("g"),
            deduplication_id: Some("d"),
            attributes: &attributes,
            ..plain
        };
        assert_eq!(
            batch_entry(&full),
            json!({"Id": "0", "MessageBody": "b", "MessageGroupId": "g",
                   "MessageDeduplicationId": "d", "MessageAttributes": {
                       "hostname": {"DataType": "String", "StringValue": "h"},
                       "job_submission_time": {"DataType": "Number", "StringValue": "17"}}})
        );
    }

    /// How SendMessageBatch answers were read before `json_batch_answer`: through a tree.
    fn tree_outcome(answer: &Value, id: &str) -> Result<BatchOutcome, String> {
        let action = "SendMessageBatch";
        Ok(match find_by_id(answer, "Successful", id) {
            Some(r) => BatchOutcome::Sent {
                id: id.to_string(),
                message_id: required_str(r, "MessageId", action).map_err(|e| e.to_string())?,
                md5_of_body: required_str(r, "MD5OfMessageBody", action)
                    .map_err(|e| e.to_string())?,
            },
            None => {
                let (code, message, sender_fault) = batch_error(answer, id);
                BatchOutcome::Failed {
                    id: id.to_string(),
                    code,
                    message,
                    sender_fault,
                }
            }
        })
    }

    #[test]
    fn batch_answers_read_as_the_tree_read_them() {
        let answers = [
            r#"{"Successful":[{"Id":"0","MessageId":"m0","MD5OfMessageBody":"d0",
                "MD5OfMessageAttributes":"a","SequenceNumber":"1"},{"Id":"2","MessageId":"m2",
                "MD5OfMessageBody":"d2"}],"Failed":[{"Id":"1","SenderFault":true,
                "Code":"InvalidParameterValue","Message":"bad \"x\""}]}"#,
            r#"{"Failed":[{"Id":"0","SenderFault":false,"Code":"InternalError"},
                {"Id":"1"},{"Id":"2","SenderFault":"yes","Message":7}],"Successful":null}"#,
            r#"{"Successful":[{"Id":"0","MessageId":"first","MD5OfMessageBody":"d"},
                {"Id":"0","MessageId":"second","MD5OfMessageBody":"d"}],"Other":{"x":[1]}}"#,
            r#"{"Successful":[7,"x",null,[1],{"Id":1,"MessageId":"m"},
                {"Id":"1","MessageId":"m1","MD5OfMessageBody":"d1"}],"Failed":{"Id":"0"}}"#,
            r#"{"Successful":[{"Id":"0","MD5OfMessageBody":"d"}]}"#,
            r#"{"Successful":[{"Id":"1","MessageId":null,"MD5OfMessageBody":"d"}]}"#,
            r#"{"Successful":"none","Failed":5}"#,
            "{}",
        ];
        for text in answers {
            let tree: Value = serde_json::from_str(text).unwrap();
            let mut read = json_batch_answer::read(text).unwrap();
            for id in ["0", "1", "2", "3"] {
                let want = tree_outcome(&tree, id);
                let got = batch_outcome(&mut read, id).map_err(|e| e.to_string());
                assert_eq!(got, want, "entry {id} of {text}");
            }
        }
    }

    #[test]
    fn batch_answers_that_are_not_objects_are_refused() {
        assert!(json_batch_answer::read("").unwrap().successful.is_empty());
        for (text, why) in [
            ("[]", "not a json object"),
            ("{\"Successful\":[", "not valid json"),
            ("{} x", "not valid json"),
        ] {
            let err = json_batch_answer::read(text).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
    }
}
