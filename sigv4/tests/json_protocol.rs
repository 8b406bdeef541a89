//! The AWS JSON 1.0 protocol against a scripted local server: what a request looks like on the
//! wire (path `/`, target and content-type headers, both signed, JSON body with the queue URL
//! as given), how answers are read, and how JSON error answers are classified.
mod common;

use common::{FakeServer, Step};
use serde_json::{json, Value};
use sigv4::sqs::{
    BatchEntry, BatchOutcome, DeleteEntry, DeleteOutcome, ErrorKind, Protocol, ReceiveOptions,
    SqsClient, SqsConfig,
};
use sigv4::Credentials;

const QUEUE: &str = "http://sqs.eu-west-1.localhost.localstack.cloud:4566/000000000000/q";

fn json_answer(status: &str, extra_headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.0\r\n{extra_headers}\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn ok(body: &Value) -> String {
    json_answer("200 OK", "", &body.to_string())
}

/// The request's head (lower-cased header names as the client writes them) and parsed body.
fn split(request: &str) -> (&str, Value) {
    let (head, body) = request.split_once("\r\n\r\n").expect("head and body");
    (
        head,
        serde_json::from_str(body).expect("request body is json"),
    )
}

#[test]
fn json_requests_go_to_the_root_with_a_signed_target_header_and_json_body() {
    let server = FakeServer::start(vec![Step::Answer(ok(&json!({
        "Successful": [{"Id": "b", "MessageId": "mb", "MD5OfMessageBody": "5b"}],
        "Failed": [{"Id": "a", "SenderFault": true, "Code": "InvalidMessageContents",
                    "Message": "bad char"}]
    })))]);
    let mut c = server.json_client();
    let entries = [
        BatchEntry {
            id: "a",
            body: "ctl \u{1}",
            ..Default::default()
        },
        BatchEntry {
            id: "b",
            body: "emoji 🚀 < & \" \\ \r\n",
            ..Default::default()
        },
        BatchEntry {
            id: "c",
            body: "left out by the server",
            ..Default::default()
        },
    ];
    let outcomes = c.send_message_batch(QUEUE, &entries).expect("batch");
    assert_eq!(
        outcomes,
        vec![
            BatchOutcome::Failed {
                id: "a".into(),
                code: "InvalidMessageContents".into(),
                message: "bad char".into(),
                sender_fault: true,
            },
            BatchOutcome::Sent {
                id: "b".into(),
                message_id: "mb".into(),
                md5_of_body: "5b".into(),
            },
            BatchOutcome::Failed {
                id: "c".into(),
                code: "MissingFromResponse".into(),
                message: "the answer listed this entry neither as done nor as failed".into(),
                sender_fault: false,
            },
        ]
    );

    let requests = server.requests();
    let (head, body) = split(&requests[0]);
    assert!(head.starts_with("POST / HTTP/1.1\r\n"), "{head}");
    assert!(
        head.contains(&format!("host: 127.0.0.1:{}\r\n", server.port)),
        "{head}"
    );
    assert!(
        head.contains("content-type: application/x-amz-json-1.0\r\n"),
        "{head}"
    );
    assert!(
        head.contains("x-amz-target: AmazonSQS.SendMessageBatch\r\n"),
        "{head}"
    );
    assert!(
        head.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature="),
        "{head}"
    );
    assert_eq!(
        body,
        json!({
            "QueueUrl": QUEUE,
            "Entries": [
                {"Id": "a", "MessageBody": "ctl \u{1}"},
                {"Id": "b", "MessageBody": "emoji 🚀 < & \" \\ \r\n"},
                {"Id": "c", "MessageBody": "left out by the server"},
            ]
        })
    );
}

#[test]
fn json_receive_and_delete_requests_and_answers() {
    let server = FakeServer::start(vec![
        Step::Answer(ok(&json!({"Messages": [{
            "MessageId": "m1", "ReceiptHandle": "rh1", "MD5OfBody": "md5",
            "Body": "a <b> & 🚀\r\n",
            "Attributes": {"ApproximateReceiveCount": "3", "SentTimestamp": "1700000000000"}
        }]}))),
        Step::Answer(ok(&json!({}))),
        Step::Answer(ok(&json!({
            "Successful": [{"Id": "d0"}],
            "Failed": [{"Id": "d1", "SenderFault": true, "Code": "ReceiptHandleIsInvalid",
                        "Message": "nope"}]
        }))),
        // DeleteMessage answers 200 with an empty body on some servers.
        Step::Answer(json_answer("200 OK", "", "")),
    ]);
    let mut c = server.json_client();
    let options = ReceiveOptions {
        max_messages: 7,
        wait_seconds: 0,
        visibility_timeout: Some(45),
        system_attributes: vec!["ApproximateReceiveCount".into(), "SentTimestamp".into()],
        message_attributes: vec![],
    };
    let got = c.receive_message(QUEUE, &options).expect("receive");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, "a <b> & 🚀\r\n");
    assert_eq!(got[0].receipt_handle, "rh1");
    assert_eq!(got[0].md5_of_body, "md5");
    assert_eq!(got[0].approximate_receive_count(), Some(3));
    assert_eq!(got[0].sent_timestamp_ms(), Some(1_700_000_000_000));
    assert!(c
        .receive_message(QUEUE, &options)
        .expect("empty")
        .is_empty());

    let deleted = c
        .delete_message_batch(
            QUEUE,
            &[
                DeleteEntry {
                    id: "d0",
                    receipt_handle: "rh1",
                },
                DeleteEntry {
                    id: "d1",
                    receipt_handle: "bogus",
                },
            ],
        )
        .expect("delete batch");
    assert_eq!(deleted[0], DeleteOutcome::Deleted { id: "d0".into() });
    assert!(
        matches!(&deleted[1], DeleteOutcome::Failed { code, sender_fault: true, .. }
            if code == "ReceiptHandleIsInvalid"),
        "{deleted:?}"
    );
    c.delete_message(QUEUE, "rh1")
        .expect("empty 200 body is fine");

    let requests = server.requests();
    let (head, body) = split(&requests[0]);
    assert!(
        head.contains("x-amz-target: AmazonSQS.ReceiveMessage\r\n"),
        "{head}"
    );
    assert_eq!(
        body,
        json!({
            "QueueUrl": QUEUE, "MaxNumberOfMessages": 7, "WaitTimeSeconds": 0,
            "VisibilityTimeout": 45,
            "MessageSystemAttributeNames": ["ApproximateReceiveCount", "SentTimestamp"]
        })
    );
    let (head, body) = split(&requests[2]);
    assert!(
        head.contains("x-amz-target: AmazonSQS.DeleteMessageBatch\r\n"),
        "{head}"
    );
    assert_eq!(
        body,
        json!({"QueueUrl": QUEUE, "Entries": [
            {"Id": "d0", "ReceiptHandle": "rh1"}, {"Id": "d1", "ReceiptHandle": "bogus"}
        ]})
    );
    let (head, body) = split(&requests[3]);
    assert!(
        head.contains("x-amz-target: AmazonSQS.DeleteMessage\r\n"),
        "{head}"
    );
    assert_eq!(body, json!({"QueueUrl": QUEUE, "ReceiptHandle": "rh1"}));
    assert_eq!(server.connections(), 1, "one keep-alive connection");
}

