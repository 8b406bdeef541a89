//! `http_request` as Bacalhau's Go client does it (pkg/executor/wasm/funcs/http/http.go at
//! v1.7.0: `http.Client{Timeout: 30s}` on Go's default transport), against real sockets on
//! 127.0.0.1: https with a private CA, the request head Go writes, the response headers Go
//! hands back, and Go's result code for every failure. Each test is a row of
//! docs/bacalhau-compat.md; timeouts run at the default settings.
mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use support::{ack, fixture, run, run_module, AbiCall, Server};

fn code(out: &std::process::Output) -> i32 {
    out.status.code().expect("exit code")
}

/// A listener whose every connection gets `serve` on its own thread.
fn raw_server(serve: fn(TcpStream)) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || serve(conn));
        }
    });
    addr
}

/// Reads the request head (enough for these GETs), then writes `answer`.
fn answer_with(mut conn: TcpStream, answer: &[u8]) {
    let mut buf = [0u8; 4096];
    let _ = conn.read(&mut buf);
    let _ = conn.write_all(answer);
}

fn ca_file() -> String {
    fixture("test-ca.pem").to_str().expect("utf-8").to_string()
}

#[test]
fn https_is_served_with_webpki_roots_plus_the_ca_file() {
    let server = Server::start_tls(ack);
    let port = server.addr.port();
    let ca = ca_file();
    for host in ["localhost", "127.0.0.1"] {
        let call = AbiCall::new(0, &format!("https://{host}:{port}/health"));
        let out = run_module(&call.guest().write_temp("https"), &["--ca-file", &ca], &[]);
        assert_eq!(
            code(&out),
            0,
            "{host}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, br#"{"message_id":"m-1"}"#);
    }
    // Without the private CA the certificate has an unknown issuer: Go's x509 error, code 2.
    let call = AbiCall::new(0, &format!("https://localhost:{port}/health"));
    assert_eq!(
        code(&run_module(&call.guest().write_temp("untrusted"), &[], &[])),
        2
    );
    assert_eq!(
        server.seen().len(),
        2,
        "the untrusted handshake sent no request"
    );
}

#[test]
fn ca_file_flag_is_listed_and_checked() {
    let help = run(&["--help"]);
    assert!(String::from_utf8_lossy(&help.stdout).contains("--ca-file PATH"));
    let out = run(&["run", "m.wasm", "--ca-file", "/no/such/ca.pem"]);
    assert_eq!(code(&out), 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--ca-file") && err.contains("/no/such/ca.pem"),
        "{err}"
    );
    let not_pem = fixture("make-tls.sh");
    let out = run(&[
        "run",
        "m.wasm",
        "--ca-file",
        not_pem.to_str().expect("utf-8"),
    ]);
    assert_eq!(code(&out), 2, "{}", String::from_utf8_lossy(&out.stderr));
}

/// Go's default transport gives the TLS handshake 10 s (`TLSHandshakeTimeout`); its expiry
/// is a timeout error, so Bacalhau returns 3.
#[test]
fn a_tls_endpoint_that_never_answers_is_timeout_3_after_10_s() {
    let addr = raw_server(|conn| {
        std::thread::sleep(Duration::from_secs(60));
        drop(conn);
    });
    let call = AbiCall::new(0, &format!("https://{addr}/"));
    let started = Instant::now();
    let out = run_module(&call.guest().write_temp("tlsstall"), &[], &[]);
    let took = started.elapsed();
    assert_eq!(code(&out), 3);
    assert!(
        took >= Duration::from_secs(10) && took < Duration::from_secs(15),
        "{took:?}"
    );
}

#[test]
fn the_request_head_is_what_gos_client_writes() {
    let server = Server::start(ack);
    let mut call = AbiCall::new(1, &server.url("/send"));
    call.headers = "content-type: application/json\nx-node-ID: n1\nHost: evil.example\n\
                    Content-Length: 999"
        .into();
    call.body = "{}".into();
    assert_eq!(
        code(&run_module(&call.guest().write_temp("head"), &[], &[])),
        0
    );
    let mut call = AbiCall::new(0, &server.url("/ua"));
    call.headers = "user-agent: sensor/1".into();
    assert_eq!(
        code(&run_module(&call.guest().write_temp("ua"), &[], &[])),
        0
    );
    let seen = server.seen();
    let names: Vec<&str> = seen[0].headers.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "Host",
            "User-Agent",
            "Content-Length",
            "Content-Type",
            "X-Node-Id"
        ],
        "canonical names, Go's order, the guest's Host and Content-Length dropped"
    );
    assert_eq!(
        seen[0].header("host"),
        Some(server.addr.to_string().as_str())
    );
    assert_eq!(seen[0].header("user-agent"), Some("Go-http-client/1.1"));
    assert_eq!(seen[0].header("content-length"), Some("2"));
    assert_eq!(seen[1].header("user-agent"), Some("sensor/1"));
}

