//! The services the tests start on demand answer as the tests need them to (see
//! `edge_tests::service`): LocalStack's SQS takes and returns a message, the moto server's
//! STS issues credentials. Run alone (`cargo test -p edge-tests --test services`) on a machine
//! where neither runs, these start them.
use std::time::Duration;

use sigv4::sqs::ReceiveOptions;

#[test]
fn localstack_sqs_round_trips_a_message() {
    let endpoint = edge_tests::localstack::require();
    let mut client = edge_tests::sqs::client(&endpoint);
    let queue = client
        .create_queue(&edge_tests::unique_name("services"), &[])
        .unwrap();
    client.send_message(&queue, "hello").unwrap();
    let options = ReceiveOptions {
        max_messages: 1,
        wait_seconds: 5,
        ..ReceiveOptions::default()
    };
    let mut got = Vec::new();
    edge_tests::wait_until("the message back", Duration::from_secs(20), || {
        got.extend(client.receive_message(&queue, &options).unwrap());
        !got.is_empty()
    });
    assert_eq!(got[0].body, "hello");
}

#[test]
fn moto_sts_issues_web_identity_credentials() {
    let endpoint = edge_tests::moto::require();
    let addr = edge_tests::moto::MOTO.addr();
    let body = "Action=AssumeRoleWithWebIdentity&Version=2011-06-15\
                &RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr\
                &RoleSessionName=s&WebIdentityToken=t";
    let answer = edge_tests::net::request(
        addr,
        "POST",
        "/",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
    .unwrap();
    assert_eq!(answer.status, 200, "{endpoint}: {}", answer.body_text());
    assert!(answer.body_text().contains("<SessionToken>"));
}
