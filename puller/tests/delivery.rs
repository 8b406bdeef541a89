//! Delivery against LocalStack: bodies reach the sink byte-for-byte and leave the queue;
//! bodies that are not sensor messages are delivered and counted, or, with
//! `--require-schema`, dead-lettered with the reason — never dropped silently.
mod util;

use util::{bodies, multiset, records, scratch, sensor_body, Queue};

/// Bodies that break naive handling: XML and JSON specials, entities, unicode beyond the
/// BMP, tabs, CR/LF, surrounding spaces, a long body.
fn tricky_bodies() -> Vec<String> {
    vec![
        sensor_body("exec-a", "edge-us-1", "us", 1),
        "<tag attr=\"x\">&amp; &lt; ]]> &#x41;</tag>".to_string(),
        "  leading and trailing spaces  ".to_string(),
        "line one\nline two\r\nline three\ttab".to_string(),
        "quotes \" ' backslash \\ slash / percent %20 plus + equals = amp &".to_string(),
        "unicode: é ß 日本語 🚀📡💡 \u{10FFFF}".to_string(),
        "{\"nested\": {\"json\": [1, 2, {\"x\": null}]}}".to_string(),
        "x".repeat(200_000),
    ]
}

#[test]
fn messages_arrive_byte_for_byte_and_are_gone_from_the_queue() {
    let mut queue = Queue::new("puller-bytes");
    let sent = tricky_bodies();
    queue.send_all(&sent);
    let dir = scratch("puller-bytes");
    let sink = dir.join("out.jsonl");
    let sink_arg = format!("jsonl:{}", sink.display());
    queue.drain(&["--sink", &sink_arg, "--fsync"], 2);

    let delivered = records(&sink);
    assert_eq!(
        multiset(&bodies(&delivered)),
        multiset(&sent),
        "sink holds exactly what was sent"
    );
    for record in &delivered {
        assert!(
            record["message_id"]
                .as_str()
                .is_some_and(|id| !id.is_empty()),
            "{record}"
        );
        assert!(
            record["received_at"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z')),
            "{record}"
        );
    }
    queue.assert_empty();
}

#[test]
fn stdout_json_lines_carry_the_same_bytes() {
    let mut queue = Queue::new("puller-stdout");
    let sent = tricky_bodies();
    queue.send_all(&sent);
    // stdout is a pipe here, so --format auto must pick json.
    let output = queue.drain(&[], 2);
    let text = String::from_utf8(output.stdout).expect("stdout is UTF-8");
    let delivered = util::records_in(&text);
    assert_eq!(multiset(&bodies(&delivered)), multiset(&sent));
    queue.assert_empty();
}

#[test]
fn non_json_and_schema_less_bodies_are_delivered_and_counted() {
    let mut queue = Queue::new("puller-odd");
    let sent: Vec<String> = vec![
        "plain text, not JSON".to_string(),
        "{\"truncated\": ".to_string(),
        "{\"temperature\": 21.5}".to_string(),
        "[1, 2, 3]".to_string(),
        sensor_body("exec-b", "edge-eu-1", "eu", 1),
    ];
    queue.send_all(&sent);
    let dir = scratch("puller-odd");
    let (sink, report) = (dir.join("out.jsonl"), dir.join("report.json"));
    let sink_arg = format!("jsonl:{}", sink.display());
    let report_arg = report.display().to_string();
    let output = queue.drain(&["--sink", &sink_arg, "--report-json", &report_arg], 2);

    assert_eq!(
        multiset(&bodies(&records(&sink))),
        multiset(&sent),
        "all five delivered"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("report written")).expect("json");
    assert_eq!(report["messages"], 5);
    assert_eq!(report["non_json"], 2);
    assert_eq!(report["schema_less"], 2);
    assert_eq!(report["instances"].as_array().map(Vec::len), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("non-JSON 2, schema-less 2"),
        "final report counts them:\n{stderr}"
    );
    queue.assert_empty();
}

#[test]
fn require_schema_dead_letters_refused_bodies_with_the_reason() {
    let mut queue = Queue::new("puller-dlq");
    let good = sensor_body("exec-c", "edge-as-1", "as", 1);
    let sent = vec![
        good.clone(),
        "not json at all".to_string(),
        "{\"a\": 1}".to_string(),
    ];
    queue.send_all(&sent);
    let dir = scratch("puller-dlq");
    let (sink, dead) = (dir.join("out.jsonl"), dir.join("dead.jsonl"));
    let sink_arg = format!("jsonl:{}", sink.display());
    let dead_arg = dead.display().to_string();
    // --max-receives 1: the first refusal is already the last one.
    let args = [
        "--sink",
        &sink_arg,
        "--require-schema",
        "--max-receives",
        "1",
        "--dead-letter",
        &dead_arg,
    ];
    queue.drain(&args, 2);

    assert_eq!(
        bodies(&records(&sink)),
        vec![good],
        "only the sensor message reaches the sink"
    );
    let dead_letters = records(&dead);
    let mut by_body: Vec<(String, String)> = dead_letters
        .iter()
        .map(|r| {
            (
                r["body"].as_str().unwrap_or("").into(),
                r["reason"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    by_body.sort();
    assert_eq!(by_body.len(), 2, "{dead_letters:?}");
    assert_eq!(by_body[0].0, "not json at all");
    assert!(by_body[0].1.starts_with("not JSON"), "{:?}", by_body[0]);
    assert_eq!(by_body[1].0, "{\"a\": 1}");
    assert!(
        by_body[1].1.contains("field 'sequence' is missing"),
        "{:?}",
        by_body[1]
    );
    queue.assert_empty();
}

#[test]
fn refused_messages_stay_queued_until_the_receive_threshold() {
    let mut queue = Queue::new("puller-retry");
    queue.send_all(&["not json".to_string()]);
    let dir = scratch("puller-retry");
    let dead = dir.join("dead.jsonl");
    let dead_arg = dead.display().to_string();
    // Visibility 1 s so redeliveries come quickly; three receives are needed.
    let args = [
        "--require-schema",
        "--max-receives",
        "3",
        "--visibility-timeout",
        "1",
        "--dead-letter",
        &dead_arg,
    ];
    let output = queue.drain(&args, 4);
    let dead_letters = records(&dead);
    assert_eq!(dead_letters.len(), 1, "{dead_letters:?}");
    assert_eq!(
        dead_letters[0]["receive_count"], 3,
        "dead-lettered on the third receive"
    );
    assert!(output.stdout.is_empty(), "nothing delivered to the sink");
    queue.assert_empty();
}

#[test]
fn sink_write_failure_leaves_messages_for_redelivery_then_dead_letters_them() {
    let mut queue = Queue::new("puller-full");
    let sent = vec![
        sensor_body("exec-d", "edge-us-9", "us", 1),
        "second".to_string(),
    ];
    queue.send_all(&sent);
    let dir = scratch("puller-full");
    let (dead, report) = (dir.join("dead.jsonl"), dir.join("report.json"));
    let (dead_arg, report_arg) = (dead.display().to_string(), report.display().to_string());
    // /dev/full opens fine and fails every write with ENOSPC: a sink that cannot accept.
    let args = [
        "--sink",
        "jsonl:/dev/full",
        "--max-receives",
        "2",
        "--visibility-timeout",
        "1",
        "--dead-letter",
        &dead_arg,
        "--report-json",
        &report_arg,
    ];
    queue.drain(&args, 4);
    let dead_letters = records(&dead);
    assert_eq!(
        multiset(&bodies(&dead_letters)),
        multiset(&sent),
        "both dead-lettered, not lost"
    );
    for record in &dead_letters {
        assert_eq!(
            record["receive_count"], 2,
            "first failure left it queued: {record}"
        );
        let reason = record["reason"].as_str().unwrap_or_default();
        assert!(reason.starts_with("sink write failed"), "{reason}");
    }
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("report")).expect("json");
    assert_eq!(report["messages"], 0, "nothing counted as delivered");
    assert_eq!(report["dead_lettered"], 2);
    assert!(
        report["sink_failures"].as_u64().is_some_and(|n| n >= 2),
        "{report}"
    );
    queue.assert_empty();
}
