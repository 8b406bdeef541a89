//! What each operation does and checks, whichever protocol carried it: the protocol modules
//! (`json_api`, `query_api`) read their request into these inputs and write these results.
use crate::error::SqsError;
use crate::md5::{self, Attribute};
use crate::queue::{Queue, MAX_BATCH, MAX_MESSAGE_BYTES};
use std::time::Duration;

/// One message to send (a SendMessage, or one entry of a SendMessageBatch).
pub struct Entry<'a> {
    /// The batch entry id ("" for SendMessage).
    pub id: &'a str,
    pub body: &'a str,
    pub attributes: Vec<Attribute<'a>>,
}

/// A message counted as sent: its number (for the MessageId) and its digests.
pub struct Sent {
    pub number: u64,
    pub body_md5: [u8; 16],
    pub attributes_md5: Option<[u8; 16]>,
}

/// SendMessage: the message is checked, counted and dropped.
pub fn send_one(queue: &Queue, entry: &mut Entry<'_>) -> Result<Sent, SqsError> {
    check_message(entry.body)?;
    let number = queue.count_sent(1);
    Ok(digests(number, entry))
}

/// SendMessageBatch: the batch as a whole is checked (an error fails the request), then each
/// entry (an error fails that entry only, listed under Failed).
pub fn send_batch(
    queue: &Queue,
    entries: &mut [Entry<'_>],
) -> Result<Vec<Result<Sent, SqsError>>, SqsError> {
    let ids: Vec<&str> = entries.iter().map(|e| e.id).collect();
    let bytes = entries.iter().map(|e| e.body.len()).sum();
    check_batch(&ids, bytes)?;
    let checks: Vec<Result<(), SqsError>> = entries.iter().map(|e| check_message(e.body)).collect();
    let ok = checks.iter().filter(|c| c.is_ok()).count() as u64;
    let mut number = queue.count_sent(ok);
    let results = entries
        .iter_mut()
        .zip(checks)
        .map(|(entry, check)| {
            check?;
            number += 1;
            Ok(digests(number - 1, entry))
        })
        .collect();
    Ok(results)
}

fn digests(number: u64, entry: &mut Entry<'_>) -> Sent {
    let attributes_md5 =
        (!entry.attributes.is_empty()).then(|| md5::attributes_digest(&mut entry.attributes));
    Sent {
        number,
        body_md5: md5::digest(entry.body.as_bytes()),
        attributes_md5,
    }
}

/// What SQS refuses in a message body: nothing at all, more than the queue's limit, or a
/// character outside XML's (`#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-`).
fn check_message(body: &str) -> Result<(), SqsError> {
    if body.is_empty() {
        return Err(SqsError::missing_parameter("MessageBody"));
    }
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(SqsError::invalid_parameter(format!(
            "One or more parameters are invalid. Reason: Message must be shorter than {MAX_MESSAGE_BYTES} bytes."
        )));
    }
    let controls = body
        .bytes()
        .any(|b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'));
    // U+FFFE and U+FFFF are the only other characters a Rust string can hold that XML
    // cannot; both start with the byte 0xEF in UTF-8, which most bodies never contain.
    let non_characters =
        body.as_bytes().contains(&0xEF) && body.chars().any(|c| c == '\u{FFFE}' || c == '\u{FFFF}');
    if controls || non_characters {
        return Err(SqsError::invalid_message_contents());
    }
    Ok(())
}

/// The checks SQS makes on any batch before its entries: 1..=10 entries, ids of
/// `[A-Za-z0-9_-]{1,80}`, distinct, and bodies of at most 1 MiB together.
pub fn check_batch(ids: &[&str], bytes: usize) -> Result<(), SqsError> {
    if ids.is_empty() {
        return Err(SqsError::empty_batch());
    }
    if ids.len() > MAX_BATCH {
        return Err(SqsError::too_many_entries(ids.len()));
    }
    for (i, id) in ids.iter().enumerate() {
        let valid = (1..=80).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(SqsError::invalid_batch_entry_id(id));
        }
        if ids[..i].contains(id) {
            return Err(SqsError::ids_not_distinct(id));
        }
    }
    if bytes > MAX_MESSAGE_BYTES {
        return Err(SqsError::batch_too_long(bytes));
    }
    Ok(())
}

/// A ReceiveMessage's parameters.
pub struct Receive {
    pub max: usize,
    pub wait: Duration,
    pub attributes: SystemAttributes,
}

impl Receive {
    /// SQS's ranges: MaxNumberOfMessages 1..=10 (default 1), WaitTimeSeconds 0..=20
    /// (default: the queue's, 0 here).
    pub fn new(max: Option<i64>, wait: Option<i64>, names: &[&str]) -> Result<Receive, SqsError> {
        let max = max.unwrap_or(1);
        if !(1..=MAX_BATCH as i64).contains(&max) {
            return Err(SqsError::invalid_parameter(format!(
                "Value {max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
            )));
        }
        let wait = wait.unwrap_or(0);
        if !(0..=20).contains(&wait) {
            return Err(SqsError::invalid_parameter(format!(
                "Value {wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."
            )));
        }
        Ok(Receive {
            max: max as usize,
            wait: Duration::from_secs(wait as u64),
            attributes: SystemAttributes::from_names(names),
        })
    }
}

/// Which system attributes a receive asked for (of those this stand-in knows).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SystemAttributes {
    pub sent_timestamp: bool,
    pub receive_count: bool,
    pub first_receive_timestamp: bool,
    pub sender_id: bool,
}

/// The sender every canned message has.
pub const SENDER_ID: &str = "AIDASTANDIN000000000";

impl SystemAttributes {
    pub fn from_names(names: &[&str]) -> SystemAttributes {
        let has = |name: &str| names.iter().any(|n| *n == name || *n == "All");
        SystemAttributes {
            sent_timestamp: has("SentTimestamp"),
            receive_count: has("ApproximateReceiveCount"),
            first_receive_timestamp: has("ApproximateFirstReceiveTimestamp"),
            sender_id: has("SenderId"),
        }
    }

    /// The asked-for attributes of a message received at `now_ms`, as (name, value) pairs
    /// written by `each` (no allocation: values are formatted by the caller's writer).
    pub fn each(&self, sent_ms: u64, now_ms: u64, mut each: impl FnMut(&str, AttrValue)) {
        if self.sender_id {
            each("SenderId", AttrValue::Text(SENDER_ID));
        }
        if self.sent_timestamp {
            each("SentTimestamp", AttrValue::Number(sent_ms));
        }
        if self.receive_count {
            each("ApproximateReceiveCount", AttrValue::Number(1));
        }
        if self.first_receive_timestamp {
            each(
                "ApproximateFirstReceiveTimestamp",
                AttrValue::Number(now_ms),
            );
        }
    }

    pub fn any(&self) -> bool {
        *self != SystemAttributes::default()
    }
}

/// A system attribute's value (SQS sends both kinds as strings).
#[derive(Clone, Copy)]
pub enum AttrValue {
    Text(&'static str),
    Number(u64),
}

/// DeleteMessageBatch / ChangeMessageVisibilityBatch: one (id, receipt handle) per entry.
pub fn check_handles(entries: &[(&str, &str)]) -> Result<(), SqsError> {
    let ids: Vec<&str> = entries.iter().map(|(id, _)| *id).collect();
    check_batch(&ids, 0)
}
