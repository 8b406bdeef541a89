//! A puller killed (-9) between receive and delete loses nothing: what it had not deleted
//! comes back after the visibility timeout and a second run handles it.
mod util;

use std::io::Read;
use std::process::Stdio;
use std::time::Duration;
use util::{bodies, multiset, records, records_in, scratch, wait_exit, wait_until, Queue};

#[test]
fn killed_between_receive_and_delete_messages_come_back() {
    let mut queue = Queue::new("puller-kill");
    // ~2 KiB each: 200 of them overflow a 64 KiB pipe many times over.
    let sent: Vec<String> = (0..200)
        .map(|i| format!("{i:04} {}", "p".repeat(2048)))
        .collect();
    queue.send_all(&sent);

    // First run: stdout is a pipe nobody reads yet, so the sink blocks once the pipe is full,
    // with batches received but not deleted. Short visibility so they come back quickly.
    let mut first = queue
        .puller(&["--visibility-timeout", "3", "--wait-seconds", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn puller");
    wait_until(
        "messages received but not deleted",
        Duration::from_secs(30),
        || queue.counts().1 > 0,
    );
    first.kill().expect("kill -9");
    wait_exit(&mut first, Duration::from_secs(10));
    // Whatever the first run wrote before it blocked is still in the pipe.
    let mut written = String::new();
    first
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut written)
        .expect("read pipe");
    // A line cut off by the kill was never accepted by the sink (so its message was not
    // deleted); only complete lines count as delivered.
    let complete = &written[..written.rfind('\n').map_or(0, |i| i + 1)];
    let first_bodies = bodies(&records_in(complete));
    assert!(
        first_bodies.len() < sent.len(),
        "the first run must not have finished"
    );

    let dir = scratch("puller-kill");
    let sink = dir.join("out.jsonl");
    let sink_arg = format!("jsonl:{}", sink.display());
    // Idle limit above the visibility timeout so the in-flight messages reappear in time.
    queue.drain(&["--sink", &sink_arg], 6);
    let second = records(&sink);
    assert!(
        second
            .iter()
            .any(|r| r["receive_count"].as_u64().is_some_and(|n| n >= 2)),
        "some messages were redelivered after the kill"
    );
    let mut all = first_bodies.clone();
    all.extend(bodies(&second));
    let delivered = multiset(&all);
    for body in &sent {
        assert!(
            delivered.contains_key(body),
            "message {} was lost",
            &body[..4]
        );
    }
    queue.assert_empty();
}
