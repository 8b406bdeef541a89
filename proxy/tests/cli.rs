//! The command line: help, usage errors (exit 2) and startup failures (exit 1).
use std::process::{Command, Output};

fn proxy(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_proxy"))
        .args(args)
        .env_remove("SQS_QUEUE_URL")
        .env_remove("BACALHAU_PORT_http")
        .output()
        .expect("run proxy")
}

#[test]
fn help_prints_usage_and_exits_0() {
    for flag in ["--help", "-h"] {
        let out = proxy(&[flag]);
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with("usage: proxy"), "{text}");
        assert!(text.contains("--queue-url") && text.contains("--linger-ms"));
    }
}

#[test]
fn usage_errors_exit_2_with_a_clear_message() {
    for (args, needle) in [
        (&["--bogus"][..], "bogus"),
        (&[][..], "--queue-url"),
        (
            &["--queue-url", "http://x/1/q", "--port", "notaport"],
            "notaport",
        ),
        (
            &["--queue-url", "http://x/1/q", "--workers", "0"],
            "--workers",
        ),
    ] {
        let out = proxy(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn an_address_that_cannot_be_bound_exits_1() {
    let out = Command::new(env!("CARGO_BIN_EXE_proxy"))
        .args([
            "--queue-url",
            "http://127.0.0.1:1/000000000000/q",
            "--bind",
            "192.0.2.1",
        ])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .expect("run proxy");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("192.0.2.1"));
}
