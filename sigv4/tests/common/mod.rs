//! A scripted HTTP/1.1 server for the client tests: answers each request it reads with the
//! next scripted step and logs connections and requests (head + body) for assertions.
#![allow(dead_code)] // each test file uses a different part of it
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use sigv4::sqs::{Protocol, SqsClient, SqsConfig};
use sigv4::Credentials;

/// What the server does with the next request it reads.
pub enum Step {
    /// Write these bytes and keep the connection.
    Answer(String),
    /// Write these bytes, then close the connection.
    AnswerThenClose(String),
    /// Read the request and never answer (the connection stays open until the test ends).
    Stall,
}

#[derive(Default)]
struct Log {
    connections: usize,
    requests: Vec<String>,
}

pub struct FakeServer {
    pub port: u16,
    log: Arc<Mutex<Log>>,
}

impl FakeServer {
    pub fn start(steps: Vec<Step>) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Log::default()));
        let steps = Arc::new(Mutex::new(steps.into_iter()));
        let server_log = log.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                server_log.lock().unwrap().connections += 1;
                let (log, steps) = (server_log.clone(), steps.clone());
                thread::spawn(move || serve(stream, &log, &steps));
            }
        });
        FakeServer { port, log }
    }

    pub fn client(&self) -> SqsClient {
        self.client_with(
            Credentials::new("AKFAKE", "secret-fake", None),
            Duration::from_secs(5),
        )
    }

    pub fn client_with(&self, credentials: Credentials, io_timeout: Duration) -> SqsClient {
        self.client_speaking(Protocol::Query, credentials, io_timeout)
    }

    pub fn json_client(&self) -> SqsClient {
        self.client_speaking(
            Protocol::Json,
            Credentials::new("AKFAKE", "secret-fake", None),
            Duration::from_secs(5),
        )
    }

    pub fn client_speaking(
        &self,
        protocol: Protocol,
        credentials: Credentials,
        io_timeout: Duration,
    ) -> SqsClient {
        let mut config = SqsConfig::new(
            "eu-west-1",
            Some(format!("http://127.0.0.1:{}", self.port)),
            credentials,
        );
        config.io_timeout = io_timeout;
        config.protocol = protocol;
        SqsClient::new(config)
    }

    pub fn connections(&self) -> usize {
        self.log.lock().unwrap().connections
    }

    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().requests.clone()
    }
}

/// Reads requests with the workspace's one HTTP/1.1 reader and logs each as head text plus
/// body, rebuilt from what was parsed (the client writes `name: value` lines).
fn serve(stream: TcpStream, log: &Mutex<Log>, steps: &Mutex<std::vec::IntoIter<Step>>) {
    let mut reader = http1::MessageReader::new(stream);
    let limits = http1::Limits::default();
    loop {
        let Ok(Some(req)) = reader.read_request(&limits, http1::BodyLimit::Reject(16 << 20)) else {
            return;
        };
        let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target);
        for (name, value) in &req.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        head.push_str(&String::from_utf8(req.body).unwrap());
        log.lock().unwrap().requests.push(head);
        let writer = reader.get_mut();
        let step = steps.lock().unwrap().next();
        match step {
            Some(Step::Answer(bytes)) => writer.write_all(bytes.as_bytes()).unwrap(),
            Some(Step::AnswerThenClose(bytes)) => {
                writer.write_all(bytes.as_bytes()).unwrap();
                return;
            }
            Some(Step::Stall) => {
                thread::sleep(Duration::from_secs(30));
                return;
            }
            None => return,
        }
    }
}
