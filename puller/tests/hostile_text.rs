//! Issue 20 end to end: a message whose fields carry terminal escapes travels through a real
//! proxy → LocalStack → `puller --format pretty`, and no raw control character from it reaches
//! the operator's terminal (stdout or stderr); --report-json keeps the exact text.
mod util;

use edge_tests::{bins, net};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use util::{scratch, signal, wait_exit, Queue};

/// The hostile message from issue 20, as JSON (the escapes are JSON `\u` escapes, so the
/// decoded fields hold the raw ESC and BEL bytes).
fn hostile(sequence: u64) -> String {
    format!(
        r##"{{"job_id":"job-1","execution_id":"e\u001b]0;pwned\u0007","hostname":"edge\u001b[2J\u001b[31mEVIL","job_submission_time":1711449600,"icon_name":"🚀","timestamp":"2026-12-03T07:53:41.123Z","color":"#FF5733","sequence":{sequence},"region":"us\u001b[0m"}}"##
    )
}

struct Proxy(Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_proxy(queue: &Queue) -> (Proxy, SocketAddr) {
    let port = net::free_port();
    let child = Command::new(bins::bin_path("proxy"))
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args(["--workers", "1", "--queue-url", &queue.url])
        .args(["--endpoint-url", &queue.endpoint])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start proxy (cargo build -p proxy first)");
    let proxy = Proxy(child);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    assert!(
        net::wait_for_http_ok(addr, "/health", Duration::from_secs(20)),
        "proxy not healthy"
    );
    (proxy, addr)
}

/// `text` without the puller's own colour swatches (`ESC[48;2;R;G;Bm` and `ESC[0m`).
fn without_swatches(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\x1b') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let swatch_len = if tail.starts_with("\x1b[0m") {
            Some(4)
        } else if let Some(params) = tail.strip_prefix("\x1b[48;2;") {
            let end = params.find('m').filter(|&m| {
                params[..m].split(';').count() == 3
                    && params[..m].split(';').all(|n| n.parse::<u8>().is_ok())
            });
            end.map(|m| "\x1b[48;2;".len() + m + 1)
        } else {
            None
        };
        match swatch_len {
            Some(n) => rest = &tail[n..],
            None => {
                // Not ours: keep it so the assertion below reports it.
                out.push('\x1b');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Characters that must never reach a terminal raw (safe_text's set).
fn hostile_chars(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| c != '\n' && safe_text::is_hostile(c))
        .collect()
}

#[test]
fn hostile_fields_are_inert_in_pretty_output_summaries_and_report() {
    let mut queue = Queue::new("puller-hostile");
    let (_proxy, addr) = start_proxy(&queue);
    // Sequences 1 and 3: the gap puts the instance among the worst in the final report.
    for sequence in [1, 3] {
        let answer = net::request(
            addr,
            "POST",
            "/send",
            &[("Content-Type", "application/json")],
            hostile(sequence).as_bytes(),
        )
        .expect("POST /send");
        assert_eq!(answer.status, 200, "{}", answer.body_text());
    }
    // Raw ESC is not allowed in an SQS body, but C1 controls and bidi overrides are: a body
    // that is not JSON is shown as an excerpt, which must be inert too.
    queue.send_all(&["not json \u{9b}2J \u{202e}txt.exe".to_string()]);

    let dir = scratch("puller-hostile");
    let report = dir.join("report.json");
    let report_arg = report.display().to_string();
    let mut child = queue
        .puller(&[
            "--format",
            "pretty",
            "--summary-interval",
            "1",
            "--report-json",
            &report_arg,
            "--wait-seconds",
            "1",
            "--exit-when-idle",
            "3",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn puller");
    let status = wait_exit(&mut child, Duration::from_secs(60));
    let output = child.wait_with_output().expect("output");
    assert!(status.success(), "{status:?}");
    let stdout = String::from_utf8(output.stdout).expect("utf-8 stdout");
    let stderr = String::from_utf8(output.stderr).expect("utf-8 stderr");

    assert!(
        stdout.contains("edge\\u{1b}[2J\\u{1b}[31mEVIL"),
        "{stdout:?}"
    );
    assert!(stdout.contains("\\u{9b}2J \\u{202e}txt.exe"), "{stdout:?}");
    assert!(
        stdout.contains("\x1b[48;2;255;87;51m  \x1b[0m #FF5733"),
        "our own swatch stays a colour: {stdout:?}"
    );
    let raw_out = hostile_chars(&without_swatches(&stdout));
    assert!(raw_out.is_empty(), "raw {raw_out:?} on stdout: {stdout:?}");
    let raw_err = hostile_chars(&stderr);
    assert!(raw_err.is_empty(), "raw {raw_err:?} on stderr: {stderr:?}");
    assert!(stderr.contains("us\\u{1b}[0m=2"), "summary: {stderr}");
    assert!(
        stderr.contains("e\\u{1b}]0;pwned\\u{7}"),
        "report: {stderr}"
    );

    // Machine-readable output keeps the exact text.
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("report")).expect("json");
    let instance = &json["instances"][0];
    assert_eq!(instance["hostname"], "edge\x1b[2J\x1b[31mEVIL", "{json}");
    assert_eq!(instance["execution_id"], "e\x1b]0;pwned\x07", "{json}");
    assert_eq!(instance["region"], "us\x1b[0m", "{json}");
    queue.assert_empty();
}

#[test]
fn a_region_cannot_forge_a_metric_line() {
    let mut queue = Queue::new("puller-forge");
    let forged = r#"{"job_id":"j","execution_id":"x","hostname":"h","timestamp":"2026-12-03T07:53:41Z","sequence":1,"region":"us\"} 1\npuller_messages_total 999\n#"}"#;
    queue.send_all(&[forged.to_string()]);
    let port = net::free_port();
    let port_arg = port.to_string();
    let mut child = queue
        .puller(&["--metrics-port", &port_arg, "--wait-seconds", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn puller");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut metrics = String::new();
    util::wait_until("the message in /metrics", Duration::from_secs(30), || {
        metrics = net::request(addr, "GET", "/metrics", &[], b"")
            .map(|r| r.body_text())
            .unwrap_or_default();
        metrics.contains("puller_messages_total 1\n")
    });
    signal(&child, "TERM");
    wait_exit(&mut child, Duration::from_secs(10));
    assert!(
        !metrics.lines().any(|l| l == "puller_messages_total 999"),
        "forged line:\n{metrics}"
    );
    assert!(
        metrics.contains(r#"{region="us\"} 1\npuller_messages_total 999\n#"} 1"#),
        "escaped label value:\n{metrics}"
    );
}
