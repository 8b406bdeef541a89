//! Reading a message body that must be one JSON object when only a few of its top-level
//! fields matter (the proxy reads five of a sensor message's, the puller eleven). The whole
//! body is still checked to be valid JSON, but only the named fields are kept: a full
//! `serde_json::Value` tree of every message (a string per key and per value, a map node per
//! field) was most of the per-message allocation of both hot paths.
#![forbid(unsafe_code)]

use serde_core::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use std::fmt;

#[derive(Debug, PartialEq)]
pub enum Invalid {
    /// Valid JSON, but not an object.
    NotAnObject,
    /// Not JSON: serde_json's description of where and why.
    Json(String),
}

/// The kept fields of one object, by name: a handful, so a list (one allocation, names not
/// copied) rather than a map.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Fields(Vec<(&'static str, Value)>);

impl Fields {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Takes the field's value out.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let i = self.0.iter().position(|(n, _)| *n == name)?;
        Some(self.0.swap_remove(i).1)
    }

    /// The names kept, in no particular order (what the tests compare).
    #[cfg(test)]
    fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().map(|(n, _)| *n)
    }

    /// A later duplicate key replaces the earlier value, as in a full parse.
    fn set(&mut self, name: &'static str, value: Value) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => *v = value,
            None => self.0.push((name, value)),
        }
    }
}

/// The fields of `names` the object `body` has, as a full parse would give them (a later
/// duplicate key wins); every other value is skipped but checked.
pub fn top_level(body: &str, names: &[&'static str]) -> Result<Fields, Invalid> {
    let mut de = serde_json::Deserializer::from_str(body);
    let kept = de.deserialize_map(Kept(names)).map_err(|e| {
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

/// Visits the top-level object, keeping the named fields.
struct Kept<'n>(&'n [&'static str]);

impl<'de> Visitor<'de> for Kept<'_> {
    type Value = Fields;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut kept = Fields(Vec::with_capacity(self.0.len()));
        while let Some(name) = map.next_key_seed(Key(self.0))? {
            match name {
                Some(name) => kept.set(name, map.next_value::<Value>()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(kept)
    }
}

/// A key: which of the names it is, if any (compared after unescaping, without allocating).
struct Key<'n>(&'n [&'static str]);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = Option<&'static str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for Key<'_> {
    type Value = Option<&'static str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.0.iter().copied().find(|&name| name == v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NAMES: [&str; 5] = [
        "hostname",
        "job_submission_time",
        "region",
        "execution_id",
        "sequence",
    ];

    #[test]
    fn keeps_the_named_fields_of_a_sensor_message() {
        let body = r##"{"job_id":"j","hostname":"edge-1","job_submission_time":1711449600,
            "icon_name":"😀","color":"#FF5733","sequence":7,"region":"us","execution_id":"e",
            "nested":{"hostname":"not me"},"list":[1,{"a":null}]}"##;
        let kept = top_level(body, &NAMES).unwrap();
        let want = json!({"hostname":"edge-1","job_submission_time":1711449600,"sequence":7,
                          "region":"us","execution_id":"e"});
        let mut names: Vec<&str> = kept.names().collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "execution_id",
                "hostname",
                "job_submission_time",
                "region",
                "sequence"
            ]
        );
        for name in names {
            assert_eq!(kept.get(name), want.get(name), "{name}");
        }
        let mut kept = kept;
        assert_eq!(kept.remove("region"), Some(json!("us")));
        assert_eq!(kept.get("region"), None);
        assert_eq!(kept.remove("region"), None);
    }

    #[test]
    fn keys_are_compared_unescaped_and_the_last_duplicate_wins() {
        let kept = top_level(r#"{"host\u006eame":"a","hostname":"b"}"#, &NAMES).unwrap();
        assert_eq!(kept.get("hostname"), Some(&json!("b")));
        assert_eq!(kept.names().count(), 1);
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
                matches!(top_level(bad, &NAMES), Err(Invalid::Json(_))),
                "{bad:?} was accepted"
            );
            assert!(serde_json::from_str::<Value>(bad).is_err());
        }
        for not_object in ["[]", "1", "\"s\"", "null", "true"] {
            assert_eq!(
                top_level(not_object, &NAMES),
                Err(Invalid::NotAnObject),
                "{not_object}"
            );
        }
        // Bad JSON deep inside a skipped field is still bad JSON.
        assert!(matches!(
            top_level("{\"x\":[1,{\"y\":}]}", &NAMES),
            Err(Invalid::Json(_))
        ));
    }
}
