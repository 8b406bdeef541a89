//! Host ABI of `wasi:http/requests`.`http_request`, driven by hand-encoded guests: every
//! result code the guest can see, truncation to its buffers, status, headers both ways.
mod support;

use support::{ack, run_module, AbiCall, Seen, Server};

fn answer_long(_: &Seen) -> (u16, Vec<(String, String)>, Vec<u8>) {
    (
        201,
        vec![("x-test".into(), "long-header-value".into())],
        b"0123456789abcdef".to_vec(),
    )
}

fn code(out: &std::process::Output) -> i32 {
    out.status.code().expect("exit code")
}

#[test]
fn too_small_buffers_are_truncated_and_written_length_reported() {
    let server = Server::start(answer_long);
    let mut call = AbiCall::new(0, &server.url("/data"));
    call.headers_cap = 10;
    call.body_cap = 4;
    let out = run_module(&call.guest().write_temp("trunc"), &[], &[]);
    assert_eq!(
        code(&out),
        0,
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The guest printed exactly the written lengths: the host cut silently to capacity.
    assert_eq!(out.stdout, b"0123");
    assert_eq!(out.stderr, b"Content-Le");
}

#[test]
fn full_answer_with_status_and_canonical_headers() {
    let server = Server::start(answer_long);
    let mut call = AbiCall::new(0, &server.url("/data"));
    call.exit_with_status = true;
    let out = run_module(&call.guest().write_temp("status"), &[], &[]);
    assert_eq!(code(&out), 201, "status 201 written to status_ptr");
    assert_eq!(out.stdout, b"0123456789abcdef");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Content-Length: 16\nX-Test: long-header-value"
    );
}

