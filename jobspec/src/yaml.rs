//! A YAML subset parser, enough for Bacalhau job files and no more.
//!
//! Supported: block mappings, block sequences (including `- key: value` items and a sequence
//! at its parent key's indentation), flow sequences on one line (`[a, "b", 'c']`), `{}`,
//! plain, single- and double-quoted scalars, `#` comments, a leading `---`. Refused with the
//! line number: tabs in indentation, block scalars (`|`, `>`), anchors/aliases/tags, flow
//! mappings, multi-line flow collections or plain scalars, duplicate keys, multiple
//! documents. Scalars stay strings; the job model decides what each field means.
use super::error::{Error, ErrorKind};

/// A parsed value and the (1-based) line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub line: usize,
    pub value: Yaml,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Yaml {
    Map(Vec<(String, Node)>),
    Seq(Vec<Node>),
    /// A scalar; `quoted` says whether it was written in quotes (so `"null"` stays a string).
    Scalar {
        text: String,
        quoted: bool,
    },
    Null,
}

#[derive(Debug, Clone)]
struct Line {
    no: usize,
    indent: usize,
    text: String,
}

/// Parses one YAML document.
pub(crate) fn parse(src: &str) -> Result<Node, Error> {
    let lines = logical_lines(src)?;
    if lines.is_empty() {
        return Ok(Node {
            line: 1,
            value: Yaml::Null,
        });
    }
    let mut p = Parser { lines, pos: 0 };
    let first_indent = p.lines[0].indent;
    let root = p.block(first_indent)?;
    if let Some(line) = p.lines.get(p.pos) {
        return Err(err(
            line.no,
            "unexpected indentation or content after the document",
        ));
    }
    Ok(root)
}

fn err(line: usize, message: impl Into<String>) -> Error {
    Error::at(ErrorKind::Yaml, line, message)
}

/// Splits into non-blank lines with indentation measured and comments removed.
fn logical_lines(src: &str) -> Result<Vec<Line>, Error> {
    let mut out = Vec::new();
    let mut seen_content = false;
    for (i, raw) in src.lines().enumerate() {
        let no = i + 1;
        let indent = raw.len() - raw.trim_start_matches(' ').len();
        let after_indent = &raw[indent..];
        if after_indent.starts_with('\t') {
            return Err(err(no, "tab in indentation (YAML allows spaces only)"));
        }
        let text = strip_comment(after_indent).trim_end().to_string();
        if text.is_empty() {
            continue;
        }
        if indent == 0 && (text == "---" || text.starts_with("--- ")) {
            if seen_content {
                return Err(err(no, "multiple documents are not supported"));
            }
            if text != "---" {
                return Err(err(no, "content after '---' is not supported"));
            }
            continue;
        }
        if indent == 0 && text == "..." {
            continue;
        }
        if text.starts_with('%') {
            return Err(err(no, "directives are not supported"));
        }
        seen_content = true;
        out.push(Line { no, indent, text });
    }
    Ok(out)
}

/// Removes a `#` comment: one at the start or after whitespace, outside quotes. A quote only
/// opens a quoted scalar at a token start, so `it's` in a plain scalar is not a quote.
fn strip_comment(s: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match quote {
            Some('"') if c == '\\' => {
                chars.next();
            }
            Some(q) if c == q => {
                if q == '\'' && chars.peek().map(|&(_, n)| n) == Some('\'') {
                    chars.next();
                } else {
                    quote = None;
                }
            }
            Some(_) => {}
            None => {
                if c == '#' && prev.is_whitespace() {
                    return &s[..i];
                }
                if (c == '"' || c == '\'') && matches!(prev, ' ' | '[' | ',' | '-' | ':') {
                    quote = Some(c);
                }
            }
        }
        prev = c;
    }
    s
}

struct Parser {
    lines: Vec<Line>,
    pos: usize,
}

fn is_seq_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

impl Parser {
    fn block(&mut self, indent: usize) -> Result<Node, Error> {
        let line = &self.lines[self.pos];
        if is_seq_item(&line.text) {
            self.seq(indent)
        } else if split_entry(&line.text, line.no)?.is_some() {
            self.map(indent)
        } else {
            let line = line.clone();
            self.pos += 1;
            let node = scalar_node(&line.text, line.no)?;
            self.no_deeper_after(indent, line.no)?;
            Ok(node)
        }
    }

