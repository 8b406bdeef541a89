//! Merging keys into docker's daemon.json without disturbing the rest of it.
//!
//! serde_json's map sorts keys (its order-keeping feature would change the map type for every
//! crate in the workspace), so the file is not round-tripped through `serde_json::Value`.
//! Instead the top-level object is split into members, each keeping its original text; only
//! the members tune changes are re-serialised, and new members are appended. Everything else —
//! key order, nested formatting, number spelling — stays as the administrator wrote it.
use serde_json::{Map, Value};

/// One top-level member: the key as written (escapes included) and its value.
#[derive(Debug, Clone)]
struct Member {
    raw_key: String,
    key: String,
    value: Slot,
}

#[derive(Debug, Clone)]
enum Slot {
    /// Untouched: the value's original text.
    Raw(String),
    /// Set by tune: re-serialised when rendered.
    Set(Value),
}

/// A parsed daemon.json.
#[derive(Debug, Clone)]
pub struct Document {
    members: Vec<Member>,
    parsed: Map<String, Value>,
}

impl Document {
    /// An empty object, for a host without daemon.json.
    pub fn empty() -> Document {
        Document {
            members: Vec::new(),
            parsed: Map::new(),
        }
    }

    /// Parses `text`; empty or blank text is an empty object (docker treats it the same way).
    pub fn parse(text: &str) -> Result<Document, String> {
        if text.trim().is_empty() {
            return Ok(Document::empty());
        }
        let parsed = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err("the top level is not an object".to_string()),
            Err(e) => return Err(e.to_string()),
        };
        let members = split_members(text)?;
        Ok(Document { members, parsed })
    }

    /// The value at `path` (top-level key, then nested object keys).
    pub fn get(&self, path: &[&str]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        let mut cur = self.parsed.get(*first)?;
        for key in rest {
            cur = cur.as_object()?.get(*key)?;
        }
        Some(cur)
    }

    /// Sets the value at `path`, creating (or replacing non-object) parents; sibling keys of
    /// nested objects are kept.
    pub fn set(&mut self, path: &[&str], value: Value) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        let mut top = self.parsed.get(*first).cloned().unwrap_or(Value::Null);
        set_nested(&mut top, rest, value);
        self.parsed.insert((*first).to_string(), top.clone());
        let mut seen = false;
        // Replace the first member with this key and drop any later duplicates (docker would
        // refuse a file with duplicate keys anyway).
        self.members.retain_mut(|m| {
            if m.key != *first {
                return true;
            }
            if seen {
                return false;
            }
            seen = true;
            m.value = Slot::Set(top.clone());
            true
        });
        if !seen {
            self.members.push(Member {
                raw_key: Value::String((*first).to_string()).to_string(),
                key: (*first).to_string(),
                value: Slot::Set(top),
            });
        }
    }

    /// The file text: one member per line at two-space indent, untouched values verbatim.
    pub fn render(&self) -> String {
        if self.members.is_empty() {
            return "{}\n".to_string();
        }
        let mut out = String::from("{\n");
        for (i, m) in self.members.iter().enumerate() {
            let value = match &m.value {
                Slot::Raw(text) => text.clone(),
                Slot::Set(v) => indent(&pretty(v)),
            };
            out.push_str(&format!("  {}: {}", m.raw_key, value));
            out.push_str(if i + 1 < self.members.len() {
                ",\n"
            } else {
                "\n"
            });
        }
        out.push_str("}\n");
        out
    }
}

fn set_nested(slot: &mut Value, path: &[&str], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        *slot = value;
        return;
    };
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    if let Value::Object(map) = slot {
        let child = map.entry((*first).to_string()).or_insert(Value::Null);
        set_nested(child, rest, value);
    }
}

