//! Thousands of mutated responses fed to the reader: it must never panic, and whatever it
//! returns must respect the limits. Deterministic (a fixed-seed xorshift), so a failure
//! reproduces; the iteration that failed is in the assertion message.
use std::io::{self, Read};

use http1::{BodyLimit, Error, Limits, MessageReader};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Hands out the input in random small pieces, as a socket might.
struct Pieces<'a> {
    data: &'a [u8],
    rng: Rng,
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (1 + self.rng.below(64)).min(self.data.len()).min(buf.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

const SEEDS: &[&str] = &[
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-T: t\r\n\r\n",
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end",
    "HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 500 X\r\nTransfer-Encoding: gzip, chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n",
];

const TOKENS: &[&str] = &[
    "ffffffffffffffff",
    "fffffffffffffff",
    "\r\n",
    "0\r\n\r\n",
    ";",
    ":",
    " ",
    "zz",
    "Content-Length: 18446744073709551616\r\n",
    "Content-Length: 99999999\r\n",
    "Transfer-Encoding: chunked\r\n",
    "Content-Length: 1, 2\r\n",
    "HTTP/1.1 ",
    "\u{1F680}",
];

fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(input.len() + 1);
        match rng.below(6) {
            0 if at < input.len() => input[at] ^= 1 << rng.below(8),
            1 => input.insert(at, rng.next() as u8),
            2 if at < input.len() => {
                let end = (at + rng.below(16)).min(input.len());
                input.drain(at..end);
            }
            3 => {
                let tok = TOKENS[rng.below(TOKENS.len())].as_bytes();
                input.splice(at..at, tok.iter().copied());
            }
            4 => input.truncate(at),
            _ if at < input.len() => {
                let end = (at + rng.below(32)).min(input.len());
                let copy = input[at..end].to_vec();
                input.splice(at..at, copy);
            }
            _ => {}
        }
    }
}

#[test]
fn mutated_responses_never_panic_and_respect_limits() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let limits = Limits {
        max_head: 4096,
        max_headers: 16,
    };
    let mut answers = [0usize; 2];
    for i in 0..20_000 {
        let mut input = SEEDS[rng.below(SEEDS.len())].as_bytes().to_vec();
        mutate(&mut rng, &mut input);
        let body_limit = if i % 2 == 0 {
            BodyLimit::Reject(64)
        } else {
            BodyLimit::Truncate(64)
        };
        let pieces = Pieces {
            data: &input,
            rng: Rng(rng.next() | 1),
        };
        let mut reader = MessageReader::new(pieces);
        // Read answers until the reader says no more: keep-alive leftovers get parsed too.
        for _ in 0..4 {
            match reader.read_response(i % 7 == 0, &limits, body_limit) {
                Ok(resp) => {
                    answers[0] += 1;
                    assert!(resp.body.len() <= 64, "iteration {i}: body over the limit");
                    assert!(
                        (100..1000).contains(&resp.status),
                        "iteration {i}: {}",
                        resp.status
                    );
                    if !resp.keep_alive {
                        break;
                    }
                }
                Err(e) => {
                    answers[1] += 1;
                    assert!(!e.to_string().is_empty(), "iteration {i}: empty error");
                    break;
                }
            }
        }
    }
    // Both outcomes are exercised, so the mutations neither all break nor all pass.
    assert!(answers[0] > 1000 && answers[1] > 1000, "{answers:?}");
}

