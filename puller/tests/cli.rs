//! The command line as a user meets it: help, usage errors (exit 2) and runtime failures
//! (exit 1) with messages that say what to fix.
mod util;

use std::process::Command;
use util::PULLER;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(PULLER)
        .args(args)
        .env_remove("SQS_QUEUE_URL")
        .env_remove("NUM_WORKERS")
        .output()
        .expect("run puller")
}

#[test]
fn help_prints_usage_and_exits_0() {
    for flag in ["--help", "-h"] {
        let out = run(&[flag]);
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with("usage: puller --queue-url URL"), "{text}");
        for flag in [
            "--exit-when-idle",
            "--fifo",
            "--sink-format",
            "--sink-token-file",
            "--sink-timeout",
            "--sink-retries",
            "http(s)://URL",
            "--sink-ca-file",
        ] {
            assert!(text.contains(flag), "{flag}: {text}");
        }
    }
}

#[test]
fn usage_errors_exit_2_with_a_hint() {
    for (args, want) in [
        (&["--bogus"][..], "unknown flag '--bogus'"),
        (&[][..], "missing queue"),
        (
            &["--queue-url", "http://x/1/q", "--max-messages", "11"][..],
            "between 1 and 10",
        ),
        (
            &["--queue-url", "http://x/1/q", "--wait-seconds", "soon"][..],
            "'--wait-seconds'",
        ),
        (
            &[
                "--queue-url",
                "http://x/1/q",
                "--sink",
                "http://h/",
                "--sink-format",
                "csv",
            ][..],
            "json or ndjson",
        ),
        (
            &[
                "--queue-url",
                "http://x/1/q",
                "--sink",
                "http://h/",
                "--sink-timeout",
                "0",
            ][..],
            "'--sink-timeout'",
        ),
        (
            &[
                "--queue-url",
                "http://x/1/q",
                "--sink",
                "http://h/",
                "--sink-token-file",
                "/nonexistent/t",
            ][..],
            "cannot read",
        ),
        (
            &["--queue-url", "http://x/1/q", "--sink-retries", "3"][..],
            "need a webhook sink",
        ),
        (
            &["--queue-url", "http://x/1/q", "--sink", "http://h:port/"][..],
            "webhook 'http://h:port/'",
        ),
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(want) && err.contains("--help"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn unknown_queue_is_a_clear_runtime_error() {
    let endpoint = edge_tests::localstack::require();
    let url = format!(
        "{endpoint}/000000000000/{}",
        edge_tests::unique_name("puller-missing")
    );
    let out = Command::new(PULLER)
        .args([
            "--queue-url",
            &url,
            "--endpoint-url",
            &endpoint,
            "--wait-seconds",
            "1",
        ])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .expect("run puller");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("puller: error:") && err.contains("NonExistentQueue"),
        "{err}"
    );
    // A puller that cannot poll at all still reports, with the reason, and exits 1 (issue 13).
    assert!(
        err.contains("puller: stopped (fatal error: receive from"),
        "{err}"
    );
}

#[test]
fn unwritable_sink_fails_at_startup() {
    // A path whose parent is a regular file cannot be created, even by root.
    let file = std::env::temp_dir().join(edge_tests::unique_name("puller-notadir"));
    std::fs::write(&file, b"").expect("create file");
    let sink = format!("jsonl:{}/out.jsonl", file.display());
    let out = Command::new(PULLER)
        .args([
            "--queue-url",
            "http://127.0.0.1:9/000000000000/q",
            "--sink",
            &sink,
        ])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .expect("run puller");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot open") && err.contains("out.jsonl"),
        "{err}"
    );
}
