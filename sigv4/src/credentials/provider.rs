//! [`CredentialsProvider`]: the credentials every SQS client of a process signs with, kept
//! fresh without stalling a request.
//!
//! Long-term keys never change. Temporary ones (STS, the container endpoint, IMDS, a
//! `credential_process` that reports an `Expiration`) go through three phases, measured from
//! when they were fetched:
//!
//! - **fresh** until the refresh-ahead point, `expiry − min(5 min, lifetime / 2)`: callers get
//!   the cached credentials (a mutex held for an `Arc` clone, no I/O);
//! - **refresh due** until `expiry − min(10 s, lifetime / 10)`: the first caller past the
//!   refresh-ahead point starts ONE background thread that fetches new credentials; that
//!   caller and every other keep signing with the still-valid ones meanwhile. A failed
//!   refresh is remembered and tried again [`RETRY_AFTER`] later (a panic in a source counts
//!   as a failure, so the refresher cannot die silently);
//! - **expired**: a caller fetches synchronously (one at a time; the others wait for its
//!   result), since signing with dead credentials can only fail.
//!
//! The SDKs do the same with their own margins (botocore: advisory and mandatory refresh
//! windows). When SQS still answers `ExpiredToken` (credentials revoked early, a clock off),
//! the client calls [`CredentialsProvider::force_refresh`] once and retries once.
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use super::{Credentials, CredentialsError};

/// Refresh this long before expiry (capped at half the credentials' lifetime).
pub const REFRESH_AHEAD: Duration = Duration::from_secs(5 * 60);
/// Treat credentials as expired this long before their stated expiry (clock skew, transit),
/// capped at a tenth of their lifetime.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(10);
/// After a failed background refresh, wait this long before the next attempt.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

type Source = Box<dyn Fn() -> Result<Credentials, CredentialsError> + Send + Sync>;

/// Cheap to clone (an `Arc`); every clone shares the same cache.
#[derive(Clone)]
pub struct CredentialsProvider {
    inner: Arc<Inner>,
}

struct Inner {
    /// Where the credentials come from, for messages ("web identity (...)").
    name: String,
    /// How to fetch new ones; `None` for long-term keys.
    source: Option<Source>,
    state: Mutex<State>,
    /// Held while a fetch runs, so only one runs at a time.
    fetching: Mutex<()>,
}

struct State {
    current: Arc<Credentials>,
    fetched_at: SystemTime,
    refreshing: bool,
    retry_at: Option<Instant>,
    last_error: Option<String>,
}

enum Phase {
    Fresh,
    RefreshDue,
    Expired,
}

impl fmt::Debug for CredentialsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state();
        f.debug_struct("CredentialsProvider")
            .field("source", &self.inner.name)
            .field("credentials", &state.current)
            .finish()
    }
}

impl From<Credentials> for CredentialsProvider {
    fn from(credentials: Credentials) -> CredentialsProvider {
        CredentialsProvider::fixed(credentials, "static credentials")
    }
}

impl CredentialsProvider {
    /// Credentials that never change (even if they carry an expiry: nothing can renew them).
    pub fn fixed(credentials: Credentials, name: impl Into<String>) -> CredentialsProvider {
        CredentialsProvider::build(credentials, name.into(), None)
    }

    /// `initial` (just fetched from `source`), renewed from `source` ahead of expiry.
    pub fn refreshing(
        initial: Credentials,
        name: impl Into<String>,
        source: impl Fn() -> Result<Credentials, CredentialsError> + Send + Sync + 'static,
    ) -> CredentialsProvider {
        CredentialsProvider::build(initial, name.into(), Some(Box::new(source)))
    }

    /// The whole chain (see the module docs of `credentials`), from the process environment.
    pub fn from_environment(
        region: Option<&str>,
        profile: Option<&str>,
    ) -> Result<CredentialsProvider, CredentialsError> {
        super::chain::resolve(&super::Env::process(), region, profile)
    }

    fn build(credentials: Credentials, name: String, source: Option<Source>) -> Self {
        CredentialsProvider {
            inner: Arc::new(Inner {
                name,
                source,
                state: Mutex::new(State {
                    current: Arc::new(credentials),
                    fetched_at: SystemTime::now(),
                    refreshing: false,
                    retry_at: None,
                    last_error: None,
                }),
                fetching: Mutex::new(()),
            }),
        }
    }

    /// Where the credentials come from.
    pub fn source_name(&self) -> &str {
        &self.inner.name
    }

    /// The credentials to sign with now. Only expired credentials make this wait for I/O.
    pub fn current(&self) -> Result<Arc<Credentials>, CredentialsError> {
        match self.current_without_waiting() {
            Ok(credentials) => Ok(credentials),
            Err(expired) => self.inner.fetch_if_still(&expired, "expired"),
        }
    }

