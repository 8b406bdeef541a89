//! MD5 (RFC 1321), for the digests SQS puts beside every message: `MD5OfMessageBody`,
//! `MD5OfBody` and `MD5OfMessageAttributes`. SDKs that check them (Java, JavaScript, Ruby,
//! .NET) reject an answer whose digest is wrong, so the stand-in computes them for real.
//! Written here rather than taken from a crate: it is ~80 lines, tested with the RFC's own
//! test suite, and MD5 is never used for anything but these checksums.

/// Per-round shift amounts (RFC 1321 §3.4).
const S: [u32; 64] = [
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9,
    14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15,
    21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
];

/// `floor(abs(sin(i + 1)) * 2^32)` (RFC 1321 §3.4, the table T).
const K: [u32; 64] = [
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
];

/// An incremental MD5; [`digest`] for one slice.
#[derive(Clone)]
pub struct Md5 {
    state: [u32; 4],
    block: [u8; 64],
    filled: usize,
    length: u64,
}

impl Default for Md5 {
    fn default() -> Md5 {
        Md5 {
            state: [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476],
            block: [0; 64],
            filled: 0,
            length: 0,
        }
    }
}

impl Md5 {
    pub fn update(&mut self, mut data: &[u8]) {
        self.length = self.length.wrapping_add(data.len() as u64);
        if self.filled > 0 {
            let take = data.len().min(64 - self.filled);
            self.block[self.filled..self.filled + take].copy_from_slice(&data[..take]);
            self.filled += take;
            data = &data[take..];
            if self.filled < 64 {
                return;
            }
            let block = self.block;
            compress(&mut self.state, &block);
            self.filled = 0;
        }
        let mut blocks = data.chunks_exact(64);
        for block in &mut blocks {
            compress(&mut self.state, block);
        }
        let rest = blocks.remainder();
        self.block[..rest.len()].copy_from_slice(rest);
        self.filled = rest.len();
    }

    /// Pads (0x80, zeros, the bit length little-endian) and returns the digest.
    pub fn finish(mut self) -> [u8; 16] {
        let bits = self.length.wrapping_mul(8);
        let pad_len = if self.filled < 56 {
            56 - self.filled
        } else {
            120 - self.filled
        };
        let mut pad = [0u8; 72];
        pad[0] = 0x80;
        pad[pad_len..pad_len + 8].copy_from_slice(&bits.to_le_bytes());
        // update() would add the padding to the length: feed the blocks directly.
        let length = self.length;
        self.update(&pad[..pad_len + 8]);
        self.length = length;
        let mut out = [0u8; 16];
        for (chunk, word) in out.chunks_exact_mut(4).zip(self.state) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        out
    }
}

/// One 64-byte block (RFC 1321 §3.4): four rounds of 16 steps with the auxiliary functions
/// F, G, H, I. A loop per round (not one loop choosing the function per step) lets the
/// compiler unroll each round: about twice as fast.
fn compress(state: &mut [u32; 4], block: &[u8]) {
    let mut m = [0u32; 16];
    for (word, bytes) in m.iter_mut().zip(block.chunks_exact(4)) {
        *word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    }
    let [mut a, mut b, mut c, mut d] = *state;
    // One step: the new b from F/G/H/I of (b, c, d), and the registers rotate.
    macro_rules! round {
        ($range:expr, $f:expr, $g:expr) => {
            for i in $range {
                let f = ($f)(b, c, d)
                    .wrapping_add(a)
                    .wrapping_add(K[i])
                    .wrapping_add(m[($g)(i)]);
                a = d;
                d = c;
                c = b;
                b = b.wrapping_add(f.rotate_left(S[i]));
            }
        };
    }
    round!(0..16, |b: u32, c: u32, d: u32| (b & c) | (!b & d), |i| i);
    round!(16..32, |b: u32, c: u32, d: u32| (d & b) | (!d & c), |i| (5
        * i
        + 1)
        % 16);
    round!(32..48, |b: u32, c: u32, d: u32| b ^ c ^ d, |i| (3 * i + 5)
        % 16);
    round!(48..64, |b: u32, c: u32, d: u32| c ^ (b | !d), |i| (7 * i)
        % 16);
    state[0] = state[0].wrapping_add(a);
    state[1] = state[1].wrapping_add(b);
    state[2] = state[2].wrapping_add(c);
    state[3] = state[3].wrapping_add(d);
}

