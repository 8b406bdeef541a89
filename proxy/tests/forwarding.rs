//! Messages reach SQS through the proxy verbatim and exactly once, also with many concurrent
//! keep-alive connections and pipelined requests.
mod util;

use edge_tests::net;
use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use util::{multiset, sensor_body, Proxy, Queue};

#[test]
fn a_message_arrives_byte_for_byte_with_the_answered_id() {
    let mut queue = Queue::new("proxy-verbatim");
    let proxy = Proxy::start(&queue.url, &queue.endpoint, &["--workers", "2"]);
    // Emoji, escapes, odd spacing and number formats that a re-encoding would change.
    let body = "{ \"hostname\" : \"edge-1\",\"icon_name\":\"😀🛰️\", \"note\":\"a\\u00e9\\\"b\\n\",\n  \"x\": 1.50e3, \"sequence\": 0 }";
    let resp = proxy.send(body);
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    let id = resp.json()["message_id"]
        .as_str()
        .expect("message_id")
        .to_string();
    let got = queue.receive_exactly(1);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body.as_bytes(), body.as_bytes());
    assert_eq!(got[0].message_id, id);
}

/// Sends `bodies` on one keep-alive connection, one request at a time.
fn keep_alive_sender(addr: std::net::SocketAddr, bodies: Vec<String>) -> Vec<(String, u16)> {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut out = Vec::new();
    for body in bodies {
        let req = format!(
            "POST /send HTTP/1.1\r\nHost: p\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(req.as_bytes()).expect("write");
        let resp = net::read_response(&mut stream).expect("response");
        out.push((body, resp.status));
    }
    out
}

#[test]
fn concurrent_and_pipelined_requests_all_arrive_exactly_once() {
    let mut queue = Queue::new("proxy-concurrent");
    let proxy = Proxy::start(&queue.url, &queue.endpoint, &["--workers", "2"]);
    let addr = proxy.addr;
    let mut expected = Vec::new();

    // 8 keep-alive connections in parallel, 20 messages each.
    let handles: Vec<_> = (0..8)
        .map(|c| {
            let bodies: Vec<String> = (0..20)
                .map(|i| sensor_body(&format!("conc-{c}"), 1, i))
                .collect();
            expected.extend(bodies.clone());
            std::thread::spawn(move || keep_alive_sender(addr, bodies))
        })
        .collect();

    // 2 connections each writing 30 requests in one go (pipelined), then reading 30 answers,
    // which must come back in request order.
    let pipelined: Vec<_> = (0..2)
        .map(|c| {
            let bodies: Vec<String> = (0..30)
                .map(|i| sensor_body(&format!("pipe-{c}"), 1, i))
                .collect();
            expected.extend(bodies.clone());
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(addr).expect("connect");
                stream
                    .set_read_timeout(Some(Duration::from_secs(20)))
                    .unwrap();
                stream
                    .write_all(&util::send_requests(&bodies))
                    .expect("write pipeline");
                let answers = util::read_responses(&mut stream, bodies.len());
                // Nothing beyond the 30 answers.
                stream
                    .set_read_timeout(Some(Duration::from_millis(200)))
                    .unwrap();
                let mut extra = [0u8; 1];
                assert!(
                    !matches!(stream.read(&mut extra), Ok(n) if n > 0),
                    "unexpected extra bytes"
                );
                (bodies, answers)
            })
        })
        .collect();

    let mut pipelined_ids = HashSet::new();
    // (message id, body of the request at the same position): answers must be in order.
    let mut pipelined_pairs = Vec::new();
    for h in handles {
        for (body, status) in h.join().expect("sender thread") {
            assert_eq!(status, 200, "{body}");
        }
    }
    for h in pipelined {
        let (bodies, answers) = h.join().expect("pipeline thread");
        for ((status, body), sent) in answers.into_iter().zip(bodies) {
            assert_eq!(status, 200, "{body}");
            let v: serde_json::Value = serde_json::from_str(&body).expect("JSON answer");
            let id = v["message_id"].as_str().expect("message_id").to_string();
            assert!(
                pipelined_ids.insert(id.clone()),
                "message id answered twice"
            );
            pipelined_pairs.push((id, sent));
        }
    }

    let got = queue.receive_exactly(expected.len());
    assert_eq!(got.len(), expected.len(), "each message exactly once");
    assert_eq!(
        multiset(got.iter().map(|m| m.body.as_str())),
        multiset(expected.iter().map(String::as_str))
    );
    // Every pipelined answer named a message that really is in the queue.
    for id in &pipelined_ids {
        assert!(
            got.iter().any(|m| &m.message_id == id),
            "answered id {id} not in SQS"
        );
    }
    let metrics = net::request(addr, "GET", "/metrics", &[], b"")
        .unwrap()
        .body_text();
    assert!(
        metrics.contains(&format!(
            "proxy_messages_forwarded_total {}",
            expected.len()
        )),
        "{metrics}"
    );
    // SQS accepted every call: nothing was retried (a retry after a full success would hold
    // each answer back by a backoff sleep).
    assert!(metrics.contains("proxy_sqs_retries_total 0\n"), "{metrics}");
    // The calls' time is counted, so operators can tell how busy the forwarders are.
    let call_seconds = metrics
        .lines()
        .find_map(|l| l.strip_prefix("proxy_sqs_call_seconds_total "))
        .and_then(|v| v.parse::<f64>().ok());
    assert!(call_seconds.is_some_and(|s| s > 0.0), "{metrics}");
}
