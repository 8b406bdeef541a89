//! The node's network: which hosts a job may reach, how names resolve, and a keep-alive
//! HTTP/1.1 client that performs the guests' `http_request` calls as Go's client would.
//!
//! Dependencies run one way: `message` (shared types) ← `headers`, `redirect` ← `client`
//! ← `pool`; `url`, `resolve` and `policy` stand alone.
pub mod client;
pub mod headers;
pub mod message;
pub mod policy;
pub mod pool;
pub mod redirect;
pub mod resolve;
pub mod url;
