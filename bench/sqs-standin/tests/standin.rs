//! The stand-in as its clients see it: our `sigv4` SQS client over both protocols (what the
//! proxy and the puller use), and raw HTTP for what a client library would not send.
use sigv4::sqs::{
    BatchEntry, BatchOutcome, DeleteEntry, DeleteOutcome, ErrorKind, MessageAttribute, Protocol,
    ReceiveOptions, SqsClient, SqsConfig,
};
use sqs_standin::{md5, queue::Queue, server};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// A stand-in on a free port with `prefill` canned messages; returns its endpoint.
fn start(prefill: u64) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let queue = Arc::new(Queue::new(prefill, 3, Duration::from_millis(50)));
    std::thread::spawn(move || server::serve(listener, queue, 64));
    endpoint
}

fn client(endpoint: &str, protocol: Protocol) -> SqsClient {
    let credentials = sigv4::Credentials::new("test", "test", None);
    let mut config = SqsConfig::new("us-east-1", Some(endpoint.to_string()), credentials);
    config.protocol = protocol;
    SqsClient::new(config)
}

fn queue_url(endpoint: &str) -> String {
    format!("{endpoint}/000000000000/bench")
}

fn hex_md5(text: &str) -> String {
    let mut out = Vec::new();
    md5::push_hex(&md5::digest(text.as_bytes()), &mut out);
    String::from_utf8(out).unwrap()
}

