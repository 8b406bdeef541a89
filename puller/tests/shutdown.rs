//! Graceful shutdown under load: SIGTERM while messages stream in loses nothing and handles
//! nothing twice — every batch received before the signal is delivered and deleted.
mod util;

use std::process::Stdio;
use std::time::Duration;
use util::{bodies, multiset, records, scratch, signal, wait_exit, wait_until, Queue};

#[test]
fn graceful_shutdown_under_load_loses_nothing() {
    let mut queue = Queue::new("puller-term");
    let sent: Vec<String> = (0..1500).map(|i| format!("message {i}")).collect();
    queue.send_all(&sent);
    let dir = scratch("puller-term");
    let (first_sink, second_sink) = (dir.join("first.jsonl"), dir.join("second.jsonl"));
    let first_arg = format!("jsonl:{}", first_sink.display());
    // Short visibility: anything received but not deleted would reappear for the second run,
    // which would show up as a body delivered twice.
    let mut child = queue
        .puller(&[
            "--sink",
            &first_arg,
            "--visibility-timeout",
            "2",
            "--wait-seconds",
            "1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn puller");
    wait_until("the puller to be busy", Duration::from_secs(30), || {
        records(&first_sink).len() >= 100
    });
    signal(&child, "TERM");
    let status = wait_exit(&mut child, Duration::from_secs(30));
    assert!(status.success(), "exit 0 after SIGTERM: {status:?}");
    let first = bodies(&records(&first_sink));
    assert!(
        first.len() < sent.len(),
        "the signal must arrive mid-drain (got {})",
        first.len()
    );

    let second_arg = format!("jsonl:{}", second_sink.display());
    queue.drain(&["--sink", &second_arg], 4);
    let mut all = first;
    all.extend(bodies(&records(&second_sink)));
    let delivered = multiset(&all);
    let twice: Vec<_> = delivered
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(b, _)| b)
        .collect();
    assert!(
        twice.is_empty(),
        "delivered twice because of the shutdown: {twice:?}"
    );
    assert_eq!(delivered, multiset(&sent), "nothing lost");
    queue.assert_empty();
}
