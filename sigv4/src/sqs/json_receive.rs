//! Reading a ReceiveMessage answer over AWS JSON 1.0 straight into [`Message`]s: the puller
//! receives every message through here, and a `serde_json::Value` tree of the answer (a
//! string per key, a map node per field, then a copy out of it) cost more than the strings
//! themselves. Same result as reading the tree: the same fields, attributes in name order
//! (the order a JSON map gives), the last of a duplicate key winning.
use serde_core::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess};
use serde_core::de::{Deserialize, Visitor};
use serde_json::Value;
use std::fmt;

use super::json_read::{json_keys, read_answer, string_of, Malformed};
use super::model::{Message, MessageAttribute};

/// The messages of a ReceiveMessage answer (`{"Messages": [...]}`; none when it is absent,
/// null or the answer is empty).
pub(super) fn messages(answer: &str) -> Result<Vec<Message>, Malformed> {
    if answer.trim().is_empty() {
        return Ok(Vec::new());
    }
    read_answer(answer, AnswerVisitor)
}

struct AnswerVisitor;

impl<'de> Visitor<'de> for AnswerVisitor {
    type Value = Vec<Message>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("answer is not a json object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut messages = Vec::new();
        while let Some(key) = map.next_key::<Key>()? {
            if key == Key::Messages {
                messages = map.next_value::<MessageList>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(messages)
    }
}

/// `Messages`: a list, or null for none.
struct MessageList(Vec<Message>);

impl<'de> Deserialize<'de> for MessageList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MessageListVisitor)
    }
}

struct MessageListVisitor;

impl<'de> Visitor<'de> for MessageListVisitor {
    type Value = MessageList;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Messages is not a list")
    }

    fn visit_unit<E: de::Error>(self) -> Result<MessageList, E> {
        Ok(MessageList(Vec::new()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MessageList, A::Error> {
        let mut list = Vec::with_capacity(seq.size_hint().unwrap_or(10).min(10));
        while let Some(m) = seq.next_element_seed(MessageSeed)? {
            list.push(m);
        }
        Ok(MessageList(list))
    }
}

struct MessageSeed;

impl<'de> DeserializeSeed<'de> for MessageSeed {
    type Value = Message;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Message, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MessageSeed {
    type Value = Message;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a message object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Message, A::Error> {
        let (mut id, mut handle, mut body, mut md5) = (None, None, None, None);
        let mut attributes: Vec<(String, String)> = Vec::new();
        let mut message_attributes: Vec<MessageAttribute> = Vec::new();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::MessageId => id = string_of(map.next_value::<Value>()?),
                Key::ReceiptHandle => handle = string_of(map.next_value::<Value>()?),
                Key::Body => body = string_of(map.next_value::<Value>()?),
                Key::Md5OfBody => md5 = string_of(map.next_value::<Value>()?),
                Key::Attributes => attributes = string_pairs(map.next_value::<Value>()?),
                Key::MessageAttributes => {
                    message_attributes = typed_attributes(map.next_value::<Value>()?)
                }
                Key::Messages | Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let required = |v: Option<String>, name: &str| {
            v.ok_or_else(|| de::Error::custom(format!("answer has no string {name:?}")))
        };
        Ok(Message {
            message_id: required(id, "MessageId")?,
            receipt_handle: required(handle, "ReceiptHandle")?,
            body: required(body, "Body")?,
            md5_of_body: md5.unwrap_or_default(),
            attributes,
            message_attributes,
        })
    }
}

json_keys!(Key {
    "Messages" => Messages,
    "MessageId" => MessageId,
    "ReceiptHandle" => ReceiptHandle,
    "Body" => Body,
    "MD5OfBody" => Md5OfBody,
    "Attributes" => Attributes,
    "MessageAttributes" => MessageAttributes,
});

/// `{"name": "value", ...}`: the string values, by name.
fn string_pairs(v: Value) -> Vec<(String, String)> {
    let Value::Object(map) = v else {
        return Vec::new();
    };
    map.into_iter()
        .filter_map(|(k, v)| Some((k, string_of(v)?)))
        .collect()
}

/// `{"name": {"DataType": "String", "StringValue": "v"}, ...}`, by name; binary values are
/// skipped.
fn typed_attributes(v: Value) -> Vec<MessageAttribute> {
    let Value::Object(map) = v else {
        return Vec::new();
    };
    map.into_iter()
        .filter_map(|(name, mut a)| {
            Some(MessageAttribute {
                name: name.into(),
                data_type: string_of(a.get_mut("DataType")?.take())?.into(),
                value: string_of(a.get_mut("StringValue")?.take())?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_messages_with_both_kinds_of_attributes() {
        let answer = r#"{"Messages":[{"MessageId":"m1","ReceiptHandle":"r1","MD5OfBody":"d",
            "Body":"{\"a\":\"\\u00e9\"}","Attributes":{"SentTimestamp":"17","B":"x","N":1},
            "MessageAttributes":{"region":{"DataType":"String","StringValue":"eu"},
            "blob":{"DataType":"Binary","BinaryValue":"AAE="}},"Other":[1,{"x":null}]},
            {"ReceiptHandle":"r2","Body":"","MessageId":"m2"}],"ResponseMetadata":{}}"#;
        let got = messages(answer).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].message_id, "m1");
        assert_eq!(got[0].receipt_handle, "r1");
        assert_eq!(
            got[0].body, r#"{"a":"\u00e9"}"#,
            "unescaped once, as JSON says"
        );
        assert_eq!(got[0].md5_of_body, "d");
        // Name order, string values only, as a JSON map reads them.
        assert_eq!(
            got[0].attributes,
            vec![
                ("B".to_string(), "x".to_string()),
                ("SentTimestamp".to_string(), "17".to_string())
            ]
        );
        assert_eq!(
            got[0].message_attributes,
            vec![MessageAttribute::string("region", "eu")]
        );
        assert_eq!(got[1].message_id, "m2");
        assert!(got[1].attributes.is_empty() && got[1].md5_of_body.is_empty());
    }

    #[test]
    fn no_messages_and_bad_answers() {
        for empty in ["", " ", "{}", "{\"Messages\":null}", "{\"Messages\":[]}"] {
            assert!(messages(empty).unwrap().is_empty(), "{empty:?}");
        }
        let err = |a: &str| messages(a).unwrap_err();
        assert!(err("[]").contains("not a json object"), "{}", err("[]"));
        assert!(err("{\"Messages\":{}}").contains("Messages is not a list"));
        assert!(
            err("{\"Messages\":[{\"Body\":\"b\",\"ReceiptHandle\":\"r\"}]}")
                .contains("\"MessageId\"")
        );
        assert!(
            err("{\"Messages\":[{\"MessageId\":1,\"Body\":\"b\",\"ReceiptHandle\":\"r\"}]}")
                .contains("\"MessageId\"")
        );
        assert!(err("{\"Messages\":[").contains("not valid json"));
        assert!(err("{} x").contains("not valid json"));
    }
}
