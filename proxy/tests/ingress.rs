//! Authenticated and encrypted ingest: `--auth-token-file` (bearer tokens on POST /send,
//! optionally /metrics) and `--tls-cert`/`--tls-key` (HTTPS from the same event loop), both
//! rotated by SIGHUP without a restart. Certificates are made at test time with the
//! `openssl` binary (a throw-away CA and server certificates for 127.0.0.1); a real rustls
//! client trusting that CA talks to the real binary, which forwards into LocalStack.
mod util;

use edge_tests::{net, unique_name, wait_until};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use util::{sensor_body, Queue};

/// A directory removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> TempDir {
        let dir = std::env::temp_dir().join(unique_name(prefix));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl (the openssl binary is needed by these tests)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test CA (`ca.pem`, `ca.key`) in `dir`.
fn make_ca(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=edge-sensors test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
    );
}

/// A server certificate for 127.0.0.1 signed by the CA: `NAME.pem`, `NAME.key`.
fn make_cert(dir: &Path, name: &str) {
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let (key, csr, pem) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            &format!("/CN={name}"),
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
}

fn cert_der(path: &Path) -> Vec<u8> {
    CertificateDer::from_pem_file(path).unwrap().to_vec()
}

fn client_config(
    ca: &Path,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(ca).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

type Tls = StreamOwned<ClientConnection, TcpStream>;

fn tls_connect(addr: SocketAddr, config: &Arc<ClientConfig>) -> std::io::Result<Tls> {
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    tcp.set_read_timeout(Some(Duration::from_secs(15)))?;
    tcp.set_write_timeout(Some(Duration::from_secs(10)))?;
    let name = ServerName::IpAddress(addr.ip().into());
    let conn = ClientConnection::new(Arc::clone(config), name).map_err(std::io::Error::other)?;
    let mut tls = StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    Ok(tls)
}

fn exchange(
    stream: &mut impl ReadWrite,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> net::Response {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: p\r\n{auth}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).expect("write request");
    net::read_response(stream).expect("read response")
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// The proxy binary, started with `args` on a free port.
struct Proxy {
    child: Child,
    addr: SocketAddr,
}

impl Proxy {
    fn start(queue: &Queue, args: &[&str]) -> Proxy {
        let port = net::free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_proxy"))
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--queue-url", &queue.url, "--endpoint-url", &queue.endpoint])
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env_remove("PROXY_AUTH_TOKEN_FILE")
            .stdout(Stdio::null())
            .spawn()
            .expect("start proxy");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        assert!(
            net::wait_for_port(addr, Duration::from_secs(20)),
            "proxy did not listen on {addr}"
        );
        Proxy { child, addr }
    }

    fn hangup(&self) {
        let status = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A CA and a server certificate in a fresh directory, and the proxy serving HTTPS with them
/// (default settings otherwise) in front of a fresh queue, all named `name`.
fn https_proxy(name: &str) -> (TempDir, Queue, Proxy) {
    let dir = TempDir::new(name);
    make_ca(&dir.0);
    make_cert(&dir.0, "server");
    let queue = Queue::new(name);
    let (cert, key) = (dir.path("server.pem"), dir.path("server.key"));
    let tls = [
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ];
    let proxy = Proxy::start(&queue, &tls);
    (dir, queue, proxy)
}

#[test]
fn https_with_a_token_is_answered_200_once_sqs_accepted_it() {
    let dir = TempDir::new("proxy-tls");
    make_ca(&dir.0);
    make_cert(&dir.0, "server");
    std::fs::write(dir.path("tokens"), "# sensors\nsensor-token-1\n").unwrap();
    let mut queue = Queue::new("proxy-tls");
    let cert = dir.path("server.pem");
    let key = dir.path("server.key");
    let tokens = dir.path("tokens");
    let proxy = Proxy::start(
        &queue,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
            "--auth-token-file",
            tokens.to_str().unwrap(),
        ],
    );
    let tls13 = client_config(&dir.path("ca.pem"), &[&rustls::version::TLS13]);
    let mut conn = tls_connect(proxy.addr, &tls13).expect("TLS 1.3 handshake");
    assert_eq!(conn.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(
        conn.conn.peer_certificates().unwrap()[0].as_ref(),
        cert_der(&cert).as_slice()
    );
    // Health is open; /send without or with a wrong token is 401, on the same connection.
    assert_eq!(exchange(&mut conn, "GET", "/health", None, "").status, 200);
    let body = sensor_body("tls-1", 1, 1);
    let r = exchange(&mut conn, "POST", "/send", None, &body);
    assert_eq!(r.status, 401, "{}", r.body_text());
    assert_eq!(r.header("WWW-Authenticate"), Some("Bearer"));
    assert!(r.json()["error"].is_string());
    let r = exchange(&mut conn, "POST", "/send", Some("sensor-token-2"), &body);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("WWW-Authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );
    let r = exchange(&mut conn, "POST", "/send", Some("sensor-token-1"), &body);
    assert_eq!(r.status, 200, "{}", r.body_text());
    let id = r.json()["message_id"].as_str().unwrap().to_string();
    let got = queue.receive_exactly(1);
    assert_eq!(got.len(), 1, "only the authorised message reached SQS");
    assert_eq!(
        (got[0].body.as_str(), got[0].message_id.as_str()),
        (body.as_str(), id.as_str())
    );
    // /metrics is open without --auth-metrics and counts the refusals.
    let r = exchange(&mut conn, "GET", "/metrics", None, "");
    assert_eq!(r.status, 200);
    assert!(
        r.body_text().contains("status=\"401\""),
        "{}",
        r.body_text()
    );

    // TLS 1.2 is offered too.
    let tls12 = client_config(&dir.path("ca.pem"), &[&rustls::version::TLS12]);
    let mut conn = tls_connect(proxy.addr, &tls12).expect("TLS 1.2 handshake");
    assert_eq!(
        conn.conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    assert_eq!(exchange(&mut conn, "GET", "/health", None, "").status, 200);
}

#[test]
fn plain_http_to_the_https_port_is_closed_without_an_http_answer() {
    let (dir, _queue, proxy) = https_proxy("proxy-tls-plain");
    let mut plain = TcpStream::connect(proxy.addr).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    plain
        .write_all(b"GET /health HTTP/1.1\r\nHost: p\r\n\r\n")
        .unwrap();
    let started = Instant::now();
    let mut got = Vec::new();
    let end = plain.read_to_end(&mut got);
    assert!(
        end.is_ok()
            || end
                .as_ref()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "the proxy closes the connection: {end:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5), "closed at once");
    assert!(!got.starts_with(b"HTTP/"), "no plain-text answer: {got:?}");
    // At most a TLS alert record (content type 21).
    assert!(got.is_empty() || got[0] == 21, "{got:?}");
    // The proxy is unharmed.
    let ca = client_config(&dir.path("ca.pem"), &[&rustls::version::TLS13]);
    let mut conn = tls_connect(proxy.addr, &ca).unwrap();
    assert_eq!(exchange(&mut conn, "GET", "/health", None, "").status, 200);
}

#[test]
fn a_client_that_never_finishes_the_handshake_is_closed_by_the_request_timeout() {
    // Default timeouts: --request-timeout 10 s.
    let (_dir, _queue, proxy) = https_proxy("proxy-tls-slow");
    let mut slow = TcpStream::connect(proxy.addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    // The first bytes of a ClientHello record, and then nothing.
    slow.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .unwrap();
    let started = Instant::now();
    let mut got = Vec::new();
    let _ = slow.read_to_end(&mut got);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(15),
        "closed after {waited:?}, expected the 10 s request timeout"
    );
}

#[test]
fn sighup_rotates_certificates_and_tokens_and_a_bad_file_keeps_the_old_ones() {
    let dir = TempDir::new("proxy-tls-rotate");
    make_ca(&dir.0);
    make_cert(&dir.0, "first");
    make_cert(&dir.0, "second");
    let (cert, key, tokens) = (
        dir.path("live.pem"),
        dir.path("live.key"),
        dir.path("tokens"),
    );
    std::fs::copy(dir.path("first.pem"), &cert).unwrap();
    std::fs::copy(dir.path("first.key"), &key).unwrap();
    std::fs::write(&tokens, "old-token\n").unwrap();
    let queue = Queue::new("proxy-tls-rotate");
    let proxy = Proxy::start(
        &queue,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
            "--auth-token-file",
            tokens.to_str().unwrap(),
            "--auth-metrics",
        ],
    );
    let config = client_config(&dir.path("ca.pem"), &[&rustls::version::TLS13]);
    let peer = |config: &Arc<ClientConfig>| {
        let conn = tls_connect(proxy.addr, config).expect("handshake");
        conn.conn.peer_certificates().unwrap()[0].to_vec()
    };
    let (first, second) = (
        cert_der(&dir.path("first.pem")),
        cert_der(&dir.path("second.pem")),
    );
    assert_eq!(peer(&config), first);
    let mut open = tls_connect(proxy.addr, &config).unwrap();
    assert_eq!(
        exchange(&mut open, "GET", "/metrics", None, "").status,
        401,
        "--auth-metrics"
    );
    assert_eq!(
        exchange(&mut open, "GET", "/metrics", Some("old-token"), "").status,
        200
    );

    // Rotation: new certificate and key, a second token beside the old one.
    std::fs::copy(dir.path("second.pem"), &cert).unwrap();
    std::fs::copy(dir.path("second.key"), &key).unwrap();
    std::fs::write(&tokens, "old-token\nnew-token\n").unwrap();
    proxy.hangup();
    wait_until(
        "a new connection sees the new certificate",
        Duration::from_secs(10),
        || peer(&config) == second,
    );
    let mut conn = tls_connect(proxy.addr, &config).unwrap();
    for token in ["old-token", "new-token"] {
        assert_eq!(
            exchange(&mut conn, "GET", "/metrics", Some(token), "").status,
            200
        );
    }
    // The connection opened before the reload keeps working.
    assert_eq!(exchange(&mut open, "GET", "/health", None, "").status, 200);

    // A broken certificate file is refused on reload; the old token is retired at the same
    // time, which tells when the reload has happened.
    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nnot base64\n").unwrap();
    std::fs::write(&tokens, "new-token\n").unwrap();
    proxy.hangup();
    wait_until("the old token is retired", Duration::from_secs(10), || {
        let mut c = tls_connect(proxy.addr, &config).unwrap();
        exchange(&mut c, "GET", "/metrics", Some("old-token"), "").status == 401
    });
    assert_eq!(
        peer(&config),
        second,
        "the last good certificate stays in use"
    );
    // /health stays open whatever the tokens say.
    let mut c = tls_connect(proxy.addr, &config).unwrap();
    assert_eq!(exchange(&mut c, "GET", "/health", None, "").status, 200);
}

#[test]
fn tokens_over_plain_http_guard_send_only() {
    let dir = TempDir::new("proxy-auth");
    std::fs::write(dir.path("tokens"), "t-1\n").unwrap();
    let mut queue = Queue::new("proxy-auth");
    let tokens = dir.path("tokens");
    let port = net::free_port();
    // The environment variable works like the flag.
    let mut child = Command::new(env!("CARGO_BIN_EXE_proxy"))
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args(["--queue-url", &queue.url, "--endpoint-url", &queue.endpoint])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("PROXY_AUTH_TOKEN_FILE", &tokens)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    assert!(net::wait_for_http_ok(
        addr,
        "/health",
        Duration::from_secs(20)
    ));
    let body = sensor_body("auth-1", 1, 1);
    let r = net::request(addr, "POST", "/send", &[], body.as_bytes()).unwrap();
    assert_eq!(r.status, 401);
    let r = net::request(
        addr,
        "POST",
        "/send",
        &[("Authorization", "Bearer t-1")],
        body.as_bytes(),
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body_text());
    assert_eq!(
        net::request(addr, "GET", "/metrics", &[], b"")
            .unwrap()
            .status,
        200
    );
    assert_eq!(queue.receive_exactly(1).len(), 1);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn bad_ingress_flags_and_files_exit_2_naming_the_problem() {
    let dir = TempDir::new("proxy-ingress-cli");
    make_ca(&dir.0);
    make_cert(&dir.0, "server");
    std::fs::write(dir.path("empty"), "# nothing but a comment\n\n").unwrap();
    std::fs::write(dir.path("garbage.pem"), "not a certificate\n").unwrap();
    let p = |name: &str| dir.path(name).to_str().unwrap().to_string();
    let (cert, key) = (p("server.pem"), p("server.key"));
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--tls-cert".into(), cert.clone()], "--tls-key"),
        (vec!["--tls-key".into(), key.clone()], "--tls-cert"),
        (
            vec!["--auth-token-file".into(), p("missing")],
            "cannot read token file",
        ),
        (vec!["--auth-token-file".into(), p("empty")], "no token"),
        (vec!["--auth-metrics".into()], "--auth-token-file"),
        (
            vec![
                "--tls-cert".into(),
                p("garbage.pem"),
                "--tls-key".into(),
                key.clone(),
            ],
            "--tls-cert",
        ),
        (
            vec![
                "--tls-cert".into(),
                cert.clone(),
                "--tls-key".into(),
                p("missing"),
            ],
            "--tls-key",
        ),
        (
            // A key that does not belong to the certificate.
            vec![
                "--tls-cert".into(),
                cert.clone(),
                "--tls-key".into(),
                p("ca.key"),
            ],
            "--tls-cert",
        ),
    ];
    for (args, needle) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_proxy"))
            .args([
                "--queue-url",
                "http://127.0.0.1:9/000000000000/q",
                "--port",
                "0",
            ])
            .args(&args)
            .env_remove("PROXY_AUTH_TOKEN_FILE")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: expected {needle:?} in {err}"
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_proxy"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--auth-token-file",
        "--auth-metrics",
        "--tls-cert",
        "--tls-key",
        "SIGHUP",
    ] {
        assert!(help.contains(flag), "--help names {flag}");
    }
}

/// The 401 count of /send, from /metrics.
fn unauthorized_sends(addr: SocketAddr) -> f64 {
    let text = net::request(addr, "GET", "/metrics", &[], b"")
        .expect("GET /metrics")
        .body_text();
    text.lines()
        .find(|l| l.contains("route=\"send\"") && l.contains("status=\"401\""))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

/// The sensor module under edge-node, with its token from `PROXY_TOKEN` (as a Bacalhau task's
/// Env gives it): while the proxy does not know the token it gets 401s and keeps its messages;
/// once the token file gains the token and the proxy gets SIGHUP, every message arrives, in
/// order, and the token never shows in the sensor's log.
#[test]
fn a_sensor_with_a_token_rolled_out_late_loses_nothing() {
    let module = edge_tests::bins::workspace_root().join("target/modules/publisher.wasm");
    assert!(
        module.exists(),
        "{} missing: run scripts/build-wasm first",
        module.display()
    );
    let dir = TempDir::new("proxy-auth-sensor");
    let tokens = dir.path("tokens");
    std::fs::write(&tokens, "current-token\n").unwrap();
    let mut queue = Queue::new("proxy-auth-sensor");
    let proxy = Proxy::start(&queue, &["--auth-token-file", tokens.to_str().unwrap()]);
    let sensor = Command::new(edge_tests::bins::bin_path("edge-node"))
        .arg("run")
        .arg(&module)
        .args(["--hostname", "auth-sensor", "--region", "us"])
        .args(["--env", "PROXY_TOKEN=next-token-2027", "--"])
        .arg(format!("--proxy=http://{}", proxy.addr))
        .args(["--region=us", "--interval=0.1", "--max-messages=5"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run edge-node (cargo build -p edge-node)");
    wait_until(
        "the sensor's sends refused with 401",
        Duration::from_secs(20),
        || unauthorized_sends(proxy.addr) >= 2.0,
    );
    std::fs::write(&tokens, "current-token\nnext-token-2027\n").unwrap();
    proxy.hangup();
    let out = sensor.wait_with_output().expect("sensor");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("HTTP 401"), "{log}");
    assert!(
        !log.contains("next-token-2027"),
        "the token was logged: {log}"
    );
    let got = queue.receive_exactly(5);
    let mut sequences: Vec<u64> = got
        .iter()
        .map(|m| {
            serde_json::from_str::<serde_json::Value>(&m.body).unwrap()["sequence"]
                .as_u64()
                .unwrap()
        })
        .collect();
    sequences.sort();
    assert_eq!(sequences, [1, 2, 3, 4, 5], "no gap, no duplicate");
}

/// The deploy job file as a Bacalhau node runs it: `-V PROXY_TOKEN=env:PROXY_TOKEN` makes each
/// node pass its own PROXY_TOKEN (its allow-list names it); the proxy accepts every message.
/// (Without the allow-list entry no node bids, as on a cluster, and the job fails only after
/// its 300 s QueueTimeout: too slow for this suite; edge-node's tests cover that refusal.)
#[test]
fn the_deploy_job_file_passes_the_nodes_token() {
    let root = edge_tests::bins::workspace_root();
    assert!(
        root.join("target/modules/publisher.wasm").exists(),
        "run scripts/build-wasm first"
    );
    let dir = TempDir::new("proxy-auth-job");
    let tokens = dir.path("tokens");
    std::fs::write(&tokens, "node-token-1\n").unwrap();
    let mut queue = Queue::new("proxy-auth-job");
    let proxy = Proxy::start(&queue, &["--auth-token-file", tokens.to_str().unwrap()]);
    let job = |allow: &str| {
        Command::new(edge_tests::bins::bin_path("edge-node"))
            .current_dir(&root)
            .arg("job")
            .arg(root.join("jobs/deploy-us-v1.yaml"))
            .args([
                "-V",
                "REPLICAS=1",
                "-V",
                "INTERVAL=0.1",
                "-V",
                "MAX_MESSAGES=3",
            ])
            .args(["-V", "PROXY_TOKEN=env:PROXY_TOKEN", "-V"])
            .arg(format!("US_PROXY=http://{}", proxy.addr))
            .args(["--edge-nodes", "us=1", "--allow-env", allow])
            .env("PROXY_TOKEN", "node-token-1")
            .output()
            .expect("run edge-node job")
    };
    let out = job("^(HOSTNAME|PROXY_TOKEN)$");
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(!log.contains("node-token-1"), "{log}");
    assert_eq!(queue.receive_exactly(3).len(), 3);
    assert_eq!(unauthorized_sends(proxy.addr), 0.0);
}

/// The TLS path carries what plain HTTP does: pipelined requests in one write get their
/// answers in order, and a body spanning many TLS records arrives byte for byte.
#[test]
fn https_carries_pipelined_requests_and_large_bodies_verbatim() {
    let (dir, mut queue, proxy) = https_proxy("proxy-tls-pipeline");
    let config = client_config(&dir.path("ca.pem"), &[&rustls::version::TLS13]);
    let mut conn = tls_connect(proxy.addr, &config).unwrap();
    let mut bodies: Vec<String> = (1..=30).map(|i| sensor_body("tls-pipe", 1, i)).collect();
    // About 200 KB: a dozen TLS records, more than rustls buffers at once.
    bodies.push(format!(
        "{{\"hostname\":\"tls-big\",\"pad\":\"{}\"}}",
        "x".repeat(200_000)
    ));
    let mut all = Vec::new();
    for body in &bodies {
        all.extend_from_slice(
            format!(
                "POST /send HTTP/1.1\r\nHost: p\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
    }
    conn.write_all(&all).unwrap();
    let mut ids = Vec::new();
    let answers = util::read_responses(&mut conn, bodies.len());
    for ((status, answer), body) in answers.into_iter().zip(&bodies) {
        assert_eq!(status, 200, "{answer}");
        let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
        ids.push((
            answer["message_id"].as_str().unwrap().to_string(),
            body.clone(),
        ));
    }
    let got = queue.receive_exactly(bodies.len());
    assert_eq!(got.len(), bodies.len());
    for (id, body) in ids {
        let m = got
            .iter()
            .find(|m| m.message_id == id)
            .expect("answered id in the queue");
        assert_eq!(m.body, body);
    }
}
