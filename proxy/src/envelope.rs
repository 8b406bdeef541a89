//! What the proxy sends to SQS beside a message's body (the body itself is never changed):
//! on a FIFO queue its MessageGroupId and MessageDeduplicationId, and the message attributes
//! `--attributes` asks for. All of it is derived from the message's own fields when the
//! request arrives, so a retry, a resend by the sensor or the same message through another
//! proxy gets the same ids.
use flags::Error;
use json_fields::{Field, Fields};
use sha2::{Digest, Sha256};
use sigv4::sqs::{is_fifo_token, MessageAttribute};

/// Which message field names a FIFO message group (`--group-by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Hostname,
    Region,
    Execution,
}

impl GroupBy {
    pub fn parse(value: &str) -> Result<GroupBy, Error> {
        match value {
            "hostname" => Ok(GroupBy::Hostname),
            "region" => Ok(GroupBy::Region),
            "execution" => Ok(GroupBy::Execution),
            other => Err(Error::new(format!(
                "'--group-by' must be hostname, region or execution (got '{}')",
                safe_text::inert(other)
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            GroupBy::Hostname => "hostname",
            GroupBy::Region => "region",
            GroupBy::Execution => "execution",
        }
    }

    fn field(self) -> &'static str {
        match self {
            GroupBy::Hostname => "hostname",
            GroupBy::Region => "region",
            GroupBy::Execution => "execution_id",
        }
    }
}

/// A message attribute the proxy can add (`--attributes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribute {
    Region,
    Hostname,
    JobSubmissionTime,
    ProxyRegion,
}

impl Attribute {
    pub const ALL: [Attribute; 4] = [
        Attribute::Region,
        Attribute::Hostname,
        Attribute::JobSubmissionTime,
        Attribute::ProxyRegion,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Attribute::Region => "region",
            Attribute::Hostname => "hostname",
            Attribute::JobSubmissionTime => "job_submission_time",
            Attribute::ProxyRegion => "proxy_region",
        }
    }

    /// `off`, or names separated by commas (each at most once).
    pub fn parse_list(value: &str) -> Result<Vec<Attribute>, Error> {
        if value == "off" {
            return Ok(Vec::new());
        }
        let mut list = Vec::new();
        for name in value.split(',') {
            let attribute = Attribute::ALL
                .into_iter()
                .find(|a| a.name() == name.trim())
                .ok_or_else(|| {
                    Error::new(format!(
                        "'--attributes' takes off or a comma-separated list of region, \
                         hostname, job_submission_time, proxy_region (got '{}')",
                        safe_text::inert(value)
                    ))
                })?;
            if !list.contains(&attribute) {
                list.push(attribute);
            }
        }
        Ok(list)
    }
}

/// A FIFO queue's name ends in `.fifo` (AWS SQS Developer Guide, "Amazon SQS FIFO queue
/// and message identifiers"); so does its URL.
pub fn is_fifo_url(url: &str) -> bool {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.trim_end_matches('/').ends_with(".fifo")
}

/// `--proxy-region`: a short printable name (it becomes an attribute value).
pub fn check_proxy_region(name: String) -> Result<String, Error> {
    let ok = (1..=256).contains(&name.len()) && name.chars().all(|c| !c.is_control());
    if ok {
        Ok(name)
    } else {
        Err(Error::new(format!(
            "'--proxy-region' must be 1 to 256 printable characters (got '{}')",
            safe_text::inert(&name)
        )))
    }
}

/// What goes to SQS beside one body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extras {
    pub group_id: Option<String>,
    pub deduplication_id: Option<String>,
    pub attributes: Vec<MessageAttribute>,
}

impl Extras {
    /// Bytes the attributes add to the message's size as SQS counts it.
    pub fn size(&self) -> usize {
        self.attributes.iter().map(MessageAttribute::size).sum()
    }
}

/// How extras are made, fixed at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// FIFO queue: group messages by this field.
    pub fifo: Option<GroupBy>,
    pub attributes: Vec<Attribute>,
    pub proxy_region: String,
    /// The queue's MaximumMessageSize: body plus attributes must fit.
    pub max_message_bytes: usize,
}

