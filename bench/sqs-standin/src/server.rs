//! Connections: one thread each, blocking I/O, keep-alive (the clients measured here keep a
//! few connections open: one per proxy forwarder or puller poller), requests read with the
//! workspace's HTTP/1.1 reader and each answer written with one `writev`. Every socket has
//! a read timeout, so a silent client costs a thread for at most [`IDLE_TIMEOUT`].
use crate::error::SqsError;
use crate::queue::Queue;
use crate::{json_api, query_api, stats};
use std::io::{self, IoSlice, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

/// A keep-alive connection silent this long is closed (clients reconnect transparently).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest request body: a full SendMessageBatch (1 MiB of bodies) once form-encoded.
const MAX_BODY: usize = 4 << 20;

/// A connection's reused buffers: the answer's head and body, a scratch buffer for message
/// bodies, the request id.
#[derive(Default)]
pub struct Buffers {
    head: Vec<u8>,
    pub out: Vec<u8>,
    pub scratch: Vec<u8>,
    pub request_id: Vec<u8>,
}

/// Accepts connections forever, at most `max_connections` at once (more are answered 503
/// and closed, so a runaway client cannot exhaust threads).
pub fn serve(listener: TcpListener, queue: Arc<Queue>, max_connections: usize) {
    let open = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                // EMFILE and friends: wait for connections to close rather than spin.
                eprintln!("sqs-standin: accept: {e}");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        if open.fetch_add(1, Relaxed) >= max_connections {
            open.fetch_sub(1, Relaxed);
            let _ = refuse(stream);
            continue;
        }
        let (queue, open) = (Arc::clone(&queue), Arc::clone(&open));
        let spawned = std::thread::Builder::new()
            .name("conn".into())
            .spawn(move || {
                let _ = connection(stream, &queue);
                open.fetch_sub(1, Relaxed);
            });
        if let Err(e) = spawned {
            eprintln!("sqs-standin: cannot start a connection thread: {e}");
        }
    }
}

fn refuse(mut stream: TcpStream) -> io::Result<()> {
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    stream.write_all(
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
}

/// Serves one connection until the client closes it, goes silent or sends something that
/// is not HTTP/1.1.
fn connection(stream: TcpStream, queue: &Queue) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let mut reader = http1::MessageReader::new(stream);
    let limits = http1::Limits::default();
    let mut buf = Buffers::default();
    loop {
        let request = match reader.read_request(&limits, http1::BodyLimit::Reject(MAX_BODY)) {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(()),
            Err(e @ (http1::Error::Malformed(_) | http1::Error::TooLarge(_))) => {
                let status = if matches!(e, http1::Error::TooLarge(_)) {
                    413
                } else {
                    400
                };
                buf.out.clear();
                buf.out.extend_from_slice(e.to_string().as_bytes());
                let reply = Reply::plain(status);
                return write_answer(reader.get_mut(), &mut buf, &reply, false);
            }
            Err(_) => return Ok(()),
        };
        let keep_alive = request.keep_alive();
        let reply = route(&request, queue, &mut buf);
        write_answer(reader.get_mut(), &mut buf, &reply, keep_alive)?;
        if !keep_alive {
            return Ok(());
        }
    }
}

/// What goes in the head beside the body in `Buffers::out`.
struct Reply {
    status: u16,
    content_type: &'static str,
    /// JSON protocol errors: `x-amzn-query-error: Code;Sender`.
    query_error: Option<(&'static str, bool)>,
}

impl Reply {
    fn plain(status: u16) -> Reply {
        Reply {
            status,
            content_type: "text/plain",
            query_error: None,
        }
    }
}

/// Runs the request and leaves its answer's body in `buf.out`.
fn route(request: &http1::Request, queue: &Queue, buf: &mut Buffers) -> Reply {
    static REQUESTS: AtomicU64 = AtomicU64::new(0);
    buf.out.clear();
    buf.request_id.clear();
    crate::canned::push_message_id(2, REQUESTS.fetch_add(1, Relaxed), &mut buf.request_id);
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((&request.target, ""));
    if request.method == "GET" && (path == "/stats" || path == "/count") {
        let text = if path == "/stats" {
            stats::json(queue)
        } else {
            queue.counters.sent.load(Relaxed).to_string()
        };
        buf.out.extend_from_slice(text.as_bytes());
        let content_type = if path == "/stats" {
            "application/json"
        } else {
            "text/plain"
        };
        return Reply {
            content_type,
            ..Reply::plain(200)
        };
    }
    let host = request.header("host").unwrap_or("localhost");
    if let Some(target) = request.header("x-amz-target") {
        let result = json_api::answer(queue, target, &request.body, host, buf);
        return finish(result, queue, buf, Protocol::Json);
    }
    // The query protocol: a form body, or (GET) the URL's query string.
    let form = if request.body.is_empty() {
        query.as_bytes()
    } else {
        &request.body
    };
    let result = match std::str::from_utf8(form) {
        Ok(form) => query_api::answer(queue, form, host, buf),
        Err(_) => Err(SqsError::invalid_parameter(
            "the form body is not UTF-8".into(),
        )),
    };
    finish(result, queue, buf, Protocol::Query)
}

#[derive(Clone, Copy)]
enum Protocol {
    Json,
    Query,
}

/// The reply for an answered request, or the protocol's error document in `buf.out`.
fn finish(
    result: Result<(), SqsError>,
    queue: &Queue,
    buf: &mut Buffers,
    protocol: Protocol,
) -> Reply {
    let content_type = match protocol {
        Protocol::Json => json_api::CONTENT_TYPE,
        Protocol::Query => query_api::CONTENT_TYPE,
    };
    let e = match result {
        Ok(()) => {
            return Reply {
                content_type,
                ..Reply::plain(200)
            }
        }
        Err(e) => e,
    };
    queue.counters.errors.fetch_add(1, Relaxed);
    buf.out.clear();
    match protocol {
        Protocol::Json => e.write_json(&mut buf.out),
        Protocol::Query => e.write_xml(&buf.request_id, &mut buf.out),
    }
    Reply {
        status: e.status,
        content_type,
        query_error: matches!(protocol, Protocol::Json).then_some((e.code, e.sender)),
    }
}

/// Head and body in one `writev` (one TCP segment for a small answer with TCP_NODELAY).
fn write_answer(
    stream: &mut TcpStream,
    buf: &mut Buffers,
    reply: &Reply,
    keep_alive: bool,
) -> io::Result<()> {
    let head = &mut buf.head;
    head.clear();
    let _ = write!(
        head,
        "HTTP/1.1 {} {}\r\nx-amzn-RequestId: ",
        reply.status,
        reason(reply.status)
    );
    head.extend_from_slice(&buf.request_id);
    let _ = write!(
        head,
        "\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
        reply.content_type,
        buf.out.len()
    );
    if let Some((code, sender)) = reply.query_error {
        let fault = if sender { "Sender" } else { "Receiver" };
        let _ = write!(head, "x-amzn-query-error: {code};{fault}\r\n");
    }
    if !keep_alive {
        head.extend_from_slice(b"Connection: close\r\n");
    }
    head.extend_from_slice(b"\r\n");
    write_all_vectored(stream, head, &buf.out)
}

fn write_all_vectored(stream: &mut TcpStream, head: &[u8], body: &[u8]) -> io::Result<()> {
    let total = head.len() + body.len();
    let mut written = 0;
    while written < total {
        let n = if written < head.len() {
            stream.write_vectored(&[IoSlice::new(&head[written..]), IoSlice::new(body)])
        } else {
            stream.write(&body[written - head.len()..])
        };
        match n {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        413 => "Payload Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    }
}
