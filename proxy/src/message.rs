//! Reading a sensor message: the body must be one JSON object, and the proxy looks at only a
//! few of its fields (the supersede rule's `hostname` and `job_submission_time`; the FIFO
//! group and deduplication ids' `region`, `execution_id` and `sequence`). The whole body is
//! still checked to be valid JSON, but only those fields are kept: building a full JSON tree
//! of every message (a string per key and value) was most of the per-request allocation.
use serde_core::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// Every top-level field the proxy reads (the filter's and the envelope's).
pub const FIELDS: [&str; 5] = [
    "hostname",
    "job_submission_time",
    "region",
    "execution_id",
    "sequence",
];

#[derive(Debug, PartialEq)]
pub enum Invalid {
    /// Valid JSON, but not an object.
    NotAnObject,
    /// Not JSON: serde_json's description of where and why.
    Json(String),
}

/// The fields of [`FIELDS`] the body has (a later duplicate key wins, as in a full parse).
pub fn fields(body: &str) -> Result<Map<String, Value>, Invalid> {
    let mut de = serde_json::Deserializer::from_str(body);
    let kept = de.deserialize_map(Kept).map_err(|e| {
        if e.is_data() {
            // Only the top level can mismatch: every value inside is taken as it comes.
            Invalid::NotAnObject
        } else {
            Invalid::Json(e.to_string())
        }
    })?;
    de.end().map_err(|e| Invalid::Json(e.to_string()))?;
    Ok(kept)
}

/// Visits the top-level object, keeping the wanted fields and skipping (but checking) the rest.
struct Kept;

impl<'de> Visitor<'de> for Kept {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut kept = Map::new();
        while let Some(key) = map.next_key::<Key>()? {
            match key.0 {
                Some(name) => {
                    kept.insert(name.to_string(), map.next_value::<Value>()?);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(kept)
    }
}

/// A key: which of [`FIELDS`] it is, if any (keys are compared after unescaping).
struct Key(Option<&'static str>);

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(Key(FIELDS.iter().copied().find(|&f| f == v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_the_read_fields_of_a_sensor_message() {
        let body = r##"{"job_id":"j","hostname":"edge-1","job_submission_time":1711449600,
            "icon_name":"😀","color":"#FF5733","sequence":7,"region":"us","execution_id":"e",
            "nested":{"hostname":"not me"},"list":[1,{"a":null}]}"##;
        let kept = Value::Object(fields(body).unwrap());
        assert_eq!(
            kept,
            json!({"hostname":"edge-1","job_submission_time":1711449600,"sequence":7,
                   "region":"us","execution_id":"e"})
        );
    }

    #[test]
    fn keys_are_compared_unescaped_and_the_last_duplicate_wins() {
        let kept = fields(r#"{"host\u006eame":"a","hostname":"b"}"#).unwrap();
        assert_eq!(kept["hostname"], "b");
    }

    #[test]
    fn refuses_what_a_full_parse_refuses() {
        for bad in [
            "",
            "{",
            "{\"a\":1,}",
            "{\"a\":tru}",
            "{} x",
            "{\"a\":\"\\x\"}",
            "{\"a\" 1}",
        ] {
            assert!(
                matches!(fields(bad), Err(Invalid::Json(_))),
                "{bad:?} was accepted"
            );
            assert!(serde_json::from_str::<Value>(bad).is_err());
        }
        for not_object in ["[]", "1", "\"s\"", "null", "true"] {
            assert_eq!(
                fields(not_object),
                Err(Invalid::NotAnObject),
                "{not_object}"
            );
        }
        // Bad JSON deep inside a skipped field is still bad JSON.
        assert!(matches!(
            fields("{\"x\":[1,{\"y\":}]}"),
            Err(Invalid::Json(_))
        ));
    }
}
