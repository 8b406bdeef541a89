//! The operations over the query protocol (`Version=2012-11-05`): form-encoded bodies POSTed
//! to the queue URL's path, XML answers and `<ErrorResponse>` error documents. Input was
//! already checked by `SqsClient`.
use std::time::Duration;

use super::client::SqsClient;
use super::error::{Error, ErrorKind};
use super::model::{
    BatchEntry, BatchOutcome, ChangeVisibilityEntry, ChangeVisibilityOutcome, DeleteEntry,
    DeleteOutcome, EntryOutcome, Message, MessageAttribute, ReceiveExtras, ReceiveOptions,
    SentMessage,
};
use super::query::QueryBody;
use super::xml::{self, Element};

const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

pub(super) fn send_message(
    c: &mut SqsClient,
    queue_url: &str,
    body: &str,
) -> Result<SentMessage, Error> {
    let mut q = QueryBody::new("SendMessage");
    q.param("QueueUrl", queue_url).param("MessageBody", body);
    let root = call(c, Some(queue_url), &q, None)?;
    let result = expect_child(&root, "SendMessageResult", q.action())?;
    Ok(SentMessage {
        message_id: required_text(result, "MessageId", q.action())?,
        md5_of_body: required_text(result, "MD5OfMessageBody", q.action())?,
    })
}

