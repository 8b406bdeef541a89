//! Reading an AWS JSON 1.0 request body into the members the operations use, in one pass
//! with the borrowing [`Scanner`]; members nobody reads are skipped.
use crate::error::SqsError;
use crate::json_scan::Scanner;
use crate::md5::Attribute;
use std::borrow::Cow;

/// The members of any request this stand-in reads (each operation uses its own), borrowed
/// from the body where no escape had to be decoded.
#[derive(Default)]
pub struct Request<'a> {
    pub queue_url: Option<Cow<'a, str>>,
    pub queue_name: Option<Cow<'a, str>>,
    pub message_body: Option<Cow<'a, str>>,
    pub receipt_handle: Option<Cow<'a, str>>,
    pub max_messages: Option<i64>,
    pub wait_seconds: Option<i64>,
    /// `AttributeNames` and `MessageSystemAttributeNames` together.
    pub attribute_names: Vec<Cow<'a, str>>,
    pub message_attributes: Vec<RawAttribute<'a>>,
    pub entries: Option<Vec<RawEntry<'a>>>,
}

/// One member of `Entries` (a message to send, or a receipt handle to act on).
#[derive(Default)]
pub struct RawEntry<'a> {
    pub id: Option<Cow<'a, str>>,
    pub message_body: Option<Cow<'a, str>>,
    pub receipt_handle: Option<Cow<'a, str>>,
    pub message_attributes: Vec<RawAttribute<'a>>,
}

/// `"name": {"DataType": .., "StringValue": ..}`; a value of another kind (binary, lists)
/// leaves `string_value` empty.
pub struct RawAttribute<'a> {
    pub name: Cow<'a, str>,
    pub data_type: Option<Cow<'a, str>>,
    pub string_value: Option<Cow<'a, str>>,
}

impl<'a> Request<'a> {
    /// One pass over the body; members nobody reads are skipped, `null` counts as absent.
    pub fn parse(text: &'a str) -> Result<Request<'a>, String> {
        let mut r = Request::default();
        let mut s = Scanner::new(text);
        if text.trim().is_empty() {
            return Ok(r);
        }
        s.object(|s, key| {
            if s.null() {
                return Ok(());
            }
            match key.as_ref() {
                "QueueUrl" => r.queue_url = Some(s.string()?),
                "QueueName" => r.queue_name = Some(s.string()?),
                "MessageBody" => r.message_body = Some(s.string()?),
                "ReceiptHandle" => r.receipt_handle = Some(s.string()?),
                "MaxNumberOfMessages" => r.max_messages = Some(s.integer()?),
                "WaitTimeSeconds" => r.wait_seconds = Some(s.integer()?),
                "AttributeNames" | "MessageSystemAttributeNames" => s.array(|s| {
                    r.attribute_names.push(s.string()?);
                    Ok(())
                })?,
                "MessageAttributes" => r.message_attributes = attributes(s)?,
                "Entries" => r.entries = Some(entries(s)?),
                _ => s.skip()?,
            }
            Ok(())
        })?;
        s.end()?;
        Ok(r)
    }

    pub fn queue_url(&self) -> Result<(), SqsError> {
        required(&self.queue_url, "QueueUrl").map(drop)
    }

    pub fn entries(&self) -> Result<&[RawEntry<'a>], SqsError> {
        self.entries
            .as_deref()
            .ok_or_else(|| SqsError::missing_parameter("Entries"))
    }
}

fn entries<'a>(s: &mut Scanner<'a>) -> Result<Vec<RawEntry<'a>>, String> {
    let mut list = Vec::new();
    s.array(|s| {
        let mut e = RawEntry::default();
        s.object(|s, key| {
            if s.null() {
                return Ok(());
            }
            match key.as_ref() {
                "Id" => e.id = Some(s.string()?),
                "MessageBody" => e.message_body = Some(s.string()?),
                "ReceiptHandle" => e.receipt_handle = Some(s.string()?),
                "MessageAttributes" => e.message_attributes = attributes(s)?,
                _ => s.skip()?,
            }
            Ok(())
        })?;
        list.push(e);
        Ok(())
    })?;
    Ok(list)
}

fn attributes<'a>(s: &mut Scanner<'a>) -> Result<Vec<RawAttribute<'a>>, String> {
    let mut list = Vec::new();
    s.object(|s, name| {
        let mut a = RawAttribute {
            name,
            data_type: None,
            string_value: None,
        };
        s.object(|s, key| {
            if s.null() {
                return Ok(());
            }
            match key.as_ref() {
                "DataType" => a.data_type = Some(s.string()?),
                "StringValue" => a.string_value = Some(s.string()?),
                _ => s.skip()?,
            }
            Ok(())
        })?;
        list.push(a);
        Ok(())
    })?;
    Ok(list)
}

pub fn required<'r>(v: &'r Option<Cow<'_, str>>, name: &str) -> Result<&'r str, SqsError> {
    v.as_deref()
        .ok_or_else(|| SqsError::missing_parameter(name))
}
/// The attributes to digest; only String and Number values (with their custom suffixes) are
/// supported: nothing this stand-in serves sends binary ones.
pub fn message_attributes<'r>(raw: &'r [RawAttribute<'_>]) -> Result<Vec<Attribute<'r>>, SqsError> {
    raw.iter()
        .map(|a| {
            let data_type = required(&a.data_type, "MessageAttribute.Value.DataType")?;
            let value = a.string_value.as_deref().ok_or_else(|| {
                SqsError::invalid_parameter(format!(
                    "message attribute {}: only StringValue is supported by this stand-in",
                    a.name
                ))
            })?;
            Ok(Attribute {
                name: &a.name,
                data_type,
                value: value.as_bytes(),
                binary: false,
            })
        })
        .collect()
}
