//! AWS JSON 1.0, SQS's current protocol (what botocore and our `sigv4` client use by
//! default): `X-Amz-Target: AmazonSQS.<Operation>`, a JSON object in, a JSON object out.
//! Member names as in the SQS API reference.
use crate::canned;
use crate::error::SqsError;
use crate::json_request::{message_attributes, required, Request};
use crate::md5;
use crate::ops::{self, AttrValue, Entry, Receive};
use crate::queue::Queue;
use crate::server::Buffers;
use crate::write::{json_str, number};

pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// Answers one request into `buf.out`; `Err` is written by the caller as a JSON error.
pub fn answer(
    queue: &Queue,
    target: &str,
    body: &[u8],
    host: &str,
    buf: &mut Buffers,
) -> Result<(), SqsError> {
    let operation = target.strip_prefix("AmazonSQS.").unwrap_or("");
    let text = std::str::from_utf8(body)
        .map_err(|_| SqsError::serialization("the request body is not UTF-8"))?;
    let request = Request::parse(text).map_err(|why| SqsError::serialization(&why))?;
    let r = &request;
    match operation {
        "SendMessage" => send_message(queue, r, buf),
        "SendMessageBatch" => send_message_batch(queue, r, buf),
        "ReceiveMessage" => receive_message(queue, r, buf),
        "DeleteMessage" => {
            r.queue_url()?;
            queue.delete(
                required(&r.receipt_handle, "ReceiptHandle")?,
                queue.now_ns(),
            )?;
            buf.out.extend_from_slice(b"{}");
            Ok(())
        }
        "DeleteMessageBatch" => {
            let now = queue.now_ns();
            handle_batch(r, buf, |handle| queue.delete(handle, now))
        }
        "ChangeMessageVisibility" => {
            r.queue_url()?;
            queue.change_visibility(required(&r.receipt_handle, "ReceiptHandle")?)?;
            buf.out.extend_from_slice(b"{}");
            Ok(())
        }
        "ChangeMessageVisibilityBatch" => {
            handle_batch(r, buf, |handle| queue.change_visibility(handle))
        }
        "GetQueueAttributes" => get_queue_attributes(queue, r, buf),
        "GetQueueUrl" => {
            let name = required(&r.queue_name, "QueueName")?;
            buf.out.extend_from_slice(b"{\"QueueUrl\":");
            json_str(&mut buf.out, &format!("http://{host}/000000000000/{name}"));
            buf.out.push(b'}');
            Ok(())
        }
        _ => Err(SqsError::unknown_operation(target)),
    }
}

fn send_message(queue: &Queue, r: &Request<'_>, buf: &mut Buffers) -> Result<(), SqsError> {
    r.queue_url()?;
    let mut entry = Entry {
        id: "",
        body: required(&r.message_body, "MessageBody")?,
        attributes: message_attributes(&r.message_attributes)?,
    };
    let sent = ops::send_one(queue, &mut entry)?;
    buf.out.push(b'{');
    sent_fields(&sent, &mut buf.out);
    buf.out.push(b'}');
    Ok(())
}

fn send_message_batch(queue: &Queue, r: &Request<'_>, buf: &mut Buffers) -> Result<(), SqsError> {
    r.queue_url()?;
    let list = r.entries()?;
    let mut batch = Vec::with_capacity(list.len());
    for e in list {
        batch.push(Entry {
            id: required(&e.id, "Id")?,
            body: required(&e.message_body, "MessageBody")?,
            attributes: message_attributes(&e.message_attributes)?,
        });
    }
    let results = ops::send_batch(queue, &mut batch)?;
    let outcomes: Vec<Outcome<'_>> = batch
        .iter()
        .zip(&results)
        .map(|(entry, result)| (entry.id, result.as_ref().map(Some)))
        .collect();
    write_outcomes(&mut buf.out, &outcomes);
    Ok(())
}

/// `"MessageId":...,"MD5OfMessageBody":...` (and the attributes' digest when there are any).
fn sent_fields(sent: &ops::Sent, out: &mut Vec<u8>) {
    out.extend_from_slice(b"\"MessageId\":\"");
    canned::push_message_id(1, sent.number, out);
    out.extend_from_slice(b"\",\"MD5OfMessageBody\":\"");
    md5::push_hex(&sent.body_md5, out);
    out.push(b'"');
    if let Some(digest) = &sent.attributes_md5 {
        out.extend_from_slice(b",\"MD5OfMessageAttributes\":\"");
        md5::push_hex(digest, out);
        out.push(b'"');
    }
}

/// A batch entry's id and what became of it (a sent message has more to say).
type Outcome<'a> = (&'a str, Result<Option<&'a ops::Sent>, &'a SqsError>);

