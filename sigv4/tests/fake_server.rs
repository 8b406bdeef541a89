//! The client's HTTP/1.1 handling against a scripted local server: keep-alive reuse,
//! transparent reconnect, chunked bodies, timeouts, and how error answers are classified.
//! The transport tests use the query protocol (XML answers); `json_*` tests cover the shape
//! of AWS JSON 1.0 requests and how its answers and errors are read. No LocalStack needed.
mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

use common::{FakeServer, Step};

use sigv4::sqs::{BatchEntry, ErrorKind, ReceiveOptions, SqsClient, SqsConfig};
use sigv4::Credentials;

const QUEUE: &str = "http://sqs.eu-west-1.localhost.localstack.cloud:4566/000000000000/q";

fn ok_send(id: &str) -> String {
    let xml = format!(
        "<?xml version=\"1.0\"?><SendMessageResponse><SendMessageResult><MessageId>{id}</MessageId>\
         <MD5OfMessageBody>acbd18db4cc2f85cedef654fccc4a4d8</MD5OfMessageBody></SendMessageResult>\
         </SendMessageResponse>"
    );
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{xml}",
        xml.len()
    )
}

fn error_answer(status: &str, code: &str) -> String {
    let xml = format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>it &amp; failed</Message>\
         </Error><RequestId>r</RequestId></ErrorResponse>"
    );
    format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n{xml}",
        xml.len()
    )
}

#[test]
fn requests_are_signed_form_posts_on_one_kept_alive_connection() {
    let server = FakeServer::start(vec![
        Step::Answer(ok_send("m1")),
        Step::Answer(ok_send("m2")),
    ]);
    let mut c = server.client();
    assert_eq!(
        c.send_message(QUEUE, "foo & <bar>").unwrap().message_id,
        "m1"
    );
    assert_eq!(c.send_message(QUEUE, "again").unwrap().message_id, "m2");
    assert_eq!(
        server.connections(),
        1,
        "the second call reused the connection"
    );
    let first = &server.requests()[0];
    assert!(
        first.starts_with("POST /000000000000/q HTTP/1.1\r\n"),
        "{first}"
    );
    assert!(
        first.contains(&format!("host: 127.0.0.1:{}\r\n", server.port)),
        "{first}"
    );
    assert!(
        first.contains("authorization: AWS4-HMAC-SHA256 Credential=AKFAKE/")
            && first.contains("/eu-west-1/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature="),
        "{first}"
    );
    assert!(
        first.ends_with(
            "\r\n\r\nAction=SendMessage&Version=2012-11-05&QueueUrl=http%3A%2F%2Fsqs.eu-west-1.\
             localhost.localstack.cloud%3A4566%2F000000000000%2Fq&MessageBody=foo%20%26%20%3Cbar%3E"
        ),
        "{first}"
    );
    assert!(!first.contains("secret-fake"));
}

#[test]
fn session_token_is_sent_and_signed() {
    let server = FakeServer::start(vec![Step::Answer(ok_send("m"))]);
    let mut c = server.client_with(
        Credentials::new("AK", "SK", Some("the-token".into())),
        Duration::from_secs(5),
    );
    c.send_message(QUEUE, "x").unwrap();
    let req = &server.requests()[0];
    assert!(req.contains("x-amz-security-token: the-token\r\n"), "{req}");
    assert!(
        req.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token"),
        "{req}"
    );
}

#[test]
fn a_connection_the_server_closed_is_replaced_transparently() {
    let server = FakeServer::start(vec![
        Step::AnswerThenClose(ok_send("m1")),
        Step::Answer(ok_send("m2")),
    ]);
    let mut c = server.client();
    c.send_message(QUEUE, "one").unwrap();
    // No wait for the FIN: whether the write or the read notices the close, the client must
    // resend on a new connection.
    assert_eq!(c.send_message(QUEUE, "two").unwrap().message_id, "m2");
    assert_eq!(server.connections(), 2);
    assert_eq!(
        server.requests().len(),
        2,
        "no request was lost or duplicated"
    );
}

#[test]
fn connection_close_header_is_honoured() {
    let close = ok_send("m1").replacen(
        "HTTP/1.1 200 OK\r\n",
        "HTTP/1.1 200 OK\r\nConnection: close\r\n",
        1,
    );
    let server = FakeServer::start(vec![Step::Answer(close), Step::Answer(ok_send("m2"))]);
    let mut c = server.client();
    c.send_message(QUEUE, "one").unwrap();
    c.send_message(QUEUE, "two").unwrap();
    assert_eq!(server.connections(), 2);
}

