//! The query protocol (`Version=2012-11-05`), SQS's older one (our clients with
//! `SQS_PROTOCOL=query`): a form body with `Action=<Operation>` and flattened parameters
//! (`SendMessageBatchRequestEntry.1.Id`), an XML answer `<OpResponse><OpResult>...`.
use crate::canned;
use crate::error::SqsError;
use crate::form::{Form, Group};
use crate::md5::{self, Attribute};
use crate::ops::{self, AttrValue, Entry, Receive};
use crate::queue::Queue;
use crate::server::Buffers;
use crate::write::{number, xml_element, xml_text};
use std::io::Write;

pub const CONTENT_TYPE: &str = "text/xml";
const NAMESPACE: &str = "http://queue.amazonaws.com/doc/2012-11-05/";

/// Answers one request into `buf.out`; `Err` is written by the caller as an XML error.
pub fn answer(queue: &Queue, form: &str, host: &str, buf: &mut Buffers) -> Result<(), SqsError> {
    let form = Form::parse(form)?;
    let action = form.get("Action").unwrap_or("");
    let f = &form;
    match action {
        "SendMessage" => respond(buf, action, |out| send_message(queue, f, out)),
        "SendMessageBatch" => respond(buf, action, |out| send_message_batch(queue, f, out)),
        "ReceiveMessage" => receive_message(queue, f, buf),
        "DeleteMessage" => respond(buf, action, |_| {
            f.required("QueueUrl")?;
            queue.delete(f.required("ReceiptHandle")?, queue.now_ns())
        }),
        "DeleteMessageBatch" => respond(buf, action, |out| {
            let now = queue.now_ns();
            handle_batch(f, action, out, |h| queue.delete(h, now))
        }),
        "ChangeMessageVisibility" => respond(buf, action, |_| {
            f.required("QueueUrl")?;
            queue.change_visibility(f.required("ReceiptHandle")?)
        }),
        "ChangeMessageVisibilityBatch" => respond(buf, action, |out| {
            handle_batch(f, action, out, |h| queue.change_visibility(h))
        }),
        "GetQueueAttributes" => respond(buf, action, |out| {
            f.required("QueueUrl")?;
            for (name, value) in queue.attributes(&f.list("AttributeName"))? {
                out.extend_from_slice(b"<Attribute>");
                xml_element(out, "Name", name);
                xml_element(out, "Value", &value);
                out.extend_from_slice(b"</Attribute>");
            }
            Ok(())
        }),
        "GetQueueUrl" => respond(buf, action, |out| {
            let name = f.required("QueueName")?;
            xml_element(
                out,
                "QueueUrl",
                &format!("http://{host}/000000000000/{name}"),
            );
            Ok(())
        }),
        _ => Err(SqsError::invalid_action(action)),
    }
}

/// `<ActionResponse xmlns=..><ActionResult>` + what `result` writes + `</ActionResult>` and
/// the request id. On `Err` the buffer is left for the caller's error document.
fn respond(
    buf: &mut Buffers,
    action: &str,
    result: impl FnOnce(&mut Vec<u8>) -> Result<(), SqsError>,
) -> Result<(), SqsError> {
    let out = &mut buf.out;
    let _ = write!(
        out,
        "<?xml version=\"1.0\"?><{action}Response xmlns=\"{NAMESPACE}\"><{action}Result>"
    );
    result(out)?;
    let _ = write!(out, "</{action}Result><ResponseMetadata><RequestId>");
    out.extend_from_slice(&buf.request_id);
    let _ = write!(out, "</RequestId></ResponseMetadata></{action}Response>");
    Ok(())
}

fn send_message(queue: &Queue, f: &Form<'_>, out: &mut Vec<u8>) -> Result<(), SqsError> {
    f.required("QueueUrl")?;
    let groups = f.groups("MessageAttribute");
    let mut entry = Entry {
        id: "",
        body: f.required("MessageBody")?,
        attributes: message_attributes(&groups, "MessageAttribute")?,
    };
    let sent = ops::send_one(queue, &mut entry)?;
    sent_elements(&sent, out);
    Ok(())
}

const SEND_ENTRY: &str = "SendMessageBatchRequestEntry";

fn send_message_batch(queue: &Queue, f: &Form<'_>, out: &mut Vec<u8>) -> Result<(), SqsError> {
    f.required("QueueUrl")?;
    let groups = f.groups(SEND_ENTRY);
    // Each entry's attributes are a flattened list inside it: re-read them as a form.
    let attribute_groups: Vec<Vec<Group<'_>>> =
        groups.iter().map(|g| attribute_groups(g)).collect();
    let mut batch = Vec::with_capacity(groups.len());
    for (g, attributes) in groups.iter().zip(&attribute_groups) {
        batch.push(Entry {
            id: g.required(SEND_ENTRY, "Id")?,
            body: g.required(SEND_ENTRY, "MessageBody")?,
            attributes: message_attributes(attributes, "MessageAttribute")?,
        });
    }
    let results = ops::send_batch(queue, &mut batch)?;
    for (entry, result) in batch.iter().zip(&results) {
        if let Ok(sent) = result {
            out.extend_from_slice(b"<SendMessageBatchResultEntry>");
            xml_element(out, "Id", entry.id);
            sent_elements(sent, out);
            out.extend_from_slice(b"</SendMessageBatchResultEntry>");
        }
    }
    write_failures(out, batch.iter().map(|e| e.id).zip(&results));
    Ok(())
}