    /// A following line indented deeper than `indent` would be a continuation we don't support.
    fn no_deeper_after(&self, indent: usize, line: usize) -> Result<(), Error> {
        match self.lines.get(self.pos) {
            Some(next) if next.indent > indent => Err(err(
                next.no,
                format!("unexpected indentation (multi-line values after line {line} are not supported)"),
            )),
            _ => Ok(()),
        }
    }

    fn seq(&mut self, indent: usize) -> Result<Node, Error> {
        let start = self.lines[self.pos].no;
        let mut items = Vec::new();
        while let Some(line) = self.lines.get(self.pos).cloned() {
            if line.indent != indent || !is_seq_item(&line.text) {
                break;
            }
            let rest = line.text[1..].trim_start();
            if rest.is_empty() {
                self.pos += 1;
                match self.lines.get(self.pos) {
                    Some(next) if next.indent > indent => {
                        let child = next.indent;
                        items.push(self.block(child)?);
                    }
                    _ => items.push(Node {
                        line: line.no,
                        value: Yaml::Null,
                    }),
                }
                continue;
            }
            // Re-read the item's content as if it started a line at its own column, so
            // `- key: v` followed by `  other: w` forms one mapping.
            let column = indent + (line.text.len() - rest.len());
            self.lines[self.pos] = Line {
                no: line.no,
                indent: column,
                text: rest.to_string(),
            };
            if is_seq_item(rest) {
                items.push(self.seq(column)?);
            } else if split_entry(rest, line.no)?.is_some() {
                items.push(self.map(column)?);
            } else {
                self.pos += 1;
                items.push(value_node(rest, line.no)?);
                self.no_deeper_after(indent, line.no)?;
            }
        }
        Ok(Node {
            line: start,
            value: Yaml::Seq(items),
        })
    }

    fn map(&mut self, indent: usize) -> Result<Node, Error> {
        let start = self.lines[self.pos].no;
        let mut entries: Vec<(String, Node)> = Vec::new();
        while let Some(line) = self.lines.get(self.pos).cloned() {
            if line.indent < indent {
                break;
            }
            if line.indent > indent {
                return Err(err(line.no, "unexpected indentation"));
            }
            if is_seq_item(&line.text) {
                return Err(err(
                    line.no,
                    "sequence item where a 'key: value' was expected",
                ));
            }
            let (key, value) = split_entry(&line.text, line.no)?
                .ok_or_else(|| err(line.no, "expected 'key: value'"))?;
            if entries.iter().any(|(k, _)| *k == key) {
                return Err(err(line.no, format!("duplicate key '{key}'")));
            }
            self.pos += 1;
            let node = if value.is_empty() {
                match self.lines.get(self.pos) {
                    Some(next) if next.indent > indent => {
                        let child = next.indent;
                        self.block(child)?
                    }
                    Some(next) if next.indent == indent && is_seq_item(&next.text) => {
                        self.seq(indent)?
                    }
                    _ => Node {
                        line: line.no,
                        value: Yaml::Null,
                    },
                }
            } else {
                let node = value_node(&value, line.no)?;
                self.no_deeper_after(indent, line.no)?;
                node
            };
            entries.push((key, node));
        }
        Ok(Node {
            line: start,
            value: Yaml::Map(entries),
        })
    }
}

/// Splits `key: value` (value may be empty). `Ok(None)` if the line is not a mapping entry.
fn split_entry(text: &str, line: usize) -> Result<Option<(String, String)>, Error> {
    let (key, after) = if text.starts_with('"') || text.starts_with('\'') {
        let end = quoted_end(text).ok_or_else(|| err(line, "unterminated quoted string"))?;
        let after = &text[end..];
        if !(after.starts_with(": ") || after == ":") {
            return Ok(None);
        }
        (scalar_text(&text[..end], line)?, &after[1..])
    } else {
        let bytes = text.as_bytes();
        let Some(colon) = (0..bytes.len())
            .find(|&i| bytes[i] == b':' && (i + 1 == bytes.len() || bytes[i + 1] == b' '))
        else {
            return Ok(None);
        };
        if text.starts_with('[') || text.starts_with('{') {
            return Ok(None);
        }
        let key = text[..colon].trim_end();
        if key.starts_with('?') {
            return Err(err(line, "complex keys ('? ') are not supported"));
        }
        (key.to_string(), &text[colon + 1..])
    };
    Ok(Some((key, after.trim().to_string())))
}

