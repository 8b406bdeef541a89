//! Reading a SendMessageBatch answer over AWS JSON 1.0 straight into its two lists: the proxy
//! reads one per batch it forwards, and a `serde_json::Value` tree of it (a map node per
//! entry, a string per key, then copies out of it) cost more than the strings kept. Same
//! reading as the tree: `Successful` and `Failed` (absent or null: empty), entries found by
//! `Id`, the first entry with an id winning, unknown keys ignored.
use serde_core::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess};
use serde_core::de::{Deserialize, Visitor};
use serde_json::Value;
use std::fmt;

use super::json_read::{json_keys, read_answer, string_of, Malformed};

/// An entry SQS listed under `Successful`.
#[derive(Debug, Default)]
pub(super) struct Sent {
    pub id: Option<String>,
    pub message_id: Option<String>,
    pub md5_of_body: Option<String>,
}

/// An entry SQS listed under `Failed`.
#[derive(Debug, Default)]
pub(super) struct Failed {
    pub id: Option<String>,
    pub code: Option<String>,
    pub message: Option<String>,
    pub sender_fault: bool,
}

#[derive(Debug, Default)]
pub(super) struct BatchAnswer {
    pub successful: Vec<Sent>,
    pub failed: Vec<Failed>,
}

impl BatchAnswer {
    /// The first `Successful` entry with id `id`.
    pub fn sent(&mut self, id: &str) -> Option<&mut Sent> {
        self.successful
            .iter_mut()
            .find(|e| e.id.as_deref() == Some(id))
    }

    /// The first `Failed` entry with id `id`.
    pub fn failure(&mut self, id: &str) -> Option<&mut Failed> {
        self.failed.iter_mut().find(|e| e.id.as_deref() == Some(id))
    }
}

/// The answer's lists; an empty answer lists nothing.
pub(super) fn read(answer: &str) -> Result<BatchAnswer, Malformed> {
    if answer.trim().is_empty() {
        return Ok(BatchAnswer::default());
    }
    read_answer(answer, AnswerVisitor)
}

/// The visits of a value that is not of the kind wanted (scalars and null), each giving
/// `$none`: the tree reading treated such a value as absent.
macro_rules! not_this_kind {
    ($t:ty, $none:expr) => {
        fn visit_unit<E: de::Error>(self) -> Result<$t, E> {
            Ok($none)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<$t, E> {
            Ok($none)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<$t, E> {
            Ok($none)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<$t, E> {
            Ok($none)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<$t, E> {
            Ok($none)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<$t, E> {
            Ok($none)
        }
    };
}

struct AnswerVisitor;

impl<'de> Visitor<'de> for AnswerVisitor {
    type Value = BatchAnswer;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("answer is not a json object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BatchAnswer, A::Error> {
        let mut answer = BatchAnswer::default();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Successful => answer.successful = map.next_value::<List<Sent>>()?.0,
                Key::Failed => answer.failed = map.next_value::<List<Failed>>()?.0,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(answer)
    }
}

/// A list of entries; anything else (null, an object) lists none. Entries that are not
/// objects are skipped: the tree reading never found them either.
struct List<T>(Vec<T>);

impl<'de, T: Entry> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ListVisitor(std::marker::PhantomData))
    }
}

struct ListVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Entry> Visitor<'de> for ListVisitor<T> {
    type Value = List<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of entries")
    }

    not_this_kind!(List<T>, List(Vec::new()));

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<List<T>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(List(Vec::new()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List<T>, A::Error> {
        let mut list = Vec::with_capacity(seq.size_hint().unwrap_or(10).min(10));
        while let Some(EntryOf(entry)) = seq.next_element::<EntryOf<T>>()? {
            list.extend(entry);
        }
        Ok(List(list))
    }
}

/// What one entry object keeps: a field set by key from its value.
trait Entry: Default {
    fn set(&mut self, key: Key, value: Value);
}

impl Entry for Sent {
    fn set(&mut self, key: Key, value: Value) {
        match key {
            Key::Id => self.id = string_of(value),
            Key::MessageId => self.message_id = string_of(value),
            Key::Md5OfMessageBody => self.md5_of_body = string_of(value),
            _ => {}
        }
    }
}

impl Entry for Failed {
    fn set(&mut self, key: Key, value: Value) {
        match key {
            Key::Id => self.id = string_of(value),
            Key::Code => self.code = string_of(value),
            Key::Message => self.message = string_of(value),
            Key::SenderFault => self.sender_fault = value.as_bool() == Some(true),
            _ => {}
        }
    }
}

/// One element of a list: the entry if it is an object, else nothing.
struct EntryOf<T>(Option<T>);

impl<'de, T: Entry> Deserialize<'de> for EntryOf<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(EntryVisitor(std::marker::PhantomData))
    }
}

struct EntryVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Entry> Visitor<'de> for EntryVisitor<T> {
    type Value = EntryOf<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an entry")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EntryOf<T>, A::Error> {
        let mut entry = T::default();
        while let Some(key) = map.next_key::<Key>()? {
            if key == Key::Other {
                map.next_value::<IgnoredAny>()?;
            } else {
                entry.set(key, map.next_value::<Value>()?);
            }
        }
        Ok(EntryOf(Some(entry)))
    }

    not_this_kind!(EntryOf<T>, EntryOf(None));

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EntryOf<T>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(EntryOf(None))
    }
}

json_keys!(Key {
    "Successful" => Successful,
    "Failed" => Failed,
    "Id" => Id,
    "MessageId" => MessageId,
    "MD5OfMessageBody" => Md5OfMessageBody,
    "Code" => Code,
    "Message" => Message,
    "SenderFault" => SenderFault,
});
