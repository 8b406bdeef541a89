//! The credential chain against real endpoints: a real STS (the moto server, started on demand
//! by the test kit) for web identity, and stand-ins on 127.0.0.1 (real sockets) for the
//! container endpoint and EC2 IMDS, which nothing else provides. The stand-ins decide each
//! credential's Expiration, which is how refresh-ahead and expiry are exercised at the
//! provider's default settings.
mod common;

use std::net::TcpListener;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use common::{FakeServer, Step};
use edge_tests::stand_in::{credentials_document as document, StandIn};
use sigv4::credentials::{resolve, Env};
use sigv4::sqs::{ErrorKind, Protocol, SqsClient, SqsConfig};
use sigv4::{Credentials, CredentialsProvider};

/// Env with IMDS on a closed port, so a test never reaches the real 169.254.169.254.
fn env(pairs: &[(&str, &str)]) -> Env {
    let mut all = pairs.to_vec();
    all.push(("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1"));
    all.push(("HOME", "/nonexistent-home"));
    Env::from_pairs(&all)
}

fn temp_file(name: &str, contents: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("sigv4-cc-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn web_identity_assumes_the_role_at_a_real_sts() {
    let sts = edge_tests::moto::require();
    let token = temp_file("oidc-token", "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl");
    let token = token.to_str().unwrap();
    for endpoint_var in ["AWS_ENDPOINT_URL_STS", "AWS_STS_ENDPOINT_URL"] {
        let provider = resolve(
            &env(&[
                ("AWS_WEB_IDENTITY_TOKEN_FILE", token),
                ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/edge-proxy"),
                ("AWS_ROLE_SESSION_NAME", "edge-test"),
                (endpoint_var, &sts),
            ]),
            Some("eu-west-1"),
            None,
        )
        .unwrap();
        let first = provider.current().unwrap();
        assert!(first.access_key_id.starts_with("ASIA"), "{first:?}");
        assert!(first.session_token.is_some());
        let expires = first.expires_at.expect("STS credentials expire");
        assert!(
            expires > SystemTime::now() + Duration::from_secs(600),
            "{first:?}"
        );
        assert!(provider.source_name().contains("web identity"));
        // A forced refresh (what an ExpiredToken answer triggers) calls STS again.
        let second = provider.force_refresh(&first).unwrap();
        assert_ne!(second.access_key_id, first.access_key_id);
    }
}

/// STS over https with a private certificate authority (a TLS-inspecting proxy, a private
/// endpoint): moto's STS behind a TLS front with the test CA's certificate. With
/// `AWS_CA_BUNDLE` naming the CA the role is assumed; without it the certificate is refused.
#[test]
fn web_identity_trusts_aws_ca_bundle_for_an_https_sts() {
    let sts = edge_tests::moto::require();
    let sts_addr = sts
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("moto's address");
    let front = edge_tests::tls::Terminator::start(sts_addr);
    let token = temp_file("oidc-token-tls", "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl");
    let ca = edge_tests::tls::fixture("test-ca.pem");
    let url = front.url();
    let provider = |ca_bundle: Option<&str>| {
        let mut vars = vec![
            ("AWS_WEB_IDENTITY_TOKEN_FILE", token.to_str().unwrap()),
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/edge-proxy"),
            ("AWS_ENDPOINT_URL_STS", url.as_str()),
        ];
        vars.extend(ca_bundle.map(|path| ("AWS_CA_BUNDLE", path)));
        resolve(&env(&vars), Some("eu-west-1"), None)
    };
    let trusted = provider(Some(ca.to_str().unwrap())).unwrap();
    let creds = trusted.current().unwrap();
    assert!(creds.access_key_id.starts_with("ASIA"), "{creds:?}");

    // The chain fetches once as it resolves: the refusal shows there.
    let err = provider(None).unwrap_err().to_string();
    assert!(err.contains("UnknownIssuer"), "{err}");

    let missing = provider(Some("/nonexistent/ca.pem"))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("AWS_CA_BUNDLE"), "{missing}");
}

