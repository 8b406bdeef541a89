//! The committed test CA and the server certificate it signed for `localhost` and
//! 127.0.0.1 (edge-node/tests/fixtures, made by make-tls.sh there), for test servers that
//! speak TLS. Committed, so no openssl is needed when tests run.
use crate::bins::workspace_root;
use std::path::PathBuf;
use std::sync::Arc;

/// Path of one fixture file: `test-ca.pem`, `server.pem`, `server.key`, `make-tls.sh`.
pub fn fixture(name: &str) -> PathBuf {
    workspace_root().join("edge-node/tests/fixtures").join(name)
}

/// A rustls server configuration presenting the fixture certificate.
pub fn server_config() -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(fixture("server.pem"))
        .expect("server.pem")
        .collect::<Result<Vec<_>, _>>()
        .expect("certs");
    let key = PrivateKeyDer::from_pem_file(fixture("server.key")).expect("server.key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
    Arc::new(config)
}

/// An https front for a plain-HTTP service (moto's STS, say) on 127.0.0.1, presenting the
/// fixture certificate: each connection's requests are read whole, sent on to `target` and
/// answered with what it answered (bodies re-framed by Content-Length). The acceptor ends
/// with the test process.
pub struct Terminator {
    pub addr: std::net::SocketAddr,
}

impl Terminator {
    pub fn start(target: std::net::SocketAddr) -> Terminator {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind tls terminator");
        let addr = listener.local_addr().expect("terminator addr");
        let config = server_config();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let config = Arc::clone(&config);
                std::thread::spawn(move || relay_requests(conn, config, target));
            }
        });
        Terminator { addr }
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }
}

fn relay_requests(
    conn: std::net::TcpStream,
    config: Arc<rustls::ServerConfig>,
    target: std::net::SocketAddr,
) {
    use std::io::Write;
    // A client that goes quiet ends its thread rather than holding it for the process's life.
    if conn
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .is_err()
    {
        return;
    }
    let Ok(session) = rustls::ServerConnection::new(config) else {
        return;
    };
    let limits = http1::Limits::default();
    let mut client = http1::MessageReader::new(rustls::StreamOwned::new(session, conn));
    while let Ok(Some(request)) = client.read_request(&limits, http1::BodyLimit::Reject(1 << 20)) {
        let Some(answer) = forward(&request, target) else {
            return;
        };
        let stream = client.get_mut();
        if stream
            .write_all(&answer)
            .and_then(|()| stream.flush())
            .is_err()
        {
            return;
        }
    }
}

/// `request` sent on to `target` (`net::request`: a fresh connection, with its deadline);
/// the answer's bytes for the client, framed by Content-Length.
fn forward(request: &http1::Request, target: std::net::SocketAddr) -> Option<Vec<u8>> {
    // net::request writes its own Host, Content-Length and Connection.
    let own = ["host", "content-length", "connection", "transfer-encoding"];
    let headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .filter(|(name, _)| !own.iter().any(|o| name.eq_ignore_ascii_case(o)))
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let answer = crate::net::request(
        target,
        &request.method,
        &request.target,
        &headers,
        &request.body,
    )
    .ok()?;
    let mut out = format!("HTTP/1.1 {} \r\n", answer.status).into_bytes();
    for (name, value) in &answer.headers {
        if !own.iter().any(|o| name.eq_ignore_ascii_case(o)) {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
    }
    out.extend_from_slice(format!("content-length: {}\r\n\r\n", answer.body.len()).as_bytes());
    out.extend_from_slice(&answer.body);
    Some(out)
}
