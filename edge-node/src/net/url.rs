//! Guest URLs are parsed as Go's `url.Parse` does (the workspace's one parser, in `http1`):
//! what Go accepts but its client cannot reach (another scheme, no host, a port over 65535)
//! parses here and fails in the client with a network error, as on a Bacalhau node.
pub use http1::url::{GoUrl, Scheme, Url};
