//! The request and result types of the SQS operations.
use std::borrow::Cow;

/// One message of a `SendMessageBatch`. Build it with `..BatchEntry::default()` so the
/// optional parts stay unset unless a caller needs them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchEntry<'a> {
    /// Distinct within the batch, `[A-Za-z0-9_-]{1,80}`.
    pub id: &'a str,
    pub body: &'a str,
    /// FIFO queues only (required there): messages of one group are delivered in order.
    pub group_id: Option<&'a str>,
    /// FIFO queues only: SQS drops a message whose id it saw within the last 5 minutes.
    pub deduplication_id: Option<&'a str>,
    /// At most 10 (SQS's limit); names, types and values count toward the message size.
    pub attributes: &'a [MessageAttribute],
}

impl BatchEntry<'_> {
    /// What this entry counts toward SQS's size limits: the body plus every attribute's
    /// name, data type and value (AWS SQS Developer Guide, "Amazon SQS message attributes").
    pub fn size(&self) -> usize {
        self.body.len()
            + self
                .attributes
                .iter()
                .map(MessageAttribute::size)
                .sum::<usize>()
    }
}

/// A message attribute with a `String` or `Number` value (binary values are not needed).
/// Name and type are usually fixed text (a sender stamps the same few on every message), so
/// they are borrowed when they can be: no allocation for them per message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageAttribute {
    pub name: Cow<'static, str>,
    /// `String` or `Number` (optionally with a custom suffix, `Number.int`).
    pub data_type: Cow<'static, str>,
    pub value: String,
}

impl MessageAttribute {
    pub fn string(name: impl Into<Cow<'static, str>>, value: &str) -> MessageAttribute {
        MessageAttribute {
            name: name.into(),
            data_type: Cow::Borrowed("String"),
            value: value.to_string(),
        }
    }

    pub fn number(name: impl Into<Cow<'static, str>>, value: &str) -> MessageAttribute {
        MessageAttribute {
            name: name.into(),
            data_type: Cow::Borrowed("Number"),
            value: value.to_string(),
        }
    }

    pub fn size(&self) -> usize {
        self.name.len() + self.data_type.len() + self.value.len()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub message_id: String,
    pub md5_of_body: String,
}

/// The per-entry result of a batch send: a batch can partly fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOutcome {
    Sent {
        id: String,
        message_id: String,
        md5_of_body: String,
    },
    Failed {
        id: String,
        code: String,
        message: String,
        /// true: the entry itself is bad (do not retry it as is); false: SQS-side, retry.
        sender_fault: bool,
    },
}

impl BatchOutcome {
    pub fn id(&self) -> &str {
        match self {
            BatchOutcome::Sent { id, .. } | BatchOutcome::Failed { id, .. } => id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiveOptions {
    /// 1..=10
    pub max_messages: u8,
    /// 0..=20; above 0 is a long poll.
    pub wait_seconds: u8,
    pub visibility_timeout: Option<u32>,
    /// e.g. "All", "ApproximateReceiveCount", "SentTimestamp".
    pub system_attributes: Vec<String>,
    /// Message attributes to return: "All", or names; empty returns none.
    pub message_attributes: Vec<String>,
}

impl Default for ReceiveOptions {
    fn default() -> ReceiveOptions {
        ReceiveOptions {
            max_messages: 10,
            wait_seconds: 20,
            visibility_timeout: None,
            system_attributes: vec!["All".to_string()],
            message_attributes: Vec::new(),
        }
    }
}

/// What a receive asks for beyond [`ReceiveOptions`]: for FIFO queues, the receive request
/// attempt id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiveExtras {
    /// `ReceiveRequestAttemptId` (FIFO queues only, `[!-~]{1,128}`): a receive retried with
    /// the same id after a network error gets the same messages back, not the next ones.
    pub attempt_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub message_id: String,
    pub receipt_handle: String,
    /// Entity-decoded: byte for byte what was sent.
    pub body: String,
    pub md5_of_body: String,
    pub attributes: Vec<(String, String)>,
    /// The message attributes asked for with `ReceiveOptions::message_attributes`
    /// (String and Number ones; binary values are skipped).
    pub message_attributes: Vec<MessageAttribute>,
}

impl Message {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn approximate_receive_count(&self) -> Option<u32> {
        self.attribute("ApproximateReceiveCount")?.parse().ok()
    }

    pub fn sent_timestamp_ms(&self) -> Option<u64> {
        self.attribute("SentTimestamp")?.parse().ok()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeleteEntry<'a> {
    pub id: &'a str,
    pub receipt_handle: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteOutcome {
    Deleted {
        id: String,
    },
    Failed {
        id: String,
        code: String,
        message: String,
        sender_fault: bool,
    },
}

impl DeleteOutcome {
    pub fn id(&self) -> &str {
        match self {
            DeleteOutcome::Deleted { id } | DeleteOutcome::Failed { id, .. } => id,
        }
    }
}

/// One entry of a `ChangeMessageVisibilityBatch`: `visibility_timeout` 0 makes the message
/// visible again at once (how a consumer hands back messages it will not process).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeVisibilityEntry<'a> {
    pub id: &'a str,
    pub receipt_handle: &'a str,
    /// 0..=43200 seconds.
    pub visibility_timeout: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeVisibilityOutcome {
    Changed {
        id: String,
    },
    Failed {
        id: String,
        code: String,
        message: String,
        sender_fault: bool,
    },
}

/// The outcome type of a batch call whose entries either succeed with nothing more to say
/// or fail with SQS's error: one reader of such answers per protocol builds either kind.
pub(super) trait EntryOutcome {
    fn done(id: String) -> Self;
    fn failed(id: String, code: String, message: String, sender_fault: bool) -> Self;
}

impl EntryOutcome for DeleteOutcome {
    fn done(id: String) -> Self {
        DeleteOutcome::Deleted { id }
    }
    fn failed(id: String, code: String, message: String, sender_fault: bool) -> Self {
        DeleteOutcome::Failed {
            id,
            code,
            message,
            sender_fault,
        }
    }
}

impl EntryOutcome for ChangeVisibilityOutcome {
    fn done(id: String) -> Self {
        ChangeVisibilityOutcome::Changed { id }
    }
    fn failed(id: String, code: String, message: String, sender_fault: bool) -> Self {
        ChangeVisibilityOutcome::Failed {
            id,
            code,
            message,
            sender_fault,
        }
    }
}

/// The entry id `Id` for the batch's `index`th entry: its index, the usual choice (SQS takes
/// up to 80 letters, digits, hyphens and underscores). Static text for the indexes a batch
/// can have, so callers building a batch per few messages allocate nothing for it.
pub fn entry_id(index: usize) -> Cow<'static, str> {
    const IDS: [&str; super::MAX_BATCH_ENTRIES] =
        ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    match IDS.get(index) {
        Some(id) => Cow::Borrowed(id),
        None => Cow::Owned(index.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_are_the_batch_indexes() {
        let ids: Vec<String> = (0..12).map(|i| entry_id(i).into_owned()).collect();
        let want: Vec<String> = (0..12).map(|i| i.to_string()).collect();
        assert_eq!(ids, want);
        assert!(matches!(entry_id(9), Cow::Borrowed("9")));
    }
}
