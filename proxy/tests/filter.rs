//! The supersede filter is one view for all worker threads: once a newer job was seen for a
//! host on any connection, older messages are filtered on every connection.
mod util;

use util::{multiset, sensor_body, Proxy, Queue};

#[test]
fn older_jobs_are_filtered_on_every_worker_and_unmarked_messages_pass() {
    let mut queue = Queue::new("proxy-filter");
    let proxy = Proxy::start(&queue.url, &queue.endpoint, &["--workers", "4"]);
    let mut forwarded = Vec::new();

    let newer = sensor_body("node-a", 2000, 0);
    assert_eq!(proxy.send(&newer).status, 200);
    forwarded.push(newer);

    // 24 fresh connections: SO_REUSEPORT spreads them over the 4 workers, so the shared
    // view is what filters them (per-worker state, as in the original, would let most pass).
    for i in 1..=24 {
        let old = sensor_body("node-a", 1000, i);
        let resp = proxy.send(&old);
        assert_eq!(resp.status, 200);
        let v = resp.json();
        assert_eq!(v["status"], "filtered", "{v}");
        assert_eq!(v["newest_job_submission_time"], 2000.0);
    }
    // Same job again and a newer one still flow; another host is independent.
    for body in [
        sensor_body("node-a", 2000, 100),
        sensor_body("node-a", 3000, 101),
        sensor_body("node-b", 1000, 102),
    ] {
        let resp = proxy.send(&body);
        assert!(
            resp.json()["message_id"].is_string(),
            "{}",
            resp.body_text()
        );
        forwarded.push(body);
    }
    assert_eq!(
        proxy.send(&sensor_body("node-a", 2000, 103)).json()["status"],
        "filtered"
    );
    // Without hostname/job_submission_time the message is forwarded, not dropped.
    for body in [
        "{\"sequence\":1}",
        "{\"hostname\":\"node-a\"}",
        "{\"job_submission_time\":1}",
    ] {
        let resp = proxy.send(body);
        assert!(
            resp.json()["message_id"].is_string(),
            "{}",
            resp.body_text()
        );
        forwarded.push(body.to_string());
    }

    let got = queue.receive_exactly(forwarded.len());
    assert_eq!(
        multiset(got.iter().map(|m| m.body.as_str())),
        multiset(forwarded.iter().map(String::as_str)),
        "exactly the non-superseded messages reach SQS"
    );
}
