//! The rustls client side: which roots are trusted and a handshake bounded by a deadline.
//!
//! Roots are webpki-roots (Mozilla's root program compiled into the binary): the edge and
//! container images this runs in may have no CA bundle at all, and a compiled-in store makes
//! behaviour identical everywhere. A private CA (a test cluster, a corporate proxy) is added
//! with [`TlsConnector::with_extra_ca`] from a PEM file.
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use crate::deadline::DeadlineStream;
use crate::error::Error;

/// A TLS connection over a deadline-bounded socket.
pub type TlsStream = rustls::StreamOwned<rustls::ClientConnection, DeadlineStream<TcpStream>>;

/// A client configuration, cheap to clone and share between threads.
#[derive(Clone)]
pub struct TlsConnector {
    config: Arc<rustls::ClientConfig>,
}

impl TlsConnector {
    /// Trusts the webpki roots only.
    pub fn webpki() -> Result<TlsConnector, String> {
        TlsConnector::with_extra_ca(None)
    }

    /// Trusts the webpki roots plus every certificate in the PEM file `ca_file`.
    pub fn with_extra_ca(ca_file: Option<&Path>) -> Result<TlsConnector, String> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = ca_file {
            add_pem_file(&mut roots, path)?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("tls configuration: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(TlsConnector {
            config: Arc::new(config),
        })
    }

    /// Performs the handshake with `host` over `tcp`, all of it by `tcp`'s deadline: a peer
    /// that accepts TCP and never answers the ClientHello fails with [`Error::TimedOut`].
    pub fn connect(&self, tcp: DeadlineStream<TcpStream>, host: &str) -> Result<TlsStream, Error> {
        let mut conn = self.session(host)?;
        let mut sock = tcp;
        while conn.is_handshaking() {
            match conn.complete_io(&mut sock) {
                Ok((0, 0)) => {
                    return Err(Error::Tls(format!(
                        "{host} closed the connection during the handshake"
                    )))
                }
                Ok(_) => {}
                Err(e) => return Err(Error::from_io(&e, "tls handshake", true)),
            }
        }
        Ok(rustls::StreamOwned::new(conn, sock))
    }
}

impl TlsConnector {
    /// A client session with `host` (checked against its certificate) for a caller that
    /// drives the I/O itself, as a non-blocking event loop does.
    pub fn session(&self, host: &str) -> Result<rustls::ClientConnection, Error> {
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| Error::Tls(format!("server name {host:?}: {e}")))?;
        rustls::ClientConnection::new(Arc::clone(&self.config), name)
            .map_err(|e| Error::Tls(format!("setting up a session with {host}: {e}")))
    }
}

impl std::fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConnector").finish_non_exhaustive()
    }
}

fn add_pem_file(roots: &mut rustls::RootCertStore, path: &Path) -> Result<(), String> {
    let shown = path.display();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("reading CA file {shown}: {e}"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("reading CA file {shown}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("CA file {shown} holds no PEM certificate"));
    }
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| format!("CA file {shown}: unusable certificate: {e}"))?;
    }
    Ok(())
}