/// Byte index just past the closing quote of a quoted scalar starting at `s[0]`.
fn quoted_end(s: &str) -> Option<usize> {
    let q = s.chars().next()?;
    let bytes = s.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        if q == '"' && bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i] == q as u8 {
            if q == '\'' && bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return Some(i + 1);
        }
        i += 1;
    }
    None
}

/// The value after `key:` or `- `: a flow sequence, `{}`, or a scalar.
fn value_node(text: &str, line: usize) -> Result<Node, Error> {
    if let Some(inner) = text.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or_else(|| err(line, "flow sequences must close on the same line"))?;
        let mut items = Vec::new();
        for part in split_flow(inner, line)? {
            if part.starts_with('[') || part.starts_with('{') {
                return Err(err(line, "nested flow collections are not supported"));
            }
            items.push(scalar_node(&part, line)?);
        }
        return Ok(Node {
            line,
            value: Yaml::Seq(items),
        });
    }
    if text.starts_with('{') {
        if text.replace(' ', "") == "{}" {
            return Ok(Node {
                line,
                value: Yaml::Map(Vec::new()),
            });
        }
        return Err(err(
            line,
            "flow mappings ({a: b}) are not supported; use a block mapping",
        ));
    }
    scalar_node(text, line)
}

/// Splits the inside of `[ ... ]` at commas outside quotes.
fn split_flow(inner: &str, line: usize) -> Result<Vec<String>, Error> {
    let mut parts = Vec::new();
    let mut rest = inner.trim();
    while !rest.is_empty() {
        let (item, tail) = if rest.starts_with('"') || rest.starts_with('\'') {
            let end = quoted_end(rest).ok_or_else(|| err(line, "unterminated quoted string"))?;
            (&rest[..end], rest[end..].trim_start())
        } else {
            match rest.find(',') {
                Some(i) => (rest[..i].trim_end(), &rest[i..]),
                None => (rest, ""),
            }
        };
        parts.push(item.to_string());
        rest = match tail.strip_prefix(',') {
            Some(t) => t.trim_start(),
            None if tail.is_empty() => "",
            None => return Err(err(line, "expected ',' between flow sequence items")),
        };
    }
    Ok(parts)
}

fn scalar_node(text: &str, line: usize) -> Result<Node, Error> {
    let quoted = text.starts_with('"') || text.starts_with('\'');
    let value = scalar_text(text, line)?;
    if !quoted && (value == "~" || value == "null" || value == "Null" || value == "NULL") {
        return Ok(Node {
            line,
            value: Yaml::Null,
        });
    }
    Ok(Node {
        line,
        value: Yaml::Scalar {
            text: value,
            quoted,
        },
    })
}

/// The string a scalar denotes.
fn scalar_text(text: &str, line: usize) -> Result<String, Error> {
    let text = text.trim();
    if text.starts_with('"') || text.starts_with('\'') {
        let end = quoted_end(text).ok_or_else(|| err(line, "unterminated quoted string"))?;
        if end != text.len() {
            return Err(err(line, "unexpected text after a quoted string"));
        }
        let body = &text[1..end - 1];
        return if text.starts_with('\'') {
            Ok(body.replace("''", "'"))
        } else {
            unescape_double(body, line)
        };
    }
    match text.chars().next() {
        Some('|') | Some('>') => Err(err(line, "block scalars (| and >) are not supported")),
        Some('&') | Some('*') => Err(err(line, "anchors and aliases are not supported")),
        Some('!') => Err(err(line, "tags are not supported")),
        Some('@') | Some('`') => Err(err(line, "'@' and '`' cannot start a plain scalar")),
        _ => Ok(text.to_string()),
    }
}

