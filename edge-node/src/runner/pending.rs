//! The state of an `http_request` call while its guest is suspended: its own module so that
//! the node state (`ctx.rs`) can hold it without depending on the ABI code (`http_abi.rs`).
use crate::net::message::Request;

/// Where the answer to a suspended request goes.
#[derive(Debug)]
pub struct PendingHttp {
    /// Taken by the scheduler when it hands the request to the HTTP pool.
    pub request: Option<Request>,
    pub max_body: usize,
    pub(super) headers_ptr: u32,
    pub(super) headers_len_ptr: u32,
    pub(super) body_ptr: u32,
    pub(super) body_len_ptr: u32,
    pub(super) status_ptr: u32,
}