pub(super) fn send_message_batch(
    c: &mut SqsClient,
    queue_url: &str,
    entries: &[BatchEntry<'_>],
) -> Result<Vec<BatchOutcome>, Error> {
    let action = "SendMessageBatch";
    let mut q = QueryBody::new(action);
    q.param("QueueUrl", queue_url);
    for (i, e) in entries.iter().enumerate() {
        let prefix = format!("SendMessageBatchRequestEntry.{}", i + 1);
        batch_entry(&mut q, &prefix, e);
    }
    let root = call(c, Some(queue_url), &q, None)?;
    let result = expect_child(&root, "SendMessageBatchResult", action)?;
    let mut outcomes = Vec::with_capacity(entries.len());
    for entry in entries {
        let sent = result
            .children("SendMessageBatchResultEntry")
            .find(|r| r.child_text("Id") == Some(entry.id));
        let outcome = match sent {
            Some(r) => BatchOutcome::Sent {
                id: entry.id.to_string(),
                message_id: required_text(r, "MessageId", action)?,
                md5_of_body: required_text(r, "MD5OfMessageBody", action)?,
            },
            None => {
                let (code, message, sender_fault) = batch_error(result, entry.id);
                BatchOutcome::Failed {
                    id: entry.id.to_string(),
                    code,
                    message,
                    sender_fault,
                }
            }
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// One `SendMessageBatchRequestEntry.N.*` group of parameters; optional ones only when set.
fn batch_entry(q: &mut QueryBody, prefix: &str, e: &BatchEntry<'_>) {
    q.param(format!("{prefix}.Id"), e.id)
        .param(format!("{prefix}.MessageBody"), e.body);
    if let Some(group) = e.group_id {
        q.param(format!("{prefix}.MessageGroupId"), group);
    }
    if let Some(dedup) = e.deduplication_id {
        q.param(format!("{prefix}.MessageDeduplicationId"), dedup);
    }
    for (j, a) in e.attributes.iter().enumerate() {
        let attr = format!("{prefix}.MessageAttribute.{}", j + 1);
        q.param(format!("{attr}.Name"), &*a.name)
            .param(format!("{attr}.Value.DataType"), &*a.data_type)
            .param(format!("{attr}.Value.StringValue"), a.value.as_str());
    }
}

/// `<MessageAttribute><Name>n</Name><Value><DataType>String</DataType><StringValue>v
/// </StringValue></Value></MessageAttribute>` lists; binary values are skipped.
fn message_attributes(m: &Element) -> Vec<MessageAttribute> {
    m.children("MessageAttribute")
        .filter_map(|a| {
            let value = a.child("Value")?;
            Some(MessageAttribute {
                name: a.child_text("Name")?.to_string().into(),
                data_type: value.child_text("DataType")?.to_string().into(),
                value: value.child_text("StringValue")?.to_string(),
            })
        })
        .collect()
}

pub(super) fn receive_message(
    c: &mut SqsClient,
    queue_url: &str,
    options: &ReceiveOptions,
    extras: &ReceiveExtras,
    wait: Duration,
) -> Result<Vec<Message>, Error> {
    let action = "ReceiveMessage";
    let mut q = QueryBody::new(action);
    q.param("QueueUrl", queue_url)
        .param("MaxNumberOfMessages", options.max_messages.to_string())
        .param("WaitTimeSeconds", options.wait_seconds.to_string());
    if let Some(v) = options.visibility_timeout {
        q.param("VisibilityTimeout", v.to_string());
    }
    let names: Vec<&str> = options
        .system_attributes
        .iter()
        .map(String::as_str)
        .collect();
    q.list("AttributeName", &names);
    let message_names: Vec<&str> = options
        .message_attributes
        .iter()
        .map(String::as_str)
        .collect();
    q.list("MessageAttributeName", &message_names);
    if let Some(id) = &extras.attempt_id {
        q.param("ReceiveRequestAttemptId", id.as_str());
    }
    let root = call(c, Some(queue_url), &q, Some(wait))?;
    let result = expect_child(&root, "ReceiveMessageResult", action)?;
    result
        .children("Message")
        .map(|m| {
            Ok(Message {
                message_id: required_text(m, "MessageId", action)?,
                receipt_handle: required_text(m, "ReceiptHandle", action)?,
                body: required_text(m, "Body", action)?,
                md5_of_body: m.child_text("MD5OfBody").unwrap_or("").to_string(),
                attributes: name_value_pairs(m, "Attribute"),
                message_attributes: message_attributes(m),
            })
        })
        .collect()
}

pub(super) fn delete_message_batch(
    c: &mut SqsClient,
    queue_url: &str,
    entries: &[DeleteEntry<'_>],
) -> Result<Vec<DeleteOutcome>, Error> {
    let action = "DeleteMessageBatch";
    let mut q = QueryBody::new(action);
    q.param("QueueUrl", queue_url);
    for (i, e) in entries.iter().enumerate() {
        let prefix = format!("DeleteMessageBatchRequestEntry.{}", i + 1);
        q.param(format!("{prefix}.Id"), e.id)
            .param(format!("{prefix}.ReceiptHandle"), e.receipt_handle);
    }
    let root = call(c, Some(queue_url), &q, None)?;
    let result = expect_child(&root, "DeleteMessageBatchResult", action)?;
    Ok(outcomes(
        result,
        "DeleteMessageBatchResultEntry",
        entries.iter().map(|e| e.id),
    ))
}

pub(super) fn change_message_visibility_batch(
    c: &mut SqsClient,
    queue_url: &str,
    entries: &[ChangeVisibilityEntry<'_>],
) -> Result<Vec<ChangeVisibilityOutcome>, Error> {
    let action = "ChangeMessageVisibilityBatch";
    let mut q = QueryBody::new(action);
    q.param("QueueUrl", queue_url);
    for (i, e) in entries.iter().enumerate() {
        let prefix = format!("ChangeMessageVisibilityBatchRequestEntry.{}", i + 1);
        q.param(format!("{prefix}.Id"), e.id)
            .param(format!("{prefix}.ReceiptHandle"), e.receipt_handle)
            .param(
                format!("{prefix}.VisibilityTimeout"),
                e.visibility_timeout.to_string(),
            );
    }
    let root = call(c, Some(queue_url), &q, None)?;
    let result = expect_child(&root, "ChangeMessageVisibilityBatchResult", action)?;
    Ok(outcomes(
        result,
        "ChangeMessageVisibilityBatchResultEntry",
        entries.iter().map(|e| e.id),
    ))
}

pub(super) fn delete_message(
    c: &mut SqsClient,
    queue_url: &str,
    receipt_handle: &str,
) -> Result<(), Error> {
    let mut q = QueryBody::new("DeleteMessage");
    q.param("QueueUrl", queue_url)
        .param("ReceiptHandle", receipt_handle);
    call(c, Some(queue_url), &q, None).map(drop)
}

pub(super) fn create_queue(
    c: &mut SqsClient,
    name: &str,
    attributes: &[(&str, &str)],
) -> Result<String, Error> {
    let mut q = QueryBody::new("CreateQueue");
    q.param("QueueName", name);
    for (i, (k, v)) in attributes.iter().enumerate() {
        q.param(format!("Attribute.{}.Name", i + 1), *k)
            .param(format!("Attribute.{}.Value", i + 1), *v);
    }
    let root = call(c, None, &q, None)?;
    let result = expect_child(&root, "CreateQueueResult", q.action())?;
    required_text(result, "QueueUrl", q.action())
}

pub(super) fn get_queue_url(c: &mut SqsClient, name: &str) -> Result<String, Error> {
    let mut q = QueryBody::new("GetQueueUrl");
    q.param("QueueName", name);
    let root = call(c, None, &q, None)?;
    let result = expect_child(&root, "GetQueueUrlResult", q.action())?;
    required_text(result, "QueueUrl", q.action())
}

pub(super) fn get_queue_attributes(
    c: &mut SqsClient,
    queue_url: &str,
    names: &[&str],
) -> Result<Vec<(String, String)>, Error> {
    let mut q = QueryBody::new("GetQueueAttributes");
    q.param("QueueUrl", queue_url).list("AttributeName", names);
    let root = call(c, Some(queue_url), &q, None)?;
    let result = expect_child(&root, "GetQueueAttributesResult", q.action())?;
    Ok(name_value_pairs(result, "Attribute"))
}

pub(super) fn purge_queue(c: &mut SqsClient, queue_url: &str) -> Result<(), Error> {
    let mut q = QueryBody::new("PurgeQueue");
    q.param("QueueUrl", queue_url);
    call(c, Some(queue_url), &q, None).map(drop)
}

/// Signs and sends one action; returns the root of a 2xx XML answer or a typed error.
fn call(
    c: &mut SqsClient,
    queue_url: Option<&str>,
    query: &QueryBody,
    min_read_timeout: Option<Duration>,
) -> Result<Element, Error> {
    let action = query.action();
    let target = c
        .target(queue_url)
        .map_err(|why| Error::new(ErrorKind::InvalidInput(why), action))?;
    let headers = [("content-type".to_string(), CONTENT_TYPE.to_string())];
    let body = query.encode();
    let answer = c.signed_post(action, &target, &headers, body.as_bytes(), min_read_timeout)?;
    if !(200..300).contains(&answer.status) {
        return Err(service_error(answer.status, &answer.text).with_context(answer.context));
    }
    xml::parse(&answer.text).map_err(|why| {
        Error::new(
            ErrorKind::Protocol(format!("answer is not valid xml: {why}")),
            answer.context,
        )
    })
}

/// Reads an AWS query-protocol error document (`<ErrorResponse><Error><Code>...`); a body
/// that is not one (a proxy's HTML page, say) still yields the status and a snippet.
fn service_error(status: u16, text: &str) -> Error {
    let parsed = xml::parse(text).ok();
    let error = parsed.as_ref().and_then(|root| root.find("Error"));
    let (code, message) = match error {
        Some(e) => (
            e.child_text("Code").unwrap_or("").to_string(),
            e.child_text("Message").unwrap_or("").to_string(),
        ),
        None => {
            let snippet: String = text.chars().take(200).collect();
            (String::new(), snippet)
        }
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

fn expect_child<'a>(root: &'a Element, name: &str, action: &str) -> Result<&'a Element, Error> {
    root.find(name).ok_or_else(|| {
        Error::new(
            ErrorKind::Protocol(format!("answer has no <{name}>")),
            action.to_string(),
        )
    })
}

fn required_text(el: &Element, name: &str, action: &str) -> Result<String, Error> {
    el.child_text(name).map(str::to_string).ok_or_else(|| {
        Error::new(
            ErrorKind::Protocol(format!("<{}> has no <{name}>", el.name)),
            action.to_string(),
        )
    })
}

/// `<Attribute><Name>n</Name><Value>v</Value></Attribute>` lists.
fn name_value_pairs(el: &Element, tag: &str) -> Vec<(String, String)> {
    el.children(tag)
        .filter_map(|a| {
            Some((
                a.child_text("Name")?.to_string(),
                a.child_text("Value").unwrap_or("").to_string(),
            ))
        })
        .collect()
}

/// Each entry's outcome: done when `result` has an `entry_tag` element with its id, else the
/// error it gives for it (a synthetic one when it names the entry nowhere).
fn outcomes<'a, O: EntryOutcome>(
    result: &Element,
    entry_tag: &str,
    ids: impl Iterator<Item = &'a str>,
) -> Vec<O> {
    ids.map(|id| {
        let done = result
            .children(entry_tag)
            .any(|r| r.child_text("Id") == Some(id));
        if done {
            O::done(id.to_string())
        } else {
            let (code, message, sender_fault) = batch_error(result, id);
            O::failed(id.to_string(), code, message, sender_fault)
        }
    })
    .collect()
}

/// The `BatchResultErrorEntry` for `id`; an entry in neither list gets a synthetic failure
/// so the caller retries it rather than assuming it went through.
fn batch_error(result: &Element, id: &str) -> (String, String, bool) {
    match result
        .children("BatchResultErrorEntry")
        .find(|r| r.child_text("Id") == Some(id))
    {
        Some(e) => (
            e.child_text("Code").unwrap_or("").to_string(),
            e.child_text("Message").unwrap_or("").to_string(),
            e.child_text("SenderFault")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
        ),
        None => (
            "MissingFromResponse".to_string(),
            "the answer listed this entry neither as done nor as failed".to_string(),
            false,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_entry_parameters_carry_fifo_ids_and_attributes() {
        let attributes = [
            MessageAttribute::string("hostname", "h"),
            MessageAttribute::number("job_submission_time", "17"),
        ];
        let entry = BatchEntry {
            id: "0",
            body: "b",
            group_id: Some("g"),
            deduplication_id: Some("d"),
            attributes: &attributes,
        };
        let mut q = QueryBody::new("SendMessageBatch");
        batch_entry(&mut q, "SendMessageBatchRequestEntry.1", &entry);
        let p = "SendMessageBatchRequestEntry.1";
        assert_eq!(
            q.encode(),
            format!(
                "Action=SendMessageBatch&Version=2012-11-05&{p}.Id=0&{p}.MessageBody=b\
                 &{p}.MessageGroupId=g&{p}.MessageDeduplicationId=d\
                 &{p}.MessageAttribute.1.Name=hostname\
                 &{p}.MessageAttribute.1.Value.DataType=String\
                 &{p}.MessageAttribute.1.Value.StringValue=h\
                 &{p}.MessageAttribute.2.Name=job_submission_time\
                 &{p}.MessageAttribute.2.Value.DataType=Number\
                 &{p}.MessageAttribute.2.Value.StringValue=17"
            )
        );
    }

    #[test]
    fn received_message_attributes_are_read() {
        let root = xml::parse(
            "<Message><MessageAttribute><Name>region</Name><Value><StringValue>eu\
             </StringValue><DataType>String</DataType></Value></MessageAttribute>\
             <MessageAttribute><Name>b</Name><Value><BinaryValue>AAE=</BinaryValue>\
             <DataType>Binary</DataType></Value></MessageAttribute></Message>",
        )
        .unwrap();
        assert_eq!(
            message_attributes(&root),
            vec![MessageAttribute::string("region", "eu")]
        );
    }
}
