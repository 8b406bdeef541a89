//! What the answer readers (`json_receive`, `json_batch_answer`) share: reading a whole
//! answer with a visitor, a string field's value, and `json_keys!`, the field names a reader
//! looks for as an enum read straight from the JSON text (no string allocated per key; every
//! other name is `Other`).
use serde_core::de::{Deserializer, Visitor};
use serde_json::Value;

/// Why an answer could not be read: the text goes into the caller's protocol error.
pub(super) type Malformed = String;

/// A whole answer read with `visitor`, which must take an object; errors say why as the
/// callers' protocol errors do.
pub(super) fn read_answer<'de, V: Visitor<'de>>(
    answer: &'de str,
    visitor: V,
) -> Result<V::Value, Malformed> {
    let mut de = serde_json::Deserializer::from_str(answer);
    let read = de.deserialize_map(visitor);
    let value = read.map_err(|e| {
        if e.is_data() {
            // Our visitors' own complaints (a missing field, a list that is not one).
            e.to_string()
        } else {
            format!("answer is not valid json: {e}")
        }
    })?;
    de.end()
        .map_err(|e| format!("answer is not valid json: {e}"))?;
    Ok(value)
}

/// A string value; any other kind counts as absent.
pub(super) fn string_of(v: Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// `json_keys!(Key { "Name" => Variant, ... })` declares `enum Key { Variant, ..., Other }`
/// and its `Deserialize`.
macro_rules! json_keys {
    ($name:ident { $($text:literal => $variant:ident),+ $(,)? }) => {
        #[derive(PartialEq)]
        enum $name {
            $($variant,)+
            Other,
        }

        impl<'de> serde_core::de::Deserialize<'de> for $name {
            fn deserialize<D: serde_core::de::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                struct KeyVisitor;

                impl serde_core::de::Visitor<'_> for KeyVisitor {
                    type Value = $name;

                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("a field name")
                    }

                    fn visit_str<E: serde_core::de::Error>(self, v: &str) -> Result<$name, E> {
                        Ok(match v {
                            $($text => $name::$variant,)+
                            _ => $name::Other,
                        })
                    }
                }

                d.deserialize_str(KeyVisitor)
            }
        }
    };
}

pub(super) use json_keys;