fn unescape_double(body: &str, line: usize) -> Result<String, Error> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars
            .next()
            .ok_or_else(|| err(line, "dangling '\\' in string"))?;
        match e {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '0' => out.push('\0'),
            '"' | '\\' | '/' | ' ' => out.push(e),
            'x' | 'u' | 'U' => {
                let digits = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = chars.by_ref().take(digits).collect();
                let ch = u32::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == digits)
                    .and_then(char::from_u32)
                    .ok_or_else(|| err(line, format!("bad escape \\{e}{hex}")))?;
                out.push(ch);
            }
            other => return Err(err(line, format!("unsupported escape \\{other}"))),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Yaml {
        Yaml::Scalar {
            text: text.into(),
            quoted: false,
        }
    }

    fn get<'a>(node: &'a Node, key: &str) -> &'a Node {
        match &node.value {
            Yaml::Map(entries) => &entries.iter().find(|(k, _)| k == key).unwrap().1,
            other => panic!("not a map: {other:?}"),
        }
    }

    #[test]
    fn nested_maps_sequences_and_comments() {
        let doc = "# job\nName: x # trailing\nTasks:\n  - Name: t\n    Engine:\n      Type: wasm\n  - Name: u\nList:\n- a\n- 'b'\n";
        let root = parse(doc).unwrap();
        assert_eq!(get(&root, "Name").value, s("x"));
        let Yaml::Seq(tasks) = &get(&root, "Tasks").value else {
            panic!()
        };
        assert_eq!(tasks.len(), 2);
        assert_eq!(get(get(&tasks[0], "Engine"), "Type").value, s("wasm"));
        assert_eq!(get(&tasks[1], "Name").line, 7);
        let Yaml::Seq(list) = &get(&root, "List").value else {
            panic!()
        };
        assert_eq!(
            list[1].value,
            Yaml::Scalar {
                text: "b".into(),
                quoted: true
            }
        );
    }

    #[test]
    fn flow_sequences_and_quoting() {
        let doc = r#"a: [x, "y, z", 'it''s']
b: "tab\there \u00e9"
c: http://host:9091/path
d: '#not a comment'
e: []
f: {}
g: ~
"#;
        let root = parse(doc).unwrap();
        let Yaml::Seq(a) = &get(&root, "a").value else {
            panic!()
        };
        let texts: Vec<_> = a
            .iter()
            .map(|n| match &n.value {
                Yaml::Scalar { text, .. } => text.clone(),
                _ => panic!(),
            })
            .collect();
        assert_eq!(texts, ["x", "y, z", "it's"]);
        assert_eq!(
            get(&root, "b").value,
            Yaml::Scalar {
                text: "tab\there é".into(),
                quoted: true
            }
        );
        assert_eq!(get(&root, "c").value, s("http://host:9091/path"));
        assert_eq!(
            get(&root, "d").value,
            Yaml::Scalar {
                text: "#not a comment".into(),
                quoted: true
            }
        );
        assert_eq!(get(&root, "e").value, Yaml::Seq(vec![]));
        assert_eq!(get(&root, "f").value, Yaml::Map(vec![]));
        assert_eq!(get(&root, "g").value, Yaml::Null);
    }

    #[test]
    fn sequence_of_scalars_with_dashes_and_colons() {
        let doc = "params:\n  - --proxy=http://h:9091\n  - \"--color=#FF0000\"\n  - --emoji=-1\n";
        let root = parse(doc).unwrap();
        let Yaml::Seq(p) = &get(&root, "params").value else {
            panic!()
        };
        assert_eq!(p[0].value, s("--proxy=http://h:9091"));
        assert_eq!(
            p[1].value,
            Yaml::Scalar {
                text: "--color=#FF0000".into(),
                quoted: true
            }
        );
        assert_eq!(p[2].value, s("--emoji=-1"));
    }

    #[test]
    fn unsupported_features_name_the_line() {
        let cases = [
            ("a: 1\nb: |\n  text\n", 2),
            ("a: 1\n\tb: 2\n", 2),
            ("a: &x 1\n", 1),
            ("a: *x\n", 1),
            ("a: !!str 1\n", 1),
            ("a: {b: 1}\n", 1),
            ("a: [1,\n  2]\n", 1),
            ("a: 1\na: 2\n", 2),
            ("a: 1\n  b: 2\n", 2),
            ("a: \"open\n", 1),
            ("a: 1\n---\nb: 2\n", 2),
            ("a:\n  - x\n  y: 1\n", 3),
        ];
        for (doc, line) in cases {
            let e = parse(doc).unwrap_err();
            assert_eq!(e.line(), Some(line), "{doc:?}: {e}");
            assert_eq!(e.kind(), ErrorKind::Yaml);
        }
    }

    #[test]
    fn leading_document_marker_and_empty_values() {
        let root = parse("---\na:\nb: 2\n").unwrap();
        assert_eq!(get(&root, "a").value, Yaml::Null);
        assert_eq!(get(&root, "b").value, s("2"));
    }
}
