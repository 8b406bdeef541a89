//! A small XML reader for SQS answers: elements, text, CDATA, comments, the prolog; entity
//! references (`&lt;`, `&amp;`, `&#38;`, `&#x1F680;`, ...) are decoded so message bodies come
//! back byte for byte. Namespace prefixes are dropped from names; attributes are skipped (SQS
//! answers carry only `xmlns`). Line endings are NOT normalised: SQS escapes a body's `\r`
//! as `&#xD;`, and a raw one should survive as sent anyway.
//!
//! Not a validating parser: it checks nesting and entity syntax, which is all an answer
//! from a trusted endpoint needs to be read correctly or rejected clearly.

/// An element with its direct text (concatenated) and child elements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Text of the first child called `name`.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }

    /// Depth-first search for the first descendant (or self) called `name`.
    pub fn find(&self, name: &str) -> Option<&Element> {
        if self.name == name {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(name))
    }
}

/// Parses a document and returns its root element.
pub fn parse(input: &str) -> Result<Element, String> {
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut rest = input;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<?") {
            rest = skip_past(after, "?>", "processing instruction")?;
        } else if let Some(after) = rest.strip_prefix("<!--") {
            rest = skip_past(after, "-->", "comment")?;
        } else if let Some(after) = rest.strip_prefix("<![CDATA[") {
            let end = after.find("]]>").ok_or("unterminated CDATA section")?;
            let top = stack.last_mut().ok_or("CDATA outside the root element")?;
            top.text.push_str(&after[..end]);
            rest = &after[end + 3..];
        } else if let Some(after) = rest.strip_prefix("<!") {
            rest = skip_past(after, ">", "declaration")?;
        } else if let Some(after) = rest.strip_prefix("</") {
            let end = after.find('>').ok_or("unterminated end tag")?;
            let name = local_name(after[..end].trim());
            let done = stack.pop().ok_or_else(|| format!("unexpected </{name}>"))?;
            if done.name != name {
                return Err(format!("</{name}> closes <{}>", done.name));
            }
            attach(&mut stack, &mut root, done)?;
            rest = &after[end + 1..];
        } else if let Some(after) = rest.strip_prefix('<') {
            let end = after.find('>').ok_or("unterminated start tag")?;
            let (element, self_closing) = start_tag(&after[..end])?;
            if self_closing {
                attach(&mut stack, &mut root, element)?;
            } else {
                stack.push(element);
            }
            rest = &after[end + 1..];
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            let raw = &rest[..end];
            match stack.last_mut() {
                Some(top) => decode_entities_into(raw, &mut top.text)?,
                None if raw.trim().is_empty() => {}
                None => return Err("text outside the root element".to_string()),
            }
            rest = &rest[end..];
        }
    }
    if let Some(open) = stack.last() {
        return Err(format!("document ends inside <{}>", open.name));
    }
    root.ok_or_else(|| "no root element".to_string())
}

/// The element a start tag (the text between `<` and `>`) opens, and whether it also closes
/// it (`<name/>`); attributes are ignored.
fn start_tag(tag: &str) -> Result<(Element, bool), String> {
    let (tag, self_closing) = match tag.strip_suffix('/') {
        Some(t) => (t, true),
        None => (tag, false),
    };
    let name = tag
        .split(|c: char| c.is_ascii_whitespace())
        .next()
        .unwrap_or("");
    if name.is_empty() {
        return Err("start tag without a name".to_string());
    }
    let element = Element {
        name: local_name(name).to_string(),
        ..Element::default()
    };
    Ok((element, self_closing))
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, done: Element) -> Result<(), String> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(done),
        None if root.is_none() => *root = Some(done),
        None => return Err("more than one root element".to_string()),
    }
    Ok(())
}

fn skip_past<'a>(s: &'a str, end: &str, what: &str) -> Result<&'a str, String> {
    s.find(end)
        .map(|i| &s[i + end.len()..])
        .ok_or_else(|| format!("unterminated {what}"))
}

fn local_name(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

/// Appends `raw` to `out` with entity and character references decoded.
pub fn decode_entities_into(raw: &str, out: &mut String) -> Result<(), String> {
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let semi = after
            .find(';')
            .filter(|&i| i <= 12)
            .ok_or_else(|| format!("unterminated entity near {:?}", head(after)))?;
        let entity = &after[..semi];
        let ch = match entity {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = entity.strip_prefix('#') {
                    dec.parse::<u32>().ok()
                } else {
                    None
                };
                code.and_then(char::from_u32)
                    .ok_or_else(|| format!("unknown entity &{entity};"))?
            }
        };
        out.push(ch);
        rest = &after[semi + 1..];
    }
    out.push_str(rest);
    Ok(())
}

fn head(s: &str) -> &str {
    let mut end = s.len().min(16);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_elements_and_decodes_entities() {
        let doc = r#"<?xml version="1.0"?>
<ReceiveMessageResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">
  <ReceiveMessageResult>
    <Message><Body>a &lt;b&gt; &amp;amp; &quot;q&quot; &apos;s&apos; &#x1F680;&#128225;&#xD;</Body>
      <Attribute><Name>SentTimestamp</Name><Value>1</Value></Attribute>
    </Message>
    <!-- a comment -->
    <Empty/>
  </ReceiveMessageResult>
</ReceiveMessageResponse>"#;
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "ReceiveMessageResponse");
        let msg = root.find("Message").unwrap();
        assert_eq!(
            msg.child_text("Body").unwrap(),
            "a <b> &amp; \"q\" 's' 🚀📡\r"
        );
        assert_eq!(
            msg.child("Attribute").unwrap().child_text("Value"),
            Some("1")
        );
        assert!(root.find("Empty").is_some());
    }

    #[test]
    fn cdata_is_verbatim() {
        let root = parse("<a><![CDATA[<&]]>x&amp;</a>").unwrap();
        assert_eq!(root.text, "<&x&");
    }

    #[test]
    fn namespace_prefixes_are_dropped() {
        let root = parse("<ns:a xmlns:ns='x'><ns:b>1</ns:b></ns:a>").unwrap();
        assert_eq!(root.child_text("b"), Some("1"));
    }

    #[test]
    fn malformed_documents_are_errors_not_panics() {
        for bad in [
            "",
            "<a>",
            "<a></b>",
            "</a>",
            "<a>&bogus;</a>",
            "<a>&#xD800;</a>",
            "<a>& no semicolon</a>",
            "<a><![CDATA[x</a>",
            "<a/><b/>",
            "text",
            "<>",
            "<a>é&</a>",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should fail");
        }
    }
}
