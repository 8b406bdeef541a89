//! The message, exactly the seed's schema as compact JSON, fields in the seed's order:
//! `job_id, execution_id, hostname, job_submission_time, icon_name, timestamp, color,
//! sequence, region`, then two optional counters, present only when non-zero:
//! `dropped_permanent` (messages the proxy refused for good) and `dropped_overflow` (oldest
//! messages evicted from a full outbox), cumulative since the module started, so a reader can
//! explain a sequence gap as a loss at the source rather than in transit.
//!
//! Everything but the timestamp and the sequence is fixed for the life of the module, so it
//! is escaped once into three fragments at start-up; each message is then a few copies into
//! one buffer allocated once, which never grows (its capacity covers the longest message).
use crate::rfc3339;
use alloc::string::String;
use alloc::vec::Vec;

/// The original publisher's 20 emojis, same order (`--emoji=N` indexes this list).
pub const EMOJIS: [&str; 20] = [
    "\u{1F680}",         // 🚀
    "\u{1F4E1}",         // 📡
    "\u{1F4A1}",         // 💡
    "\u{26A1}",          // ⚡
    "\u{1F50B}",         // 🔋
    "\u{1F6E0}\u{FE0F}", // 🛠️
    "\u{2699}\u{FE0F}",  // ⚙️
    "\u{1F4F1}",         // 📱
    "\u{1F5B1}\u{FE0F}", // 🖱️
    "\u{2328}\u{FE0F}",  // ⌨️
    "\u{1F3AE}",         // 🎮
    "\u{1F3B2}",         // 🎲
    "\u{1F3AF}",         // 🎯
    "\u{1F3AA}",         // 🎪
    "\u{1F3AD}",         // 🎭
    "\u{1F3A8}",         // 🎨
    "\u{1F9E9}",         // 🧩
    "\u{1F3B8}",         // 🎸
    "\u{1F3B9}",         // 🎹
    "\u{1F3BA}",         // 🎺
];

/// The fixed parts of every message.
pub struct Identity<'a> {
    pub job_id: &'a str,
    pub execution_id: &'a str,
    pub hostname: &'a str,
    pub submission_time: i64,
    pub icon: &'a str,
    pub color: &'a str,
    pub region: &'a str,
}

/// Pre-escaped fragments around the two per-message values.
pub struct MessageTemplate {
    /// `{"job_id":..,"icon_name":"..","timestamp":"`
    head: Vec<u8>,
    /// `","color":"..","sequence":`
    middle: Vec<u8>,
    /// `,"region":".."` (the optional counters and `}` follow)
    tail: Vec<u8>,
    buf: Vec<u8>,
}

/// Longest possible sequence text, and the longest the optional counters add.
const SEQUENCE_MAX_LEN: usize = 20;
const DROP_FIELDS_MAX_LEN: usize = DROPPED_PERMANENT.len() + 20 + DROPPED_OVERFLOW.len() + 20 + 1;
const DROPPED_PERMANENT: &[u8] = b",\"dropped_permanent\":";
const DROPPED_OVERFLOW: &[u8] = b",\"dropped_overflow\":";

/// Messages lost at the source so far (cumulative).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drops {
    /// Refused by the proxy with a status that retrying cannot fix.
    pub permanent: u64,
    /// Evicted, oldest first, from a full outbox while the proxy was away.
    pub overflow: u64,
}

impl MessageTemplate {
    pub fn new(id: &Identity<'_>) -> MessageTemplate {
        let mut head = Vec::new();
        head.extend_from_slice(b"{\"job_id\":");
        push_json_string(&mut head, id.job_id);
        head.extend_from_slice(b",\"execution_id\":");
        push_json_string(&mut head, id.execution_id);
        head.extend_from_slice(b",\"hostname\":");
        push_json_string(&mut head, id.hostname);
        head.extend_from_slice(b",\"job_submission_time\":");
        push_i64(&mut head, id.submission_time);
        head.extend_from_slice(b",\"icon_name\":");
        push_json_string(&mut head, id.icon);
        head.extend_from_slice(b",\"timestamp\":\"");
        let mut middle = Vec::new();
        middle.extend_from_slice(b"\",\"color\":");
        push_json_string(&mut middle, id.color);
        middle.extend_from_slice(b",\"sequence\":");
        let mut tail = Vec::new();
        tail.extend_from_slice(b",\"region\":");
        push_json_string(&mut tail, id.region);
        let capacity = head.len()
            + rfc3339::LEN
            + middle.len()
            + SEQUENCE_MAX_LEN
            + tail.len()
            + DROP_FIELDS_MAX_LEN;
        MessageTemplate {
            head,
            middle,
            tail,
            buf: Vec::with_capacity(capacity),
        }
    }