    /// [`current`](Self::current) for a caller that must not wait (an event loop): `None`
    /// when the credentials have expired, where `current` would fetch new ones.
    pub fn current_if_valid(&self) -> Option<Arc<Credentials>> {
        self.current_without_waiting().ok()
    }

    /// The credentials if they are still valid (starting a background refresh when one is
    /// due), else `Err` with the expired ones.
    fn current_without_waiting(&self) -> Result<Arc<Credentials>, Arc<Credentials>> {
        let (credentials, phase) = {
            let mut state = self.inner.state();
            let phase = self.inner.phase(&state, SystemTime::now());
            if let Phase::RefreshDue = phase {
                let retry_ok = state.retry_at.is_none_or(|at| Instant::now() >= at);
                if !state.refreshing && retry_ok {
                    state.refreshing = true;
                    drop(state);
                    self.refresh_in_background();
                    return Ok(self.inner.state().current.clone());
                }
            }
            (state.current.clone(), phase)
        };
        match phase {
            Phase::Fresh | Phase::RefreshDue => Ok(credentials),
            Phase::Expired => Err(credentials),
        }
    }

    /// After the service said the credentials `used` are expired: fetch new ones now unless
    /// another caller already did. Long-term keys cannot be refreshed: that is an error.
    pub fn force_refresh(&self, used: &Credentials) -> Result<Arc<Credentials>, CredentialsError> {
        self.inner.fetch_if_still(used, "rejected as expired")
    }

    /// The last background refresh failure, if the latest attempt failed.
    pub fn last_refresh_error(&self) -> Option<String> {
        self.inner.state().last_error.clone()
    }

    fn refresh_in_background(&self) {
        let inner = Arc::clone(&self.inner);
        let spawned = std::thread::Builder::new()
            .name("credentials-refresh".to_string())
            .spawn(move || {
                let outcome = inner.fetch();
                let mut state = inner.state();
                state.refreshing = false;
                match outcome {
                    Ok(()) => state.retry_at = None,
                    Err(e) => {
                        state.last_error = Some(e.to_string());
                        state.retry_at = Some(Instant::now() + RETRY_AFTER);
                    }
                }
            });
        if let Err(e) = spawned {
            let mut state = self.inner.state();
            state.refreshing = false;
            state.last_error = Some(format!("cannot start the refresh thread: {e}"));
            state.retry_at = Some(Instant::now() + RETRY_AFTER);
        }
    }
}

impl Inner {
    /// A poisoned lock only means a panic elsewhere; the state itself is always consistent.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn phase(&self, state: &State, now: SystemTime) -> Phase {
        let (Some(expiry), Some(_)) = (state.current.expires_at, &self.source) else {
            return Phase::Fresh;
        };
        let lifetime = expiry
            .duration_since(state.fetched_at)
            .unwrap_or(Duration::ZERO);
        let refresh_at = expiry - REFRESH_AHEAD.min(lifetime / 2);
        let unusable_at = expiry - EXPIRY_MARGIN.min(lifetime / 10);
        if now < refresh_at {
            Phase::Fresh
        } else if now < unusable_at {
            Phase::RefreshDue
        } else {
            Phase::Expired
        }
    }

    /// Fetches new credentials unless the cached ones are no longer `seen` (another caller
    /// refreshed meanwhile), then returns the cached ones.
    fn fetch_if_still(
        &self,
        seen: &Credentials,
        why: &str,
    ) -> Result<Arc<Credentials>, CredentialsError> {
        if self.source.is_none() {
            return Err(CredentialsError::new(format!(
                "the {} were {why} and cannot be renewed",
                self.name
            )));
        }
        let _one_at_a_time = self.fetching.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.state().current.clone();
        if *current != *seen {
            return Ok(current);
        }
        self.fetch_locked().map_err(|e| {
            CredentialsError::new(format!("credentials {why}; renewing them failed: {e}"))
        })?;
        Ok(self.state().current.clone())
    }

    fn fetch(&self) -> Result<(), CredentialsError> {
        let _one_at_a_time = self.fetching.lock().unwrap_or_else(|e| e.into_inner());
        self.fetch_locked()
    }

    /// Calls the source (the caller holds `fetching`) and stores what it returns.
    fn fetch_locked(&self) -> Result<(), CredentialsError> {
        let Some(source) = &self.source else {
            return Ok(());
        };
        let fetched_at = SystemTime::now();
        let fresh = catch_unwind(AssertUnwindSafe(source)).unwrap_or_else(|_| {
            Err(CredentialsError::new(format!(
                "fetching from {} panicked",
                self.name
            )))
        })?;
        let mut state = self.state();
        state.current = Arc::new(fresh);
        state.fetched_at = fetched_at;
        state.last_error = None;
        Ok(())
    }
}
