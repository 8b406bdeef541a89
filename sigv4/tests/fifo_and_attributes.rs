//! The batch entry's FIFO fields (MessageGroupId, MessageDeduplicationId) and message
//! attributes against LocalStack, once per wire protocol (`json::<name>`, `query::<name>`).
mod on_localstack;
use on_localstack::{client, for_both_protocols};
use std::time::{Duration, Instant};

use sigv4::sqs::{
    BatchEntry, BatchOutcome, ErrorKind, Message, MessageAttribute, Protocol, ReceiveOptions,
    SqsClient, SqsConfig,
};
use sigv4::Credentials;

for_both_protocols!(
    fifo_entries_keep_group_order_and_drop_a_resent_deduplication_id,
    message_attributes_round_trip_when_asked_for,
    malformed_fifo_ids_and_too_many_attributes_are_refused_before_any_io,
);

/// Receives until nothing more comes for one 1-s poll (messages stay hidden for 600 s, so
/// a duplicate would show up as a second copy). In a FIFO queue a group's next message is
/// held back while an earlier one is in flight, so this also needs no deletes.
fn drain(c: &mut SqsClient, queue: &str, attributes: &[&str]) -> Vec<Message> {
    let options = ReceiveOptions {
        max_messages: 10,
        wait_seconds: 1,
        visibility_timeout: Some(600),
        system_attributes: vec!["All".into()],
        message_attributes: attributes.iter().map(|a| a.to_string()).collect(),
    };
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let batch = c.receive_message(queue, &options).expect("receive");
        if batch.is_empty() {
            break;
        }
        got.extend(batch);
    }
    got
}

fn fifo_entries_keep_group_order_and_drop_a_resent_deduplication_id(protocol: Protocol) {
    let mut c = client(protocol);
    let name = format!("{}.fifo", edge_tests::unique_name("sigv4-fifo"));
    let queue = c
        .create_queue(&name, &[("FifoQueue", "true")])
        .expect("create fifo queue");
    let ids = ["0", "1", "2"];
    let bodies = ["g1-first", "g1-second", "g2-only"];
    let groups = ["g1", "g1", "g2"];
    let dedup = ["e-1:1", "e-1:2", "e-2:1"];
    let entries: Vec<BatchEntry> = (0..3)
        .map(|i| BatchEntry {
            id: ids[i],
            body: bodies[i],
            group_id: Some(groups[i]),
            deduplication_id: Some(dedup[i]),
            ..Default::default()
        })
        .collect();
    for round in 0..2 {
        let outcomes = c.send_message_batch(&queue, &entries).expect("send");
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, BatchOutcome::Sent { .. })),
            "round {round}: SQS answers success for a deduplicated resend too: {outcomes:?}"
        );
    }
    let got = drain(&mut c, &queue, &[]);
    let received: Vec<&str> = got.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(
        got.len(),
        3,
        "the resent batch was deduplicated: {received:?}"
    );
    let g1: Vec<&str> = received
        .iter()
        .copied()
        .filter(|b| b.starts_with("g1"))
        .collect();
    assert_eq!(g1, ["g1-first", "g1-second"], "group order kept");
    for m in &got {
        assert!(m.attribute("MessageGroupId").is_some(), "{m:?}");
    }
}

fn message_attributes_round_trip_when_asked_for(protocol: Protocol) {
    let mut c = client(protocol);
    let queue = c
        .create_queue(&edge_tests::unique_name("sigv4-attrs"), &[])
        .expect("create queue");
    let attributes = [
        MessageAttribute::string("hostname", "edge-1 ünïcode"),
        MessageAttribute::string("region", "eu"),
        MessageAttribute::number("job_submission_time", "1711449600"),
    ];
    let entry = BatchEntry {
        id: "a",
        body: "{\"x\":1}",
        attributes: &attributes,
        ..Default::default()
    };
    assert_eq!(
        entry.size(),
        7 + "hostnameString".len()
            + "edge-1 ünïcode".len()
            + "regionStringeu".len()
            + "job_submission_timeNumber1711449600".len()
    );
    let outcomes = c.send_message_batch(&queue, &[entry]).expect("send");
    assert!(
        matches!(outcomes[0], BatchOutcome::Sent { .. }),
        "{outcomes:?}"
    );
    let got = drain(&mut c, &queue, &["All"]);
    assert_eq!(got.len(), 1);
    let mut back = got[0].message_attributes.clone();
    back.sort_by(|a, b| a.name.cmp(&b.name));
    let mut sent = attributes.to_vec();
    sent.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(back, sent);

    // Not asked for: none come back.
    c.send_message_batch(&queue, &[entry]).expect("send");
    let got = drain(&mut c, &queue, &[]);
    assert_eq!(got.len(), 1);
    assert!(got[0].message_attributes.is_empty(), "{got:?}");
}

fn malformed_fifo_ids_and_too_many_attributes_are_refused_before_any_io(protocol: Protocol) {
    // Nothing listens here: an error other than InvalidInput would mean I/O was tried.
    let mut config = SqsConfig::new(
        "us-east-1",
        Some("http://127.0.0.1:9".to_string()),
        Credentials::new("test", "test", None),
    );
    config.protocol = protocol;
    let mut c = SqsClient::new(config);
    let queue = "http://127.0.0.1:9/000000000000/q.fifo";
    let long = "g".repeat(129);
    let eleven: Vec<MessageAttribute> = (0..11)
        .map(|i| MessageAttribute::string(format!("a{i}"), "v"))
        .collect();
    let bad = [
        BatchEntry {
            id: "a",
            body: "x",
            group_id: Some("has space"),
            ..Default::default()
        },
        BatchEntry {
            id: "a",
            body: "x",
            group_id: Some(&long),
            ..Default::default()
        },
        BatchEntry {
            id: "a",
            body: "x",
            deduplication_id: Some(""),
            ..Default::default()
        },
        BatchEntry {
            id: "a",
            body: "x",
            attributes: &eleven,
            ..Default::default()
        },
    ];
    for entry in bad {
        let err = c.send_message_batch(queue, &[entry]).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::InvalidInput(_)),
            "{entry:?}: {err}"
        );
    }
}