#[test]
fn chunked_bodies_with_extensions_and_trailers_are_read() {
    let xml = "<SendMessageResponse><SendMessageResult><MessageId>chunky 🚀</MessageId>\
               <MD5OfMessageBody>d</MD5OfMessageBody></SendMessageResult></SendMessageResponse>";
    let (a, b) = xml.split_at(20);
    let answer = format!(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x};ext=1\r\n{a}\r\n{:X}\r\n{b}\r\n0\r\nX-Trailer: t\r\n\r\n",
        a.len(),
        b.len()
    );
    let server = FakeServer::start(vec![Step::Answer(answer), Step::Answer(ok_send("next"))]);
    let mut c = server.client();
    assert_eq!(c.send_message(QUEUE, "x").unwrap().message_id, "chunky 🚀");
    assert_eq!(c.send_message(QUEUE, "y").unwrap().message_id, "next");
    assert_eq!(
        server.connections(),
        1,
        "the chunked body was consumed exactly"
    );
}

#[test]
fn a_silent_server_times_out_as_a_retryable_error() {
    let server = FakeServer::start(vec![Step::Stall]);
    let mut c = server.client_with(Credentials::new("a", "b", None), Duration::from_millis(300));
    let started = Instant::now();
    let err = c.send_message(QUEUE, "x").unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Timeout(_)), "{err}");
    assert!(err.is_retryable());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn error_answers_are_typed_and_classified() {
    let html = "<html>bad gateway</html>";
    let server = FakeServer::start(vec![
        Step::Answer(error_answer("500 Internal Server Error", "InternalError")),
        Step::Answer(error_answer("400 Bad Request", "ThrottlingException")),
        Step::Answer(error_answer("403 Forbidden", "SignatureDoesNotMatch")),
        Step::Answer(error_answer(
            "400 Bad Request",
            "AWS.SimpleQueueService.NonExistentQueue",
        )),
        Step::Answer(format!(
            "HTTP/1.1 502 Bad Gateway\r\nContent-Length: {}\r\n\r\n{html}",
            html.len()
        )),
    ]);
    let mut c = server.client();
    let expectations = [
        (500, "InternalError", true),
        (400, "ThrottlingException", true),
        (403, "SignatureDoesNotMatch", false),
        (400, "AWS.SimpleQueueService.NonExistentQueue", false),
        (502, "", true),
    ];
    for (status, code, retryable) in expectations {
        let err = c.send_message(QUEUE, "x").unwrap_err();
        match err.kind() {
            ErrorKind::Service {
                status: s,
                code: k,
                message,
            } => {
                assert_eq!((*s, k.as_str()), (status, code), "{err}");
                if !code.is_empty() {
                    assert_eq!(message, "it & failed", "entities decoded in messages too");
                }
            }
            other => panic!("expected a service error, got {other:?}"),
        }
        assert_eq!(err.is_retryable(), retryable, "{err}");
        assert!(
            err.to_string()
                .starts_with("SendMessage to http://127.0.0.1:"),
            "{err}"
        );
    }
    assert_eq!(
        server.connections(),
        1,
        "error answers keep the connection usable"
    );
}

#[test]
fn malformed_answers_are_protocol_errors() {
    let server = FakeServer::start(vec![Step::AnswerThenClose(
        "SMTP ready\r\n\r\n".to_string(),
    )]);
    let err = server.client().send_message(QUEUE, "x").unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Protocol(_)), "{err}");
    assert!(!err.is_retryable());

    let bad_xml = "<SendMessageResponse><oops></SendMessageResponse>";
    let server = FakeServer::start(vec![Step::Answer(format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{bad_xml}",
        bad_xml.len()
    ))]);
    let err = server.client().send_message(QUEUE, "x").unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Protocol(_)), "{err}");

    let missing =
        "<SendMessageResponse><SendMessageResult></SendMessageResult></SendMessageResponse>";
    let server = FakeServer::start(vec![Step::Answer(format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{missing}",
        missing.len()
    ))]);
    let err = server.client().send_message(QUEUE, "x").unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Protocol(_)), "{err}");
}

#[test]
fn a_truncated_body_is_a_retryable_io_error() {
    let server = FakeServer::start(vec![Step::AnswerThenClose(
        "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n<SendMessageResponse>".to_string(),
    )]);
    let err = server.client().send_message(QUEUE, "x").unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Io(_)), "{err}");
    assert!(err.is_retryable());
}

#[test]
fn client_is_send_and_debug_hides_secrets() {
    fn assert_send<T: Send>() {}
    assert_send::<SqsClient>();
    let server = FakeServer::start(vec![]);
    let c = server.client_with(
        Credentials::new("AK", "very-secret", Some("tok-secret".into())),
        Duration::from_secs(1),
    );
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("very-secret") && !shown.contains("tok-secret"),
        "{shown}"
    );
}

