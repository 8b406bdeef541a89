//! Message attributes (`--attributes`, `--proxy-region`) as SQS stores them, and the queue's
//! MaximumMessageSize: read at start, 413 naming it, batches that never exceed it. Real
//! binary, LocalStack; flags refused with exit 2, a queue that cannot be read with exit 1.
mod util;

use edge_tests::net;
use edge_tests::process::output_within;
use sigv4::sqs::{Message, MessageAttribute, ReceiveOptions, SqsClient};
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use util::{sensor_body, sqs_client, Proxy, START_CHECK};

fn queue(prefix: &str, attributes: &[(&str, &str)]) -> (String, String, SqsClient) {
    let endpoint = edge_tests::localstack::require();
    let mut client = sqs_client(&endpoint);
    let url = client
        .create_queue(&edge_tests::unique_name(prefix), attributes)
        .expect("create queue");
    (url, endpoint, client)
}

/// Receives `want` messages with their message attributes (bounded wait, no sleeps).
fn receive(client: &mut SqsClient, url: &str, want: usize) -> Vec<Message> {
    let options = ReceiveOptions {
        max_messages: 10,
        wait_seconds: 1,
        visibility_timeout: Some(600),
        system_attributes: vec![],
        message_attributes: vec!["All".into()],
    };
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.len() < want && Instant::now() < deadline {
        got.extend(client.receive_message(url, &options).expect("receive"));
    }
    got
}

fn sorted(mut attributes: Vec<MessageAttribute>) -> Vec<MessageAttribute> {
    attributes.sort_by(|a, b| a.name.cmp(&b.name));
    attributes
}

#[test]
fn the_four_attributes_by_default_a_chosen_few_or_none() {
    let body = sensor_body("edge-7", 1711449600, 3);
    let expect_all = sorted(vec![
        MessageAttribute::string("hostname", "edge-7"),
        MessageAttribute::number("job_submission_time", "1711449600"),
        MessageAttribute::string("proxy_region", "eu-edge"),
        MessageAttribute::string("region", "us"),
    ]);
    for (args, want) in [
        (&["--proxy-region", "eu-edge"][..], expect_all),
        (
            &["--attributes", "hostname,proxy_region"][..],
            sorted(vec![
                MessageAttribute::string("hostname", "edge-7"),
                // Without --proxy-region: the region the proxy signs for.
                MessageAttribute::string("proxy_region", "us-east-1"),
            ]),
        ),
        (&["--attributes", "off"][..], vec![]),
    ] {
        let (url, endpoint, mut client) = queue("proxy-attrs", &[]);
        let proxy = Proxy::start(&url, &endpoint, args);
        let r = proxy.send(&body);
        assert_eq!(r.status, 200, "{}", r.body_text());
        let got = receive(&mut client, &url, 1);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].body, body, "the body is untouched");
        assert_eq!(sorted(got[0].message_attributes.clone()), want, "{args:?}");
    }
}

/// A JSON body of exactly `size` bytes for host `host`.
fn body_of_size(host: &str, size: usize) -> String {
    let head = format!("{{\"hostname\":\"{host}\",\"job_submission_time\":1,\"pad\":\"");
    let pad = size - head.len() - 2;
    format!("{head}{}\"}}", "x".repeat(pad))
}

#[test]
fn bodies_near_the_queue_limit_are_batched_within_it_and_larger_ones_get_413() {
    let limit = 262_144;
    let (url, endpoint, mut client) =
        queue("proxy-size", &[("MaximumMessageSize", &limit.to_string())]);
    // A long linger so that the bodies wait together: only the byte limit splits them.
    let proxy = Proxy::start(&url, &endpoint, &["--linger-ms", "500"]);
    let addr = proxy.addr;
    // Each fits with its attributes (under 200 bytes here); any two exceed the limit.
    let bodies: Vec<String> = (0..4)
        .map(|i| body_of_size(&format!("big-{i}"), limit - 300))
        .collect();
    let senders: Vec<_> = bodies
        .iter()
        .cloned()
        .map(|b| {
            std::thread::spawn(move || {
                net::request(addr, "POST", "/send", &[], b.as_bytes()).expect("POST")
            })
        })
        .collect();
    for s in senders {
        let r = s.join().expect("sender");
        assert_eq!(r.status, 200, "no BatchRequestTooLong: {}", r.body_text());
    }
    let got = receive(&mut client, &url, bodies.len());
    assert_eq!(got.len(), bodies.len());
    // LocalStack takes a batch over the queue's limit; real SQS refuses it whole with
    // BatchRequestTooLong (AWS SQS API Reference, SendMessageBatch). So the batches are
    // checked here: each body went alone although all four waited together.
    assert_eq!(proxy.metric("proxy_batch_size_count"), 4.0);
    assert_eq!(proxy.metric("proxy_batch_size_sum"), 4.0);

    // Over the limit by its body: refused before it is read, naming the limit.
    let r = proxy.send(&body_of_size("over", limit + 1));
    assert_eq!(r.status, 413);
    assert!(r.body_text().contains("262144"), "{}", r.body_text());
    // Within it by its body, over it with its attributes.
    let r = proxy.send(&body_of_size("edge-1", limit - 10));
    assert_eq!(r.status, 413);
    assert!(
        r.body_text().contains("262144 byte limit") && r.body_text().contains("attributes"),
        "{}",
        r.body_text()
    );
    // Without attributes the same body fits.
    let bare = Proxy::start(&url, &endpoint, &["--attributes", "off"]);
    assert_eq!(bare.send(&body_of_size("edge-1", limit - 10)).status, 200);
}

/// The proxy run with `args`, expected to stop at start.
fn run(args: &[&str]) -> Output {
    let mut proxy = Command::new(env!("CARGO_BIN_EXE_proxy"));
    proxy
        .args([
            "--bind",
            "127.0.0.1",
            "--port",
            &net::free_port().to_string(),
        ])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("PROXY_REGION");
    output_within(&mut proxy, START_CHECK)
}

#[test]
fn bad_values_exit_2_and_a_queue_that_does_not_exist_exits_1() {
    let q = ["--queue-url", "http://127.0.0.1:9/000000000000/q"];
    for (extra, needle) in [
        (&["--group-by", "sensor"][..], "--group-by"),
        (&["--attributes", "colour"][..], "--attributes"),
        (&["--attributes", ""][..], "--attributes"),
        (&["--proxy-region", ""][..], "--proxy-region"),
    ] {
        let out = run(&[&q[..], extra].concat());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        assert!(err.contains(needle), "{extra:?}: {err}");
    }
    // The queue's attributes cannot be read because it does not exist: a deployment
    // mistake, reported at start.
    let endpoint = edge_tests::localstack::require();
    let missing = format!(
        "http://sqs.us-east-1.localhost.localstack.cloud:4566/000000000000/{}",
        edge_tests::unique_name("proxy-missing")
    );
    let out = run(&["--queue-url", &missing, "--endpoint-url", &endpoint]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("GetQueueAttributes"), "{err}");
}
