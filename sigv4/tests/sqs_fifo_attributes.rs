//! Against LocalStack, once per wire protocol: message attributes come back exactly as sent
//! (`MessageAttributeNames=All`), and FIFO receives carry MessageGroupId/SequenceNumber and
//! accept a `ReceiveRequestAttemptId`. Messages are sent with `call_json` because sending attributes or group ids is
//! not what this client models.
mod on_localstack;
use on_localstack::{client, for_both_protocols};
use std::time::{Duration, Instant};

use serde_json::json;
use sigv4::sqs::{Message, Protocol, ReceiveExtras, ReceiveOptions, SqsClient};

for_both_protocols!(
    message_attributes_come_back_exactly,
    fifo_receive_names_group_and_sequence,
    fifo_receive_accepts_an_attempt_id,
);

fn receive(c: &mut SqsClient, url: &str, extras: &ReceiveExtras, max: u8) -> Vec<Message> {
    receive_asking(c, url, extras, max, &[])
}

fn receive_asking(
    c: &mut SqsClient,
    url: &str,
    extras: &ReceiveExtras,
    max: u8,
    message_attributes: &[&str],
) -> Vec<Message> {
    let options = ReceiveOptions {
        max_messages: max,
        wait_seconds: 1,
        visibility_timeout: Some(30),
        system_attributes: vec!["All".into()],
        message_attributes: message_attributes.iter().map(|a| a.to_string()).collect(),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = c
            .receive_message_with(url, &options, extras)
            .expect("receive");
        if !got.is_empty() || Instant::now() > deadline {
            return got;
        }
    }
}

fn message_attributes_come_back_exactly(protocol: Protocol) {
    let mut c = client(protocol);
    let name = edge_tests::unique_name("sigv4-attrs");
    let url = c.create_queue(&name, &[]).expect("create");
    let hostile = "edge <&> \"quoted\" 'single' ]]> 🚀 \t tab";
    c.call_json(
        "SendMessage",
        Some(&url),
        &json!({"QueueUrl": url, "MessageBody": "with attributes",
        "MessageAttributes": {
            "region": {"DataType": "String", "StringValue": "eu-west-1"},
            "hostname": {"DataType": "String", "StringValue": hostile},
            "job_submission_time": {"DataType": "Number", "StringValue": "1764770000123"},
        }}),
    )
    .expect("send with attributes");
    let got = receive_asking(&mut c, &url, &ReceiveExtras::default(), 10, &["All"]);
    assert_eq!(got.len(), 1);
    let mut attrs: Vec<(String, String)> = got[0]
        .message_attributes
        .iter()
        .map(|a| (a.name.to_string(), a.value.clone()))
        .collect();
    attrs.sort();
    assert_eq!(
        attrs,
        vec![
            ("hostname".to_string(), hostile.to_string()),
            (
                "job_submission_time".to_string(),
                "1764770000123".to_string()
            ),
            ("region".to_string(), "eu-west-1".to_string()),
        ]
    );
    // Not asked for: none come back.
    c.call_json(
        "SendMessage",
        Some(&url),
        &json!({"QueueUrl": url, "MessageBody": "second",
            "MessageAttributes": {"region": {"DataType": "String", "StringValue": "x"}}}),
    )
    .expect("send");
    let got = receive(&mut c, &url, &ReceiveExtras::default(), 10);
    assert_eq!(got.len(), 1);
    assert!(got[0].message_attributes.is_empty(), "{got:?}");
}

fn fifo_queue(c: &mut SqsClient, prefix: &str) -> String {
    let name = format!("{}.fifo", edge_tests::unique_name(prefix));
    c.create_queue(
        &name,
        &[("FifoQueue", "true"), ("ContentBasedDeduplication", "true")],
    )
    .expect("create fifo queue")
}

fn send_fifo(c: &mut SqsClient, url: &str, group: &str, body: &str) {
    c.call_json(
        "SendMessage",
        Some(url),
        &json!({"QueueUrl": url, "MessageBody": body, "MessageGroupId": group}),
    )
    .expect("send fifo");
}

fn fifo_receive_names_group_and_sequence(protocol: Protocol) {
    let mut c = client(protocol);
    let url = fifo_queue(&mut c, "sigv4-fifo");
    for i in 0..3 {
        send_fifo(&mut c, &url, "sensor-a", &format!("a{i}"));
    }
    let got = receive(&mut c, &url, &ReceiveExtras::default(), 10);
    let bodies: Vec<&str> = got.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["a0", "a1", "a2"], "FIFO order within the group");
    let mut last = 0u128;
    for m in &got {
        assert_eq!(m.attribute("MessageGroupId"), Some("sensor-a"), "{m:?}");
        let seq: u128 = m
            .attribute("SequenceNumber")
            .and_then(|s| s.parse().ok())
            .expect("SequenceNumber");
        assert!(seq > last, "sequence numbers grow");
        last = seq;
    }
}

/// The attempt id goes on the wire and is accepted on a FIFO queue. That a retry with the
/// same id returns the same messages is SQS's side (AWS API reference, ReceiveMessage,
/// ReceiveRequestAttemptId); LocalStack accepts the parameter but does not implement that
/// deduplication, so only its acceptance and our input check are asserted here.
fn fifo_receive_accepts_an_attempt_id(protocol: Protocol) {
    let mut c = client(protocol);
    let url = fifo_queue(&mut c, "sigv4-attempt");
    for i in 0..2 {
        send_fifo(&mut c, &url, &format!("g{i}"), &format!("m{i}"));
    }
    let extras = ReceiveExtras {
        attempt_id: Some(edge_tests::unique_name("attempt")),
    };
    let first = receive(&mut c, &url, &extras, 10);
    assert!(!first.is_empty());
    // A bad attempt id is refused before any I/O.
    for bad in ["has space", "", &"x".repeat(129)] {
        let bad = ReceiveExtras {
            attempt_id: Some(bad.to_string()),
        };
        let e = c
            .receive_message_with(&url, &ReceiveOptions::default(), &bad)
            .expect_err("bad attempt id");
        assert!(e.to_string().contains("attempt id"), "{e}");
    }
}
