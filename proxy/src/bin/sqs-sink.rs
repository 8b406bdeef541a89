//! `sqs-sink`: a tiny SQS stand-in for benchmarks, so the proxy (not LocalStack) is what gets
//! measured. It answers every `SendMessageBatch` with a valid all-entries-succeeded XML result
//! and counts messages; `GET /count` returns the count. One thread per connection is fine:
//! the proxy keeps only a few (one per forwarder) open. Not for production use.
#![forbid(unsafe_code)]

use flags::{Arg, Parser};
use std::io::{self, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

const USAGE: &str = "\
usage: sqs-sink [--port PORT] [--bind ADDR]

Benchmark SQS stand-in: answers SendMessageBatch (all entries succeed) and counts messages.
GET /count returns the number of messages received so far.

  --port PORT   TCP port [9324]
  --bind ADDR   address [127.0.0.1]
  -h, --help    print this help
";

fn main() -> ExitCode {
    let mut parser = Parser::from_env();
    let (mut port, mut bind) = (9324u16, "127.0.0.1".to_string());
    loop {
        let parsed = match parser.next() {
            Ok(None) => break,
            Ok(Some(Arg::Short('h'))) => {
                print!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            Ok(Some(Arg::Long(name))) => match name.as_str() {
                "help" => {
                    print!("{USAGE}");
                    return ExitCode::SUCCESS;
                }
                "port" => parser.parse().map(|p| port = p),
                "bind" => parser.value().map(|b| bind = b),
                _ => Err(flags::Error::unknown(&Arg::Long(name))),
            },
            Ok(Some(other)) => Err(flags::Error::unknown(&other)),
            Err(e) => Err(e),
        };
        if let Err(e) = parsed {
            return flags::usage_error("sqs-sink", &e);
        }
    }
    let listener = match TcpListener::bind((bind.as_str(), port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("sqs-sink: error: binding {bind}:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("sqs-sink: listening on {bind}:{port}");
    let count = Arc::new(AtomicU64::new(0));
    for stream in listener.incoming().flatten() {
        let count = Arc::clone(&count);
        std::thread::spawn(move || {
            let _ = stream.set_nodelay(true);
            let _ = serve(stream, &count);
        });
    }
    ExitCode::SUCCESS
}

/// Serves one keep-alive connection until the peer closes it (or sends something that is
/// not HTTP/1.1), reading requests with the workspace's one reader.
fn serve(stream: TcpStream, count: &AtomicU64) -> io::Result<()> {
    let mut reader = http1::MessageReader::new(stream);
    let limits = http1::Limits::default();
    loop {
        let request = match reader.read_request(&limits, http1::BodyLimit::Reject(16 << 20)) {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(()),
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
        };
        let (content_type, answer) = if request.method == "GET" && request.target == "/count" {
            ("text/plain", count.load(Relaxed).to_string())
        } else {
            let answer = batch_result(&String::from_utf8_lossy(&request.body), count);
            ("text/xml", answer)
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            answer.len()
        );
        let writer = reader.get_mut();
        writer.write_all(head.as_bytes())?;
        writer.write_all(answer.as_bytes())?;
    }
}

/// The `SendMessageBatchResult` listing every `SendMessageBatchRequestEntry.N.Id` as sent.
fn batch_result(form: &str, count: &AtomicU64) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\"?><SendMessageBatchResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><SendMessageBatchResult>",
    );
    for pair in form.split('&') {
        let Some((key, id)) = pair.split_once('=') else {
            continue;
        };
        if key.starts_with("SendMessageBatchRequestEntry.") && key.ends_with(".Id") {
            let n = count.fetch_add(1, Relaxed);
            xml.push_str(&format!(
                "<SendMessageBatchResultEntry><Id>{id}</Id><MessageId>sink-{n}</MessageId><MD5OfMessageBody>00000000000000000000000000000000</MD5OfMessageBody></SendMessageBatchResultEntry>"
            ));
        }
    }
    xml.push_str("</SendMessageBatchResult><ResponseMetadata><RequestId>sink</RequestId></ResponseMetadata></SendMessageBatchResponse>");
    xml
}
