//! Byte-string tests of the connection state machine.
use super::*;

fn ok(text: &str) -> Response {
    Response::new(200, "text/plain", text)
}

fn conn() -> HttpConn {
    HttpConn::new(Limits::default())
}

fn out(c: &mut HttpConn) -> String {
    let s = String::from_utf8_lossy(c.output()).into_owned();
    let n = c.output().len();
    c.consumed(n);
    s
}

#[test]
fn get_request_in_one_piece() {
    let mut c = conn();
    let reqs = c.feed(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(reqs.len(), 1);
    assert_eq!((&*reqs[0].method, &*reqs[0].path), ("GET", "/health"));
    assert!(c.output().is_empty());
    c.respond(reqs[0].id, &ok("a"));
    assert!(out(&mut c).starts_with("HTTP/1.1 200 OK\r\n"));
    assert!(!c.finished(), "keep-alive by default in HTTP/1.1");
}

#[test]
fn request_split_into_single_bytes() {
    let mut c = conn();
    let raw = b"POST /send HTTP/1.1\r\nContent-Length: 7\r\n\r\n{\"a\":1}";
    let mut got = Vec::new();
    for b in raw.iter() {
        got.extend(c.feed(std::slice::from_ref(b)));
    }
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, b"{\"a\":1}");
}

#[test]
fn pipelined_answers_leave_in_request_order() {
    let mut c = conn();
    let reqs = c.feed(
        b"POST /send HTTP/1.1\r\nContent-Length: 1\r\n\r\nAGET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
    );
    assert_eq!(reqs.len(), 3);
    c.respond(reqs[2].id, &ok("third"));
    c.respond(reqs[1].id, &ok("second"));
    assert!(c.output().is_empty(), "first is still waiting for its ack");
    c.respond(reqs[0].id, &ok("first"));
    let text = out(&mut c);
    let (a, b, d) = (
        text.find("first").unwrap(),
        text.find("second").unwrap(),
        text.find("third").unwrap(),
    );
    assert!(a < b && b < d, "{text}");
}

#[test]
fn short_writes_keep_the_rest() {
    let mut c = conn();
    let reqs = c.feed(b"GET / HTTP/1.1\r\n\r\n");
    c.respond(reqs[0].id, &ok("hello"));
    let all = c.output().to_vec();
    c.consumed(5);
    assert_eq!(c.output(), &all[5..]);
}

#[test]
fn malformed_request_line_is_400_and_closes() {
    let mut c = conn();
    assert!(c.feed(b"GARBAGE\x01 / HTTP/1.1\r\n\r\n").is_empty());
    assert!(out(&mut c).starts_with("HTTP/1.1 400 "));
    assert!(c.finished());
    assert!(
        c.feed(b"GET / HTTP/1.1\r\n\r\n").is_empty(),
        "nothing read after an error"
    );
}

#[test]
fn oversized_head_is_431_even_before_it_ends() {
    let mut c = conn();
    let mut raw = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
    raw.extend(std::iter::repeat_n(b'a', 9000));
    assert!(c.feed(&raw).is_empty());
    assert!(out(&mut c).starts_with("HTTP/1.1 431 "));
    assert!(c.finished());
}

#[test]
fn too_many_headers_is_431() {
    let mut c = conn();
    let mut raw = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..80 {
        raw.extend(format!("X-{i}: v\r\n").as_bytes());
    }
    raw.extend(b"\r\n");
    c.feed(&raw);
    assert!(out(&mut c).starts_with("HTTP/1.1 431 "));
}

#[test]
fn body_over_limit_is_413_without_reading_it() {
    let mut c = conn();
    c.feed(b"POST /send HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n");
    assert!(out(&mut c).starts_with("HTTP/1.1 413 "));
    assert!(c.finished());
}

#[test]
fn chunked_is_411_and_missing_length_on_post_is_411() {
    let mut c = conn();
    c.feed(b"POST /send HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert!(out(&mut c).starts_with("HTTP/1.1 411 "));
    let mut c = conn();
    c.feed(b"POST /send HTTP/1.1\r\n\r\n");
    assert!(out(&mut c).starts_with("HTTP/1.1 411 "));
}

#[test]
fn bad_and_conflicting_content_length_are_400() {
    for raw in [
        &b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"[..],
        b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    ] {
        let mut c = conn();
        c.feed(raw);
        assert!(out(&mut c).starts_with("HTTP/1.1 400 "));
    }
}

#[test]
fn expect_continue_gets_interim_answer_before_body() {
    let mut c = conn();
    let reqs = c.feed(b"POST /send HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
    assert!(reqs.is_empty());
    assert_eq!(out(&mut c), "HTTP/1.1 100 Continue\r\n\r\n");
    let reqs = c.feed(b"{}");
    assert_eq!(reqs[0].body, b"{}");
}

#[test]
fn connection_close_and_http10_close_after_answer() {
    for raw in [
        &b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"[..],
        b"GET / HTTP/1.0\r\n\r\n",
    ] {
        let mut c = conn();
        let reqs = c.feed(raw);
        c.respond(reqs[0].id, &ok("x"));
        assert!(out(&mut c).contains("Connection: close\r\n"));
        assert!(c.finished());
    }
}

#[test]
fn pipeline_limit_stops_parsing_until_answers_go_out() {
    let mut c = HttpConn::new(Limits {
        max_pipeline: 2,
        ..Limits::default()
    });
    let reqs = c.feed(b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n");
    assert_eq!(reqs.len(), 2);
    assert!(!c.wants_read());
    c.respond(reqs[0].id, &ok("1"));
    let more = c.parse();
    assert_eq!(more.len(), 1);
    assert_eq!(more[0].path, "/3");
}

#[test]
fn slow_client_timeout_answers_408_after_earlier_answers() {
    let mut c = conn();
    let reqs = c.feed(b"GET /1 HTTP/1.1\r\n\r\nGET /2 HT");
    assert!(c.mid_request());
    c.timed_out();
    assert!(c.output().is_empty(), "the 408 waits for /1's answer");
    c.respond(reqs[0].id, &ok("one"));
    let text = out(&mut c);
    assert!(text.find("one").unwrap() < text.find("408").unwrap());
    assert!(c.finished());
}

#[test]
fn drain_answers_received_requests_then_finishes() {
    let mut c = conn();
    let reqs = c.feed(b"GET /1 HTTP/1.1\r\n\r\n");
    c.drain();
    assert!(!c.finished());
    c.respond(reqs[0].id, &ok("one"));
    assert!(out(&mut c).contains("Connection: close"));
    assert!(c.finished());
}

#[test]
fn the_authorization_header_reaches_the_request_of_its_own_message_only() {
    let mut c = conn();
    let reqs = c.feed(
        b"POST /send HTTP/1.1\r\nauthorization:  Bearer t-1 \r\nContent-Length: 2\r\n\r\n{}\
          GET /health HTTP/1.1\r\n\r\n",
    );
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].authorization.as_deref(), Some("Bearer t-1"));
    assert_eq!(
        reqs[1].authorization, None,
        "headers do not leak into the next request"
    );
}
