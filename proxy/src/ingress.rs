//! What guards the way in, and can change while the proxy runs: the bearer tokens
//! (`--auth-token-file`) and the TLS configuration (`--tls-cert`/`--tls-key`). Both are read
//! at start (a problem then is a usage error, exit 2) and again on SIGHUP, so tokens and
//! certificates rotate without a restart. A reload that fails keeps what was loaded before
//! and says why; workers pick up the new values for the next request or connection.
use crate::auth::{self, Check, Tokens};
use crate::response::Response;
use crate::routes::{ROUTE_METRICS, ROUTE_SEND};
use crate::tls::TlsFiles;
use rustls::{ServerConfig, ServerConnection};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

/// The ingress flags as given (paths, not contents).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngressFiles {
    pub auth_token_file: Option<PathBuf>,
    /// `/metrics` needs a token too.
    pub auth_metrics: bool,
    pub tls: Option<TlsFiles>,
}

/// A value read from files, swapped whole on reload.
struct Reloadable<T> {
    current: RwLock<Arc<T>>,
}

impl<T> Reloadable<T> {
    fn new(value: T) -> Reloadable<T> {
        Reloadable {
            current: RwLock::new(Arc::new(value)),
        }
    }

    fn get(&self) -> Arc<T> {
        // A poisoned lock still holds a complete value: swaps replace the Arc in one step.
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn set(&self, value: T) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(value);
    }
}

pub struct Ingress {
    files: IngressFiles,
    tokens: Option<Reloadable<Tokens>>,
    tls: Option<Reloadable<Arc<ServerConfig>>>,
}

impl Ingress {
    /// Reads every file the flags name; an error names the flag, the file and the problem.
    pub fn load(files: IngressFiles) -> Result<Ingress, String> {
        let tokens = match &files.auth_token_file {
            Some(path) => Some(Reloadable::new(
                Tokens::load(path).map_err(|e| format!("--auth-token-file: {e}"))?,
            )),
            None => None,
        };
        let tls = match &files.tls {
            Some(tls) => Some(Reloadable::new(tls.load()?)),
            None => None,
        };
        Ok(Ingress { files, tokens, tls })
    }

    /// No token needed, plain HTTP (tests of other parts).
    #[cfg(test)]
    pub fn open() -> Ingress {
        Ingress {
            files: IngressFiles::default(),
            tokens: None,
            tls: None,
        }
    }

    /// What the start-up log says about ingress (never a token).
    pub fn describe(&self) -> String {
        let auth = match &self.tokens {
            Some(t) => format!(
                "bearer token required for /send{} ({} tokens)",
                if self.files.auth_metrics {
                    " and /metrics"
                } else {
                    ""
                },
                t.get().len()
            ),
            None => "no authentication".to_string(),
        };
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}, {auth}")
    }

    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The TLS session of a connection accepted now (none for plain HTTP), from the
    /// configuration current now: a SIGHUP reload applies from the next connection on.
    pub fn new_session(&self) -> Result<Option<Box<ServerConnection>>, rustls::Error> {
        match &self.tls {
            Some(tls) => Ok(Some(Box::new(ServerConnection::new(Arc::clone(
                &*tls.get(),
            ))?))),
            None => Ok(None),
        }
    }

    /// `None` when the request may go on, else the 401 to answer.
    pub fn refuse(&self, route: usize, authorization: Option<&str>) -> Option<Response> {
        let tokens = self.tokens.as_ref()?;
        let guarded = route == ROUTE_SEND || (route == ROUTE_METRICS && self.files.auth_metrics);
        if !guarded {
            return None;
        }
        match tokens.get().check(authorization) {
            Check::Allowed => None,
            refused => Some(auth::unauthorized(refused)),
        }
    }

    /// SIGHUP: reads the files again. Returns one line per file for the log; a file that
    /// fails leaves the previous value in place.
    pub fn reload(&self) -> Vec<Result<String, String>> {
        let mut report = Vec::new();
        if let (Some(path), Some(tokens)) = (&self.files.auth_token_file, &self.tokens) {
            report.push(match Tokens::load(path) {
                Ok(new) => {
                    let n = new.len();
                    tokens.set(new);
                    Ok(format!("reloaded {n} tokens from {}", path.display()))
                }
                Err(e) => Err(format!("{e}; keeping the tokens loaded before")),
            });
        }
        if let (Some(files), Some(tls)) = (&self.files.tls, &self.tls) {
            report.push(match files.load() {
                Ok(config) => {
                    tls.set(config);
                    Ok(format!(
                        "reloaded the TLS certificate {} (new connections use it)",
                        files.cert.display()
                    ))
                }
                Err(e) => Err(format!("{e}; keeping the certificate loaded before")),
            });
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::{ROUTE_HEALTH, ROUTE_OTHER};

    fn with_tokens(text: &str, auth_metrics: bool) -> (Ingress, PathBuf) {
        let path = std::env::temp_dir().join(format!(
            "proxy-ingress-{}-{}",
            std::process::id(),
            text.len() + usize::from(auth_metrics)
        ));
        std::fs::write(&path, text).unwrap();
        let files = IngressFiles {
            auth_token_file: Some(path.clone()),
            auth_metrics,
            tls: None,
        };
        (Ingress::load(files).unwrap(), path)
    }

    #[test]
    fn only_send_and_optionally_metrics_are_guarded() {
        let (open_metrics, p1) = with_tokens("t1\n", false);
        assert_eq!(open_metrics.refuse(ROUTE_SEND, None).unwrap().status, 401);
        assert!(open_metrics.refuse(ROUTE_SEND, Some("Bearer t1")).is_none());
        assert!(open_metrics.refuse(ROUTE_HEALTH, None).is_none());
        assert!(open_metrics.refuse(ROUTE_METRICS, None).is_none());
        assert!(open_metrics.refuse(ROUTE_OTHER, None).is_none());
        let (closed_metrics, p2) = with_tokens("t2\n", true);
        assert_eq!(
            closed_metrics.refuse(ROUTE_METRICS, None).unwrap().status,
            401
        );
        assert!(closed_metrics.refuse(ROUTE_HEALTH, None).is_none());
        assert!(Ingress::open().refuse(ROUTE_SEND, None).is_none());
        let _ = (std::fs::remove_file(p1), std::fs::remove_file(p2));
    }

    #[test]
    fn reload_swaps_tokens_and_keeps_them_when_the_file_goes_bad() {
        let (ingress, path) = with_tokens("old\n", false);
        std::fs::write(&path, "old\nnew\n").unwrap();
        assert!(ingress.reload()[0].is_ok());
        assert!(ingress.refuse(ROUTE_SEND, Some("Bearer new")).is_none());
        std::fs::write(&path, "# emptied by mistake\n").unwrap();
        assert!(ingress.reload()[0].is_err());
        assert!(
            ingress.refuse(ROUTE_SEND, Some("Bearer new")).is_none(),
            "old set kept"
        );
        std::fs::write(&path, "new\n").unwrap();
        assert!(ingress.reload()[0].is_ok());
        assert!(
            ingress.refuse(ROUTE_SEND, Some("Bearer old")).is_some(),
            "rotated out"
        );
        let _ = std::fs::remove_file(path);
    }
}
