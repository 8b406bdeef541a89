//! The signer is byte-identical to botocore's `SigV4Auth`: 1,200 generated requests (methods;
//! paths with spaces, unicode, reserved characters, `.`/`..` segments and double slashes;
//! queries with repeated keys and empty values; headers with odd whitespace, repeated names,
//! unsigned and replaced names; empty, text and binary bodies; with and without session
//! tokens; varied regions, services and dates) are signed by both, and the canonical
//! requests, strings to sign and Authorization headers must be equal.
//!
//! botocore runs from the LocalStack virtualenv (`scripts/localstack install` creates it).
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::{json, Value};
use sigv4::{sign_request, Credentials, SignableRequest, SigningParams};

const CASES: usize = 1200;

/// xorshift64*: deterministic, so a failure reproduces with the same case id.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

struct Case {
    method: String,
    scheme: &'static str,
    host: String,
    /// host[:port] as the URL carries it (maybe with the scheme's default port spelled out).
    url_authority: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    credentials: Credentials,
    region: &'static str,
    service: &'static str,
    time: u64,
}

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS", "get", "Post",
];
const SEGMENTS: &[&str] = &[
    "",
    "a",
    "example",
    "foo bar",
    "ü",
    "ሴ",
    "🚀",
    ".",
    "..",
    "a+b",
    "a=b",
    "%20",
    "%2F",
    "!$&'()*+,;=:@",
    "~user",
    "x-y_z.w",
    "UPPER",
    "sp  two",
    "中文",
    "a.b..c",
    "...",
    "q%3Dx",
];
const KEYS: &[&str] = &[
    "Param1",
    "param1",
    "a",
    "A",
    "b",
    "key with space",
    "ü",
    "🚀",
    "k=eq",
    "k&amp",
    "Action",
    "empty",
    "x.y",
    "~t",
    "-_.",
    "slash/key",
    "plus+key",
];
const VALUES: &[&str] = &[
    "", "value1", "v a l", "ü", "🚀", "a/b", "a+b", "a=b", "1&2", "%20", "~", "*", "'quoted'",
    "value2", "Value1",
];
const HEADER_NAMES: &[&str] = &[
    "My-Header1",
    "my-header1",
    "MY-HEADER1",
    "X-Amz-Meta-Foo",
    "Content-Type",
    "x-custom",
    "X-Amz-Target",
    "User-Agent",
    "Expect",
    "X-Amzn-Trace-Id",
    "Accept",
    "X-Amz-Date",
    "Authorization",
    "X-Amz-Security-Token",
    "Content-Length",
    "x_under",
];
const HEADER_VALUES: &[&str] = &[
    "value",
    "  leading",
    "trailing  ",
    "a   b    c",
    "\ttab\tsep\t",
    "mixed \t  ws",
    "",
    "a,b",
    "quoted \"x\"",
    "   ",
    "x  \t ",
    "application/x-www-form-urlencoded; charset=utf-8",
    "AmazonSQS.SendMessage",
    "12345",
];
const REGIONS: &[&str] = &["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1"];
const SERVICES: &[&str] = &["service", "sqs", "iam", "execute-api", "sts"];
const ACCESS_KEYS: &[&str] = &["AKIDEXAMPLE", "AKIAIOSFODNN7EXAMPLE", "test"];
const SECRETS: &[&str] = &[
    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "test",
    "s3cr3t+/=",
];
const TOKENS: &[&str] = &[
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==",
    "token with  spaces ",
    "short",
];
const HOSTS: &[(&str, u16)] = &[
    ("example.amazonaws.com", 0),
    ("sqs.us-east-1.amazonaws.com", 0),
    ("127.0.0.1", 4566),
    ("localhost", 8080),
    ("sqs.eu-west-1.amazonaws.com", 443),
    ("host.example", 80),
];

