//! Writing answers straight into the connection's reused buffer: JSON strings and XML text
//! escaped in place, numbers without a temporary String.
use std::io::Write;

/// A JSON string literal (RFC 8259: quote, backslash and control characters escaped).
pub fn json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// XML character data: `&`, `<`, `>`, `"` as entities and `\r` as `&#xD;`, as SQS writes
/// bodies (an XML reader would otherwise turn a body's `\r\n` into `\n`).
pub fn xml_text(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'"' => b"&quot;",
            b'\r' => b"&#xD;",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// `<name>text</name>` with the text escaped.
pub fn xml_element(out: &mut Vec<u8>, name: &str, text: &str) {
    let _ = write!(out, "<{name}>");
    xml_text(out, text);
    let _ = write!(out, "</{name}>");
}

pub fn number(out: &mut Vec<u8>, n: u64) {
    let _ = write!(out, "{n}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_round_trip() {
        for s in ["", "plain", "q\"b\\s", "line\nfeed\r\t\u{1}\u{1f}", "🚀 é"] {
            let mut out = Vec::new();
            json_str(&mut out, s);
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, s);
        }
    }

    #[test]
    fn xml_text_escapes_markup_and_carriage_returns() {
        let mut out = Vec::new();
        xml_element(&mut out, "Body", "<a href=\"x\">&\r\n</a>");
        assert_eq!(
            out,
            b"<Body>&lt;a href=&quot;x&quot;&gt;&amp;&#xD;\n&lt;/a&gt;</Body>".as_slice()
        );
    }
}