#[test]
fn method_headers_and_body_reach_the_server() {
    let server = Server::start(ack);
    let mut call = AbiCall::new(1, &server.url("/send?x=1"));
    call.headers = "Content-Type: application/json\nX-Node: n1\nnot a header".into();
    call.body = r#"{"sequence":7}"#.into();
    let out = run_module(&call.guest().write_temp("post"), &[], &[]);
    assert_eq!(code(&out), 0);
    assert_eq!(out.stdout, br#"{"message_id":"m-1"}"#);
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("POST", "/send?x=1")
    );
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    assert_eq!(seen[0].header("x-node"), Some("n1"));
    assert_eq!(seen[0].body, br#"{"sequence":7}"#);
    for (method, name) in [
        (2, "PUT"),
        (3, "DELETE"),
        (5, "OPTIONS"),
        (6, "PATCH"),
        (42, "GET"),
    ] {
        let out = run_module(
            &AbiCall::new(method, &server.url("/m"))
                .guest()
                .write_temp("method"),
            &[],
            &[],
        );
        assert_eq!(code(&out), 0);
        assert_eq!(
            server.seen().last().map(|s| s.method.clone()),
            Some(name.to_string())
        );
    }
}

#[test]
fn host_not_allowed_is_4() {
    let server = Server::start(ack);
    let guest = AbiCall::new(0, &server.url("/")).guest().write_temp("deny");
    let out = run_module(
        &guest,
        &["--network", "http", "--domain", "*.example.com"],
        &[],
    );
    assert_eq!(code(&out), 4);
    assert!(
        server.seen().is_empty(),
        "nothing may be sent to a host that is not allowed"
    );
    // The same host through an IP domain entry (ports ignored) is allowed.
    let out = run_module(
        &guest,
        &["--network", "http", "--domain", "127.0.0.1:1"],
        &[],
    );
    assert_eq!(code(&out), 0);
}

#[test]
fn pointers_outside_memory_are_7() {
    let server = Server::start(ack);
    let outside = 0x7fff_fff0;
    for which in 0..3 {
        let mut call = AbiCall::new(0, &server.url("/"));
        match which {
            0 => call.resp_body_len = outside,
            1 => call.resp_headers_len = outside,
            _ => call.status = outside,
        }
        let out = run_module(&call.guest().write_temp("oom"), &[], &[]);
        assert_eq!(code(&out), 7, "case {which}");
    }
}

#[test]
fn zero_response_pointer_and_unreadable_body_are_6() {
    let server = Server::start(ack);
    let mut call = AbiCall::new(0, &server.url("/"));
    call.resp_body = 0;
    assert_eq!(
        code(&run_module(&call.guest().write_temp("zero"), &[], &[])),
        6
    );
    let mut call = AbiCall::new(1, &server.url("/"));
    call.body = "x".into();
    call.body_ptr = 0x7fff_fff0;
    assert_eq!(
        code(&run_module(&call.guest().write_temp("body"), &[], &[])),
        6
    );
    assert!(server.seen().is_empty());
}

/// Code 1 only where Go's `url.Parse` fails (Bacalhau parses the guest's URL with it,
/// pkg/executor/wasm/funcs/http/http.go at v1.7.0), or the URL is outside guest memory.
#[test]
fn invalid_url_is_1() {
    for url in [
        "http://host:notaport/",
        "http://a b/",
        "http://[::1/",
        "http://h/%zz",
        ":no-scheme",
        "127.0.0.1:8080/send",
    ] {
        let out = run_module(&AbiCall::new(0, url).guest().write_temp("badurl"), &[], &[]);
        assert_eq!(code(&out), 1, "{url}");
    }
    let mut call = AbiCall::new(0, "http://127.0.0.1/");
    call.url_ptr = 0x7fff_fff0;
    assert_eq!(
        code(&run_module(&call.guest().write_temp("urlptr"), &[], &[])),
        1
    );
}

/// What Go's `url.Parse` accepts but Go's client cannot send (another scheme, no host, a port
/// over 65535) is a network error, 2, as on a Bacalhau node; these were 1 before.
#[test]
fn urls_go_parses_but_cannot_send_are_2() {
    for url in [
        "not a url",
        "ftp://example.com/",
        "http://",
        "http:///path",
        "http://127.0.0.1:99999/",
        "localhost:9091/send",
    ] {
        let out = run_module(
            &AbiCall::new(0, url).guest().write_temp("lenient"),
            &[],
            &[],
        );
        assert_eq!(code(&out), 2, "{url}");
    }
}

#[test]
fn unreachable_host_is_2() {
    let port = edge_tests::net::free_port();
    let out = run_module(
        &AbiCall::new(0, &format!("http://127.0.0.1:{port}/"))
            .guest()
            .write_temp("down"),
        &[],
        &[],
    );
    assert_eq!(code(&out), 2);
    let out = run_module(
        &AbiCall::new(0, "http://no-such-host.invalid/")
            .guest()
            .write_temp("nxdomain"),
        &[],
        &[],
    );
    assert_eq!(code(&out), 2);
    // https to a closed port: connection refused, as over plain http.
    let out = run_module(
        &AbiCall::new(0, &format!("https://127.0.0.1:{port}/"))
            .guest()
            .write_temp("tls"),
        &[],
        &[],
    );
    assert_eq!(code(&out), 2);
}

#[test]
fn host_alias_and_docker_host_name_resolve() {
    let server = Server::start(ack);
    let port = server.addr.port();
    let guest = AbiCall::new(0, &format!("http://proxy-us.test:{port}/health"))
        .guest()
        .write_temp("alias");
    assert_eq!(
        code(&run_module(
            &guest,
            &["--host-alias", "proxy-us.test=127.0.0.1"],
            &[]
        )),
        0
    );
    assert_eq!(
        code(&run_module(&guest, &[], &[])),
        2,
        "without the alias the name does not resolve"
    );
    let guest = AbiCall::new(0, &format!("http://host.docker.internal:{port}/health"))
        .guest()
        .write_temp("docker");
    assert_eq!(code(&run_module(&guest, &[], &[])), 0);
}

/// Go's client times out after 30 s while waiting for the head: `url.Error.Timeout()`, code
/// 3. At the default timeout.
#[test]
fn silent_server_is_timeout_3() {
    // Accepts the connection, never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let hold = std::thread::spawn(move || listener.accept().map(|(conn, _)| conn));
    let guest = AbiCall::new(0, &format!("http://{addr}/slow"))
        .guest()
        .write_temp("slow");
    let started = std::time::Instant::now();
    let out = run_module(&guest, &[], &[]);
    let took = started.elapsed();
    assert_eq!(code(&out), 3);
    assert!(took >= std::time::Duration::from_secs(30), "{took:?}");
    assert!(took < std::time::Duration::from_secs(35), "{took:?}");
    drop(hold.join());
}

fn answer_redirect(seen: &Seen) -> (u16, Vec<(String, String)>, Vec<u8>) {
    match seen.path.as_str() {
        "/old" => (302, vec![("Location".into(), "/new".into())], Vec::new()),
        "/loop" => (307, vec![("Location".into(), "/loop".into())], Vec::new()),
        _ => (200, vec![], b"moved".to_vec()),
    }
}

#[test]
fn redirects_are_followed_like_gos_client() {
    let server = Server::start(answer_redirect);
    let mut call = AbiCall::new(1, &server.url("/old"));
    call.body = "x".into();
    call.exit_with_status = true;
    let out = run_module(&call.guest().write_temp("redirect"), &[], &[]);
    assert_eq!(code(&out), 200);
    assert_eq!(out.stdout, b"moved");
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (seen[1].method.as_str(), seen[1].body.len()),
        ("GET", 0),
        "302 after POST is a GET"
    );
    // Endless redirects: Go's client makes 10 requests, then fails ("stopped after 10
    // redirects", net/http/client.go defaultCheckRedirect): a network error.
    let out = run_module(
        &AbiCall::new(0, &server.url("/loop"))
            .guest()
            .write_temp("loop"),
        &[],
        &[],
    );
    assert_eq!(code(&out), 2);
    assert_eq!(server.seen().len(), 2 + 10);
}
