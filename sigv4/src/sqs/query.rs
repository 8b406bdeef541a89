//! Query-protocol request bodies (`Action=...&Version=2012-11-05&...`, form-encoded) and the
//! checks SQS would make anyway, done before any I/O so a caller gets a clear local error.
use super::error::{Error, ErrorKind};
use crate::uri_encode::{uri_encode, Slash};

pub const API_VERSION: &str = "2012-11-05";
/// SQS limits: at most 10 entries per batch and 1 MiB (1,048,576 bytes) of bodies.
pub const MAX_BATCH_ENTRIES: usize = 10;
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;
pub const MAX_MESSAGE_BYTES: usize = MAX_BATCH_BYTES;
/// Message attributes per message.
pub const MAX_MESSAGE_ATTRIBUTES: usize = 10;

/// An ordered list of query parameters for one action.
#[derive(Debug, Clone)]
pub struct QueryBody {
    action: &'static str,
    params: Vec<(String, String)>,
}

impl QueryBody {
    pub fn new(action: &'static str) -> QueryBody {
        QueryBody {
            action,
            params: Vec::new(),
        }
    }

    pub fn action(&self) -> &'static str {
        self.action
    }

    pub fn param(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// `Name.1=a&Name.2=b`: the query protocol's flattened list.
    pub fn list(&mut self, name: &str, values: &[&str]) -> &mut Self {
        for (i, v) in values.iter().enumerate() {
            self.param(format!("{name}.{}", i + 1), *v);
        }
        self
    }

    /// The form-encoded body.
    pub fn encode(&self) -> String {
        let mut out = format!("Action={}&Version={API_VERSION}", self.action);
        for (k, v) in &self.params {
            out.push('&');
            out.push_str(&uri_encode(k, Slash::Encode));
            out.push('=');
            out.push_str(&uri_encode(v, Slash::Encode));
        }
        out
    }
}

fn invalid(action: &str, why: String) -> Error {
    Error::new(ErrorKind::InvalidInput(why), action.to_string())
}

/// 1..=10 entries, distinct ids `[A-Za-z0-9_-]{1,80}`, and (for sends) at most 1 MiB of bodies
/// and attributes.
pub fn check_batch<'a>(
    action: &str,
    ids: impl ExactSizeIterator<Item = &'a str>,
    total_bytes: usize,
) -> Result<(), Error> {
    let count = ids.len();
    if count == 0 || count > MAX_BATCH_ENTRIES {
        return Err(invalid(
            action,
            format!("a batch needs 1 to {MAX_BATCH_ENTRIES} entries, got {count}"),
        ));
    }
    let mut seen: Vec<&str> = Vec::with_capacity(count);
    for id in ids {
        let well_formed = (1..=80).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            return Err(invalid(
                action,
                format!("batch entry id {id:?} must match [A-Za-z0-9_-]{{1,80}}"),
            ));
        }
        if seen.contains(&id) {
            return Err(invalid(
                action,
                format!("batch entry id {id:?} is repeated"),
            ));
        }
        seen.push(id);
    }
    if total_bytes > MAX_BATCH_BYTES {
        return Err(invalid(
            action,
            format!(
                "batch bodies and attributes total {total_bytes} bytes, over the \
                 {MAX_BATCH_BYTES}-byte limit"
            ),
        ));
    }
    Ok(())
}

pub fn check_message(action: &str, body: &str) -> Result<(), Error> {
    if body.is_empty() {
        return Err(invalid(action, "message body is empty".to_string()));
    }
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(invalid(
            action,
            format!(
                "message body is {} bytes, over the {MAX_MESSAGE_BYTES}-byte limit",
                body.len()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_action_version_and_params() {
        let mut q = QueryBody::new("SendMessage");
        q.param("MessageBody", "a b&c=🚀")
            .list("AttributeName", &["All"]);
        assert_eq!(
            q.encode(),
            "Action=SendMessage&Version=2012-11-05&MessageBody=a%20b%26c%3D%F0%9F%9A%80\
             &AttributeName.1=All"
        );
    }

    #[test]
    fn batch_checks() {
        let ok = |ids: &[&str], bytes| check_batch("X", ids.iter().copied(), bytes);
        assert!(ok(&["a", "B-1", "c_2"], 10).is_ok());
        assert!(ok(&[], 0).is_err());
        assert!(ok(&["a"; 11].map(|s| s), 0).is_err());
        assert!(ok(&["a", "a"], 0).is_err());
        assert!(ok(&["bad id"], 0).is_err());
        assert!(ok(&[&"x".repeat(81)], 0).is_err());
        assert!(ok(&["a"], MAX_BATCH_BYTES + 1).is_err());
        assert!(ok(&["a"], MAX_BATCH_BYTES).is_ok());
    }
}