/// `{"Successful":[{"Id":..,..}],"Failed":[{"Id":..,"SenderFault":..,"Code":..,"Message":..}]}`.
fn write_outcomes(out: &mut Vec<u8>, outcomes: &[Outcome<'_>]) {
    out.extend_from_slice(b"{\"Successful\":[");
    let mut first = true;
    for (id, outcome) in outcomes {
        let Ok(sent) = outcome else { continue };
        if !std::mem::take(&mut first) {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"Id\":");
        json_str(out, id);
        if let Some(sent) = sent {
            out.push(b',');
            sent_fields(sent, out);
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"Failed\":[");
    let mut first = true;
    for (id, outcome) in outcomes {
        let Err(e) = outcome else { continue };
        if !std::mem::take(&mut first) {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"Id\":");
        json_str(out, id);
        out.extend_from_slice(if e.sender {
            b",\"SenderFault\":true,\"Code\":"
        } else {
            b",\"SenderFault\":false,\"Code\":"
        });
        json_str(out, e.code);
        out.extend_from_slice(b",\"Message\":");
        json_str(out, &e.message);
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
}

/// DeleteMessageBatch and ChangeMessageVisibilityBatch: `op` per entry's receipt handle.
fn handle_batch(
    r: &Request<'_>,
    buf: &mut Buffers,
    op: impl Fn(&str) -> Result<(), SqsError>,
) -> Result<(), SqsError> {
    r.queue_url()?;
    let mut pairs = Vec::new();
    for e in r.entries()? {
        pairs.push((
            required(&e.id, "Id")?,
            required(&e.receipt_handle, "ReceiptHandle")?,
        ));
    }
    ops::check_handles(&pairs)?;
    let results: Vec<Result<(), SqsError>> = pairs.iter().map(|(_, h)| op(h)).collect();
    let outcomes: Vec<Outcome<'_>> = pairs
        .iter()
        .zip(&results)
        .map(|((id, _), result)| (*id, result.as_ref().map(|_| None)))
        .collect();
    write_outcomes(&mut buf.out, &outcomes);
    Ok(())
}

fn receive_message(queue: &Queue, r: &Request<'_>, buf: &mut Buffers) -> Result<(), SqsError> {
    r.queue_url()?;
    let names: Vec<&str> = r.attribute_names.iter().map(|n| n.as_ref()).collect();
    let receive = Receive::new(r.max_messages, r.wait_seconds, &names)?;
    let range = queue.receive(receive.max, receive.wait);
    if range.is_empty() {
        buf.out.extend_from_slice(b"{}");
        return Ok(());
    }
    let now_ms = queue.canned.sent_ms + queue.now_ns() / 1_000_000;
    let out = &mut buf.out;
    out.extend_from_slice(b"{\"Messages\":[");
    for n in range.clone() {
        if n != range.start {
            out.push(b',');
        }
        queue.canned.body(n, &mut buf.scratch);
        // Canned bodies are built from UTF-8 text only.
        let body = std::str::from_utf8(&buf.scratch).unwrap_or_default();
        out.extend_from_slice(b"{\"MessageId\":\"");
        canned::push_message_id(0, n, out);
        out.extend_from_slice(b"\",\"ReceiptHandle\":\"");
        canned::push_receipt_handle(n, out);
        out.extend_from_slice(b"\",\"MD5OfBody\":\"");
        md5::push_hex(&md5::digest(body.as_bytes()), out);
        out.extend_from_slice(b"\",\"Body\":");
        json_str(out, body);
        if receive.attributes.any() {
            out.extend_from_slice(b",\"Attributes\":{");
            let mut first = true;
            receive
                .attributes
                .each(queue.canned.sent_ms, now_ms, |name, value| {
                    if !std::mem::take(&mut first) {
                        out.push(b',');
                    }
                    json_str(out, name);
                    out.extend_from_slice(b":\"");
                    match value {
                        AttrValue::Text(t) => out.extend_from_slice(t.as_bytes()),
                        AttrValue::Number(v) => number(out, v),
                    }
                    out.push(b'"');
                });
            out.push(b'}');
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
    Ok(())
}

fn get_queue_attributes(queue: &Queue, r: &Request<'_>, buf: &mut Buffers) -> Result<(), SqsError> {
    r.queue_url()?;
    let names: Vec<&str> = r.attribute_names.iter().map(|n| n.as_ref()).collect();
    let attributes = queue.attributes(&names)?;
    let out = &mut buf.out;
    out.extend_from_slice(b"{\"Attributes\":{");
    for (i, (name, value)) in attributes.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json_str(out, name);
        out.push(b':');
        json_str(out, value);
    }
    out.extend_from_slice(b"}}");
    Ok(())
}