pub fn digest(data: &[u8]) -> [u8; 16] {
    let mut md5 = Md5::default();
    md5.update(data);
    md5.finish()
}

/// Appends the digest as 32 lowercase hex digits, as SQS writes it.
pub fn push_hex(digest: &[u8; 16], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for byte in digest {
        out.push(HEX[usize::from(byte >> 4)]);
        out.push(HEX[usize::from(byte & 15)]);
    }
}

/// One message attribute as SQS digests it.
pub struct Attribute<'a> {
    pub name: &'a str,
    pub data_type: &'a str,
    /// The value's bytes (String and Number values: their UTF-8).
    pub value: &'a [u8],
    pub binary: bool,
}

/// `MD5OfMessageAttributes`: the attributes sorted by name, each as its name, data type
/// (both 4-byte big-endian length + UTF-8), a transport byte (1 string, 2 binary) and its
/// value (length + bytes), all digested together. AWS SQS Developer Guide, "Calculating
/// the MD5 message digest for message attributes".
pub fn attributes_digest(attributes: &mut [Attribute<'_>]) -> [u8; 16] {
    attributes.sort_unstable_by(|x, y| x.name.cmp(y.name));
    let mut md5 = Md5::default();
    for a in attributes.iter() {
        length_prefixed(&mut md5, a.name.as_bytes());
        length_prefixed(&mut md5, a.data_type.as_bytes());
        md5.update(&[if a.binary { 2 } else { 1 }]);
        length_prefixed(&mut md5, a.value);
    }
    md5.finish()
}

fn length_prefixed(md5: &mut Md5, bytes: &[u8]) {
    // Attribute parts are bounded by the request body limit, far below 4 GiB.
    md5.update(&(bytes.len() as u32).to_be_bytes());
    md5.update(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(data: &[u8]) -> String {
        let mut out = Vec::new();
        push_hex(&digest(data), &mut out);
        String::from_utf8(out).unwrap()
    }

    /// RFC 1321 appendix A.5, the test suite.
    #[test]
    fn rfc_1321_test_suite() {
        let suite = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                "abcdefghijklmnopqrstuvwxyz",
                "c3fcd3d76192e4007dfb496cca67e13b",
            ),
            (
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                "d174ab98d277d9f5a5611c2c9f419d9f",
            ),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ];
        for (input, expected) in suite {
            assert_eq!(hex(input.as_bytes()), expected, "{input:?}");
        }
    }

    /// Lengths around the padding boundaries (55, 56, 63, 64, 65 bytes) and input fed in
    /// uneven pieces give the one-shot digest (values from Python's hashlib).
    #[test]
    fn block_boundaries_and_pieces() {
        let cases = [
            (55, "ef1772b6dff9a122358552954ad0df65"),
            (56, "3b0c8ac703f828b04c6c197006d17218"),
            (63, "b06521f39153d618550606be297466d5"),
            (64, "014842d480b571495a4a0363793f7367"),
            (65, "c743a45e0d2e6a95cb859adae0248435"),
            (1000, "cabe45dcc9ae5b66ba86600cca6b8ba8"),
        ];
        for (len, expected) in cases {
            let data = vec![b'a'; len];
            assert_eq!(hex(&data), expected, "{len} bytes");
            let mut md5 = Md5::default();
            for piece in data.chunks(7) {
                md5.update(piece);
            }
            assert_eq!(md5.finish(), digest(&data), "{len} bytes in pieces");
        }
    }

    /// The attribute digest of two attributes given out of order, as moto's SQS computes it
    /// (`moto.sqs.models.Message.attribute_md5`, an independent implementation).
    #[test]
    fn attribute_digest_sorts_and_encodes() {
        let mut attributes = [
            Attribute {
                name: "region",
                data_type: "String",
                value: b"us",
                binary: false,
            },
            Attribute {
                name: "job_submission_time",
                data_type: "Number",
                value: b"1711449600",
                binary: false,
            },
        ];
        let mut out = Vec::new();
        push_hex(&attributes_digest(&mut attributes), &mut out);
        assert_eq!(out, b"1146772c14504e4671c131c9a87a3070");
    }
}
