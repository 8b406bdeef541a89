//! How one delivered message is written: `pretty` for people at a terminal, `json` (one object
//! per line, the body byte-for-byte as a string) for machines and files.
use crate::sensor::{Body, Rgb};
use crate::time::write_rfc3339_ms;
use safe_text::inert_truncated;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pretty,
    Json,
}

/// One received message plus what the puller learned about it.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    pub message_id: &'a str,
    pub body: &'a str,
    pub class: &'a Body,
    pub received_ms: u64,
    pub receive_count: Option<u32>,
    pub sent_timestamp_ms: Option<u64>,
    /// The sender's message attributes (shown name → value).
    pub attributes: &'a [sigv4::sqs::MessageAttribute],
    /// FIFO queues: the message's group and its sequence number there.
    pub group_id: Option<&'a str>,
    pub sequence_number: Option<&'a str>,
}

/// The line for `record`, without the trailing newline.
pub fn line(format: Format, record: &Record<'_>) -> String {
    match format {
        Format::Json => json_line(record),
        Format::Pretty => pretty_line(record),
    }
}

/// `{"body": "...", "message_id": "...", "received_at": "...Z", "received_at_ms": n, ...}`.
/// The body stays a string so a reader recovers the exact bytes that were sent. Keys come in
/// sorted order (as a JSON map writes them), and the line is written straight into one
/// buffer: this runs once per message.
fn json_line(r: &Record<'_>) -> String {
    let mut out = Vec::with_capacity(r.body.len() + r.body.len() / 8 + 160);
    out.push(b'{');
    if !r.attributes.is_empty() {
        out.extend_from_slice(b"\"attributes\":{");
        // A map's order and, for a name given twice, its last value.
        let mut attributes: Vec<&sigv4::sqs::MessageAttribute> = r.attributes.iter().collect();
        attributes.reverse();
        attributes.sort_by(|a, b| a.name.cmp(&b.name));
        attributes.dedup_by(|a, b| a.name == b.name);
        for (i, a) in attributes.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            put_str(&mut out, &a.name);
            out.push(b':');
            put_str(&mut out, &a.value);
        }
        out.extend_from_slice(b"},");
    }
    put_key(&mut out, "body");
    put_str(&mut out, r.body);
    if let Some(group) = r.group_id {
        put_key(&mut out, ",message_group_id");
        put_str(&mut out, group);
    }
    put_key(&mut out, ",message_id");
    put_str(&mut out, r.message_id);
    if let Some(n) = r.receive_count {
        put_key(&mut out, ",receive_count");
        put_number(&mut out, u64::from(n));
    }
    put_key(&mut out, ",received_at");
    out.push(b'"');
    write_rfc3339_ms(r.received_ms, &mut out);
    out.push(b'"');
    put_key(&mut out, ",received_at_ms");
    put_number(&mut out, r.received_ms);
    if let Some(ms) = r.sent_timestamp_ms {
        put_key(&mut out, ",sent_timestamp_ms");
        put_number(&mut out, ms);
    }
    if let Some(sequence) = r.sequence_number {
        put_key(&mut out, ",sequence_number");
        put_str(&mut out, sequence);
    }
    out.push(b'}');
    // Only UTF-8 went in (str values, JSON escapes, ASCII digits and punctuation).
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// `"name":` (a leading comma in `name` is written before the quote).
fn put_key(out: &mut Vec<u8>, name: &str) {
    let (comma, name) = match name.strip_prefix(',') {
        Some(rest) => (true, rest),
        None => (false, name),
    };
    if comma {
        out.push(b',');
    }
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

/// `n` in decimal (serde_json writes integers without the formatting machinery).
fn put_number(out: &mut Vec<u8>, n: u64) {
    // Serializing an integer into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &n);
}

/// `s` as a JSON string (quoted, escaped).
fn put_str(out: &mut Vec<u8>, s: &str) {
    // Serializing a str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Width of the body excerpt shown for bodies that are not sensor messages.
const EXCERPT_CHARS: usize = 120;
/// Display caps for single fields: a hostile or broken sender cannot push the line off the
/// screen. Display only: the json format and the accounting keep the whole value.
const REGION_CHARS: usize = 12;
const HOSTNAME_CHARS: usize = 40;
const ICON_CHARS: usize = 8;
const REASON_CHARS: usize = 80;

/// `us  edge-us-1            🚀 ██ #FF5733  seq     42  +2.153s`: region, hostname, emoji, the
/// message's colour as a 24-bit ANSI swatch, sequence and end-to-end latency.
fn pretty_line(r: &Record<'_>) -> String {
    match r.class {
        Body::Sensor(m) => {
            let latency_ms = (r.received_ms as i64).saturating_sub(m.timestamp_ms);
            let icon = if m.icon_name.is_empty() {
                "?"
            } else {
                m.icon_name.as_str()
            };
            format!(
                "{:<4} {:<20} {} {} seq {:>6}  {:+.3}s",
                inert_truncated(&m.region, REGION_CHARS),
                inert_truncated(&m.hostname, HOSTNAME_CHARS),
                inert_truncated(icon, ICON_CHARS),
                swatch(m.color),
                m.sequence,
                latency_ms as f64 / 1000.0
            )
        }
        Body::SchemaLess(reason) => {
            format!(
                "-    [not a sensor message: {}] {}",
                inert_truncated(reason, REASON_CHARS),
                inert_truncated(r.body, EXCERPT_CHARS)
            )
        }
        Body::NonJson(_) => format!("-    [not JSON] {}", inert_truncated(r.body, EXCERPT_CHARS)),
    }
}

/// Two cells painted in the colour (`ESC[48;2;R;G;Bm`, reset after), then its hex code. Our
/// own escape sequence, built from three parsed numbers: the only raw ESC a pretty line holds.
fn swatch(color: Option<Rgb>) -> String {
    match color {
        Some(Rgb(red, green, blue)) => {
            format!("\x1b[48;2;{red};{green};{blue}m  \x1b[0m #{red:02X}{green:02X}{blue:02X}")
        }
        None => "   (no colour)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensor::tests::sample;
    use crate::time::format_rfc3339_ms;

    fn record<'a>(body: &'a str, class: &'a Body) -> Record<'a> {
        Record {
            message_id: "m-1",
            body,
            class,
            received_ms: 1_742_992_499_500,
            receive_count: Some(1),
            sent_timestamp_ms: None,
            attributes: &[],
            group_id: None,
            sequence_number: None,
        }
    }

    #[test]
    fn json_carries_message_attributes_and_fifo_fields_exactly() {
        let class = Body::classify("x");
        let attributes = vec![
            sigv4::sqs::MessageAttribute::string("region", "eu-west-1"),
            sigv4::sqs::MessageAttribute::string("hostname", "evil \u{1b}[31m \"q\" \n"),
        ];
        let r = Record {
            attributes: &attributes,
            group_id: Some("edge-1"),
            sequence_number: Some("18890000000000000001"),
            ..record("x", &class)
        };
        let v: serde_json::Value = serde_json::from_str(&line(Format::Json, &r)).expect("json");
        assert_eq!(v["attributes"]["region"], "eu-west-1");
        assert_eq!(v["attributes"]["hostname"], attributes[1].value.as_str());
        assert_eq!(v["message_group_id"], "edge-1");
        assert_eq!(v["sequence_number"], "18890000000000000001");
        let plain = line(Format::Json, &record("x", &class));
        assert!(!plain.contains("attributes") && !plain.contains("message_group_id"));
    }

    /// What the line was when it was built as a JSON map: the same bytes, field for field.
    fn json_line_through_a_map(r: &Record<'_>) -> String {
        let mut object = serde_json::Map::new();
        object.insert("body".into(), r.body.into());
        object.insert("message_id".into(), r.message_id.into());
        object.insert(
            "received_at".into(),
            format_rfc3339_ms(r.received_ms).into(),
        );
        object.insert("received_at_ms".into(), r.received_ms.into());
        if let Some(n) = r.receive_count {
            object.insert("receive_count".into(), n.into());
        }
        if let Some(ms) = r.sent_timestamp_ms {
            object.insert("sent_timestamp_ms".into(), ms.into());
        }
        if !r.attributes.is_empty() {
            let attributes: serde_json::Map<String, serde_json::Value> = r
                .attributes
                .iter()
                .map(|a| (a.name.to_string(), a.value.as_str().into()))
                .collect();
            object.insert("attributes".into(), attributes.into());
        }
        if let Some(group) = r.group_id {
            object.insert("message_group_id".into(), group.into());
        }
        if let Some(sequence) = r.sequence_number {
            object.insert("sequence_number".into(), sequence.into());
        }
        serde_json::Value::Object(object).to_string()
    }

    #[test]
    fn json_line_is_byte_for_byte_what_a_json_map_writes() {
        let class = Body::classify("x");
        let attributes = vec![
            sigv4::sqs::MessageAttribute::string("region", "eu"),
            sigv4::sqs::MessageAttribute::string("hostname", "h \u{1b} \"q\" \n é"),
            sigv4::sqs::MessageAttribute::string("region", "us"),
            sigv4::sqs::MessageAttribute::number("a", "1"),
        ];
        let full = Record {
            attributes: &attributes,
            group_id: Some("g\"1"),
            sequence_number: Some("18890000000000000001"),
            sent_timestamp_ms: Some(1_742_992_496_000),
            ..record("{\"a\": \"\\u00e9 é\"}\n\t\u{2028}", &class)
        };
        let bare = Record {
            receive_count: None,
            ..record("", &class)
        };
        for r in [full, bare] {
            assert_eq!(json_line(&r), json_line_through_a_map(&r));
        }
    }

    #[test]
    fn json_keeps_the_body_byte_for_byte() {
        let body = "{\"a\": \"\\u00e9 é\"}\n\t";
        let class = Body::classify(body);
        let out = line(Format::Json, &record(body, &class));
        assert!(!out.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert_eq!(v["body"], body);
        assert_eq!(v["message_id"], "m-1");
        assert_eq!(v["received_at"], "2025-03-26T12:34:59.500Z");
        assert_eq!(v["received_at_ms"], 1_742_992_499_500u64);
        assert_eq!(v["receive_count"], 1);
    }

    #[test]
    fn pretty_shows_region_host_icon_swatch_sequence_latency() {
        let body = sample("e", 42);
        let class = Body::classify(&body);
        let out = line(Format::Pretty, &record(&body, &class));
        assert!(out.starts_with("us   edge-us-1"), "{out}");
        assert!(out.contains("🚀"), "{out}");
        assert!(
            out.contains("\x1b[48;2;255;87;51m  \x1b[0m #FF5733"),
            "{out}"
        );
        assert!(out.contains("seq     42"), "{out}");
        assert!(out.ends_with("+3.500s"), "{out}");
    }

    #[test]
    fn pretty_escapes_control_characters_from_messages() {
        let body = "\x1b[2Jgotcha";
        let class = Body::classify(body);
        let out = line(Format::Pretty, &record(body, &class));
        assert!(!out.contains('\x1b'), "{out:?}");
        assert!(out.contains("[not JSON]"), "{out}");
        let host = sample("e", 1).replace("edge-us-1", "evil\\u001b[31m");
        let class = Body::classify(&host);
        let out = line(Format::Pretty, &record(&host, &class));
        assert_eq!(
            out.matches('\x1b').count(),
            2,
            "only the swatch escapes: {out:?}"
        );
    }

    #[test]
    fn pretty_truncates_long_bodies() {
        let body = "x".repeat(500);
        let class = Body::classify(&body);
        let out = line(Format::Pretty, &record(&body, &class));
        assert!(out.len() < 200 && out.ends_with('…'), "{out}");
    }
}
