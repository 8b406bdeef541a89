//! Reading a message body that must be one JSON object when only a few of its top-level
//! fields matter (the proxy reads five of a sensor message's, the puller eleven). The whole
//! body is still checked to be valid JSON, but only the named fields are kept: a full
//! `serde_json::Value` tree of every message (a string per key and per value, a map node per
//! field) was most of the per-message allocation of both hot paths. A kept string borrows
//! from the body unless it has escapes to undo, so reading a hostname copies nothing.
#![forbid(unsafe_code)]

use serde_core::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde_core::de::{
    self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_core::Deserialize;
use serde_json::{Number, Value};
use std::borrow::Cow;
use std::fmt;

#[derive(Debug, PartialEq)]
pub enum Invalid {
    /// Valid JSON, but not an object.
    NotAnObject,
    /// Not JSON: serde_json's description of where and why.
    Json(String),
}

/// One kept field's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Field<'a> {
    /// A string: borrowed from the body, or owned when it had escapes.
    Str(Cow<'a, str>),
    Number(Number),
    /// Anything else (null, a boolean, an array, an object), as a full parse gives it.
    Other(Value),
}

impl<'a> Field<'a> {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Field::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Field::Number(n) => Some(n),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        self.as_number()?.as_u64()
    }

    pub fn as_i64(&self) -> Option<i64> {
        self.as_number()?.as_i64()
    }

    pub fn as_f64(&self) -> Option<f64> {
        self.as_number()?.as_f64()
    }

    /// The string, moved out (copied only if it was borrowed).
    pub fn into_string(self) -> Option<String> {
        match self {
            Field::Str(s) => Some(s.into_owned()),
            _ => None,
        }
    }

    /// The value as a full parse gives it.
    pub fn to_value(&self) -> Value {
        match self {
            Field::Str(s) => Value::String(s.to_string()),
            Field::Number(n) => Value::Number(n.clone()),
            Field::Other(v) => v.clone(),
        }
    }
}

/// The kept fields of one object, by name: a handful, so a list (one allocation, names not
/// copied) rather than a map.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Fields<'a>(Vec<(&'static str, Field<'a>)>);

impl<'a> Fields<'a> {
    pub fn get(&self, name: &str) -> Option<&Field<'a>> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Takes the field's value out.
    pub fn remove(&mut self, name: &str) -> Option<Field<'a>> {
        let i = self.0.iter().position(|(n, _)| *n == name)?;
        Some(self.0.swap_remove(i).1)
    }

    /// The names kept, in no particular order (what the tests compare).
    #[cfg(test)]
    fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().map(|(n, _)| *n)
    }

    /// A later duplicate key replaces the earlier value, as in a full parse.
    fn set(&mut self, name: &'static str, value: Field<'a>) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => *v = value,
            None => self.0.push((name, value)),
        }
    }
}

/// The fields of `names` the object `body` has, as a full parse would give them (a later
/// duplicate key wins); every other value is skipped but checked.
pub fn top_level<'a>(body: &'a str, names: &[&'static str]) -> Result<Fields<'a>, Invalid> {
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
    type Value = Fields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut kept = Fields(Vec::with_capacity(self.0.len()));
        while let Some(name) = map.next_key_seed(Key(self.0))? {
            match name {
                Some(name) => kept.set(name, map.next_value_seed(AnyField)?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(kept)
    }
}

/// A kept value: strings borrowed where the input allows, numbers as numbers, the rest as
/// `Value`.
struct AnyField;

impl<'de> DeserializeSeed<'de> for AnyField {
    type Value = Field<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AnyField {
    type Value = Field<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Owned(v.to_string())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Owned(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Field::Number(v.into()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Field::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // JSON numbers are finite, so this always has a Number.
        Ok(Number::from_f64(v).map_or(Field::Other(Value::Null), Field::Number))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Field::Other(Value::Bool(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Field::Other(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq)).map(Field::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(map)).map(Field::Other)
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
            assert_eq!(
                kept.get(name).map(Field::to_value).as_ref(),
                want.get(name),
                "{name}"
            );
        }
        let mut kept = kept;
        assert_eq!(
            kept.remove("region")
                .and_then(Field::into_string)
                .as_deref(),
            Some("us")
        );
        assert_eq!(kept.get("region"), None);
        assert_eq!(kept.remove("region"), None);
    }

    #[test]
    fn values_of_every_kind_read_as_a_full_parse_reads_them() {
        const ALL: [&str; 8] = ["s", "esc", "i", "neg", "f", "b", "n", "tree"];
        let body = r#"{"s":"edge-1","esc":"a\"b\u00e9","i":18446744073709551615,"neg":-3,
            "f":1.5e3,"b":true,"n":null,"tree":[1,{"a":["x",null]},"y"]}"#;
        let kept = top_level(body, &ALL).unwrap();
        let full: Value = serde_json::from_str(body).unwrap();
        for name in ALL {
            assert_eq!(
                kept.get(name).map(Field::to_value).as_ref(),
                full.get(name),
                "{name}"
            );
        }
        // A string without escapes is the body's own bytes; one with escapes is unescaped.
        assert!(matches!(
            kept.get("s"),
            Some(Field::Str(Cow::Borrowed("edge-1")))
        ));
        assert!(matches!(kept.get("esc"), Some(Field::Str(Cow::Owned(s))) if s == "a\"bé"));
        assert_eq!(kept.get("i").and_then(Field::as_u64), Some(u64::MAX));
        assert_eq!(kept.get("neg").and_then(Field::as_i64), Some(-3));
        assert_eq!(kept.get("f").and_then(Field::as_f64), Some(1500.0));
    }

    #[test]
    fn keys_are_compared_unescaped_and_the_last_duplicate_wins() {
        let kept = top_level(r#"{"host\u006eame":"a","hostname":"b"}"#, &NAMES).unwrap();
        assert_eq!(kept.get("hostname").and_then(Field::as_str), Some("b"));
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