fn generate(rng: &mut Rng) -> Case {
    let method = rng.pick(METHODS).to_string();
    let scheme = if rng.chance(50) { "https" } else { "http" };
    let (host, port) = HOSTS[rng.below(HOSTS.len())];
    let default_port = if scheme == "https" { 443 } else { 80 };
    let url_authority = if port == 0 {
        host.to_string()
    } else {
        format!("{host}:{port}")
    };
    let host_header = if port == 0 || port == default_port {
        host.to_string()
    } else {
        format!("{host}:{port}")
    };

    let mut path = String::new();
    let segments = rng.below(6);
    for _ in 0..segments {
        path.push_str(if rng.chance(15) { "//" } else { "/" });
        path.push_str(rng.pick(SEGMENTS));
    }
    if segments == 0 && rng.chance(70) || rng.chance(25) {
        path.push('/');
    }

    let mut query = Vec::new();
    for _ in 0..rng.below(5) {
        let key = if !query.is_empty() && rng.chance(30) {
            // A repeated key, with a different or the same value.
            let (k, _): &(String, String) = &query[rng.below(query.len())];
            k.clone()
        } else {
            rng.pick(KEYS).to_string()
        };
        query.push((key, rng.pick(VALUES).to_string()));
    }

    let mut headers = Vec::new();
    if rng.chance(10) {
        headers.push(("Host".to_string(), host_header.clone()));
    }
    for _ in 0..rng.below(5) {
        headers.push((
            rng.pick(HEADER_NAMES).to_string(),
            rng.pick(HEADER_VALUES).to_string(),
        ));
    }
    if rng.chance(5) {
        headers.push((
            "X-Amz-Content-SHA256".to_string(),
            "UNSIGNED-PAYLOAD".to_string(),
        ));
    }
    let body: Vec<u8> = match rng.below(4) {
        0 | 1 => Vec::new(),
        2 => "Action=ListUsers&Version=2010-05-08 🚀 ü"
            .as_bytes()
            .to_vec(),
        _ => (0..1 + rng.below(64)).map(|_| rng.next() as u8).collect(),
    };
    let token = if rng.chance(40) {
        Some(rng.pick(TOKENS).to_string())
    } else {
        None
    };
    Case {
        method,
        scheme,
        host: host_header,
        url_authority,
        path,
        query,
        headers,
        body,
        credentials: Credentials::new(rng.pick(ACCESS_KEYS), rng.pick(SECRETS), token),
        region: rng.pick(REGIONS),
        service: rng.pick(SERVICES),
        time: 1_440_938_160 + rng.next() % 400_000_000,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn to_json(id: usize, c: &Case) -> Value {
    json!({
        "id": id,
        "method": c.method,
        "url": format!("{}://{}{}", c.scheme, c.url_authority, c.path),
        "params": c.query.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
        "headers": c.headers.iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>(),
        "body_hex": hex(&c.body),
        "access_key": c.credentials.access_key_id,
        "secret_key": c.credentials.secret_access_key,
        "token": c.credentials.session_token,
        "region": c.region,
        "service": c.service,
        "time": c.time,
    })
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("sigv4 lives inside the repository")
        .to_path_buf()
}

/// Runs botocore over the cases, or fails saying how to get botocore.
fn botocore_sign(jsonl: &str) -> Vec<Value> {
    let root = repo_root();
    let tools = std::env::var_os("EDGE_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".tools"));
    let python = tools.join("localstack-venv/bin/python");
    assert!(
        python.exists(),
        "botocore is not installed ({} is missing): run `scripts/localstack install` \
         (or `scripts/test`, which installs it) first",
        python.display()
    );
    let input = std::env::temp_dir().join(format!("sigv4-botocore-{}.jsonl", std::process::id()));
    std::fs::write(&input, jsonl).expect("write the cases file");
    let output = Command::new(root.join("scripts/localstack"))
        .arg("python")
        .arg(root.join("sigv4/tests/botocore_sign.py"))
        .arg(&input)
        .output()
        .expect("run scripts/localstack python");
    std::fs::remove_file(&input).ok();
    assert!(
        output.status.success(),
        "botocore_sign.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("botocore output is utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("botocore output line is json"))
        .collect()
}

#[test]
fn signer_matches_botocore_on_generated_requests() {
    let mut rng = Rng(0x5167_7634_2026_0001);
    let cases: Vec<Case> = (0..CASES).map(|_| generate(&mut rng)).collect();
    let jsonl: String = cases
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{}\n", to_json(i, c)))
        .collect();
    let reference = botocore_sign(&jsonl);
    assert_eq!(reference.len(), CASES, "botocore signed every case");

    let mut mismatches = Vec::new();
    let mut with_token = 0;
    for (i, (case, want)) in cases.iter().zip(&reference).enumerate() {
        assert_eq!(want["id"], i);
        let query: Vec<(&str, &str)> = case
            .query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let signed = sign_request(
            &SignableRequest {
                method: &case.method,
                host: &case.host,
                path: &case.path,
                query: &query,
                headers: &case.headers,
                body: &case.body,
            },
            &SigningParams {
                credentials: &case.credentials,
                region: case.region,
                service: case.service,
                time: UNIX_EPOCH + Duration::from_secs(case.time),
            },
        );
        with_token += usize::from(case.credentials.session_token.is_some());
        let ours = [
            ("canonical_request", signed.canonical_request.to_string()),
            ("string_to_sign", signed.string_to_sign.to_string()),
            ("authorization", signed.authorization.clone()),
        ];
        for (field, value) in ours {
            if want[field].as_str() != Some(value.as_str()) {
                mismatches.push(format!(
                    "case {i} {field}\n  request: {}\n  ours:     {value:?}\n  botocore: {}",
                    to_json(i, case),
                    want[field]
                ));
            }
        }
    }
    assert!(with_token > CASES / 4, "session-token cases are generated");
    assert!(
        mismatches.is_empty(),
        "{} mismatches with botocore; first ones:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(4)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
