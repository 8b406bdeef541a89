//! The node's network: which hosts a job may reach, how names resolve, and a small
//! keep-alive HTTP/1.1 client that performs the guests' `http_request` calls.
pub mod client;
pub mod policy;
pub mod redirect;
pub mod resolve;
pub mod url;