fn pretty(v: &Value) -> String {
    // Serialising a Value cannot fail (its keys are strings); fall back to compact form anyway.
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// Indents every line but the first by two spaces, so a nested value lines up under its key.
fn indent(text: &str) -> String {
    text.replace('\n', "\n  ")
}

/// Splits an already validated JSON object into its top-level members, keeping each key's and
/// value's text.
fn split_members(text: &str) -> Result<Vec<Member>, String> {
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    expect(b, i, b'{')?;
    i += 1;
    let mut members = Vec::new();
    loop {
        i = skip_ws(b, i);
        if b.get(i) == Some(&b'}') {
            return Ok(members);
        }
        let key_start = i;
        i = end_of_string(b, i)?;
        let raw_key = &text[key_start..i];
        let key: String = serde_json::from_str(raw_key).map_err(|e| e.to_string())?;
        i = skip_ws(b, i);
        expect(b, i, b':')?;
        i = skip_ws(b, i + 1);
        let value_start = i;
        i = end_of_value(b, i)?;
        let raw_value = text[value_start..i].trim_end().to_string();
        members.push(Member {
            raw_key: raw_key.to_string(),
            key,
            value: Slot::Raw(raw_value),
        });
        match b.get(i) {
            Some(b',') => i += 1,
            Some(b'}') => return Ok(members),
            _ => return Err(format!("unexpected text at byte {i}")),
        }
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

fn expect(b: &[u8], i: usize, want: u8) -> Result<(), String> {
    match b.get(i) {
        Some(c) if *c == want => Ok(()),
        _ => Err(format!("expected '{}' at byte {i}", want as char)),
    }
}

/// Index just past the string starting at `i` (which must be a quote).
fn end_of_string(b: &[u8], i: usize) -> Result<usize, String> {
    expect(b, i, b'"')?;
    let mut j = i + 1;
    while let Some(c) = b.get(j) {
        match c {
            b'\\' => j += 2,
            b'"' => return Ok(j + 1),
            _ => j += 1,
        }
    }
    Err("unterminated string".to_string())
}

/// Index of the ',' or '}' that ends the value starting at `i`.
fn end_of_value(b: &[u8], mut i: usize) -> Result<usize, String> {
    let mut depth = 0usize;
    while let Some(c) = b.get(i) {
        match c {
            b'"' => {
                i = end_of_string(b, i)?;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth == 0 => return Ok(i),
            b'}' | b']' => depth -= 1,
            b',' if depth == 0 => return Ok(i),
            _ => {}
        }
        i += 1;
    }
    Err("unexpected end of file".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const EXISTING: &str = r#"{
  "zeta": {"b": 1, "a": [1, 2.50]},
  "insecure-registries" : ["r.local:5000"],
  "default-ulimits": {"nproc": {"Name": "nproc", "Soft": 1, "Hard": 2}},
  "alpha": "x\"y"
}
"#;

    #[test]
    fn keeps_order_and_text_of_other_keys() {
        let mut doc = Document::parse(EXISTING).expect("parse");
        doc.set(&["log-driver"], json!("local"));
        doc.set(
            &["default-ulimits", "nofile"],
            json!({"Name": "nofile", "Soft": 8, "Hard": 8}),
        );
        let out = doc.render();
        let zeta = out
            .find("\"zeta\": {\"b\": 1, \"a\": [1, 2.50]}")
            .expect("zeta verbatim");
        let reg = out
            .find("\"insecure-registries\": [\"r.local:5000\"]")
            .expect("registries");
        let alpha = out.find(r#""alpha": "x\"y""#).expect("alpha verbatim");
        let log = out.find("\"log-driver\": \"local\"").expect("new key");
        assert!(zeta < reg && reg < alpha && alpha < log, "{out}");
        let back: Value = serde_json::from_str(&out).expect("valid json");
        assert_eq!(back["default-ulimits"]["nproc"]["Hard"], 2);
        assert_eq!(back["default-ulimits"]["nofile"]["Soft"], 8);
        assert_eq!(back["zeta"], json!({"b": 1, "a": [1, 2.5]}));
    }

    #[test]
    fn get_reads_nested_values() {
        let doc = Document::parse(EXISTING).expect("parse");
        assert_eq!(
            doc.get(&["default-ulimits", "nproc", "Soft"]),
            Some(&json!(1))
        );
        assert_eq!(doc.get(&["default-ulimits", "nofile"]), None);
        assert_eq!(doc.get(&["nope"]), None);
    }

    #[test]
    fn empty_file_is_an_empty_object() {
        let mut doc = Document::parse("  \n").expect("parse");
        assert_eq!(doc.render(), "{}\n");
        doc.set(&["log-driver"], json!("local"));
        assert_eq!(doc.render(), "{\n  \"log-driver\": \"local\"\n}\n");
    }

    #[test]
    fn rejects_what_is_not_an_object() {
        assert!(Document::parse("[1]").is_err());
        assert!(Document::parse("{\"a\": ").is_err());
        assert!(Document::parse("not json").is_err());
    }

    #[test]
    fn duplicate_keys_collapse_into_the_set_value() {
        let mut doc = Document::parse(r#"{"a": 1, "b": 2, "a": 3}"#).expect("parse");
        doc.set(&["a"], json!(9));
        assert_eq!(doc.render(), "{\n  \"a\": 9,\n  \"b\": 2\n}\n");
    }
}