    /// The JSON body for one message generated at `unix_ms`, carrying the drop counts as they
    /// are now (a resent message keeps its timestamp but reports the latest counts).
    pub fn render(&mut self, unix_ms: u64, sequence: u64, drops: Drops) -> &[u8] {
        let mut ts = [0u8; rfc3339::LEN];
        rfc3339::format(unix_ms, &mut ts);
        self.buf.clear();
        self.buf.extend_from_slice(&self.head);
        self.buf.extend_from_slice(&ts);
        self.buf.extend_from_slice(&self.middle);
        push_u64(&mut self.buf, sequence);
        self.buf.extend_from_slice(&self.tail);
        for (name, count) in [
            (DROPPED_PERMANENT, drops.permanent),
            (DROPPED_OVERFLOW, drops.overflow),
        ] {
            if count > 0 {
                self.buf.extend_from_slice(name);
                push_u64(&mut self.buf, count);
            }
        }
        self.buf.push(b'}');
        &self.buf
    }
}

/// Appends `s` as a JSON string literal (RFC 8259 escaping; non-ASCII passes through as
/// UTF-8).
pub fn push_json_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x00..=0x1F | 0x7F => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 0xF) as usize]);
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

fn push_i64(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    push_u64(out, n.unsigned_abs());
}

fn push_u64(out: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    out.extend_from_slice(crate::host::format_u64(n, &mut digits).as_bytes());
}

/// `#RRGGBB` from 24 random bits.
pub fn color_from_bits(bits: u64) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(7);
    s.push('#');
    for shift in [20, 16, 12, 8, 4, 0] {
        s.push(HEX[((bits >> shift) & 0xF) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_schema_and_field_order() {
        let mut t = MessageTemplate::new(&Identity {
            job_id: "j-1",
            execution_id: "e-1",
            hostname: "edge-us-0",
            submission_time: 1,
            icon: EMOJIS[0],
            color: "#FF0000",
            region: "us",
        });
        let body = String::from_utf8(t.render(1_742_992_496_123, 42, Drops::default()).to_vec());
        assert_eq!(
            body.unwrap(),
            "{\"job_id\":\"j-1\",\"execution_id\":\"e-1\",\"hostname\":\"edge-us-0\",\
             \"job_submission_time\":1,\"icon_name\":\"🚀\",\"timestamp\":\"2025-03-26T12:34:56.123Z\",\
             \"color\":\"#FF0000\",\"sequence\":42,\"region\":\"us\"}"
        );
    }

    #[test]
    fn drop_counts_follow_the_seed_fields_only_when_non_zero() {
        let mut t = MessageTemplate::new(&Identity {
            job_id: "j",
            execution_id: "e",
            hostname: "h",
            submission_time: 0,
            icon: EMOJIS[0],
            color: "#000000",
            region: "eu",
        });
        let tail = |t: &mut MessageTemplate, permanent, overflow| {
            let body = t
                .render(
                    0,
                    7,
                    Drops {
                        permanent,
                        overflow,
                    },
                )
                .to_vec();
            let body = String::from_utf8(body).unwrap();
            body[body.find("\"region\"").unwrap()..].to_string()
        };
        assert_eq!(tail(&mut t, 0, 0), "\"region\":\"eu\"}");
        assert_eq!(
            tail(&mut t, 2, 0),
            "\"region\":\"eu\",\"dropped_permanent\":2}"
        );
        assert_eq!(
            tail(&mut t, 0, 9),
            "\"region\":\"eu\",\"dropped_overflow\":9}"
        );
        assert_eq!(
            tail(&mut t, 1, 3),
            "\"region\":\"eu\",\"dropped_permanent\":1,\"dropped_overflow\":3}"
        );
    }

    #[test]
    fn buffer_never_grows() {
        let mut t = MessageTemplate::new(&Identity {
            job_id: "",
            execution_id: "",
            hostname: "h",
            submission_time: i64::MIN,
            icon: EMOJIS[5],
            color: "#000000",
            region: "r",
        });
        let cap = t.buf.capacity();
        let most = Drops {
            permanent: u64::MAX,
            overflow: u64::MAX,
        };
        t.render(u64::MAX / 2, u64::MAX, most);
        assert_eq!(t.buf.capacity(), cap);
        assert!(t
            .render(0, 1, Drops::default())
            .starts_with(b"{\"job_id\":\"\",\"execution_id\":\"\""));
    }

    #[test]
    fn escaping() {
        let mut out = Vec::new();
        push_json_string(&mut out, "a\"b\\c\nd\u{1}é");
        assert_eq!(out, "\"a\\\"b\\\\c\\nd\\u0001é\"".as_bytes());
    }

    #[test]
    fn emoji_list_matches_the_seed() {
        assert_eq!(EMOJIS.len(), 20);
        assert_eq!(
            [EMOJIS[0], EMOJIS[1], EMOJIS[2], EMOJIS[3], EMOJIS[4]],
            ["🚀", "📡", "💡", "⚡", "🔋"]
        );
        assert_eq!(EMOJIS[19], "🎺");
    }

    #[test]
    fn random_colors_are_hex() {
        assert_eq!(color_from_bits(0xFF0000), "#FF0000");
        assert_eq!(color_from_bits(0x1_0000AB), "#0000AB");
    }
}