#[test]
fn json_queue_management_requests() {
    let server = FakeServer::start(vec![
        Step::Answer(ok(&json!({"QueueUrl": QUEUE}))),
        Step::Answer(ok(&json!({"QueueUrl": QUEUE}))),
        Step::Answer(ok(&json!({"Attributes": {"VisibilityTimeout": "45"}}))),
        Step::Answer(ok(&json!({}))),
    ]);
    let mut c = server.json_client();
    assert_eq!(
        c.create_queue("q", &[("VisibilityTimeout", "45")]).unwrap(),
        QUEUE
    );
    assert_eq!(c.get_queue_url("q").unwrap(), QUEUE);
    assert_eq!(
        c.get_queue_attributes(QUEUE, &["All"]).unwrap(),
        vec![("VisibilityTimeout".to_string(), "45".to_string())]
    );
    c.purge_queue(QUEUE).unwrap();
    let requests = server.requests();
    let expected = [
        (
            "CreateQueue",
            json!({"QueueName": "q", "Attributes": {"VisibilityTimeout": "45"}}),
        ),
        ("GetQueueUrl", json!({"QueueName": "q"})),
        (
            "GetQueueAttributes",
            json!({"QueueUrl": QUEUE, "AttributeNames": ["All"]}),
        ),
        ("PurgeQueue", json!({"QueueUrl": QUEUE})),
    ];
    for (request, (op, want)) in requests.iter().zip(expected) {
        let (head, body) = split(request);
        assert!(head.starts_with("POST / HTTP/1.1\r\n"), "{head}");
        assert!(
            head.contains(&format!("x-amz-target: AmazonSQS.{op}\r\n")),
            "{head}"
        );
        assert_eq!(body, want, "{op}");
    }
}

