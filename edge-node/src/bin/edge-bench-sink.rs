//! `edge-bench-sink`: a minimal keep-alive HTTP/1.1 server for runner benchmarks. Answers
//! `GET /health` with `{"status":"healthy"}` and anything else with `{"message_id":"x"}`,
//! and prints the request rate every second to stderr. Not a proxy: no SQS, no filtering.
#![forbid(unsafe_code)]
use std::io::{Read, Write};
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

fn serve(mut conn: TcpStream, count: &AtomicU64) {
    let _ = conn.set_nodelay(true);
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    loop {
        // One request: head up to the blank line, then Content-Length bytes of body.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match conn.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + len {
            match conn.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body: &[u8] = if head.starts_with("get /health") {
            br#"{"status":"healthy"}"#
        } else {
            br#"{"message_id":"x"}"#
        };
        buf.drain(..head_end + len);
        count.fetch_add(1, Ordering::Relaxed);
        let reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        if conn
            .write_all(reply.as_bytes())
            .and_then(|()| conn.write_all(body))
            .is_err()
        {
            return;
        }
    }
}
