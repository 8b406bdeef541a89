//! SigV4 URI encoding: every byte except the unreserved set `A-Z a-z 0-9 - _ . ~` becomes
//! `%XY` (upper-case hex) of its UTF-8 bytes; `/` is kept only when encoding a path.
//! The same encoding is a valid `application/x-www-form-urlencoded` body encoding.

/// Whether `/` stays literal (paths) or becomes `%2F` (query keys and values, form fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slash {
    Keep,
    Encode,
}

pub fn uri_encode(input: &str, slash: Slash) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(input.len() + input.len() / 2);
    for &b in input.as_bytes() {
        let literal = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (b == b'/' && slash == Slash::Keep);
        if literal {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 0x0f)] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_unreserved_and_encodes_the_rest() {
        assert_eq!(uri_encode("aZ09-_.~", Slash::Encode), "aZ09-_.~");
        assert_eq!(uri_encode("a b+c=d&e", Slash::Encode), "a%20b%2Bc%3Dd%26e");
        assert_eq!(uri_encode("ሴ", Slash::Encode), "%E1%88%B4");
        assert_eq!(uri_encode("%20", Slash::Encode), "%2520");
    }

    #[test]
    fn slash_is_kept_only_for_paths() {
        assert_eq!(uri_encode("/a/b", Slash::Keep), "/a/b");
        assert_eq!(uri_encode("/a/b", Slash::Encode), "%2Fa%2Fb");
    }
}
