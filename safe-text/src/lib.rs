//! Untrusted text made inert before a human-readable output shows it.
//!
//! Every string a message, a request, SQS or a job file chooses ends up on some operator's
//! terminal or in a log they page through. Written raw, an ESC starts a terminal escape
//! sequence (clear the screen, recolour, set the window title: CWE-150), and the Unicode
//! bidirectional controls reorder what the reader sees ("Trojan Source", CVE-2021-42574).
//! [`inert`] shows every such character escaped, Rust-style (`\u{1b}`), and leaves all other
//! text alone, so ordinary hostnames and emoji print unchanged. [`inert_truncated`] also caps
//! a field's displayed length with a marker; it is for display only, never for storage.
//!
//! Machine-readable outputs (JSON, Prometheus) keep exact content with their own format's
//! escaping and do not use this crate.
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::fmt::Write as _;

/// Marker appended when [`inert_truncated`] cuts a field.
pub const TRUNCATION_MARKER: &str = "…";

/// True for the characters that must never reach a terminal raw: C0 controls (tab and
/// newline included: inside one field they would break a line-oriented log), DEL, C1 controls
/// (U+0080–U+009F, CSI U+009B among them), and the bidirectional embeddings, overrides and
/// isolates (U+202A–U+202E, U+2066–U+2069).
pub fn is_hostile(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every [`is_hostile`] character written as `\u{..}`; borrowed when there is none.
/// A backslash is left as it is: the escapes are for a human reader, not a decoder.
pub fn inert(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_hostile) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        push_inert(&mut out, c);
    }
    Cow::Owned(out)
}

/// Like [`inert`], but shows at most `max_chars` characters of `s` (counted before escaping)
/// and ends a cut field with [`TRUNCATION_MARKER`].
pub fn inert_truncated(s: &str, max_chars: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max_chars) {
        None => inert(s),
        Some((cut, _)) => {
            let mut out = inert(&s[..cut]).into_owned();
            out.push_str(TRUNCATION_MARKER);
            Cow::Owned(out)
        }
    }
}

fn push_inert(out: &mut String, c: char) {
    if is_hostile(c) {
        // Writing to a String cannot fail.
        let _ = write!(out, "\\u{{{:x}}}", c as u32);
    } else {
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for s in ["edge-us-0", "🚀 #FF0000", "région Ωμέγα", "a\\b", ""] {
            assert!(matches!(inert(s), Cow::Borrowed(_)), "{s:?}");
            assert_eq!(inert(s), s);
        }
    }

    #[test]
    fn c0_controls_and_del_are_escaped() {
        assert_eq!(
            inert("edge\x1b[2J\x1b[31mEVIL"),
            "edge\\u{1b}[2J\\u{1b}[31mEVIL"
        );
        assert_eq!(inert("e\x1b]0;pwned\x07"), "e\\u{1b}]0;pwned\\u{7}");
        assert_eq!(inert("a\tb\nc\rd\0"), "a\\u{9}b\\u{a}c\\u{d}d\\u{0}");
        assert_eq!(inert("x\x7f"), "x\\u{7f}");
    }

    #[test]
    fn c1_controls_are_escaped() {
        // U+009B is CSI on terminals that honour 8-bit controls; U+0085 is NEL.
        assert_eq!(inert("a\u{9b}2Jb"), "a\\u{9b}2Jb");
        assert_eq!(inert("\u{80}\u{85}\u{9f}"), "\\u{80}\\u{85}\\u{9f}");
        // U+00A0 (no-break space) is the first printable character after C1.
        assert_eq!(inert("\u{a0}"), "\u{a0}");
    }

    #[test]
    fn bidi_overrides_and_isolates_are_escaped() {
        for c in ('\u{202a}'..='\u{202e}').chain('\u{2066}'..='\u{2069}') {
            let s = format!("us{c}ue");
            assert_eq!(inert(&s), format!("us\\u{{{:x}}}ue", c as u32));
        }
        // Neighbours are ordinary text (U+2029 paragraph separator is not a control here,
        // U+206A is a deprecated format character outside the Trojan Source set).
        assert_eq!(inert("\u{2029}\u{206a}"), "\u{2029}\u{206a}");
    }

    #[test]
    fn no_raw_hostile_character_survives() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let out = inert(&all);
        assert!(!out.chars().any(is_hostile));
    }

    #[test]
    fn truncation_is_for_display_and_marked() {
        assert_eq!(inert_truncated("abcdef", 3), "abc…");
        assert_eq!(inert_truncated("abc", 3), "abc");
        assert_eq!(inert_truncated("🚀🚀🚀🚀", 2), "🚀🚀…");
        assert_eq!(inert_truncated("\x1b\x1b\x1b", 2), "\\u{1b}\\u{1b}…");
    }
}