#[test]
fn https_endpoints_speak_tls_and_a_non_tls_peer_is_a_fatal_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut first = [0u8; 3];
        stream.read_exact(&mut first).unwrap();
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        first
    });
    let mut config = SqsConfig::new(
        "us-east-1",
        Some(format!("https://127.0.0.1:{port}")),
        Credentials::new("a", "b", None),
    );
    config.io_timeout = Duration::from_secs(5);
    let err = SqsClient::new(config).send_message(QUEUE, "x").unwrap_err();
    let first = server.join().unwrap();
    assert_eq!(first[0], 0x16, "a TLS handshake record was sent first");
    assert_eq!(first[1], 0x03, "TLS record version");
    assert!(matches!(err.kind(), ErrorKind::Protocol(_)), "{err}");
    assert!(!err.is_retryable(), "{err}");
}

#[test]
fn unreachable_endpoint_is_retryable_and_fast() {
    // Not LocalStack: a port nothing listens on.
    let port = edge_tests::net::free_port();
    let mut c = SqsClient::new(SqsConfig::new(
        "us-east-1",
        Some(format!("http://127.0.0.1:{port}")),
        Credentials::new("test", "test", None),
    ));
    let started = Instant::now();
    let err = c
        .send_message(
            "http://sqs.us-east-1.localhost.localstack.cloud/000000000000/q",
            "x",
        )
        .expect_err("nothing listens there");
    assert!(err.is_retryable(), "{err}");
    assert!(matches!(err.kind(), ErrorKind::Connect(_)), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn invalid_batches_fail_before_any_io() {
    // The endpoint is unreachable: an InvalidInput error proves no I/O was attempted.
    let port = edge_tests::net::free_port();
    let mut c = SqsClient::new(SqsConfig::new(
        "us-east-1",
        Some(format!("http://127.0.0.1:{port}")),
        Credentials::new("test", "test", None),
    ));
    let q = "http://localhost/000000000000/q";
    let big = "x".repeat(600 * 1024);
    let cases: Vec<Vec<BatchEntry>> = vec![
        vec![],
        (0..11)
            .map(|_| BatchEntry {
                id: "a",
                body: "x",
                ..Default::default()
            })
            .collect(),
        vec![
            BatchEntry {
                id: "dup",
                body: "x",
                ..Default::default()
            },
            BatchEntry {
                id: "dup",
                body: "y",
                ..Default::default()
            },
        ],
        vec![BatchEntry {
            id: "has space",
            body: "x",
            ..Default::default()
        }],
        vec![
            BatchEntry {
                id: "a",
                body: &big,
                ..Default::default()
            },
            BatchEntry {
                id: "b",
                body: &big,
                ..Default::default()
            },
        ],
    ];
    for entries in cases {
        let err = c
            .send_message_batch(q, &entries)
            .expect_err("invalid batch");
        assert!(matches!(err.kind(), ErrorKind::InvalidInput(_)), "{err}");
    }
    let err = c
        .receive_message(
            q,
            &ReceiveOptions {
                max_messages: 11,
                ..ReceiveOptions::default()
            },
        )
        .expect_err("too many");
    assert!(matches!(err.kind(), ErrorKind::InvalidInput(_)), "{err}");
}

/// Issue 13: an endpoint that accepts TCP and never speaks TLS used to block the thread
/// forever (the handshake ran inside `write_all`, before any read timeout was set). At the
/// default settings the handshake now gives up after the connect timeout.
#[test]
fn an_https_endpoint_that_never_answers_the_client_hello_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let held: Vec<_> = listener.incoming().take(4).collect();
        thread::sleep(Duration::from_secs(60));
        drop(held);
    });
    let config = SqsConfig::new(
        "eu-west-1",
        Some(format!("https://127.0.0.1:{port}")),
        Credentials::new("a", "b", None),
    );
    let connect_timeout = config.connect_timeout;
    let mut c = SqsClient::new(config);
    let started = Instant::now();
    let err = c.send_message(QUEUE, "x").unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err.kind(), ErrorKind::Timeout(_)), "{err}");
    assert!(err.is_retryable());
    assert!(
        took >= connect_timeout && took < connect_timeout + Duration::from_secs(3),
        "{took:?}"
    );
}

/// Issue 13: a chunk size of `ffffffffffffffff` used to overflow the body length and panic.
#[test]
fn a_chunk_size_that_would_overflow_is_a_protocol_error() {
    let server = FakeServer::start(vec![Step::AnswerThenClose(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\nffffffffffffffff\r\nabc"
            .to_string(),
    )]);
    let err = server.client().send_message(QUEUE, "x").unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Protocol(_)), "{err}");
    assert!(err.to_string().contains("too large"), "{err}");
}
