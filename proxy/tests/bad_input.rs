//! Bad requests get the right answer (or are cut off) and never stop the proxy serving others.
mod util;

use edge_tests::net;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use util::{sensor_body, Proxy, Queue};

fn status_of(proxy: &Proxy, raw: &[u8]) -> u16 {
    net::raw_exchange(proxy.addr, raw).expect("exchange").status
}

#[test]
fn each_kind_of_bad_request_gets_its_status_and_good_ones_still_flow() {
    let mut queue = Queue::new("proxy-bad-input");
    let proxy = Proxy::start(
        &queue.url,
        &queue.endpoint,
        &[
            "--workers",
            "2",
            "--max-body",
            "1024",
            "--request-timeout",
            "2",
        ],
    );

    // A slow client, one byte per 300 ms, started first: it must not hold anyone up.
    let slow_addr = proxy.addr;
    let slow = std::thread::spawn(move || {
        let mut s = TcpStream::connect(slow_addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let started = Instant::now();
        for b in b"POST /send HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}" {
            if s.write_all(&[*b]).is_err() {
                break; // cut off
            }
            std::thread::sleep(Duration::from_millis(300));
            if started.elapsed() > Duration::from_secs(6) {
                break;
            }
        }
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        (
            String::from_utf8_lossy(&answer).into_owned(),
            started.elapsed(),
        )
    });

    assert_eq!(
        status_of(&proxy, b"GET\x01 / HTTP/1.1\r\n\r\n"),
        400,
        "malformed request line"
    );
    assert_eq!(status_of(&proxy, b"HELLO\r\n\r\n"), 400, "not HTTP at all");
    let mut big = b"GET /health HTTP/1.1\r\nX-Pad: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 20_000));
    big.extend(b"\r\n\r\n");
    assert_eq!(status_of(&proxy, &big), 431, "oversized headers");
    assert_eq!(
        status_of(
            &proxy,
            b"POST /send HTTP/1.1\r\nContent-Length: 5000\r\n\r\n"
        ),
        413,
        "body over --max-body"
    );
    assert_eq!(
        status_of(
            &proxy,
            b"POST /send HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
        ),
        411
    );
    for (body, what) in [
        ("{\"a\":", "invalid JSON"),
        ("[1,2,3]", "a JSON array"),
        ("", "empty body"),
    ] {
        let resp = proxy.send(body);
        assert_eq!(resp.status, 400, "{what}: {}", resp.body_text());
        assert!(resp.json()["error"].is_string());
    }
    let wrong = net::request(proxy.addr, "GET", "/send", &[], b"").unwrap();
    assert_eq!((wrong.status, wrong.header("Allow")), (405, Some("POST")));
    assert_eq!(
        net::request(proxy.addr, "PUT", "/health", &[], b"")
            .unwrap()
            .status,
        405
    );
    assert_eq!(
        net::request(proxy.addr, "GET", "/nope", &[], b"")
            .unwrap()
            .status,
        404
    );

    // Meanwhile the proxy serves a good message normally.
    let good = sensor_body("bad-input-node", 1, 1);
    assert_eq!(proxy.send(&good).status, 200);

    let (answer, elapsed) = slow.join().unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 408 "),
        "slow client got {answer:?}"
    );
    assert!(
        elapsed < Duration::from_secs(8),
        "slow client cut off after {elapsed:?}"
    );

    let got = queue.receive_exactly(1);
    assert_eq!(got.len(), 1, "only the good message was forwarded");
    assert_eq!(got[0].body, good);
    assert!(net::wait_for_http_ok(
        proxy.addr,
        "/health",
        Duration::from_secs(5)
    ));
}

#[test]
fn connections_over_the_cap_get_503_and_the_proxy_keeps_serving() {
    let queue = Queue::new("proxy-conn-cap");
    let proxy = Proxy::start(
        &queue.url,
        &queue.endpoint,
        &["--workers", "1", "--max-connections", "3"],
    );
    // wait_for_http_ok's connection is closed by now or soon; hold 3 idle ones open.
    let held: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(proxy.addr).unwrap())
        .collect();
    util::wait_until("3 connections accepted", Duration::from_secs(10), || {
        let resp = net::raw_exchange(proxy.addr, b"GET /metrics HTTP/1.1\r\n\r\n");
        resp.is_ok_and(|r| r.status == 503 && r.body_text().contains("too many connections"))
    });
    drop(held);
    util::wait_until(
        "serving again after the idle ones left",
        Duration::from_secs(10),
        || net::request(proxy.addr, "GET", "/health", &[], b"").is_ok_and(|r| r.status == 200),
    );
}

#[test]
fn idle_keep_alive_connections_are_closed_after_the_idle_timeout() {
    let queue = Queue::new("proxy-idle");
    let proxy = Proxy::start(&queue.url, &queue.endpoint, &["--idle-timeout", "1"]);
    let mut s = TcpStream::connect(proxy.addr).unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\n\r\n").unwrap();
    assert_eq!(net::read_response(&mut s).unwrap().status, 200);
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let started = Instant::now();
    let mut byte = [0u8; 1];
    assert_eq!(
        s.read(&mut byte).unwrap(),
        0,
        "the proxy closes the idle connection"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "closed after {:?}",
        started.elapsed()
    );
}
