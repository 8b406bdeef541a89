//! Where the workers' own SQS connections go ([`crate::direct`]): the endpoint's addresses,
//! looked up at start and again by the supervisor thread every [`REFRESH`], so an event
//! loop never waits on a name lookup and still follows DNS (AWS endpoints' addresses
//! change; a connection already open stays where it is until it closes).
use crate::lane::Tls;
use http1::tls::TlsConnector;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

const REFRESH: Duration = Duration::from_secs(60);
/// A lookup that takes longer is given up; the addresses known stay in use.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Endpoint {
    host: String,
    port: u16,
    /// For an `https://` endpoint: who is trusted.
    tls: Option<TlsConnector>,
    state: Mutex<State>,
}

struct State {
    addrs: Arc<Vec<SocketAddr>>,
    next_refresh: Instant,
}

impl Endpoint {
    /// Looks `host` up now (at start, before any worker runs); `tls` for https.
    pub fn resolve(host: &str, port: u16, tls: Option<TlsConnector>) -> Result<Endpoint, String> {
        let addrs = lookup(host, port)?;
        Ok(Endpoint {
            host: host.to_string(),
            port,
            tls,
            state: Mutex::new(State {
                addrs: Arc::new(addrs),
                next_refresh: Instant::now() + REFRESH,
            }),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Each update replaces whole values: a panic elsewhere leaves them consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How a connection speaks TLS to this endpoint, if it does.
    pub fn tls(&self) -> Option<Tls> {
        self.tls.as_ref().map(|connector| Tls {
            connector: connector.clone(),
            host: self.host.clone(),
        })
    }

    /// The addresses to connect to (never empty).
    pub fn addrs(&self) -> Arc<Vec<SocketAddr>> {
        Arc::clone(&self.state().addrs)
    }

    /// Looks the host up again if that is due; a failed lookup keeps the old addresses.
    /// Blocks up to [`LOOKUP_TIMEOUT`]: only the supervisor thread calls it.
    pub fn refresh_if_due(&self, now: Instant) {
        if now < self.state().next_refresh {
            return;
        }
        let found = lookup(&self.host, self.port);
        let mut state = self.state();
        state.next_refresh = now + REFRESH;
        if let Ok(addrs) = found {
            state.addrs = Arc::new(addrs);
        }
    }
}

fn lookup(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    let addrs = http1::resolve(host, port, Instant::now() + LOOKUP_TIMEOUT)
        .map_err(|e| format!("looking up {host}: {e}"))?;
    if addrs.is_empty() {
        return Err(format!("{host} has no address"));
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_looked_up_at_start_and_kept_until_a_refresh_is_due() {
        let ep = Endpoint::resolve("localhost", 4566, None).unwrap();
        let first = ep.addrs();
        assert!(first
            .iter()
            .all(|a| a.port() == 4566 && a.ip().is_loopback()));
        ep.refresh_if_due(Instant::now());
        assert!(Arc::ptr_eq(&first, &ep.addrs()), "not due yet: no lookup");
        ep.refresh_if_due(Instant::now() + REFRESH);
        assert!(!Arc::ptr_eq(&first, &ep.addrs()), "due: looked up again");
    }
}