#[test]
fn web_identity_errors_name_the_file_not_the_token() {
    let sts = edge_tests::moto::require();
    let err = resolve(
        &env(&[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token"),
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r"),
            ("AWS_ENDPOINT_URL_STS", &sts),
        ]),
        None,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("/nonexistent/token"), "{err}");
}

#[test]
fn container_endpoint_with_token_file_and_secrets_kept_out_of_errors() {
    let token_file = temp_file("container-token", "file-token-123\n");
    let server = StandIn::start(|req, n| match req.header("authorization") {
        Some("file-token-123") => (200, document(n, Duration::from_secs(3600))),
        _ => (
            401,
            r#"{"code":"Unauthorized","message":"bad token"}"#.to_string(),
        ),
    });
    let url = server.url("/v1/credentials");
    let provider = resolve(
        &env(&[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", &url),
            (
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                token_file.to_str().unwrap(),
            ),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "env-token-ignored"),
        ]),
        None,
        None,
    )
    .unwrap();
    let c = provider.current().unwrap();
    assert_eq!(c.access_key_id, "AKGEN0");
    assert_eq!(c.session_token.as_deref(), Some("token-0"));
    assert_eq!(server.seen()[0].method, "GET");
    let shown = format!("{provider:?}");
    assert!(
        !shown.contains("secret-0") && !shown.contains("token-0"),
        "{shown}"
    );

    let err = resolve(
        &env(&[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", &url),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong-token-456"),
        ]),
        None,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("401") && err.contains("Unauthorized"), "{err}");
    assert!(!err.contains("wrong-token-456"), "{err}");
}

/// IMDSv2 as EC2 serves it: no session token, no answer.
fn imds_stand_in(roles: &'static str) -> StandIn {
    StandIn::start(move |req, n| {
        let token_ok = req.header("x-aws-ec2-metadata-token") == Some("imds-session-7");
        match (req.method.as_str(), req.path.as_str()) {
            ("PUT", "/latest/api/token")
                if req.header("x-aws-ec2-metadata-token-ttl-seconds").is_some() =>
            {
                (200, "imds-session-7".to_string())
            }
            (_, _) if !token_ok => (401, String::new()),
            ("GET", "/latest/meta-data/iam/security-credentials/") if roles.is_empty() => {
                (404, String::new())
            }
            ("GET", "/latest/meta-data/iam/security-credentials/") => (200, roles.to_string()),
            ("GET", "/latest/meta-data/iam/security-credentials/edge-node-role") => {
                (200, document(n, Duration::from_secs(6 * 3600)))
            }
            _ => (404, String::new()),
        }
    })
}

#[test]
fn imds_v2_token_then_role_then_credentials() {
    let imds = imds_stand_in("edge-node-role\n");
    let endpoint = imds.url("");
    let env = Env::from_pairs(&[
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", &endpoint),
        ("HOME", "/nonexistent-home"),
    ]);
    let provider = resolve(&env, None, None).unwrap();
    let c = provider.current().unwrap();
    assert!(c.access_key_id.starts_with("AKGEN"), "{c:?}");
    assert!(c.expires_at.is_some());
    let seen = imds.seen();
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("PUT", "/latest/api/token")
    );
    assert_eq!(
        seen.len(),
        3,
        "token, role list, role credentials: {seen:?}"
    );
}

#[test]
fn imds_without_a_role_is_an_error_saying_so() {
    let imds = imds_stand_in("");
    let env = Env::from_pairs(&[
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds.url("")),
        ("HOME", "/nonexistent-home"),
    ]);
    let err = resolve(&env, None, None).unwrap_err().to_string();
    assert!(err.contains("no IAM role"), "{err}");
}