#[test]
fn json_error_answers_are_typed_and_classified() {
    let typed = |code: &str| json!({"__type": code, "message": "it & failed"}).to_string();
    let html = "<html>bad gateway</html>";
    let server = FakeServer::start(vec![
        Step::Answer(json_answer(
            "400 Bad Request",
            "x-amzn-query-error: AWS.SimpleQueueService.NonExistentQueue;Sender\r\n",
            &typed("com.amazonaws.sqs#QueueDoesNotExist"),
        )),
        Step::Answer(json_answer(
            "400 Bad Request",
            "",
            &typed("com.amazonaws.sqs#QueueDoesNotExist"),
        )),
        Step::Answer(json_answer(
            "400 Bad Request",
            "",
            &typed("com.amazonaws.sqs#ThrottlingException"),
        )),
        Step::Answer(json_answer(
            "400 Bad Request",
            "",
            &typed("com.amazonaws.sqs#RequestThrottled:http://internal.amazon.com/"),
        )),
        Step::Answer(json_answer(
            "403 Forbidden",
            "",
            &typed("SignatureDoesNotMatch"),
        )),
        Step::Answer(json_answer(
            "403 Forbidden",
            "",
            &json!({"__type": "com.amazon.coral.service#InvalidClientTokenId",
                    "Message": "it & failed"})
            .to_string(),
        )),
        Step::Answer(json_answer(
            "500 Internal Server Error",
            "",
            &typed("InternalError"),
        )),
        Step::Answer(json_answer("502 Bad Gateway", "", html)),
    ]);
    let mut c = server.json_client();
    let expectations = [
        (400, "AWS.SimpleQueueService.NonExistentQueue", false),
        (400, "QueueDoesNotExist", false),
        (400, "ThrottlingException", true),
        (400, "RequestThrottled", true),
        (403, "SignatureDoesNotMatch", false),
        (403, "InvalidClientTokenId", false),
        (500, "InternalError", true),
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
                let want = if code.is_empty() { html } else { "it & failed" };
                assert_eq!(message, want, "{err}");
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
fn json_malformed_answers_are_protocol_errors() {
    let server = FakeServer::start(vec![
        Step::Answer(json_answer("200 OK", "", "{\"MessageId\": ")),
        Step::Answer(json_answer("200 OK", "", "[1, 2]")),
        Step::Answer(ok(&json!({"MessageId": 5, "MD5OfMessageBody": "x"}))),
        Step::Answer(ok(&json!({"Messages": "not a list"}))),
    ]);
    let mut c = server.json_client();
    for _ in 0..3 {
        let err = c.send_message(QUEUE, "x").unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Protocol(_)), "{err}");
        assert!(!err.is_retryable(), "{err}");
    }
    let err = c
        .receive_message(QUEUE, &ReceiveOptions::default())
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Protocol(_)), "{err}");
}

