//! A stand-in HTTP/1.1 server on 127.0.0.1 (a real socket) for endpoints nothing else
//! provides in tests: the container credentials endpoint and EC2 instance metadata. Each
//! request is logged and answered by the test's handler, then the connection is closed.
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, SystemTime};

use sigv4::date_time::AmzDateTime;

/// One request as a stand-in saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// Names lower-cased.
    pub headers: Vec<(String, String)>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

type Handler = dyn Fn(&Seen, usize) -> (u16, String) + Send + Sync;

/// An HTTP/1.1 server on 127.0.0.1 answering request number `index` (from 0) with
/// `handler(request, index)`.
pub struct StandIn {
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl StandIn {
    pub fn start(handler: impl Fn(&Seen, usize) -> (u16, String) + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let log = seen.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (log, handler) = (log.clone(), handler.clone());
                thread::spawn(move || serve(stream, &log, &*handler));
            }
        });
        StandIn { port, seen }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Reads one request with the workspace's one HTTP/1.1 reader, logs it, answers, closes.
fn serve(stream: TcpStream, log: &Mutex<Vec<Seen>>, handler: &Handler) {
    let mut reader = http1::MessageReader::new(stream);
    let limits = http1::Limits::default();
    let Ok(Some(req)) = reader.read_request(&limits, http1::BodyLimit::Reject(1 << 20)) else {
        return;
    };
    let seen = Seen {
        method: req.method,
        path: req.target,
        headers: req
            .headers
            .into_iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v))
            .collect(),
    };
    let index = {
        let mut log = log.lock().unwrap();
        log.push(seen.clone());
        log.len() - 1
    };
    let (status, body) = handler(&seen, index);
    let answer = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = reader.get_mut().write_all(answer.as_bytes());
}

pub fn rfc3339(t: SystemTime) -> String {
    let s = AmzDateTime::from_system_time(t).timestamp();
    format!(
        "{}-{}-{}T{}:{}:{}Z",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13],
        &s[13..15]
    )
}

/// The JSON document container endpoints and IMDS answer: generation `n` has access key
/// `AKGEN{n}`, secret `secret-{n}`, token `token-{n}`, and expires `lifetime` from now.
pub fn credentials_document(n: usize, lifetime: Duration) -> String {
    format!(
        r#"{{"Code":"Success","AccessKeyId":"AKGEN{n}","SecretAccessKey":"secret-{n}","Token":"token-{n}","Expiration":"{}"}}"#,
        rfc3339(SystemTime::now() + lifetime)
    )
}
