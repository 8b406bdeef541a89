//! `edge-bench-sink`: a minimal keep-alive HTTP/1.1 server for runner benchmarks. Answers
//! `GET /health` with `{"status":"healthy"}` and anything else with `{"message_id":"x"}`,
//! and prints the request rate every second to stderr. Not a proxy: no SQS, no filtering.
#![forbid(unsafe_code)]
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const USAGE: &str =
    "usage: edge-bench-sink [--listen ADDR]   (default 127.0.0.1:0; prints 'listening ADDR')";

fn main() -> ExitCode {
    let mut listen = "127.0.0.1:0".to_string();
    let mut p = flags::Parser::from_env();
    loop {
        match p.next() {
            Ok(None) => break,
            Ok(Some(flags::Arg::Long(n))) if n == "listen" => match p.value() {
                Ok(v) => listen = v,
                Err(e) => return flags::usage_error("edge-bench-sink", &e),
            },
            Ok(Some(flags::Arg::Long(n))) if n == "help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            Ok(Some(flags::Arg::Short('h'))) => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            Ok(Some(other)) => {
                return flags::usage_error("edge-bench-sink", &flags::Error::unknown(&other))
            }
            Err(e) => return flags::usage_error("edge-bench-sink", &e),
        }
    }
    let listener = match TcpListener::bind(&listen) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("edge-bench-sink: cannot listen on {listen}: {e}");
            return ExitCode::from(flags::EXIT_FAILURE);
        }
    };
    match listener.local_addr() {
        Ok(addr) => println!("listening {addr}"),
        Err(e) => {
            eprintln!("edge-bench-sink: {e}");
            return ExitCode::from(flags::EXIT_FAILURE);
        }
    }
    let count = Arc::new(AtomicU64::new(0));
    let reporter = Arc::clone(&count);
    std::thread::spawn(move || {
        let mut last = 0;
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let now = reporter.load(Ordering::Relaxed);
            eprintln!("edge-bench-sink: {} req/s, {now} total", now - last);
            last = now;
        }
    });
    for conn in listener.incoming().flatten() {
        let count = Arc::clone(&count);
        let _ = std::thread::Builder::new()
            .stack_size(128 * 1024)
            .spawn(move || serve(conn, &count));
    }
    ExitCode::SUCCESS
}

/// Answers every request on one keep-alive connection, read with the workspace's one
/// HTTP/1.1 reader, until the client closes it or sends something that is not HTTP.
fn serve(conn: TcpStream, count: &AtomicU64) {
    let _ = conn.set_nodelay(true);
    let mut reader = http1::MessageReader::new(conn);
    let limits = http1::Limits::default();
    while let Ok(Some(req)) = reader.read_request(&limits, http1::BodyLimit::Reject(1 << 20)) {
        let body: &[u8] = if req.method == "GET" && req.target.starts_with("/health") {
            br#"{"status":"healthy"}"#
        } else {
            br#"{"message_id":"x"}"#
        };
        count.fetch_add(1, Ordering::Relaxed);
        let reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let conn = reader.get_mut();
        if conn
            .write_all(reply.as_bytes())
            .and_then(|()| conn.write_all(body))
            .is_err()
        {
            return;
        }
    }
}