/// The group of messages without the `--group-by` field.
pub const UNGROUPED: &str = "ungrouped";

impl Rules {
    pub fn extras(&self, body: &str, message: &Fields) -> Extras {
        let (group_id, deduplication_id) = match self.fifo {
            Some(by) => (
                Some(group_id(message, by)),
                Some(deduplication_id(body, message)),
            ),
            None => (None, None),
        };
        let attributes = self
            .attributes
            .iter()
            .filter_map(|&a| self.attribute(a, message))
            .collect();
        Extras {
            group_id,
            deduplication_id,
            attributes,
        }
    }

    /// The attribute's value from the message (or the proxy), when it has a usable one: a
    /// missing field, an empty string or characters SQS refuses leave the attribute out
    /// rather than get the message refused (the body still carries the field).
    fn attribute(&self, a: Attribute, message: &Fields) -> Option<MessageAttribute> {
        let name = a.name();
        match a {
            Attribute::ProxyRegion => Some(MessageAttribute::string(name, &self.proxy_region)),
            Attribute::JobSubmissionTime => {
                let n = message.get("job_submission_time")?.as_number()?;
                // Integers as written; SQS numbers hold 38 significant digits, so floats only
                // while their plain decimal form is short.
                let text = if n.is_i64() || n.is_u64() {
                    n.to_string()
                } else {
                    let f = n.as_f64().filter(|f| f.is_finite() && f.abs() < 1e15)?;
                    format!("{f}")
                };
                Some(MessageAttribute::number(name, &text))
            }
            Attribute::Region | Attribute::Hostname => {
                let v = message.get(name)?.as_str()?;
                sqs_accepts(v).then(|| MessageAttribute::string(name, v))
            }
        }
    }
}

/// Non-empty and only characters SQS allows in attribute values (XML 1.0's: tab, line feed,
/// carriage return, U+0020 to U+D7FF, U+E000 to U+FFFD, U+10000 to U+10FFFF; AWS SQS API
/// Reference, `MessageAttributeValue`).
fn sqs_accepts(v: &str) -> bool {
    !v.is_empty()
        && v.chars().all(|c| {
            matches!(c, '\t' | '\n' | '\r')
                || ('\u{20}'..='\u{D7FF}').contains(&c)
                || ('\u{E000}'..='\u{FFFD}').contains(&c)
                || c >= '\u{10000}'
        })
}

/// The `--group-by` field as SQS takes it (1 to 128 ASCII letters, digits or punctuation);
/// other values become their SHA-256 (hex), and a message without the field joins
/// [`UNGROUPED`].
fn group_id(message: &Fields, by: GroupBy) -> String {
    match message.get(by.field()).and_then(Field::as_str) {
        Some(v) if is_fifo_token(v) => v.to_string(),
        Some(v) if !v.is_empty() => hex_sha256(v.as_bytes()),
        _ => UNGROUPED.to_string(),
    }
}

