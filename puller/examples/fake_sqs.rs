//! A canned SQS endpoint for measuring the puller's own ceiling, without LocalStack's cost:
//!
//! ```text
//! cargo run --release -p puller --example fake_sqs -- [--count 20000]
//! # prints "listening 127.0.0.1:PORT"; point the puller at http://127.0.0.1:PORT/000000000000/q
//! ```
//!
//! ReceiveMessage hands out `--count` sensor messages, 10 per call (no redelivery; receipt
//! handles are not checked); once they are gone it answers empty after 200 ms.
//! DeleteMessageBatch reports every entry deleted. One thread per connection, keep-alive.
//! `FAKE_SQS_INSTANCES=N` spreads the messages over N sensor instances (default 12), e.g. to
//! give the dashboard a 10,000-sensor fleet.
//! Benchmark use only: it implements just enough of the query protocol for the puller.
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn main() -> std::process::ExitCode {
    let mut parser = flags::Parser::from_env();
    let mut count = 20_000u64;
    loop {
        match parser.next() {
            Ok(None) => break,
            Ok(Some(flags::Arg::Long(n))) if n == "count" => match parser.parse() {
                Ok(v) => count = v,
                Err(e) => return flags::usage_error("fake_sqs", &e),
            },
            Ok(Some(flags::Arg::Long(n))) if n == "help" => {
                println!("usage: fake_sqs [--count N]");
                return std::process::ExitCode::SUCCESS;
            }
            Ok(Some(other)) => {
                return flags::usage_error("fake_sqs", &flags::Error::unknown(&other))
            }
            Err(e) => return flags::usage_error("fake_sqs", &e),
        }
    }
    let listener = match TcpListener::bind("127.0.0.1:0") {
        Ok(l) => l,
        Err(e) => {
            eprintln!("fake_sqs: error: cannot listen: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(addr) => println!("listening {addr}"),
        Err(e) => eprintln!("fake_sqs: warning: {e}"),
    }
    let _ = std::io::stdout().flush();
    let next = Arc::new(AtomicU64::new(0));
    for stream in listener.incoming().flatten() {
        let next = Arc::clone(&next);
        std::thread::spawn(move || {
            let _ = serve(stream, &next, count);
        });
    }
    std::process::ExitCode::SUCCESS
}

/// Answers requests on one keep-alive connection until the client closes it, reading them
/// with the workspace's one HTTP/1.1 reader.
fn serve(stream: TcpStream, next: &AtomicU64, count: u64) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = http1::MessageReader::new(stream);
    let limits = http1::Limits::default();
    loop {
        let request = match reader.read_request(&limits, http1::BodyLimit::Reject(16 << 20)) {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(()),
            Err(e) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    e.to_string(),
                ))
            }
        };
        let form = String::from_utf8_lossy(&request.body);
        let xml = if form.contains("Action=ReceiveMessage") {
            receive(next, count)
        } else if form.contains("Action=DeleteMessageBatch") {
            delete_batch(&form)
        } else {
            "<Response><Result/></Response>".to_string()
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n",
            xml.len()
        );
        let writer = reader.get_mut();
        writer.write_all(head.as_bytes())?;
        writer.write_all(xml.as_bytes())?;
    }
}

fn receive(next: &AtomicU64, count: u64) -> String {
    let start = next.fetch_add(10, Ordering::SeqCst);
    let mut xml = String::from("<ReceiveMessageResponse><ReceiveMessageResult>");
    if start >= count {
        std::thread::sleep(Duration::from_millis(200));
    }
    for n in start..(start + 10).min(count) {
        let (instance, sequence) = (n % instances(), n / instances() + 1);
        let body = format!(
            "{{&quot;job_id&quot;:&quot;fake&quot;,&quot;execution_id&quot;:&quot;fake-{instance}&quot;,\
             &quot;hostname&quot;:&quot;edge-{instance}&quot;,&quot;job_submission_time&quot;:1,\
             &quot;icon_name&quot;:&quot;🚀&quot;,&quot;timestamp&quot;:&quot;2026-01-01T00:00:00Z&quot;,\
             &quot;color&quot;:&quot;#FF5733&quot;,&quot;sequence&quot;:{sequence},&quot;region&quot;:&quot;us&quot;}}"
        );
        xml.push_str(&format!(
            "<Message><MessageId>m-{n}</MessageId><ReceiptHandle>r-{n}</ReceiptHandle>\
             <MD5OfBody>0</MD5OfBody><Body>{body}</Body>\
             <Attribute><Name>ApproximateReceiveCount</Name><Value>1</Value></Attribute></Message>"
        ));
    }
    xml.push_str("</ReceiveMessageResult></ReceiveMessageResponse>");
    xml
}

fn delete_batch(form: &str) -> String {
    let mut xml = String::from("<DeleteMessageBatchResponse><DeleteMessageBatchResult>");
    for pair in form.split('&') {
        if let Some((key, value)) = pair.split_once('=') {
            if key.starts_with("DeleteMessageBatchRequestEntry.") && key.ends_with(".Id") {
                xml.push_str(&format!(
                    "<DeleteMessageBatchResultEntry><Id>{value}</Id></DeleteMessageBatchResultEntry>"
                ));
            }
        }
    }
    xml.push_str("</DeleteMessageBatchResult></DeleteMessageBatchResponse>");
    xml
}

/// Sensor instances the messages come from: `FAKE_SQS_INSTANCES`, default 12.
fn instances() -> u64 {
    static INSTANCES: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *INSTANCES.get_or_init(|| {
        std::env::var("FAKE_SQS_INSTANCES")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&n| n > 0)
            .unwrap_or(12)
    })
}
