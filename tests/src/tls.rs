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
