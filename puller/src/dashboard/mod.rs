//! `--dashboard ADDR`: a live web view of the fleet, served by the process that sees every
//! message. One self-contained page (HTML, CSS, vanilla JS; no CDN, no build step) compiled
//! into the binary, polling one JSON endpoint once a second.
//!
//! - [`fleet`]: what the page shows, bounded whatever the fleet does
//! - [`server`]: the HTTP side, bounded per viewer
//! - [`page`]: the page itself
//!
//! Pollers hand each delivered batch to [`Dashboard::observe`] after the sink accepted it;
//! that takes one short lock per batch and never blocks on a viewer.
mod fleet;
mod page;
mod server;

use crate::sensor::Body;
use crate::time::unix_ms;
use fleet::Fleet;
use server::SnapshotCache;
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

pub struct Dashboard {
    fleet: Mutex<Fleet>,
    cache: Mutex<SnapshotCache>,
    /// Bearer tokens accepted (one per line of the token file); empty = open.
    tokens: Vec<Vec<u8>>,
    panics: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Dashboard {
    /// Binds `addr` and starts serving. `token_file`: one token per line (blank lines and
    /// `#` comments ignored), so tokens can rotate by listing old and new for a while.
    pub fn start(addr: &str, token_file: Option<&Path>) -> Result<Arc<Dashboard>, String> {
        let tokens = match token_file {
            Some(path) => read_tokens(path)?,
            None => Vec::new(),
        };
        let listener = TcpListener::bind(addr)
            .map_err(|e| format!("dashboard: cannot listen on {addr}: {e}"))?;
        let dashboard = Arc::new(Dashboard {
            fleet: Mutex::new(Fleet::default()),
            cache: Mutex::new(SnapshotCache::default()),
            tokens,
            panics: AtomicU64::new(0),
        });
        server::start(listener, Arc::clone(&dashboard))
            .map_err(|e| format!("dashboard: cannot start its threads: {e}"))?;
        Ok(dashboard)
    }

    /// Takes a delivered batch (called after the sink accepted it).
    pub fn observe<'a>(&self, bodies: impl Iterator<Item = &'a Body>, received_ms: u64) {
        let mut fleet = lock(&self.fleet);
        for body in bodies {
            match body {
                Body::Sensor(m) => fleet.observe(m, received_ms),
                _ => fleet.observe_other(received_ms),
            }
        }
    }

    fn snapshot_bytes(&self) -> Arc<Vec<u8>> {
        lock(&self.cache).get(|| {
            let now = unix_ms(SystemTime::now());
            // The fleet lock is held only for the copy; the JSON is written after it.
            let snapshot = lock(&self.fleet).snapshot(now);
            let panics = self.panics.load(Ordering::Relaxed);
            snapshot.into_bytes(&[("server_panics", panics.into())])
        })
    }

    fn count_panic(&self) {
        self.panics.fetch_add(1, Ordering::Relaxed);
    }

    /// Open when no token file was given; otherwise the header's or the query's token must
    /// equal one of the tokens, compared in constant time.
    fn authorized(&self, header: Option<&[u8]>, query: Option<&[u8]>) -> bool {
        if self.tokens.is_empty() {
            return true;
        }
        let Some(given) = header.or(query) else {
            return false;
        };
        // Every token is compared, so the time does not tell which one (or whether any) matched.
        self.tokens
            .iter()
            .fold(false, |ok, t| constant_time_eq(t, given) | ok)
    }
}

fn read_tokens(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("dashboard: cannot read token file {}: {e}", path.display()))?;
    let tokens: Vec<Vec<u8>> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.as_bytes().to_vec())
        .collect();
    if tokens.is_empty() {
        return Err(format!(
            "dashboard: token file {} has no token",
            path.display()
        ));
    }
    Ok(tokens)
}

/// Equal length and bytes, in time that depends only on the lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_tokens(tokens: &[&str]) -> Dashboard {
        Dashboard {
            fleet: Mutex::new(Fleet::default()),
            cache: Mutex::new(SnapshotCache::default()),
            tokens: tokens.iter().map(|t| t.as_bytes().to_vec()).collect(),
            panics: AtomicU64::new(0),
        }
    }

    #[test]
    fn tokens_rotate_and_compare_exactly() {
        let d = with_tokens(&["old-token", "new-token"]);
        assert!(d.authorized(Some(b"old-token"), None));
        assert!(d.authorized(None, Some(b"new-token")));
        assert!(!d.authorized(Some(b"new-toke"), None));
        assert!(!d.authorized(Some(b"new-tokenX"), None));
        assert!(!d.authorized(None, None));
        assert!(with_tokens(&[]).authorized(None, None));
    }
}
