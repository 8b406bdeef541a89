//! A puller on AWS uses the platform's credentials: with no keys in its environment it gets
//! them from the container credentials endpoint (ECS, EKS Pod Identity; a stand-in on
//! 127.0.0.1 here) and drains the queue with them.
mod util;

use std::time::Duration;

use edge_tests::stand_in::StandIn;
use util::{bodies, records, scratch, Queue};

#[test]
fn drains_with_credentials_from_the_container_endpoint() {
    let endpoint = StandIn::start(|req, _| match req.header("authorization") {
        Some("pod-identity-token") => (
            200,
            // LocalStack accepts any key; what matters is that these are the ones used.
            format!(
                r#"{{"AccessKeyId":"test","SecretAccessKey":"test","Token":"platform-token","Expiration":"{}"}}"#,
                edge_tests::stand_in::rfc3339(
                    std::time::SystemTime::now() + Duration::from_secs(3600)
                )
            ),
        ),
        _ => (401, String::new()),
    });
    let mut queue = Queue::new("puller-platform-creds");
    let sent: Vec<String> = (0..3).map(|i| format!("platform message {i}")).collect();
    queue.send_all(&sent);
    let dir = scratch("puller-platform-creds");
    let sink = dir.join("out.jsonl");
    let output = queue
        .puller(&[
            "--sink",
            &format!("jsonl:{}", sink.display()),
            "--exit-when-idle",
            "2",
            "--wait-seconds",
            "1",
        ])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env("HOME", dir.join("no-home"))
        .env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            endpoint.url("/v1/credentials"),
        )
        .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", "pod-identity-token")
        .output()
        .expect("run puller");
    assert!(
        output.status.success(),
        "{:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let mut got = bodies(&records(&sink));
    got.sort();
    assert_eq!(got, sent);
    assert!(!endpoint.seen().is_empty(), "the endpoint was asked");
    queue.assert_empty();
}
