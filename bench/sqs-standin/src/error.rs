//! SQS errors as both protocols report them: the JSON protocol names the error shape in
//! `__type` (`com.amazonaws.sqs#QueueDoesNotExist`) and the query protocol's code in the
//! `x-amzn-query-error` header (`AWS.SimpleQueueService.NonExistentQueue;Sender`); the query
//! protocol puts that code in `<ErrorResponse><Error><Code>`. Shapes and codes as in the
//! SQS API reference ("Common Errors" and each action's "Errors").
use crate::write;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsError {
    /// `com.amazonaws.sqs`, or `com.amazon.coral.service` for errors of the protocol itself.
    pub namespace: &'static str,
    /// The JSON protocol's error shape.
    pub shape: &'static str,
    /// The query protocol's code.
    pub code: &'static str,
    pub status: u16,
    /// The caller's fault (`Sender`) rather than the service's (`Receiver`).
    pub sender: bool,
    pub message: String,
}

const SQS: &str = "com.amazonaws.sqs";
const CORAL: &str = "com.amazon.coral.service";

impl SqsError {
    fn sender(shape: &'static str, code: &'static str, message: String) -> SqsError {
        SqsError {
            namespace: SQS,
            shape,
            code,
            status: 400,
            sender: true,
            message,
        }
    }

    pub fn invalid_parameter(message: String) -> SqsError {
        SqsError::sender("InvalidParameterValue", "InvalidParameterValue", message)
    }

    pub fn missing_parameter(name: &str) -> SqsError {
        SqsError::sender(
            "MissingParameter",
            "MissingParameter",
            format!("The request must contain the parameter {name}."),
        )
    }

    pub fn receipt_handle_invalid(handle: &str) -> SqsError {
        SqsError::sender(
            "ReceiptHandleIsInvalid",
            "ReceiptHandleIsInvalid",
            format!(
                "The input receipt handle \"{}\" is not a valid receipt handle.",
                clip(handle)
            ),
        )
    }

    pub fn invalid_attribute_name(name: &str) -> SqsError {
        SqsError::sender(
            "InvalidAttributeName",
            "InvalidAttributeName",
            format!("Unknown Attribute {}.", clip(name)),
        )
    }

    pub fn empty_batch() -> SqsError {
        SqsError::sender(
            "EmptyBatchRequest",
            "AWS.SimpleQueueService.EmptyBatchRequest",
            "There should be at least one entry in the request.".into(),
        )
    }

    pub fn too_many_entries(n: usize) -> SqsError {
        SqsError::sender(
            "TooManyEntriesInBatchRequest",
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            format!("Maximum number of entries per request are 10. You have sent {n}."),
        )
    }

    pub fn ids_not_distinct(id: &str) -> SqsError {
        SqsError::sender(
            "BatchEntryIdsNotDistinct",
            "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
            format!("Id {} repeated.", clip(id)),
        )
    }

    pub fn invalid_batch_entry_id(id: &str) -> SqsError {
        SqsError::sender(
            "InvalidBatchEntryId",
            "AWS.SimpleQueueService.InvalidBatchEntryId",
            format!("A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long: {}", clip(id)),
        )
    }

    pub fn batch_too_long(bytes: usize) -> SqsError {
        SqsError::sender(
            "BatchRequestTooLong",
            "AWS.SimpleQueueService.BatchRequestTooLong",
            format!(
                "Batch requests cannot be longer than 1048576 bytes. You have sent {bytes} bytes."
            ),
        )
    }

    pub fn invalid_message_contents() -> SqsError {
        SqsError::sender(
            "InvalidMessageContents",
            "InvalidMessageContents",
            "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF".into(),
        )
    }

    /// The query protocol: no or an unknown `Action`.
    pub fn invalid_action(action: &str) -> SqsError {
        SqsError::sender(
            "InvalidAction",
            "InvalidAction",
            format!(
                "The action {} is not valid for this endpoint.",
                clip(action)
            ),
        )
    }

    /// The JSON protocol: an `X-Amz-Target` naming no operation.
    pub fn unknown_operation(target: &str) -> SqsError {
        SqsError {
            namespace: CORAL,
            ..SqsError::sender(
                "UnknownOperationException",
                "UnknownOperationException",
                format!("Unknown operation {}", clip(target)),
            )
        }
    }

    /// The JSON protocol: a body that is not a JSON object of the operation's shape.
    pub fn serialization(why: &str) -> SqsError {
        SqsError {
            namespace: CORAL,
            ..SqsError::sender(
                "SerializationException",
                "SerializationException",
                why.into(),
            )
        }
    }
}

impl SqsError {
    /// `{"__type":"com.amazonaws.sqs#Shape","message":"..."}` (the query code goes in the
    /// `x-amzn-query-error` header, written by the server).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"__type\":");
        write::json_str(out, &format!("{}#{}", self.namespace, self.shape));
        out.extend_from_slice(b",\"message\":");
        write::json_str(out, &self.message);
        out.push(b'}');
    }

    /// `<ErrorResponse><Error><Type>Sender</Type><Code>..</Code><Message>..</Message>
    /// <Detail/></Error><RequestId>..</RequestId></ErrorResponse>`.
    pub fn write_xml(&self, request_id: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(
            b"<?xml version=\"1.0\"?><ErrorResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><Error>",
        );
        write::xml_element(out, "Type", if self.sender { "Sender" } else { "Receiver" });
        write::xml_element(out, "Code", self.code);
        write::xml_element(out, "Message", &self.message);
        out.extend_from_slice(b"<Detail/></Error><RequestId>");
        out.extend_from_slice(request_id);
        out.extend_from_slice(b"</RequestId></ErrorResponse>");
    }
}

/// A bounded excerpt of client-chosen text for an error message.
fn clip(text: &str) -> &str {
    let mut end = text.len().min(100);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
