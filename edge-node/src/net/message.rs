//! What the guests' HTTP client exchanges: a request, its answer, and why there was none.
//! Shared by the client and the redirect rules (which depend on these types, not on each
//! other).
use super::url::GoUrl;

#[derive(Debug, Clone)]
pub struct Request {
    pub method: &'static str,
    /// As Go's `url.Parse` read it; what the client cannot connect to fails at send time.
    pub url: GoUrl,
    /// As the guest wrote them; the client applies Go's header rules when sending.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// An answer as Go's client hands it to Bacalhau: header names canonical, no
/// `Transfer-Encoding`, the body cut at the caller's limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Why a request got no answer; maps onto Bacalhau's result codes 2 and 3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Code 2: everything Go's client reports as a non-timeout error, and any failure while
    /// reading the body (Bacalhau checks only `client.Do`'s error for a timeout).
    Network(String),
    /// Code 3: the deadline passed before the response head was complete.
    Timeout,
}