#[test]
fn hostile_chunk_sizes_are_clear_errors() {
    type Expect = fn(&Error) -> bool;
    let cases: &[(&str, Expect)] = &[
        // u64::MAX: no overflow when added to the body length, a clear limit error.
        ("ffffffffffffffff\r\n", |e| matches!(e, Error::TooLarge(_))),
        ("1ffffffffffffffff\r\n", |e| {
            matches!(e, Error::Malformed(_))
        }),
        ("zz\r\n", |e| matches!(e, Error::Malformed(_))),
        ("\r\n", |e| matches!(e, Error::Malformed(_))),
        ("5\r\nhel", |e| matches!(e, Error::Io(_))),
        ("5\r\nhelloXX0\r\n\r\n", |e| {
            matches!(e, Error::Malformed(_))
        }),
    ];
    for (chunks, expected) in cases {
        let input = format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{chunks}");
        let mut reader = MessageReader::new(input.as_bytes());
        let err = reader
            .read_response(false, &Limits::default(), BodyLimit::Reject(1 << 20))
            .expect_err(chunks);
        assert!(expected(&err), "{chunks:?}: {err:?}");
    }
    // Truncating callers keep what fits instead of failing on a huge chunk.
    let input = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\nabcdef";
    let resp = MessageReader::new(input.as_bytes())
        .read_response(false, &Limits::default(), BodyLimit::Truncate(4))
        .expect("cut at the limit");
    assert_eq!(
        (resp.body.as_slice(), resp.truncated, resp.keep_alive),
        (&b"abcd"[..], true, false)
    );
}

#[test]
fn framing_follows_rfc_9112() {
    let read = |raw: &str, head: bool| {
        MessageReader::new(raw.as_bytes()).read_response(
            head,
            &Limits::default(),
            BodyLimit::Reject(100),
        )
    };
    let r = read("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabEXTRA", false).unwrap();
    assert_eq!((r.body.as_slice(), r.keep_alive), (&b"ab"[..], true));
    let r = read("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", true).unwrap();
    assert!(r.body.is_empty());
    let r = read("HTTP/1.0 200 OK\r\n\r\nall of it", false).unwrap();
    assert_eq!(
        (r.body.as_slice(), r.keep_alive),
        (&b"all of it"[..], false)
    );
    assert!(matches!(
        read("HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nab", false),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        read(
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab",
            false
        ),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        read("HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n", false),
        Err(Error::TooLarge(_))
    ));
    assert!(matches!(read("", false), Err(Error::ClosedBeforeAnswer)));
    assert!(matches!(read("HTTP/1.1 200", false), Err(Error::Io(_))));
    assert!(matches!(
        read("NOT HTTP\r\n\r\n", false),
        Err(Error::Malformed(_))
    ));
}

#[test]
fn requests_are_read_for_stand_ins() {
    let raw = "POST /q HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nConnection: close\r\n\r\n";
    let mut reader = MessageReader::new(raw.as_bytes());
    let limits = Limits::default();
    let first = reader
        .read_request(&limits, BodyLimit::Reject(10))
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            first.method.as_str(),
            first.target.as_str(),
            first.body.as_slice()
        ),
        ("POST", "/q", &b"abc"[..])
    );
    assert_eq!(first.header("HOST"), Some("h"));
    let second = reader
        .read_request(&limits, BodyLimit::Reject(10))
        .unwrap()
        .unwrap();
    assert!(!second.keep_alive());
    assert!(reader
        .read_request(&limits, BodyLimit::Reject(10))
        .unwrap()
        .is_none());
}

/// Counts the reads made on it; gives `rest`.
struct Counted<'a> {
    rest: &'a [u8],
    reads: usize,
}

impl Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reads += 1;
        self.rest.read(buf)
    }
}

#[test]
fn bytes_already_received_are_read_first_and_the_rest_from_the_stream() {
    let whole = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 204 No Content\r\n\r\n";
    let limits = Limits::default();
    let inner = Counted {
        rest: b"",
        reads: 0,
    };
    let mut reader = MessageReader::with_buffered(inner, whole.to_vec());
    let first = reader
        .read_response(false, &limits, BodyLimit::Reject(64))
        .unwrap();
    assert_eq!((first.status, &first.body[..]), (200, &b"hello"[..]));
    assert_eq!(reader.get_ref().reads, 0, "a complete answer needs no read");
    let second = reader
        .read_response(false, &limits, BodyLimit::Reject(64))
        .unwrap();
    assert_eq!(second.status, 204);

    // Cut in the body: the rest comes from the stream.
    let (got, rest) = whole.split_at(40);
    let inner = Counted { rest, reads: 0 };
    let mut reader = MessageReader::with_buffered(inner, got.to_vec());
    let first = reader
        .read_response(false, &limits, BodyLimit::Reject(64))
        .unwrap();
    assert_eq!(&first.body[..], b"hello");
    assert!(reader.get_ref().reads > 0);
}
