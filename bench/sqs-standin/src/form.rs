//! `application/x-www-form-urlencoded` bodies of the query protocol: `&`-separated pairs,
//! `%XX` escapes and `+` for space (botocore encodes with `urlencode`, our client with
//! `%20`), decoded once into (name, value) pairs, borrowed when nothing needed decoding.
use crate::error::SqsError;
use std::borrow::Cow;

pub struct Form<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Form<'a> {
    pub fn parse(text: &'a str) -> Result<Form<'a>, SqsError> {
        let mut pairs = Vec::new();
        for pair in text.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            pairs.push((decode(name)?, decode(value)?));
        }
        Ok(Form { pairs })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_ref())
    }

    pub fn required(&self, name: &str) -> Result<&str, SqsError> {
        self.get(name)
            .ok_or_else(|| SqsError::missing_parameter(name))
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>, SqsError> {
        self.get(name)
            .map(|v| {
                v.trim().parse().map_err(|_| {
                    SqsError::invalid_parameter(format!(
                        "Value {v} for parameter {name} is invalid. Reason: not an integer."
                    ))
                })
            })
            .transpose()
    }

    /// The values of a flattened list, `Name.1=a&Name.2=b`, in index order.
    pub fn list(&self, name: &str) -> Vec<&str> {
        let mut items: Vec<(u32, &str)> = self
            .pairs
            .iter()
            .filter_map(|(n, v)| {
                let index = n.strip_prefix(name)?.strip_prefix('.')?.parse().ok()?;
                Some((index, v.as_ref()))
            })
            .collect();
        items.sort_unstable_by_key(|(i, _)| *i);
        items.into_iter().map(|(_, v)| v).collect()
    }

    /// The members of a flattened list of structures, `Prefix.N.Member=value`, grouped by N
    /// in index order: each group is its (Member, value) pairs.
    pub fn groups(&self, prefix: &str) -> Vec<Group<'_>> {
        let mut groups: Vec<Group<'_>> = Vec::new();
        for (n, v) in &self.pairs {
            let Some(rest) = n.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) else {
                continue;
            };
            let Some((index, member)) = rest.split_once('.') else {
                continue;
            };
            let Ok(index) = index.parse::<u32>() else {
                continue;
            };
            match groups.iter_mut().find(|g| g.index == index) {
                Some(g) => g.members.push((member, v)),
                None => groups.push(Group {
                    index,
                    members: vec![(member, v)],
                }),
            }
        }
        groups.sort_unstable_by_key(|g| g.index);
        groups
    }
}

/// One structure of a flattened list.
pub struct Group<'f> {
    pub index: u32,
    pub members: Vec<(&'f str, &'f str)>,
}

impl<'f> Group<'f> {
    pub fn get(&self, member: &str) -> Option<&'f str> {
        self.members
            .iter()
            .find(|(m, _)| *m == member)
            .map(|(_, v)| *v)
    }

    pub fn required(&self, prefix: &str, member: &str) -> Result<&'f str, SqsError> {
        self.get(member).ok_or_else(|| {
            SqsError::missing_parameter(&format!("{prefix}.{}.{member}", self.index))
        })
    }
}

/// Percent- and plus-decoding; the result must be UTF-8.
fn decode(raw: &str) -> Result<Cow<'_, str>, SqsError> {
    if !raw.bytes().any(|b| b == b'%' || b == b'+') {
        return Ok(Cow::Borrowed(raw));
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                let byte = hex.and_then(|h| u8::from_str_radix(h, 16).ok());
                out.push(byte.ok_or_else(malformed)?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| malformed())
}

fn malformed() -> SqsError {
    SqsError {
        code: "MalformedQueryString",
        shape: "MalformedQueryString",
        ..SqsError::invalid_parameter("the form body has a bad %-escape or is not UTF-8".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_lists_and_groups() {
        let form = Form::parse(
            "Action=SendMessageBatch&E.2.Id=b&E.1.Id=a&E.1.MessageBody=x%20y+z%F0%9F%9A%80\
             &AttributeName.2=All&AttributeName.1=SentTimestamp&Empty=",
        )
        .unwrap();
        assert_eq!(form.get("Action"), Some("SendMessageBatch"));
        assert_eq!(form.get("Empty"), Some(""));
        assert_eq!(form.list("AttributeName"), ["SentTimestamp", "All"]);
        let groups = form.groups("E");
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].get("Id"), Some("a"));
        assert_eq!(groups[0].get("MessageBody"), Some("x y z🚀"));
        assert_eq!(groups[1].get("Id"), Some("b"));
        assert!(groups[1].required("E", "MessageBody").is_err());
    }

    #[test]
    fn bad_escapes_are_errors() {
        for bad in ["a=%", "a=%4", "a=%zz", "a=%ff"] {
            assert!(Form::parse(bad).is_err(), "{bad}");
        }
    }
}