#[test]
fn a_silent_imds_falls_through_within_its_timeouts() {
    // Accepts connections and never answers, like a black-holed link-local address.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = held.clone();
    thread::spawn(move || {
        for s in listener.incoming().flatten() {
            keep.lock().unwrap().push(s);
        }
    });
    let env = Env::from_pairs(&[
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", &endpoint),
        ("HOME", "/nonexistent-home"),
    ]);
    let started = Instant::now();
    let err = resolve(&env, None, None).unwrap_err().to_string();
    assert!(
        err.contains("no AWS credentials found") && err.contains("IMDSv2"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    let disabled = Env::from_pairs(&[
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", &endpoint),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("HOME", "/nonexistent-home"),
    ]);
    let err = resolve(&disabled, None, None).unwrap_err().to_string();
    assert!(
        err.contains("disabled by AWS_EC2_METADATA_DISABLED"),
        "{err}"
    );
}

/// Holds answers back until opened.
struct Gate(Mutex<bool>, Condvar);

impl Gate {
    fn wait(&self) {
        let mut open = self.0.lock().unwrap();
        while !*open {
            open = self.1.wait(open).unwrap();
        }
    }
    fn open(&self) {
        *self.0.lock().unwrap() = true;
        self.1.notify_all();
    }
}

#[test]
fn refresh_ahead_runs_in_the_background_while_callers_keep_the_valid_credentials() {
    // Lifetime 10 s: the refresh-ahead point (min(5 min, lifetime / 2) before expiry) falls
    // 5 s after the fetch, 4 s before they count as expired (min(10 s, lifetime / 10)).
    let gate = Arc::new(Gate(Mutex::new(false), Condvar::new()));
    let held = gate.clone();
    let server = StandIn::start(move |_, n| {
        if n == 1 {
            held.wait();
        }
        (200, document(n, Duration::from_secs(10)))
    });
    let url = server.url("/creds");
    let provider = resolve(
        &env(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", &url)]),
        None,
        None,
    )
    .unwrap();
    assert_eq!(provider.current().unwrap().access_key_id, "AKGEN0");
    // Callers past the refresh-ahead point start one refresh and are not held up by it.
    let started = Instant::now();
    while server.seen().len() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no refresh started"
        );
        assert_eq!(provider.current().unwrap().access_key_id, "AKGEN0");
        thread::sleep(Duration::from_millis(20));
    }
    for _ in 0..20 {
        assert_eq!(
            provider.current().unwrap().access_key_id,
            "AKGEN0",
            "still valid"
        );
    }
    assert_eq!(server.seen().len(), 2, "one refresh at a time");
    gate.open();
    edge_tests::wait_until("the refreshed credentials", Duration::from_secs(10), || {
        provider.current().unwrap().access_key_id == "AKGEN1"
    });
}

#[test]
fn expired_credentials_are_renewed_before_use() {
    let server = StandIn::start(|_, n| (200, document(n, Duration::from_secs(2))));
    let url = server.url("/creds");
    let provider = resolve(
        &env(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", &url)]),
        None,
        None,
    )
    .unwrap();
    assert_eq!(provider.current().unwrap().access_key_id, "AKGEN0");
    // Let them expire (the stand-in said 2 s) without asking in between.
    thread::sleep(Duration::from_millis(2500));
    let fetched = server.seen().len();
    assert!(
        provider.current_if_valid().is_none(),
        "expired: a caller that must not wait gets nothing"
    );
    assert_eq!(server.seen().len(), fetched, "and no fetch was made for it");
    let renewed = provider.current().unwrap();
    assert_ne!(renewed.access_key_id, "AKGEN0");
    assert!(renewed.expires_at.unwrap() > SystemTime::now());
}

fn expired_token_answer(protocol: Protocol) -> String {
    match protocol {
        Protocol::Query => {
            let xml = "<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code>\
                       <Message>The security token included in the request is expired</Message>\
                       </Error><RequestId>r</RequestId></ErrorResponse>";
            format!(
                "HTTP/1.1 403 Forbidden\r\nContent-Length: {}\r\n\r\n{xml}",
                xml.len()
            )
        }
        Protocol::Json => {
            let json = r#"{"__type":"com.amazon.coral.service#ExpiredTokenException","message":"The security token included in the request is expired"}"#;
            format!(
                "HTTP/1.1 400 Bad Request\r\nx-amzn-query-error: ExpiredToken;Sender\r\n\
                 Content-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n{json}",
                json.len()
            )
        }
    }
}

fn purge_ok(protocol: Protocol) -> String {
    let body = match protocol {
        Protocol::Query => {
            "<PurgeQueueResponse><ResponseMetadata><RequestId>r</RequestId>\
                            </ResponseMetadata></PurgeQueueResponse>"
        }
        Protocol::Json => "{}",
    };
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

const QUEUE: &str = "http://127.0.0.1:1/000000000000/q";

#[test]
fn expired_token_from_sqs_forces_one_refresh_and_one_retry() {
    for protocol in [Protocol::Query, Protocol::Json] {
        let creds = StandIn::start(|_, n| (200, document(n, Duration::from_secs(3600))));
        let url = creds.url("/creds");
        let provider = resolve(
            &env(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", &url)]),
            None,
            None,
        )
        .unwrap();
        let sqs = FakeServer::start(vec![
            Step::Answer(expired_token_answer(protocol)),
            Step::Answer(purge_ok(protocol)),
        ]);
        let mut config = SqsConfig::new(
            "eu-west-1",
            Some(format!("http://127.0.0.1:{}", sqs.port)),
            provider,
        );
        config.protocol = protocol;
        let mut client = SqsClient::new(config);
        client.purge_queue(QUEUE).unwrap();
        let requests = sqs.requests();
        assert_eq!(requests.len(), 2, "{protocol:?}");
        assert!(
            requests[0].contains("Credential=AKGEN0/"),
            "{}",
            requests[0]
        );
        assert!(
            requests[1].contains("Credential=AKGEN1/"),
            "{}",
            requests[1]
        );
        assert_eq!(creds.seen().len(), 2, "one forced refresh");
    }
}

#[test]
fn expired_token_with_static_keys_is_reported_not_retried() {
    let sqs = FakeServer::start(vec![
        Step::Answer(expired_token_answer(Protocol::Query)),
        Step::Answer(purge_ok(Protocol::Query)),
    ]);
    let mut config = SqsConfig::new(
        "eu-west-1",
        Some(format!("http://127.0.0.1:{}", sqs.port)),
        Credentials::new("AKSTATIC", "s", Some("old-token".into())),
    );
    config.protocol = Protocol::Query;
    let err = SqsClient::new(config).purge_queue(QUEUE).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Service { code, .. } if code == "ExpiredToken"),
        "{err}"
    );
    assert_eq!(sqs.requests().len(), 1);
}

#[test]
fn a_provider_shared_by_clients_shows_no_secret_in_debug() {
    let provider = CredentialsProvider::fixed(
        Credentials::new("AKSHOWN", "hidden-secret", Some("hidden-token".into())),
        "test",
    );
    let config = SqsConfig::new("eu-west-1", None, provider);
    let shown = format!("{config:?} {:?}", SqsClient::new(config.clone()));
    assert!(shown.contains("AKSHOWN"), "{shown}");
    assert!(
        !shown.contains("hidden-secret") && !shown.contains("hidden-token"),
        "{shown}"
    );
}

#[test]
fn only_the_error_code_counts_not_a_message_mentioning_it() {
    let creds = StandIn::start(|_, n| (200, document(n, Duration::from_secs(3600))));
    let url = creds.url("/creds");
    let provider = resolve(
        &env(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", &url)]),
        None,
        None,
    )
    .unwrap();
    let xml = "<ErrorResponse><Error><Type>Sender</Type>\
               <Code>AWS.SimpleQueueService.NonExistentQueue</Code>\
               <Message>queue ExpiredToken-orders does not exist</Message></Error>\
               </ErrorResponse>";
    let sqs = FakeServer::start(vec![Step::Answer(format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Length: {}\r\n\r\n{xml}",
        xml.len()
    ))]);
    let mut config = SqsConfig::new(
        "eu-west-1",
        Some(format!("http://127.0.0.1:{}", sqs.port)),
        provider,
    );
    config.protocol = Protocol::Query;
    let err = SqsClient::new(config).purge_queue(QUEUE).unwrap_err();
    assert!(err.to_string().contains("NonExistentQueue"), "{err}");
    assert_eq!((sqs.requests().len(), creds.seen().len()), (1, 1));
}
