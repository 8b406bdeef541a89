//! HTTPS: the rustls server configuration built from the PEM files of `--tls-cert` and
//! `--tls-key` (TLS 1.2 and 1.3, ALPN `http/1.1`). Each accepted connection gets its own
//! `rustls::ServerConnection` from the configuration current at accept time, so a reload
//! (SIGHUP) changes what new connections see and leaves open ones alone.
use rustls::pki_types::pem::{Error as PemError, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the certificate chain and key are read from (both PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    /// Reads both files and builds the server configuration; an error names the file and why.
    pub fn load(&self) -> Result<Arc<ServerConfig>, String> {
        let certs = read_certs(&self.cert)?;
        let key = PrivateKeyDer::from_pem_file(&self.key).map_err(|e| {
            format!(
                "--tls-key {}: no usable PEM private key ({})",
                self.key.display(),
                pem_problem(&e)
            )
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| format!("tls: {e}"))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| {
                format!(
                    "--tls-cert {} / --tls-key {}: {e}",
                    self.cert.display(),
                    self.key.display()
                )
            })?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bad = |e: &dyn std::fmt::Display| format!("--tls-cert {}: {e}", path.display());
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(&pem_problem(&e)))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&pem_problem(&e)))?;
    if certs.is_empty() {
        return Err(bad(&"no PEM CERTIFICATE block in it"));
    }
    Ok(certs)
}

/// A PEM error in words (rustls's own text shows some of them as byte lists).
fn pem_problem(e: &PemError) -> String {
    match e {
        PemError::MissingSectionEnd { .. } => "a PEM section has no END line".to_string(),
        PemError::IllegalSectionStart { .. } => "a malformed PEM BEGIN line".to_string(),
        PemError::NoItemsFound => "no PEM section of the expected kind".to_string(),
        other => other.to_string(),
    }
}
