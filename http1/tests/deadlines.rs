//! Deadlines against real sockets on 127.0.0.1: a TLS endpoint that never answers the
//! ClientHello, a peer that drips one byte per second, and chunked garbage from a server.
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use http1::tls::TlsConnector;
use http1::{dial, BodyLimit, DeadlineStream, Error, Limits, MessageReader, Stream};

/// A listener whose connections get `serve`; returns its address.
fn server(serve: fn(TcpStream)) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            thread::spawn(move || serve(conn));
        }
    });
    addr
}

/// Reads the request (so the client's write completes), then holds the socket open silently.
fn silent(mut conn: TcpStream) {
    let mut buf = [0u8; 4096];
    let _ = conn.read(&mut buf);
    thread::sleep(Duration::from_secs(30));
}

fn plain(addr: SocketAddr, deadline: Instant) -> MessageReader<Stream> {
    let tcp = dial(&[addr], deadline).expect("connect");
    MessageReader::new(Stream::Plain(DeadlineStream::new(tcp, Some(deadline))))
}

#[test]
fn a_tls_endpoint_that_never_answers_the_client_hello_fails_by_the_deadline() {
    let addr = server(silent);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(2);
    let tcp = dial(&[addr], deadline).expect("tcp connects");
    let tls = TlsConnector::webpki().expect("config");
    let Err(err) = tls.connect(DeadlineStream::new(tcp, Some(deadline)), "localhost") else {
        panic!("handshake cannot succeed");
    };
    let took = started.elapsed();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(4),
        "{took:?}"
    );
}

#[test]
fn a_slow_drip_is_cut_at_the_overall_deadline() {
    // One byte per second: each read completes well inside any per-read timeout, so only an
    // overall deadline stops it.
    let addr = server(|mut conn| {
        let mut buf = [0u8; 4096];
        let _ = conn.read(&mut buf);
        let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
        for _ in 0..100 {
            if conn.write_all(b"x").is_err() {
                return;
            }
            thread::sleep(Duration::from_secs(1));
        }
    });
    let started = Instant::now();
    let mut reader = plain(addr, started + Duration::from_millis(3500));
    reader
        .get_mut()
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    let err = reader
        .read_response(false, &Limits::default(), BodyLimit::Reject(1000))
        .expect_err("cannot finish in time");
    let took = started.elapsed();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        took >= Duration::from_millis(3500) && took < Duration::from_secs(5),
        "{took:?}"
    );
}

#[test]
fn a_silent_server_times_out_at_the_deadline() {
    let addr = server(silent);
    let started = Instant::now();
    let mut reader = plain(addr, started + Duration::from_secs(1));
    reader
        .get_mut()
        .write_all(b"GET / HTTP/1.1\r\n\r\n")
        .expect("send");
    let err = reader
        .read_response(false, &Limits::default(), BodyLimit::Reject(1000))
        .expect_err("no answer");
    assert!(err.is_timeout(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// Serves the chunked body named by the request path, then closes.
fn chunked_garbage(mut conn: TcpStream) {
    let mut buf = [0u8; 4096];
    let n = conn.read(&mut buf).unwrap_or(0);
    let req = String::from_utf8_lossy(&buf[..n]);
    let body = match req.split_whitespace().nth(1).unwrap_or("") {
        "/huge" => "ffffffffffffffff\r\nabc",
        "/overflow" => "10\r\n0123456789abcdef\r\nfffffffffffffff0\r\n",
        "/badhex" => "5x\r\nhello\r\n0\r\n\r\n",
        _ => "a\r\nonly5",
    };
    let _ = conn.write_all(
        format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{body}").as_bytes(),
    );
}

#[test]
fn chunked_garbage_from_a_server_is_a_clear_error() {
    let addr = server(chunked_garbage);
    for (path, expected) in [
        ("/huge", "too large"),
        ("/overflow", "too large"),
        ("/badhex", "chunk size"),
        ("/truncated", "connection closed"),
    ] {
        let started = Instant::now();
        let mut reader = plain(addr, started + Duration::from_secs(5));
        let req = format!("GET {path} HTTP/1.1\r\n\r\n");
        reader.get_mut().write_all(req.as_bytes()).expect("send");
        let err = reader
            .read_response(false, &Limits::default(), BodyLimit::Reject(1 << 20))
            .expect_err(path);
        assert!(err.to_string().contains(expected), "{path}: {err}");
        assert!(!matches!(err, Error::TimedOut(_)), "{path}: {err}");
        assert!(started.elapsed() < Duration::from_secs(2), "{path}");
    }
}