#[test]
fn without_an_endpoint_override_json_goes_to_the_queue_urls_origin() {
    let server = FakeServer::start(vec![Step::Answer(ok(&json!({
        "MessageId": "m", "MD5OfMessageBody": "d"
    })))]);
    let queue = format!("http://127.0.0.1:{}/000000000000/q", server.port);
    let mut config = SqsConfig::new("eu-west-1", None, Credentials::new("a", "b", None));
    config.protocol = Protocol::Json;
    let mut c = SqsClient::new(config);
    assert_eq!(c.send_message(&queue, "x").unwrap().message_id, "m");
    let requests = server.requests();
    let (head, body) = split(&requests[0]);
    assert!(head.starts_with("POST / HTTP/1.1\r\n"), "{head}");
    assert_eq!(body, json!({"QueueUrl": queue, "MessageBody": "x"}));
}

/// The request's head lines without the two that depend on the second it was signed in.
fn timeless(head: &str) -> Vec<&str> {
    head.lines()
        .filter(|l| !l.starts_with("x-amz-date:") && !l.starts_with("authorization:"))
        .collect()
}

#[test]
fn a_prepared_batch_is_the_request_send_message_batch_makes_and_is_read_alike() {
    let answer = json!({
        "Successful": [{"Id": "0", "MessageId": "m0", "MD5OfMessageBody": "d0"}],
        "Failed": [{"Id": "1", "SenderFault": false, "Code": "InternalError", "Message": "later"}]
    });
    let server = FakeServer::start(vec![Step::Answer(ok(&answer)), Step::Answer(ok(&answer))]);
    let mut c = server.json_client();
    let entries = [
        BatchEntry {
            id: "0",
            body: "first \"one\"",
            ..Default::default()
        },
        BatchEntry {
            id: "1",
            body: "second",
            ..Default::default()
        },
    ];
    let credentials = Credentials::new("AKFAKE", "secret-fake", None);
    let mut prepared = c
        .prepare_send_message_batch(QUEUE, &entries, &credentials)
        .expect("prepared");
    assert_eq!(
        (prepared.host(), prepared.port(), prepared.is_tls()),
        ("127.0.0.1", server.port, false)
    );
    // Sent by hand, as an event loop would, and its answer read by the prepared call.
    let mut socket = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let request = prepared.take_bytes();
    assert!(prepared.bytes().is_empty(), "moved out");
    std::io::Write::write_all(&mut socket, &request).unwrap();
    let mut reader = http1::MessageReader::new(socket);
    let got = reader
        .read_response(
            false,
            &http1::Limits::default(),
            http1::BodyLimit::Reject(1 << 20),
        )
        .unwrap();
    let by_hand = prepared.outcomes(got.status, &[], &got.body).unwrap();
    let by_client = c.send_message_batch(QUEUE, &entries).expect("batch");
    assert_eq!(by_hand, by_client);
    assert!(matches!(
        &by_hand[1],
        BatchOutcome::Failed {
            sender_fault: false,
            ..
        }
    ));

    let requests = server.requests();
    let (prepared_head, prepared_body) = split(&requests[0]);
    let (client_head, client_body) = split(&requests[1]);
    assert_eq!(timeless(prepared_head), timeless(client_head));
    assert_eq!(prepared_body, client_body);
    assert!(prepared_head.contains("authorization: AWS4-HMAC-SHA256 Credential=AKFAKE/"));

    // A non-2xx answer is the call's error, with the code SQS gave.
    let error = prepared
        .outcomes(
            400,
            &[(
                "x-amzn-query-error".into(),
                "AWS.SimpleQueueService.NonExistentQueue;Sender".into(),
            )],
            br#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"no queue"}"#,
        )
        .unwrap_err();
    assert!(error.to_string().contains("NonExistentQueue"), "{error}");
    assert!(!error.is_retryable());
}

#[test]
fn only_the_json_protocol_prepares_calls() {
    let server = FakeServer::start(vec![]);
    let mut c = server.client();
    let entries = [BatchEntry {
        id: "0",
        body: "x",
        ..Default::default()
    }];
    let credentials = Credentials::new("AKFAKE", "secret-fake", None);
    let error = c
        .prepare_send_message_batch(QUEUE, &entries, &credentials)
        .err()
        .expect("query protocol refused");
    assert!(
        matches!(error.kind(), ErrorKind::InvalidInput(_)),
        "{error}"
    );
}
