//! Where the workers' own SQS connections go ([`crate::direct`]): the endpoint's addresses,
//! looked up at start and again every [`REFRESH`], so an event loop never waits on a name
//! lookup and still follows DNS (AWS endpoints' addresses change; a connection already open
//! stays where it is until it closes). A name that does not resolve yet (DNS not ready when
//! a container starts) is looked up again every [`RETRY`]; until it resolves the workers
//! hand every batch to the forwarders. The supervisor starts each later lookup on a thread
//! of its own, so a hung resolver never holds up the supervisor's other duties.
use crate::lane::Tls;
use http1::tls::TlsConnector;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

const REFRESH: Duration = Duration::from_secs(60);
/// While the name has never resolved.
const RETRY: Duration = Duration::from_secs(5);
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
    /// A lookup thread is running.
    looking_up: bool,
}

impl Endpoint {
    /// Looks `host` up now (at start, before any worker runs); `tls` for https. A failed
    /// lookup is returned beside the endpoint, which then has no addresses until a retry
    /// finds some.
    pub fn resolve(
        host: &str,
        port: u16,
        tls: Option<TlsConnector>,
    ) -> (Endpoint, Result<(), String>) {
        let now = Instant::now();
        let (addrs, next_refresh, found) = match lookup(host, port) {
            Ok(addrs) => (addrs, now + REFRESH, Ok(())),
            Err(why) => (Vec::new(), now + RETRY, Err(why)),
        };
        let endpoint = Endpoint {
            host: host.to_string(),
            port,
            tls,
            state: Mutex::new(State {
                addrs: Arc::new(addrs),
                next_refresh,
                looking_up: false,
            }),
        };
        (endpoint, found)
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

    /// The addresses to connect to: empty while the name has never resolved.
    pub fn addrs(&self) -> Arc<Vec<SocketAddr>> {
        Arc::clone(&self.state().addrs)
    }

    /// Starts a lookup of the host on a thread of its own if one is due and none is running;
    /// never blocks. A failed lookup keeps the old addresses.
    pub fn refresh_if_due(self: &Arc<Self>, now: Instant) {
        {
            let mut state = self.state();
            if now < state.next_refresh || state.looking_up {
                return;
            }
            state.looking_up = true;
        }
        let lookup_done = LookupDone(Arc::clone(self));
        let started = std::thread::Builder::new()
            .name("endpoint-lookup".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                let found = lookup(&lookup_done.0.host, lookup_done.0.port);
                lookup_done.0.learn(found, Instant::now());
            });
        if started.is_err() {
            // The guard moved into the closure was dropped with it: try again later.
            self.state().next_refresh = now + RETRY;
        }
    }

    /// What a lookup found, at `now`.
    fn learn(&self, found: Result<Vec<SocketAddr>, String>, now: Instant) {
        let mut state = self.state();
        match found {
            Ok(addrs) => {
                state.addrs = Arc::new(addrs);
                state.next_refresh = now + REFRESH;
            }
            Err(_) if state.addrs.is_empty() => state.next_refresh = now + RETRY,
            Err(_) => state.next_refresh = now + REFRESH,
        }
    }
}

/// Ends a lookup, however its thread ends (a panic included), so the next can start.
struct LookupDone(Arc<Endpoint>);

impl Drop for LookupDone {
    fn drop(&mut self) {
        self.0.state().looking_up = false;
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

    /// Waits (up to the lookup timeout and a margin) for the lookup thread to be gone (it
    /// holds the endpoint until it ends).
    fn lookup_ended(ep: &Arc<Endpoint>) {
        let deadline = Instant::now() + LOOKUP_TIMEOUT + Duration::from_secs(5);
        while Arc::strong_count(ep) > 1 {
            assert!(Instant::now() < deadline, "the lookup thread never ended");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(!ep.state().looking_up);
    }

    #[test]
    fn addresses_are_looked_up_at_start_and_again_once_a_refresh_is_due() {
        let (ep, found) = Endpoint::resolve("localhost", 4566, None);
        assert_eq!(found, Ok(()));
        let ep = Arc::new(ep);
        let first = ep.addrs();
        assert!(first
            .iter()
            .all(|a| a.port() == 4566 && a.ip().is_loopback()));
        ep.refresh_if_due(Instant::now());
        assert!(!ep.state().looking_up, "not due yet: no lookup");
        assert!(Arc::ptr_eq(&first, &ep.addrs()));
        ep.refresh_if_due(Instant::now() + REFRESH);
        lookup_ended(&ep);
        assert!(!Arc::ptr_eq(&first, &ep.addrs()), "due: looked up again");
    }

    #[test]
    fn a_name_that_does_not_resolve_yet_is_tried_again_sooner() {
        // `.invalid` never resolves (RFC 6761).
        let (ep, found) = Endpoint::resolve("sqs.example.invalid", 443, None);
        assert!(found.is_err());
        assert!(ep.addrs().is_empty());
        let before = Instant::now();
        let ep = Arc::new(ep);
        ep.refresh_if_due(before + RETRY);
        lookup_ended(&ep);
        assert!(ep.addrs().is_empty());
        let next = ep.state().next_refresh;
        assert!(next > before && next <= Instant::now() + RETRY, "{next:?}");
        // Once the name resolves (here: the host is now one that does), addresses come.
        let Ok(ep) = Arc::try_unwrap(ep) else {
            panic!("the lookup thread still holds the endpoint")
        };
        let ep = Arc::new(Endpoint {
            host: "localhost".to_string(),
            ..ep
        });
        ep.refresh_if_due(Instant::now() + RETRY);
        lookup_ended(&ep);
        assert!(!ep.addrs().is_empty());
    }
}
