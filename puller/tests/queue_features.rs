//! Queue features against LocalStack with the real puller process: message attributes in the
//! json output, FIFO order per message group across concurrent pollers (a message behind a
//! refused one of its group is not delivered ahead of it), and a queue's RedrivePolicy
//! taking poison messages to its SQS dead-letter queue instead of the local file.
mod util;

use serde_json::json;
use std::collections::BTreeMap;
use util::{records, scratch, sensor_body, Queue};

fn send_raw(queue: &mut Queue, request: serde_json::Value) {
    queue
        .client
        .call_json("SendMessage", Some(&queue.url.clone()), &request)
        .expect("send");
}

#[test]
fn json_output_shows_message_attributes_exactly() {
    let mut queue = Queue::new("puller-attrs");
    // SQS refuses control characters other than tab/LF/CR in attribute values.
    let hostile = "edge-\u{202e}-\"quoted\" <&> 🚀\ttab";
    let url = queue.url.clone();
    send_raw(
        &mut queue,
        json!({"QueueUrl": url, "MessageBody": sensor_body("e-attr", "edge-attr", "eu", 1),
        "MessageAttributes": {
            "region": {"DataType": "String", "StringValue": "eu-west-1"},
            "hostname": {"DataType": "String", "StringValue": hostile},
            "job_submission_time": {"DataType": "Number", "StringValue": "1764770000123"},
            "proxy_region": {"DataType": "String", "StringValue": "eu-central-1"},
        }}),
    );
    send_raw(
        &mut queue,
        json!({"QueueUrl": url, "MessageBody": "no attributes"}),
    );
    let sink = scratch("puller-attrs").join("out.jsonl");
    queue.drain(&["--sink", &format!("jsonl:{}", sink.display())], 2);
    let delivered = records(&sink);
    assert_eq!(delivered.len(), 2);
    let with = delivered
        .iter()
        .find(|r| r.get("attributes").is_some())
        .expect("a record with attributes");
    assert_eq!(
        with["attributes"],
        json!({"region": "eu-west-1", "hostname": hostile,
               "job_submission_time": "1764770000123", "proxy_region": "eu-central-1"})
    );
    let without = delivered
        .iter()
        .find(|r| r["body"] == "no attributes")
        .expect("plain record");
    assert!(without.get("attributes").is_none(), "{without}");
    queue.assert_empty();
}