/// SHA-256 (hex) of `execution_id` and `sequence` when the message has both (a string and a
/// non-negative integer): the same for every copy of the message wherever it is sent from.
/// Otherwise SHA-256 (hex) of the body, so identical bodies within SQS's 5-minute window
/// count as one message.
pub fn deduplication_id(body: &str, message: &Fields) -> String {
    let execution = message.get("execution_id").and_then(Field::as_str);
    let sequence = message.get("sequence").and_then(Field::as_u64);
    match (execution, sequence) {
        (Some(e), Some(s)) if !e.is_empty() => hex_sha256(format!("{e}\n{s}").as_bytes()),
        _ => hex_sha256(body.as_bytes()),
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// The fields read from `v` written out (kept for the test's life: the fields borrow it).
    fn msg(v: Value) -> Fields<'static> {
        let body: &'static str = Box::leak(v.to_string().into_boxed_str());
        json_fields::top_level(body, &crate::routes::READ_FIELDS).unwrap()
    }

    fn rules(fifo: Option<GroupBy>, attributes: &[Attribute]) -> Rules {
        Rules {
            fifo,
            attributes: attributes.to_vec(),
            proxy_region: "eu-edge".into(),
            max_message_bytes: 262_144,
        }
    }

    #[test]
    fn fifo_urls() {
        assert!(is_fifo_url("https://sqs.us-east-1.amazonaws.com/1/q.fifo"));
        assert!(is_fifo_url("http://h/1/q.fifo/"));
        assert!(!is_fifo_url("http://h/1/q"));
        assert!(!is_fifo_url("http://h/1/fifo"));
    }

    #[test]
    fn deduplication_id_comes_from_execution_and_sequence_else_the_body() {
        let a = msg(json!({"execution_id": "e-1", "sequence": 7, "timestamp": "t1"}));
        let b = msg(json!({"execution_id": "e-1", "sequence": 7, "timestamp": "t2"}));
        let id = deduplication_id("body-a", &a);
        assert_eq!(
            id,
            deduplication_id("body-b", &b),
            "same message, other bytes"
        );
        assert_eq!(id, hex_sha256(b"e-1\n7"));
        assert_ne!(
            id,
            deduplication_id("x", &msg(json!({"execution_id": "e-1", "sequence": 8})))
        );
        assert_ne!(
            id,
            deduplication_id("x", &msg(json!({"execution_id": "e-2", "sequence": 7})))
        );
        let no_fields = msg(json!({"sequence": -1}));
        let body = "{\"sequence\":-1}";
        assert_eq!(
            deduplication_id(body, &no_fields),
            hex_sha256(body.as_bytes())
        );
        assert!(is_fifo_token(&id) && id.len() == 64);
    }

    #[test]
    fn group_ids_follow_group_by_and_stay_valid() {
        let m = msg(json!({"hostname": "edge-1", "region": "eu", "execution_id": "e-9"}));
        assert_eq!(group_id(&m, GroupBy::Hostname), "edge-1");
        assert_eq!(group_id(&m, GroupBy::Region), "eu");
        assert_eq!(group_id(&m, GroupBy::Execution), "e-9");
        let odd = msg(json!({"hostname": "édge 1"}));
        let g = group_id(&odd, GroupBy::Hostname);
        assert!(is_fifo_token(&g) && g.len() == 64, "{g}");
        assert_eq!(group_id(&msg(json!({})), GroupBy::Hostname), UNGROUPED);
    }

    #[test]
    fn extras_hold_the_chosen_attributes_with_usable_values() {
        let m = msg(json!({"hostname": "edge-1", "region": "", "job_submission_time": 1711449600}));
        let e = rules(None, &Attribute::ALL).extras("{}", &m);
        assert_eq!((e.group_id, e.deduplication_id), (None, None));
        assert_eq!(
            e.attributes,
            vec![
                MessageAttribute::string("hostname", "edge-1"),
                MessageAttribute::number("job_submission_time", "1711449600"),
                MessageAttribute::string("proxy_region", "eu-edge"),
            ],
            "the empty region is left out"
        );
        let m = msg(json!({"hostname": "a\u{1}b", "job_submission_time": 1.5}));
        let e = rules(
            Some(GroupBy::Hostname),
            &[Attribute::Hostname, Attribute::JobSubmissionTime],
        )
        .extras("{}", &m);
        assert_eq!(
            e.attributes,
            vec![MessageAttribute::number("job_submission_time", "1.5")]
        );
        assert!(e.group_id.is_some() && e.deduplication_id.is_some());
        assert_eq!(e.size(), "job_submission_timeNumber1.5".len());
        let none = rules(None, &[]).extras("{}", &m);
        assert_eq!(none, Extras::default());
    }

    #[test]
    fn flag_values() {
        assert_eq!(GroupBy::parse("region").unwrap(), GroupBy::Region);
        assert!(GroupBy::parse("Hostname").is_err());
        assert_eq!(
            Attribute::parse_list("region, hostname,region").unwrap(),
            [Attribute::Region, Attribute::Hostname]
        );
        assert!(Attribute::parse_list("off").unwrap().is_empty());
        assert!(Attribute::parse_list("").is_err());
        assert!(check_proxy_region(String::new()).is_err());
        assert_eq!(check_proxy_region("us".into()).unwrap(), "us");
    }
}
