//! Issue 13 item 5: the accounting is bounded. A real puller drains 100,000 messages from
//! 100,000 distinct sensor instances and stays within 64 MiB RSS; the final report stays a few
//! dozen lines (totals per region and version, the worst instances), while --report-json holds
//! the tracked table and the totals of every instance.
//!
//! The queue is a local stand-in speaking the AWS JSON 1.0 protocol: LocalStack serves about a
//! hundred requests a second here, far too few for 20,000 receive and delete calls.
mod util;

use serde_json::{json, Value};
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use util::{scratch, signal, wait_until, PULLER};

const INSTANCES: u64 = 100_000;
const RSS_LIMIT_KIB: u64 = 64 * 1024;

/// Hands out one message per instance, then empty receives; counts deleted entries.
struct StandIn {
    next: AtomicU64,
    deleted: AtomicU64,
}

impl StandIn {
    fn start() -> (Arc<StandIn>, u16) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let stand_in = Arc::new(StandIn {
            next: AtomicU64::new(0),
            deleted: AtomicU64::new(0),
        });
        let shared = Arc::clone(&stand_in);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || shared.serve(stream));
            }
        });
        (stand_in, port)
    }

    /// One keep-alive connection: requests until the client closes it.
    fn serve(&self, stream: TcpStream) {
        let Ok(mut writer) = stream.try_clone() else {
            return;
        };
        let mut reader = http1::MessageReader::new(stream);
        while let Some((target, body)) = edge_tests::sqs::next_json_request(&mut reader) {
            let answer = match target.as_str() {
                "AmazonSQS.ReceiveMessage" => self.receive(),
                "AmazonSQS.DeleteMessageBatch" => {
                    let answer = edge_tests::sqs::all_successful(&body);
                    let n = answer["Successful"].as_array().map_or(0, Vec::len);
                    self.deleted.fetch_add(n as u64, Ordering::SeqCst);
                    answer
                }
                "AmazonSQS.ChangeMessageVisibilityBatch" => edge_tests::sqs::all_successful(&body),
                _ => json!({}),
            };
            if edge_tests::sqs::write_json_answer(&mut writer, 200, &answer).is_err() {
                return;
            }
        }
    }

    fn receive(&self) -> Value {
        let start = self.next.fetch_add(10, Ordering::SeqCst);
        if start >= INSTANCES {
            // An empty long poll, shortened: the test stops the puller itself.
            std::thread::sleep(Duration::from_millis(200));
            return json!({});
        }
        let messages: Vec<Value> = (start..(start + 10).min(INSTANCES))
            .map(|n| {
                json!({
                    "MessageId": format!("m-{n}"),
                    "ReceiptHandle": format!("r-{n}"),
                    "MD5OfBody": "0",
                    "Body": sensor_body(n),
                    "Attributes": {"ApproximateReceiveCount": "1"},
                })
            })
            .collect();
        json!({ "Messages": messages })
    }
}

/// Instance `n`'s one message: its own execution id and hostname, one of 3 regions and 2
/// versions; every 1000th reports drops at the source.
fn sensor_body(n: u64) -> String {
    let region = ["us", "eu", "as"][(n % 3) as usize];
    let mut body = json!({
        "job_id": format!("job-{}", n % 2),
        "execution_id": format!("exec-{n:06}"),
        "hostname": format!("edge-{region}-{n}"),
        "job_submission_time": 1_711_449_600 + (n % 2),
        "icon_name": "🚀",
        "timestamp": "2026-12-03T07:53:41.123Z",
        "color": "#FF5733",
        "sequence": 1,
        "region": region,
    });
    if n % 1000 == 0 {
        body["dropped_overflow"] = json!(2);
    }
    body.to_string()
}

/// `{"Successful": [{"Id": ...}, ...]}` for every entry of a batch request.
/// VmHWM (peak resident set) of process `pid` in KiB; None once it has exited.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_hundred_thousand_instances_fit_in_64_mib_and_a_short_report() {
    let (stand_in, port) = StandIn::start();
    let dir = scratch("puller-memory");
    let report = dir.join("report.json");
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(PULLER)
        .args(["--queue-url", &format!("{endpoint}/000000000000/memory")])
        .args(["--endpoint-url", &endpoint, "--sink", "jsonl:/dev/null"])
        .args(["--report-json", &report.display().to_string()])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env_remove("SQS_PROTOCOL")
        .env_remove("NUM_WORKERS")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn puller");
    let pid = child.id();
    let mut peak = 0;
    wait_until("every message deleted", Duration::from_secs(600), || {
        peak = peak.max(peak_rss_kib(pid).unwrap_or(0));
        stand_in.deleted.load(Ordering::SeqCst) >= INSTANCES
    });
    signal(&child, "TERM");
    // Sample the peak until the process is gone: the report is written at the very end.
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(kib) = peak_rss_kib(pid) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "no exit within 10 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(status.success(), "{status:?}");
    eprintln!("peak RSS {peak} KiB");
    assert!(
        peak <= RSS_LIMIT_KIB,
        "peak RSS {peak} KiB over {RSS_LIMIT_KIB} KiB"
    );
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    let report_lines = stderr
        .lines()
        .skip_while(|l| !l.starts_with("puller: stopped"))
        .count();
    assert!(
        (4..=30).contains(&report_lines),
        "final report of {report_lines} lines:\n{stderr}"
    );
    assert!(
        stderr.contains("100000 seen, 20000 tracked, 80000 retired"),
        "{stderr}"
    );
    let json: Value =
        serde_json::from_slice(&std::fs::read(&report).expect("report")).expect("json");
    assert_eq!(json["messages"], INSTANCES);
    assert_eq!(json["instances_seen"], INSTANCES);
    assert_eq!(json["instances"].as_array().map(Vec::len), Some(20_000));
    assert_eq!(json["dropped_at_source"], 2 * INSTANCES / 1000);
    let groups = json["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 6, "3 regions x 2 versions: {groups:?}");
    let per_group: u64 = groups.iter().filter_map(|g| g["messages"].as_u64()).sum();
    assert_eq!(per_group, INSTANCES, "retired instances keep their totals");
}