/// An entry's `MessageAttribute.N.*` members, grouped by N.
fn attribute_groups<'f>(entry: &Group<'f>) -> Vec<Group<'f>> {
    let mut groups: Vec<Group<'f>> = Vec::new();
    for (member, value) in &entry.members {
        let Some(rest) = member.strip_prefix("MessageAttribute.") else {
            continue;
        };
        let Some((index, name)) = rest.split_once('.') else {
            continue;
        };
        let Ok(index) = index.parse::<u32>() else {
            continue;
        };
        match groups.iter_mut().find(|g| g.index == index) {
            Some(g) => g.members.push((name, value)),
            None => groups.push(Group {
                index,
                members: vec![(name, value)],
            }),
        }
    }
    groups
}

/// `MessageAttribute.N.Name`, `.Value.DataType`, `.Value.StringValue` (binary values are
/// refused: nothing this stand-in serves sends them).
fn message_attributes<'f>(
    groups: &[Group<'f>],
    prefix: &str,
) -> Result<Vec<Attribute<'f>>, SqsError> {
    let mut attributes = Vec::with_capacity(groups.len());
    for g in groups {
        let name = g.required(prefix, "Name")?;
        let data_type = g.required(prefix, "Value.DataType")?;
        let value = g.get("Value.StringValue").ok_or_else(|| {
            SqsError::invalid_parameter(format!(
                "message attribute {name}: only StringValue is supported by this stand-in"
            ))
        })?;
        attributes.push(Attribute {
            name,
            data_type,
            value: value.as_bytes(),
            binary: false,
        });
    }
    Ok(attributes)
}

fn sent_elements(sent: &ops::Sent, out: &mut Vec<u8>) {
    out.extend_from_slice(b"<MessageId>");
    canned::push_message_id(1, sent.number, out);
    out.extend_from_slice(b"</MessageId><MD5OfMessageBody>");
    md5::push_hex(&sent.body_md5, out);
    out.extend_from_slice(b"</MD5OfMessageBody>");
    if let Some(digest) = &sent.attributes_md5 {
        out.extend_from_slice(b"<MD5OfMessageAttributes>");
        md5::push_hex(digest, out);
        out.extend_from_slice(b"</MD5OfMessageAttributes>");
    }
}

/// `<BatchResultErrorEntry>` for each failed entry.
fn write_failures<'a, T: 'a>(
    out: &mut Vec<u8>,
    outcomes: impl Iterator<Item = (&'a str, &'a Result<T, SqsError>)>,
) {
    for (id, outcome) in outcomes {
        let Err(e) = outcome else { continue };
        out.extend_from_slice(b"<BatchResultErrorEntry>");
        xml_element(out, "Id", id);
        xml_element(out, "SenderFault", if e.sender { "true" } else { "false" });
        xml_element(out, "Code", e.code);
        xml_element(out, "Message", &e.message);
        out.extend_from_slice(b"</BatchResultErrorEntry>");
    }
}

/// DeleteMessageBatch and ChangeMessageVisibilityBatch: `op` per entry's receipt handle.
fn handle_batch(
    f: &Form<'_>,
    action: &str,
    out: &mut Vec<u8>,
    op: impl Fn(&str) -> Result<(), SqsError>,
) -> Result<(), SqsError> {
    f.required("QueueUrl")?;
    let prefix = format!("{action}RequestEntry");
    let mut pairs = Vec::new();
    for g in f.groups(&prefix) {
        pairs.push((
            g.required(&prefix, "Id")?,
            g.required(&prefix, "ReceiptHandle")?,
        ));
    }
    ops::check_handles(&pairs)?;
    let results: Vec<Result<(), SqsError>> = pairs.iter().map(|(_, h)| op(h)).collect();
    for ((id, _), result) in pairs.iter().zip(&results) {
        if result.is_ok() {
            let _ = write!(out, "<{action}ResultEntry>");
            xml_element(out, "Id", id);
            let _ = write!(out, "</{action}ResultEntry>");
        }
    }
    write_failures(out, pairs.iter().map(|(id, _)| *id).zip(&results));
    Ok(())
}

fn receive_message(queue: &Queue, f: &Form<'_>, buf: &mut Buffers) -> Result<(), SqsError> {
    f.required("QueueUrl")?;
    let mut names = f.list("AttributeName");
    names.extend(f.list("MessageSystemAttributeName"));
    let receive = Receive::new(
        f.int("MaxNumberOfMessages")?,
        f.int("WaitTimeSeconds")?,
        &names,
    )?;
    let range = queue.receive(receive.max, receive.wait);
    let now_ms = queue.canned.sent_ms + queue.now_ns() / 1_000_000;
    let mut scratch = std::mem::take(&mut buf.scratch);
    let result = respond(buf, "ReceiveMessage", |out| {
        for n in range {
            queue.canned.body(n, &mut scratch);
            // Canned bodies are built from UTF-8 text only.
            let body = std::str::from_utf8(&scratch).unwrap_or_default();
            out.extend_from_slice(b"<Message><MessageId>");
            canned::push_message_id(0, n, out);
            out.extend_from_slice(b"</MessageId><ReceiptHandle>");
            canned::push_receipt_handle(n, out);
            out.extend_from_slice(b"</ReceiptHandle><MD5OfBody>");
            md5::push_hex(&md5::digest(body.as_bytes()), out);
            out.extend_from_slice(b"</MD5OfBody><Body>");
            xml_text(out, body);
            out.extend_from_slice(b"</Body>");
            receive
                .attributes
                .each(queue.canned.sent_ms, now_ms, |name, value| {
                    out.extend_from_slice(b"<Attribute>");
                    xml_element(out, "Name", name);
                    out.extend_from_slice(b"<Value>");
                    match value {
                        AttrValue::Text(t) => out.extend_from_slice(t.as_bytes()),
                        AttrValue::Number(v) => number(out, v),
                    }
                    out.extend_from_slice(b"</Value></Attribute>");
                });
            out.extend_from_slice(b"</Message>");
        }
        Ok(())
    });
    buf.scratch = scratch;
    result
}