#[test]
fn url_user_info_is_sent_as_basic_credentials() {
    let server = Server::start(ack);
    let url = format!("http://user:pa%20ss@{}/auth", server.addr);
    assert_eq!(
        code(&run_module(
            &AbiCall::new(0, &url).guest().write_temp("basic"),
            &[],
            &[]
        )),
        0
    );
    // base64("user:pa ss")
    assert_eq!(
        server.seen()[0].header("authorization"),
        Some("Basic dXNlcjpwYSBzcw==")
    );
}

#[test]
fn a_header_go_refuses_to_send_is_2() {
    let server = Server::start(ack);
    for headers in ["bad name: x", "X-Ok: a\u{1}b"] {
        let mut call = AbiCall::new(0, &server.url("/"));
        call.headers = headers.into();
        assert_eq!(
            code(&run_module(&call.guest().write_temp("badhdr"), &[], &[])),
            2,
            "{headers:?}"
        );
    }
    assert!(server.seen().is_empty());
}

#[test]
fn response_headers_are_canonical_and_without_transfer_encoding() {
    let addr = raw_server(|conn| {
        answer_with(
            conn,
            b"HTTP/1.1 200 OK\r\nx-custom-thing: v\r\nTransfer-Encoding: chunked\r\n\r\n\
              3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
    });
    let out = run_module(
        &AbiCall::new(0, &format!("http://{addr}/"))
            .guest()
            .write_temp("te"),
        &[],
        &[],
    );
    assert_eq!(code(&out), 0);
    assert_eq!(out.stdout, b"abcde");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "X-Custom-Thing: v");
}

/// Bacalhau reads the body after `client.Do` returned and maps any `io.ReadAll` error to 2:
/// a timeout while reading the body is 2, not 3. At the default 30 s.
#[test]
fn a_timeout_while_reading_the_body_is_2() {
    let addr = raw_server(|mut conn| {
        answer_with(
            conn.try_clone().expect("clone"),
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b",
        );
        std::thread::sleep(Duration::from_secs(60));
        let _ = conn.flush();
    });
    let started = Instant::now();
    let out = run_module(
        &AbiCall::new(0, &format!("http://{addr}/"))
            .guest()
            .write_temp("bodyslow"),
        &[],
        &[],
    );
    let took = started.elapsed();
    assert_eq!(code(&out), 2);
    assert!(
        took >= Duration::from_secs(30) && took < Duration::from_secs(35),
        "{took:?}"
    );
}

#[test]
fn a_broken_or_garbled_body_is_2() {
    let addr = raw_server(|conn| {
        let mut buf = [0u8; 4096];
        let mut conn = conn;
        let n = conn.read(&mut buf).unwrap_or(0);
        let req = String::from_utf8_lossy(&buf[..n]).into_owned();
        let answer: &[u8] = if req.starts_with("GET /closed") {
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"
        } else if req.starts_with("GET /huge") {
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc"
        } else {
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"
        };
        let _ = conn.write_all(answer);
    });
    for path in ["/closed", "/huge", "/badhex"] {
        let call = AbiCall::new(0, &format!("http://{addr}{path}"));
        let started = Instant::now();
        assert_eq!(
            code(&run_module(&call.guest().write_temp("garbled"), &[], &[])),
            2,
            "{path}"
        );
        assert!(started.elapsed() < Duration::from_secs(5), "{path}");
    }
}

#[test]
fn a_response_that_is_not_http_is_2() {
    let addr = raw_server(|conn| answer_with(conn, b"SSH-2.0-OpenSSH\r\n\r\n"));
    let call = AbiCall::new(0, &format!("http://{addr}/"));
    assert_eq!(
        code(&run_module(&call.guest().write_temp("nothttp"), &[], &[])),
        2
    );
}

/// Bacalhau checks only the first URL's host against the policy; Go's client then follows a
/// redirect anywhere.
#[test]
fn redirect_targets_are_not_rechecked_against_the_policy() {
    fn answer(seen: &support::Seen) -> (u16, Vec<(String, String)>, Vec<u8>) {
        match seen.path.as_str() {
            "/start" => {
                let port = seen
                    .header("host")
                    .and_then(|h| h.rsplit(':').next())
                    .unwrap_or("");
                let to = format!("http://127.0.0.1:{port}/elsewhere");
                (302, vec![("Location".into(), to)], Vec::new())
            }
            _ => (200, vec![], b"followed".to_vec()),
        }
    }
    let server = Server::start(answer);
    let port = server.addr.port();
    let call = AbiCall::new(0, &format!("http://allowed.test:{port}/start"));
    let flags = [
        "--network",
        "http",
        "--domain",
        "allowed.test",
        "--host-alias",
        "allowed.test=127.0.0.1",
    ];
    let out = run_module(&call.guest().write_temp("policyredirect"), &flags, &[]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, b"followed");
    // The policy itself still holds for the first URL.
    let call = AbiCall::new(0, &format!("http://127.0.0.1:{port}/start"));
    assert_eq!(
        code(&run_module(&call.guest().write_temp("policy"), &flags, &[])),
        4
    );
}
