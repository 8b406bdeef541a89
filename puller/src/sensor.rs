//! What a message body is: a sensor message (the publisher's schema), some other JSON, or not
//! JSON at all. Only sensor messages take part in loss accounting; the others are still
//! delivered (unless `--require-schema`) and counted.
use json_fields::{Field, Fields, Invalid};
use sigv4::date_time::parse_rfc3339_ms;
use std::borrow::Cow;

/// The names of the sensor message's fields, in one place (the publisher module writes them in
/// publisher/src/message.rs).
pub mod field {
    pub const JOB_ID: &str = "job_id";
    pub const EXECUTION_ID: &str = "execution_id";
    pub const HOSTNAME: &str = "hostname";
    /// The deployment version: the Bacalhau job's submission time (Unix seconds).
    pub const JOB_SUBMISSION_TIME: &str = "job_submission_time";
    pub const ICON_NAME: &str = "icon_name";
    /// RFC 3339 UTC, with milliseconds from sensors that send them (`...T07:53:41.123Z`).
    pub const TIMESTAMP: &str = "timestamp";
    pub const COLOR: &str = "color";
    pub const SEQUENCE: &str = "sequence";
    pub const REGION: &str = "region";
    /// Cumulative count of messages the sensor dropped because the proxy refused them for
    /// good (present only when non-zero).
    pub const DROPPED_PERMANENT: &str = "dropped_permanent";
    /// Cumulative count of messages the sensor evicted from its full outbox (present only when
    /// non-zero).
    pub const DROPPED_OVERFLOW: &str = "dropped_overflow";
    /// Every field above: what `Body::classify` keeps of a body.
    pub const ALL: [&str; 11] = [
        JOB_ID,
        EXECUTION_ID,
        HOSTNAME,
        JOB_SUBMISSION_TIME,
        ICON_NAME,
        TIMESTAMP,
        COLOR,
        SEQUENCE,
        REGION,
        DROPPED_PERMANENT,
        DROPPED_OVERFLOW,
    ];
}

/// A colour as 8-bit RGB, from the schema's `#RRGGBB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// `#RRGGBB` (case-insensitive); anything else is not a colour.
    pub fn parse(text: &str) -> Option<Rgb> {
        let hex = text.strip_prefix('#')?;
        if hex.len() != 6 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        Some(Rgb(channel(0)?, channel(2)?, channel(4)?))
    }
}

/// The fields of a sensor message the puller uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensorMessage {
    pub job_id: String,
    /// Empty when the publisher ran outside Bacalhau; accounting then keys on hostname + job.
    pub execution_id: String,
    pub hostname: String,
    pub job_submission_time: Option<i64>,
    pub icon_name: String,
    /// `timestamp` in Unix milliseconds.
    pub timestamp_ms: i64,
    /// `None` when the field is absent or not `#RRGGBB` (shown without a swatch).
    pub color: Option<Rgb>,
    pub sequence: u64,
    pub region: String,
    /// The sensor's own drop counters as of this message (0 when absent).
    pub dropped_permanent: u64,
    pub dropped_overflow: u64,
}

impl SensorMessage {
    /// The publisher instance this message came from: the execution id, else hostname + job.
    pub fn instance_key(&self) -> Cow<'_, str> {
        if self.execution_id.is_empty() {
            Cow::Owned(format!("{}/{}", self.hostname, self.job_id))
        } else {
            Cow::Borrowed(&self.execution_id)
        }
    }
}

/// A classified body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Sensor(SensorMessage),
    /// Valid JSON that is not a sensor message; says which field was missing or wrong.
    SchemaLess(String),
    /// Not JSON; the parser's complaint.
    NonJson(String),
}

impl Body {
    pub fn classify(body: &str) -> Body {
        // Only the schema's fields are kept; the rest of the body is checked, not copied.
        match json_fields::top_level(body, &field::ALL) {
            Err(Invalid::Json(e)) => Body::NonJson(e),
            Ok(fields) => match sensor_from(fields) {
                Ok(message) => Body::Sensor(message),
                Err(reason) => Body::SchemaLess(reason),
            },
            Err(Invalid::NotAnObject) => Body::SchemaLess("not a JSON object".to_string()),
        }
    }
}

/// Required: job_id, hostname, timestamp (RFC 3339), sequence (≥ 1), region. Optional (shown
/// or used when present): execution_id, icon_name, color, job_submission_time, and the drop
/// counters (non-negative integers when present). Strings move out of `fields` (this runs
/// once per message; copying them was a good part of its cost).
fn sensor_from(mut fields: Fields) -> Result<SensorMessage, String> {
    let sequence = match fields.get(field::SEQUENCE).map(Field::as_u64) {
        Some(Some(n)) if n >= 1 => n,
        Some(_) => return Err("field 'sequence' is not a positive integer".to_string()),
        None => return Err("field 'sequence' is missing".to_string()),
    };
    let timestamp_ms = match fields.get(field::TIMESTAMP) {
        Some(Field::Str(t)) => parse_rfc3339_ms(t)
            .ok_or_else(|| format!("field 'timestamp' is not RFC 3339: {t:?}"))?,
        Some(_) => return Err("field 'timestamp' is not a string".to_string()),
        None => return Err("field 'timestamp' is missing".to_string()),
    };
    // Checked in the order the reasons have always been reported in.
    let job_id = take_text(&mut fields, field::JOB_ID)?;
    let hostname = take_text(&mut fields, field::HOSTNAME)?;
    let region = take_text(&mut fields, field::REGION)?;
    let counter = |name: &str| match fields.get(name).map(Field::as_u64) {
        None => Ok(0),
        Some(Some(n)) => Ok(n),
        Some(None) => Err(format!("field '{name}' is not a non-negative integer")),
    };
    let dropped_permanent = counter(field::DROPPED_PERMANENT)?;
    let dropped_overflow = counter(field::DROPPED_OVERFLOW)?;
    Ok(SensorMessage {
        job_id,
        execution_id: take_optional_text(&mut fields, field::EXECUTION_ID),
        hostname,
        job_submission_time: fields
            .get(field::JOB_SUBMISSION_TIME)
            .and_then(Field::as_i64),
        icon_name: take_optional_text(&mut fields, field::ICON_NAME),
        timestamp_ms,
        color: fields
            .get(field::COLOR)
            .and_then(Field::as_str)
            .and_then(Rgb::parse),
        sequence,
        region,
        dropped_permanent,
        dropped_overflow,
    })
}