/// One request on a fresh connection; the status line, the head and the body as text.
fn raw(endpoint: &str, head: &str, body: &str) -> (String, String) {
    let mut stream = TcpStream::connect(endpoint.trim_start_matches("http://")).unwrap();
    // One write: `write!` on a socket writes piece by piece, and the stand-in answers a
    // malformed first line and closes before the later pieces arrive (EPIPE for them).
    let request = format!(
        "{head}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    (head.to_string(), body.to_string())
}

fn stats(endpoint: &str) -> serde_json::Value {
    let (_, body) = raw(endpoint, "GET /stats HTTP/1.1\r\nHost: x\r\n", "");
    serde_json::from_str(&body).unwrap()
}

#[test]
fn send_batch_is_counted_with_correct_digests_in_both_protocols() {
    let endpoint = start(0);
    let url = queue_url(&endpoint);
    let attributes = [MessageAttribute::string("region", "us")];
    for protocol in [Protocol::Json, Protocol::Query] {
        let mut sqs = client(&endpoint, protocol);
        let bodies = [
            "{\"a\":1}",
            "ünïcödé 🚀 & <xml> \"quoted\"",
            "line\r\nbreak",
        ];
        let entries: Vec<BatchEntry<'_>> = bodies
            .iter()
            .enumerate()
            .map(|(i, body)| BatchEntry {
                id: ["a", "b", "c"][i],
                body,
                attributes: if i == 0 { &attributes } else { &[] },
                ..BatchEntry::default()
            })
            .collect();
        let outcomes = sqs.send_message_batch(&url, &entries).unwrap();
        for (outcome, body) in outcomes.iter().zip(bodies) {
            match outcome {
                BatchOutcome::Sent { md5_of_body, .. } => {
                    assert_eq!(md5_of_body, &hex_md5(body), "{protocol:?}")
                }
                other => panic!("{protocol:?}: {other:?}"),
            }
        }
        let sent = sqs.send_message(&url, "one more").unwrap();
        assert_eq!(sent.md5_of_body, hex_md5("one more"));
    }
    assert_eq!(stats(&endpoint)["sent"], 8);
}

#[test]
fn receive_then_delete_round_trip_in_both_protocols() {
    let endpoint = start(25);
    let url = queue_url(&endpoint);
    let options = ReceiveOptions {
        wait_seconds: 1,
        system_attributes: vec!["SentTimestamp".into(), "ApproximateReceiveCount".into()],
        ..ReceiveOptions::default()
    };
    let mut received = 0;
    for protocol in [Protocol::Json, Protocol::Query, Protocol::Json] {
        let mut sqs = client(&endpoint, protocol);
        let messages = sqs.receive_message(&url, &options).unwrap();
        received += messages.len();
        let ids: Vec<String> = (0..messages.len()).map(|i| i.to_string()).collect();
        for m in &messages {
            assert_eq!(m.md5_of_body, hex_md5(&m.body), "{protocol:?}");
            let body: serde_json::Value = serde_json::from_str(&m.body).unwrap();
            assert!(body["hostname"].as_str().unwrap().starts_with("edge-"));
            assert_eq!(m.approximate_receive_count(), Some(1));
            assert!(m.sent_timestamp_ms().is_some());
        }
        let entries: Vec<DeleteEntry<'_>> = messages
            .iter()
            .zip(&ids)
            .map(|(m, id)| DeleteEntry {
                id,
                receipt_handle: &m.receipt_handle,
            })
            .collect();
        let outcomes = sqs.delete_message_batch(&url, &entries).unwrap();
        assert!(outcomes
            .iter()
            .all(|o| matches!(o, DeleteOutcome::Deleted { .. })));
    }
    assert_eq!(received, 25, "10 + 10 + the last 5");
    // Drained: an empty answer after the (capped) wait.
    let mut sqs = client(&endpoint, Protocol::Query);
    assert!(sqs.receive_message(&url, &options).unwrap().is_empty());
    let s = stats(&endpoint);
    assert_eq!(
        (s["received"].as_u64(), s["deleted"].as_u64()),
        (Some(25), Some(25))
    );
    assert_eq!(s["in_flight"], 0);
    assert!(s["delete_latency_p99_ms"].as_f64().unwrap() >= 0.0);
}

#[test]
fn startup_questions_get_what_the_proxy_and_puller_need() {
    let endpoint = start(7);
    let url = queue_url(&endpoint);
    for protocol in [Protocol::Json, Protocol::Query] {
        let mut sqs = client(&endpoint, protocol);
        let names = [
            "MaximumMessageSize",
            "FifoQueue",
            "VisibilityTimeout",
            "RedrivePolicy",
        ];
        let attributes = sqs.get_queue_attributes(&url, &names).unwrap();
        assert_eq!(
            attributes,
            [
                ("MaximumMessageSize".to_string(), "1048576".to_string()),
                ("VisibilityTimeout".to_string(), "30".to_string())
            ],
            "{protocol:?}"
        );
        let all = sqs.get_queue_attributes(&url, &["All"]).unwrap();
        assert!(all.contains(&("ApproximateNumberOfMessages".into(), "7".into())));
        assert_eq!(sqs.get_queue_url("bench").unwrap(), url);
    }
}

#[test]
fn sqs_errors_not_panics_in_both_protocols() {
    let endpoint = start(1);
    let url = queue_url(&endpoint);
    for protocol in [Protocol::Json, Protocol::Query] {
        let mut sqs = client(&endpoint, protocol);
        let err = sqs.delete_message(&url, "not-a-handle").unwrap_err();
        match err.kind() {
            ErrorKind::Service { status, code, .. } => {
                assert_eq!((*status, code.as_str()), (400, "ReceiptHandleIsInvalid"))
            }
            other => panic!("{protocol:?}: {other:?}"),
        }
        let err = sqs.get_queue_attributes(&url, &["Bogus"]).unwrap_err();
        assert!(err.to_string().contains("InvalidAttributeName"), "{err}");
        // A bad handle inside a batch fails that entry only.
        let entries = [DeleteEntry {
            id: "x",
            receipt_handle: "standin-rh-999",
        }];
        let outcomes = sqs.delete_message_batch(&url, &entries).unwrap();
        assert!(
            matches!(&outcomes[0], DeleteOutcome::Failed { code, sender_fault: true, .. } if code == "ReceiptHandleIsInvalid"),
            "{outcomes:?}"
        );
    }
    // What no client library sends: garbage JSON, an unknown target, an unknown action,
    // duplicate batch ids, a bad escape, a body that is not HTTP.
    let json = "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.0\r\n";
    let (head, body) = raw(
        &endpoint,
        &format!("{json}X-Amz-Target: AmazonSQS.SendMessage\r\n"),
        "{oops",
    );
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    assert!(
        head.contains("x-amzn-query-error: SerializationException;Sender"),
        "{head}"
    );
    assert!(
        body.contains("\"__type\":\"com.amazon.coral.service#SerializationException\""),
        "{body}"
    );
    let (head, body) = raw(
        &endpoint,
        &format!("{json}X-Amz-Target: AmazonSQS.Nope\r\n"),
        "{}",
    );
    assert!(
        head.starts_with("HTTP/1.1 400") && body.contains("UnknownOperationException"),
        "{body}"
    );
    let batch =
        r#"{"QueueUrl":"q","Entries":[{"Id":"a","MessageBody":"x"},{"Id":"a","MessageBody":"y"}]}"#;
    let (head, body) = raw(
        &endpoint,
        &format!("{json}X-Amz-Target: AmazonSQS.SendMessageBatch\r\n"),
        batch,
    );
    assert!(
        head.contains("AWS.SimpleQueueService.BatchEntryIdsNotDistinct;Sender"),
        "{head}"
    );
    assert!(
        body.contains("com.amazonaws.sqs#BatchEntryIdsNotDistinct"),
        "{body}"
    );
    let form = "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n";
    for (text, code) in [
        ("Action=Nope", "<Code>InvalidAction</Code>"),
        (
            "Action=SendMessage&QueueUrl=q&MessageBody=%zz",
            "<Code>MalformedQueryString</Code>",
        ),
        (
            "Action=SendMessage&QueueUrl=q",
            "<Code>MissingParameter</Code>",
        ),
        (
            "Action=ReceiveMessage&QueueUrl=q&MaxNumberOfMessages=11",
            "<Code>InvalidParameterValue</Code>",
        ),
        (
            "Action=SendMessage&QueueUrl=q&MessageBody=%01",
            "<Code>InvalidMessageContents</Code>",
        ),
    ] {
        let (head, body) = raw(&endpoint, form, text);
        assert!(head.starts_with("HTTP/1.1 400"), "{text}: {head}");
        assert!(
            body.contains("<ErrorResponse") && body.contains(code),
            "{text}: {body}"
        );
    }
    let (head, _) = raw(&endpoint, "NOT HTTP\r\n", "");
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    // Still serving, and the errors were counted.
    assert_eq!(stats(&endpoint)["errors"], 12);
}