#[test]
fn fifo_groups_arrive_in_order_across_pollers_and_wait_behind_a_refusal() {
    let name = format!("{}.fifo", edge_tests::unique_name("puller-fifo"));
    let endpoint = edge_tests::localstack::require();
    let mut client = edge_tests::sqs::client(&endpoint);
    let url = client
        .create_queue(
            &name,
            &[("FifoQueue", "true"), ("ContentBasedDeduplication", "true")],
        )
        .expect("create fifo queue");
    let mut queue = Queue {
        endpoint,
        url: url.clone(),
        client,
    };
    let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for seq in 1..=12u64 {
        for group in ["g-a", "g-b", "g-c"] {
            // In g-a the fourth message is poison: refused (not a sensor message) until it
            // is dead-lettered; the messages after it must still come after it.
            let body = if group == "g-a" && seq == 4 {
                "poison in g-a".to_string()
            } else {
                sensor_body(&format!("exec-{group}"), group, "us", seq)
            };
            if body != "poison in g-a" {
                expected
                    .entry(group.to_string())
                    .or_default()
                    .push(body.clone());
            }
            send_raw(
                &mut queue,
                json!({"QueueUrl": url, "MessageBody": body, "MessageGroupId": group}),
            );
        }
    }
    let dir = scratch("puller-fifo");
    let sink = dir.join("out.jsonl");
    let dead = dir.join("dead.jsonl");
    let report = dir.join("report.json");
    queue.drain(
        &[
            "--sink",
            &format!("jsonl:{}", sink.display()),
            "--dead-letter",
            &dead.display().to_string(),
            "--report-json",
            &report.display().to_string(),
            "--require-schema",
            "--max-receives",
            "2",
            "--visibility-timeout",
            "1",
            "--concurrency",
            "4",
        ],
        4,
    );
    let mut got: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in records(&sink) {
        let group = r["message_group_id"].as_str().expect("message_group_id");
        assert!(r["sequence_number"].as_str().is_some(), "{r}");
        got.entry(group.to_string())
            .or_default()
            .push(r["body"].as_str().expect("body").to_string());
    }
    assert_eq!(got, expected, "each group complete, once, in send order");
    let dead_text = std::fs::read_to_string(&dead).expect("dead-letter file");
    assert_eq!(dead_text.lines().count(), 1, "{dead_text}");
    assert!(dead_text.contains("poison in g-a"));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    assert_eq!(report["duplicates"], 0, "{report}");
    // SQS hands out a group's messages together, so the poison and the g-a messages after
    // it share a receive: those were held back, and reached the sink only after the poison
    // was dead-lettered (RFC 3339 UTC with milliseconds compares as text).
    assert!(report["held_back"].as_u64().unwrap_or(0) > 0, "{report}");
    let dead_at: serde_json::Value = serde_json::from_str(dead_text.trim()).expect("json");
    let dead_at = dead_at["dead_lettered_at"]
        .as_str()
        .expect("dead_lettered_at");
    let fifth = records(&sink)
        .into_iter()
        .find(|r| r["body"] == expected["g-a"][3].as_str())
        .expect("g-a's fifth message");
    let fifth_at = fifth["received_at"].as_str().expect("received_at");
    assert!(
        fifth_at >= dead_at,
        "{fifth_at} before the poison's {dead_at}"
    );
    queue.assert_empty();
}

#[test]
fn a_redrive_policy_takes_poison_messages_to_the_sqs_dead_letter_queue() {
    let mut dlq = Queue::new("puller-dlq");
    let dlq_arn = dlq
        .client
        .get_queue_attributes(&dlq.url, &["QueueArn"])
        .expect("dlq arn")
        .into_iter()
        .find(|(k, _)| k == "QueueArn")
        .map(|(_, v)| v)
        .expect("QueueArn");
    let policy = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}).to_string();
    let mut queue = Queue::with_attributes("puller-redrive", &[("RedrivePolicy", &policy)]);
    let good = sensor_body("exec-r", "edge-r", "us", 1);
    queue.send_all(&["poison: not a sensor message".to_string(), good.clone()]);
    let dir = scratch("puller-redrive");
    let sink = dir.join("out.jsonl");
    let dead = dir.join("dead.jsonl");
    let report = dir.join("report.json");
    let output = queue.drain(
        &[
            "--sink",
            &format!("jsonl:{}", sink.display()),
            "--dead-letter",
            &dead.display().to_string(),
            "--report-json",
            &report.display().to_string(),
            "--require-schema",
            "--max-receives",
            "1",
            "--visibility-timeout",
            "1",
        ],
        5,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("RedrivePolicy"), "{stderr}");
    assert!(stderr.contains("ApproximateReceiveCount 1"), "{stderr}");
    assert!(stderr.contains("ApproximateReceiveCount 2"), "{stderr}");
    let delivered = records(&sink);
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0]["body"], good.as_str());
    assert!(
        !dead.exists(),
        "no local dead letters with a RedrivePolicy (even with --max-receives 1)"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    assert_eq!(report["left_for_redrive"], 2, "{report}");
    assert_eq!(report["dead_lettered"], 0, "{report}");
    queue.assert_empty();
    let moved = dlq
        .client
        .receive_message(
            &dlq.url,
            &sigv4::sqs::ReceiveOptions {
                max_messages: 10,
                wait_seconds: 2,
                visibility_timeout: None,
                system_attributes: Vec::new(),
                message_attributes: Vec::new(),
            },
        )
        .expect("receive from dlq");
    let bodies: Vec<&str> = moved.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["poison: not a sensor message"]);
}