/// A required string field, moved out of `fields`.
fn take_text(fields: &mut Fields, name: &str) -> Result<String, String> {
    match fields.remove(name) {
        Some(Field::Str(s)) => Ok(s.into_owned()),
        Some(_) => Err(format!("field '{name}' is not a string")),
        None => Err(format!("field '{name}' is missing")),
    }
}

/// An optional string field, moved out of `fields` ("" when absent or not a string).
fn take_optional_text(fields: &mut Fields, name: &str) -> String {
    match fields.remove(name) {
        Some(Field::Str(s)) => s.into_owned(),
        _ => String::new(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A body exactly as the publisher sends it.
    pub(crate) fn sample(execution: &str, sequence: u64) -> String {
        format!(
            r##"{{"job_id":"j-1","execution_id":"{execution}","hostname":"edge-us-1","job_submission_time":1711449600,"icon_name":"🚀","timestamp":"2025-03-26T12:34:56Z","color":"#FF5733","sequence":{sequence},"region":"us"}}"##
        )
    }

    #[test]
    fn full_message_is_a_sensor_message() {
        let Body::Sensor(m) = Body::classify(&sample("e-1", 42)) else {
            panic!("not sensor")
        };
        assert_eq!(m.sequence, 42);
        assert_eq!(m.color, Some(Rgb(0xFF, 0x57, 0x33)));
        assert_eq!(m.icon_name, "🚀");
        assert_eq!(m.timestamp_ms, 1_742_992_496_000);
        assert_eq!((m.dropped_permanent, m.dropped_overflow), (0, 0));
        assert_eq!(m.instance_key(), "e-1");
        assert_eq!(m.job_submission_time, Some(1_711_449_600));
    }

    #[test]
    fn missing_execution_id_keys_on_hostname_and_job() {
        let Body::Sensor(m) = Body::classify(&sample("", 1)) else {
            panic!("not sensor")
        };
        assert_eq!(m.instance_key(), "edge-us-1/j-1");
    }

    #[test]
    fn bad_colour_keeps_the_message() {
        let body = sample("e", 1).replace("#FF5733", "red");
        let Body::Sensor(m) = Body::classify(&body) else {
            panic!("not sensor")
        };
        assert_eq!(m.color, None);
    }

    #[test]
    fn non_json_and_schema_less_are_told_apart() {
        assert!(matches!(Body::classify("hello"), Body::NonJson(_)));
        assert!(matches!(Body::classify(""), Body::NonJson(_)));
        assert_eq!(
            Body::classify("[1]"),
            Body::SchemaLess("not a JSON object".into())
        );
        assert_eq!(
            Body::classify(r#"{"a":1}"#),
            Body::SchemaLess("field 'sequence' is missing".into())
        );
        let zero = sample("e", 1).replace("\"sequence\":1", "\"sequence\":0");
        assert!(matches!(Body::classify(&zero), Body::SchemaLess(r) if r.contains("sequence")));
        let bad_time = sample("e", 1).replace("2025-03-26T12:34:56Z", "yesterday");
        assert!(
            matches!(Body::classify(&bad_time), Body::SchemaLess(r) if r.contains("timestamp"))
        );
    }

    #[test]
    fn millisecond_timestamps_and_drop_counters() {
        let body = sample("e", 7)
            .replace("12:34:56Z", "12:34:56.123Z")
            .replace(
                "\"sequence\"",
                "\"dropped_permanent\":2,\"dropped_overflow\":5,\"sequence\"",
            );
        let Body::Sensor(m) = Body::classify(&body) else {
            panic!("not sensor: {body}")
        };
        assert_eq!(m.timestamp_ms, 1_742_992_496_123);
        assert_eq!((m.dropped_permanent, m.dropped_overflow), (2, 5));
        let bad = sample("e", 7).replace("\"sequence\"", "\"dropped_overflow\":-1,\"sequence\"");
        assert!(
            matches!(Body::classify(&bad), Body::SchemaLess(r) if r.contains("dropped_overflow")),
            "{bad}"
        );
    }

    #[test]
    fn colours() {
        assert_eq!(Rgb::parse("#00ff7F"), Some(Rgb(0, 255, 127)));
        for bad in ["00FF7F", "#00FF7", "#00FF7G", "#", "#00FF7F0"] {
            assert_eq!(Rgb::parse(bad), None, "{bad}");
        }
    }
}
