//! Workers' own SQS connections (`--worker-connections`, proxy/src/direct.rs): against
//! LocalStack they carry the batches and what they answer is in the queue; what SQS fails
//! for a reason worth a retry goes on to the forwarders, which retry it; what SQS refuses as
//! the sender's fault is answered 400 at once; over https they speak TLS themselves,
//! trusting `AWS_CA_BUNDLE`; `--worker-connections 0` leaves every batch to the forwarders.
mod util;

use edge_tests::net;
use serde_json::json;
use util::{multiset, sensor_body, Behaviour, Proxy, Queue, Stub, TlsStub};

/// The queue of the tests whose SQS is a stub (`--endpoint-url` says where requests go).
const STUBBED_QUEUE: &str = "https://sqs.us-east-1.amazonaws.com/000000000000/stubbed";

/// Sends `n` messages one after another; all must be answered 200.
fn send_accepted(proxy: &Proxy, host: &str, n: u64) -> Vec<String> {
    (1..=n)
        .map(|seq| {
            let body = sensor_body(host, 1, seq);
            let resp = proxy.send(&body);
            assert_eq!(resp.status, 200, "{}", resp.body_text());
            body
        })
        .collect()
}

fn assert_in_queue(queue: &mut Queue, sent: &[String]) {
    let got = queue.receive_exactly(sent.len());
    let got = multiset(got.iter().map(|m| m.body.as_str()));
    for body in sent {
        assert!(
            got.contains_key(body),
            "answered 200 but not in SQS: {body}"
        );
    }
}

#[test]
fn workers_carry_the_batches_while_sqs_is_healthy() {
    let mut queue = Queue::new("proxy-worker-conns");
    let proxy = Proxy::start(&queue.url, &queue.endpoint, &["--workers", "2"]);
    let sent = send_accepted(&proxy, "direct", 20);
    let calls = proxy.metric("proxy_sqs_calls_total");
    assert!(calls >= 1.0);
    assert_eq!(
        proxy.metric("proxy_sqs_calls_by_workers_total"),
        calls,
        "a healthy standard queue over http: every call from a worker"
    );
    assert_eq!(proxy.metric("proxy_messages_forwarded_total"), 20.0);
    assert_in_queue(&mut queue, &sent);
}

#[test]
fn worker_connections_0_leaves_every_batch_to_the_forwarders() {
    let mut queue = Queue::new("proxy-worker-conns-off");
    let proxy = Proxy::start(
        &queue.url,
        &queue.endpoint,
        &["--workers", "2", "--worker-connections", "0"],
    );
    let sent = send_accepted(&proxy, "forwarded", 5);
    assert!(proxy.metric("proxy_sqs_calls_total") >= 1.0);
    assert_eq!(proxy.metric("proxy_sqs_calls_by_workers_total"), 0.0);
    assert_in_queue(&mut queue, &sent);
}

/// A SendMessageBatch answer failing the batch's first entry (AWS SQS API Reference,
/// SendMessageBatch: `Failed` lists `BatchResultErrorEntry` items with `SenderFault`). The
/// stub gives every request the same answer, so it also carries what the proxy's
/// GetQueueAttributes at start reads (each reader skips the other's fields).
fn failing_answer(code: &str, sender_fault: bool) -> &'static [u8] {
    stub_answer(&json!({
        "Attributes": {"MaximumMessageSize": "262144"},
        "Successful": [],
        "Failed": [{"Id": "0", "Code": code, "Message": "from the test",
                    "SenderFault": sender_fault}],
    }))
}

/// `body` as a 200 answer, kept for the stub's lifetime (the test's).
fn stub_answer(body: &serde_json::Value) -> &'static [u8] {
    let body = body.to_string();
    let answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    Box::leak(answer.into_bytes().into_boxed_slice())
}

/// A proxy whose SQS is a stub giving every request `answer`, and its answer to one message,
/// which must have `status` and mention `mentions`.
fn one_message_against(answer: &'static [u8], status: u16, mentions: &str) -> (Proxy, Stub) {
    let sqs = Stub::start(Behaviour::Answer(answer));
    let proxy = Proxy::start(STUBBED_QUEUE, &sqs.url(), &[]);
    let resp = proxy.send(&sensor_body("stubbed", 1, 1));
    let text = resp.body_text();
    assert_eq!(resp.status, status, "{text}");
    assert!(text.contains(mentions), "{text}");
    (proxy, sqs)
}

#[test]
fn an_entry_failed_for_a_retryable_reason_is_retried_by_the_forwarders() {
    // The stub fails it every time: after the forwarders' retries, 503.
    let answer = failing_answer("InternalError", false);
    let (proxy, _sqs) = one_message_against(answer, 503, "InternalError");
    assert_eq!(proxy.metric("proxy_sqs_calls_by_workers_total"), 1.0);
    assert_eq!(
        proxy.metric("proxy_sqs_calls_total"),
        1.0 + 4.0,
        "the worker's call, then the forwarder's first call and its 3 retries"
    );
    assert_eq!(proxy.metric("proxy_sqs_retries_total"), 3.0);
}

#[test]
fn an_entry_refused_as_the_senders_fault_is_answered_400_without_a_retry() {
    let answer = failing_answer("InvalidMessageContents", true);
    let (proxy, _sqs) = one_message_against(answer, 400, "InvalidMessageContents");
    assert_eq!(proxy.metric("proxy_sqs_calls_total"), 1.0);
    assert_eq!(proxy.metric("proxy_sqs_calls_by_workers_total"), 1.0);
    assert_eq!(proxy.metric("proxy_messages_refused_by_sqs_total"), 1.0);
}

/// Every request's answer: the queue's attributes (for the start) and entry "0" sent.
fn accepting_answer() -> &'static [u8] {
    stub_answer(&json!({
        "Attributes": {"MaximumMessageSize": "262144"},
        "Successful": [{"Id": "0", "MessageId": "over-tls", "MD5OfMessageBody": "-"}],
    }))
}

#[test]
fn over_https_workers_speak_tls_themselves_trusting_aws_ca_bundle() {
    let sqs = TlsStub::start(accepting_answer());
    let endpoint = format!("https://127.0.0.1:{}", sqs.addr.port());
    let ca = edge_tests::tls::fixture("test-ca.pem");
    let ca = ca.to_str().expect("utf-8 path");
    let bundle = [("AWS_CA_BUNDLE", ca)];
    let proxy = Proxy::start_with(net::free_port(), STUBBED_QUEUE, &endpoint, &[], &bundle);
    for seq in 1..=5 {
        let resp = proxy.send(&sensor_body("tls", 1, seq));
        assert_eq!(resp.status, 200, "{}", resp.body_text());
        assert_eq!(resp.json()["message_id"], "over-tls");
    }
    assert_eq!(
        proxy.metric("proxy_sqs_calls_by_workers_total"),
        proxy.metric("proxy_sqs_calls_total")
    );
    assert!(sqs.sessions() >= 1);

    // Without the bundle the certificate is not trusted, by the workers or the forwarders.
    let untrusting = Proxy::start(STUBBED_QUEUE, &endpoint, &[]);
    let resp = untrusting.send(&sensor_body("tls", 2, 1));
    assert_eq!(resp.status, 503, "{}", resp.body_text());
    assert!(
        resp.body_text().contains("certificate"),
        "{}",
        resp.body_text()
    );
    assert!(untrusting.metric("proxy_sqs_errors_total") >= 1.0);
}
