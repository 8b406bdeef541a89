//! A FIFO receive that failed is retried with the same ReceiveRequestAttemptId, so SQS
//! answers it with the messages of the lost answer (AWS API reference, ReceiveMessage:
//! "ReceiveRequestAttemptId ... If a networking issue occurs after a ReceiveMessage action,
//! and instead of a response you receive a generic error, it is possible to retry the same
//! action with an identical ReceiveRequestAttemptId to retrieve the same set of messages").
//! LocalStack accepts the id but does not implement that, so the queue here is a local
//! stand-in speaking AWS JSON 1.0 that fails the first receive with a 500 and records what
//! each receive asked for.
mod util;

use serde_json::{json, Value};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};
use util::PULLER;

type Log = Arc<Mutex<Vec<Value>>>;

fn start() -> (Log, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let log: Log = Arc::default();
    let shared = Arc::clone(&log);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let log = Arc::clone(&shared);
            std::thread::spawn(move || serve(stream, &log));
        }
    });
    (log, port)
}

fn serve(stream: TcpStream, log: &Mutex<Vec<Value>>) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = http1::MessageReader::new(stream);
    while let Some((target, body)) = edge_tests::sqs::next_json_request(&mut reader) {
        let (status, answer) = match target.as_str() {
            "AmazonSQS.GetQueueAttributes" => (
                200,
                json!({"Attributes": {"FifoQueue": "true", "VisibilityTimeout": "30"}}),
            ),
            "AmazonSQS.ReceiveMessage" => {
                let n = {
                    let mut log = log.lock().expect("lock");
                    log.push(body);
                    log.len()
                };
                match n {
                    1 => (500, json!({"__type": "InternalError", "message": "lost"})),
                    2 => (
                        200,
                        json!({"Messages": [{
                        "MessageId": "m-1", "ReceiptHandle": "r-1", "Body": "hello",
                        "MD5OfBody": "",
                        "Attributes": {"MessageGroupId": "g", "SequenceNumber": "1",
                                       "ApproximateReceiveCount": "1"}}]}),
                    ),
                    _ => (200, json!({})),
                }
            }
            "AmazonSQS.DeleteMessageBatch" | "AmazonSQS.ChangeMessageVisibilityBatch" => {
                (200, edge_tests::sqs::all_successful(&body))
            }
            _ => (400, json!({"__type": "InvalidAction", "message": "?"})),
        };
        if edge_tests::sqs::write_json_answer(&mut writer, status, &answer).is_err() {
            return;
        }
    }
}

#[test]
fn a_failed_fifo_receive_is_retried_with_the_same_attempt_id() {
    let (log, port) = start();
    let endpoint = format!("http://127.0.0.1:{port}");
    let out = Command::new(PULLER)
        .args(["--queue-url", &format!("{endpoint}/000000000000/q.fifo")])
        .args(["--endpoint-url", &endpoint, "--concurrency", "1"])
        .args(["--wait-seconds", "0", "--exit-when-idle", "1"])
        .args(["--summary-interval", "0", "--format", "json"])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("SQS_PROTOCOL")
        .env_remove("NUM_WORKERS")
        .output()
        .expect("run puller");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let record: Value =
        serde_json::from_str(stdout.lines().next().expect("one record")).expect("json record");
    assert_eq!(record["body"], "hello");
    assert_eq!(record["message_group_id"], "g");
    assert_eq!(record["sequence_number"], "1");
    let receives = log.lock().expect("lock").clone();
    assert!(receives.len() >= 3, "{receives:?}");
    let id = |n: usize| {
        receives[n]["ReceiveRequestAttemptId"]
            .as_str()
            .map(str::to_string)
    };
    assert!(id(0).is_some(), "{:?}", receives[0]);
    assert_eq!(
        id(0),
        id(1),
        "the retry repeats the failed receive's attempt id"
    );
    assert!(
        id(2).is_some() && id(2) != id(1),
        "a fresh id after an answer"
    );
    let names = &receives[0]["MessageSystemAttributeNames"];
    for name in ["MessageGroupId", "SequenceNumber"] {
        assert!(
            names
                .as_array()
                .is_some_and(|a| a.iter().any(|v| v == name)),
            "{names}"
        );
    }
    assert_eq!(receives[0]["MessageAttributeNames"], json!(["All"]));
}
