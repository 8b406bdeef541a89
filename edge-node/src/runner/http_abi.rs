//! `wasi:http/requests`.`http_request`, with the semantics of Bacalhau's WASM executor:
//!
//! - all four response pointers must be non-zero, else 6 (BadInput);
//! - the URL is read from memory and parsed as Go's `url.Parse` does, failing either way → 1
//!   (InvalidURL); what parses but cannot be sent (another scheme, no host) fails later → 2;
//! - the host must pass the job's network policy, else 4 (NotAllowed);
//! - request headers are `Key: Value` lines split on `\n` (bad lines and unreadable header
//!   memory are ignored, as Bacalhau does); an unreadable body → 6;
//! - the answer: network failure → 2, timeout (30 s) → 3; otherwise the status goes to
//!   `*status_ptr` (u32 LE, when non-zero), headers and body are cut silently to the
//!   capacities the guest stored at the two length pointers, and the lengths actually written
//!   go back there; any response-side pointer outside memory → 7 (MemoryError).
//!
//! The request itself runs while the guest is suspended (see `suspend.rs`).
use super::ctx::{memory, NodeCtx};
use super::guest_mem as gm;
pub use super::pending::PendingHttp;
use super::status::{posted_fields, RequestOutcome};
use super::suspend::Suspend;
use crate::net::message::{Failure, Request, Response};
use crate::net::policy::NetworkPolicy;
use crate::net::url::GoUrl;
use wasmi::{Caller, Error, Linker};

pub const MODULE: &str = "wasi:http/requests";
pub const FUNC: &str = "http_request";

pub const SUCCESS: u32 = 0;
pub const INVALID_URL: u32 = 1;
pub const NETWORK_ERROR: u32 = 2;
pub const TIMEOUT: u32 = 3;
pub const NOT_ALLOWED: u32 = 4;
pub const BAD_INPUT: u32 = 6;
pub const MEMORY_ERROR: u32 = 7;

/// Bacalhau's bounds for a response body: 80 % of guest memory, at least 64 KiB, at most 100 MiB.
const MIN_RESPONSE: usize = 64 * 1024;
const MAX_RESPONSE: usize = 100 * 1024 * 1024;

pub fn define(linker: &mut Linker<NodeCtx>) -> Result<(), Error> {
    linker.func_wrap(MODULE, FUNC, http_request)?;
    Ok(())
}

fn method_name(code: u32) -> &'static str {
    match code {
        1 => "POST",
        2 => "PUT",
        3 => "DELETE",
        4 => "HEAD",
        5 => "OPTIONS",
        6 => "PATCH",
        _ => "GET",
    }
}

#[allow(clippy::too_many_arguments)] // the ABI is twelve u32s
fn http_request(
    mut c: Caller<'_, NodeCtx>,
    method: u32,
    url_ptr: u32,
    url_len: u32,
    headers_ptr: u32,
    headers_len: u32,
    body_ptr: u32,
    body_len: u32,
    resp_headers_ptr: u32,
    resp_headers_len_ptr: u32,
    resp_body_ptr: u32,
    resp_body_len_ptr: u32,
    status_ptr: u32,
) -> Result<u32, Error> {
    if resp_headers_ptr == 0
        || resp_headers_len_ptr == 0
        || resp_body_ptr == 0
        || resp_body_len_ptr == 0
    {
        return Ok(BAD_INPUT);
    }
    let Some(memory) = memory(&c) else {
        return Ok(MEMORY_ERROR);
    };
    let (mem, ctx) = memory.data_and_store_mut(&mut c);
    let guest = (
        url_ptr,
        url_len,
        headers_ptr,
        headers_len,
        body_ptr,
        body_len,
    );
    let request = match guest_request(mem, method_name(method), guest, &ctx.policy) {
        Ok(request) => request,
        Err(code) => return Ok(code),
    };
    if request.method == "POST" {
        ctx.status.record_post(posted_fields(&request.body));
    }
    if !ctx.status.is_connected() {
        // The demo's "disconnect": the node's network is cut, the guest sees a network error.
        ctx.status.record(RequestOutcome::Failed);
        return Ok(NETWORK_ERROR);
    }
    let max_body = (mem.len() / 10 * 8).clamp(MIN_RESPONSE, MAX_RESPONSE);
    ctx.pending_http = Some(PendingHttp {
        request: Some(request),
        max_body,
        headers_ptr: resp_headers_ptr,
        headers_len_ptr: resp_headers_len_ptr,
        body_ptr: resp_body_ptr,
        body_len_ptr: resp_body_len_ptr,
        status_ptr,
    });
    Err(Error::host(Suspend::Http))
}

/// The request the guest described in its memory (URL, headers and body as pointer and
/// length pairs), or the ABI code for what is wrong with it, checked in this order:
/// the URL, the network policy, then the body.
fn guest_request(
    mem: &[u8],
    method: &'static str,
    (url_ptr, url_len, headers_ptr, headers_len, body_ptr, body_len): (
        u32,
        u32,
        u32,
        u32,
        u32,
        u32,
    ),
    policy: &NetworkPolicy,
) -> Result<Request, u32> {
    let url = gm::slice(mem, url_ptr, url_len)
        .map(String::from_utf8_lossy)
        .and_then(|s| GoUrl::parse(&s).ok())
        .ok_or(INVALID_URL)?;
    if !policy.allows(&url.hostname().to_ascii_lowercase()) {
        return Err(NOT_ALLOWED);
    }
    let headers = if headers_ptr != 0 && headers_len > 0 {
        gm::slice(mem, headers_ptr, headers_len)
            .map(parse_headers)
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let body = if body_ptr != 0 && body_len > 0 {
        gm::slice(mem, body_ptr, body_len)
            .ok_or(BAD_INPUT)?
            .to_vec()
    } else {
        Vec::new()
    };
    Ok(Request {
        method,
        url,
        headers,
        body,
    })
}

/// `Key: Value` lines, `\n`-separated; lines without a colon are skipped.
pub fn parse_headers(raw: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(raw)
        .split('\n')
        .filter_map(|line| {
            let (k, v) = line.trim().split_once(':')?;
            let k = k.trim();
            (!k.is_empty()).then(|| (k.to_string(), v.trim().to_string()))
        })
        .collect()
}

/// Writes the outcome of a request into guest memory; returns the result code for the guest
/// and what the stats should count.
pub fn complete(
    mem: &mut [u8],
    pending: &PendingHttp,
    result: Result<Response, Failure>,
) -> (u32, RequestOutcome) {
    let resp = match result {
        Ok(resp) => resp,
        Err(Failure::Timeout) => return (TIMEOUT, RequestOutcome::Failed),
        Err(Failure::Network(_)) => return (NETWORK_ERROR, RequestOutcome::Failed),
    };
    let code = write_response(mem, pending, &resp).unwrap_or(MEMORY_ERROR);
    (
        code,
        RequestOutcome::classify(code, resp.status, &resp.body),
    )
}

fn write_response(mem: &mut [u8], p: &PendingHttp, resp: &Response) -> Option<u32> {
    let headers: Vec<String> = resp
        .headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    let headers = headers.join("\n");
    let headers_cap = gm::read_u32(mem, p.headers_len_ptr)? as usize;
    let body_cap = gm::read_u32(mem, p.body_len_ptr)? as usize;
    let headers = &headers.as_bytes()[..headers.len().min(headers_cap)];
    let body = &resp.body[..resp.body.len().min(body_cap)];
    if p.status_ptr != 0 {
        gm::write_u32(mem, p.status_ptr, u32::from(resp.status))?;
    }
    gm::write_u32(mem, p.headers_len_ptr, u32::try_from(headers.len()).ok()?)?;
    gm::write_u32(mem, p.body_len_ptr, u32::try_from(body.len()).ok()?)?;
    gm::write(mem, p.headers_ptr, headers)?;
    gm::write(mem, p.body_ptr, body)?;
    Some(SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines_both_ways() {
        assert_eq!(
            parse_headers(b"Content-Type: application/json\nbad line\n X-A :b:c \r\n"),
            vec![
                ("Content-Type".into(), "application/json".into()),
                ("X-A".into(), "b:c".into())
            ]
        );
    }

    #[test]
    fn truncates_to_capacity_and_reports_written_length() {
        let mut mem = vec![0u8; 256];
        gm::write_u32(&mut mem, 8, 5).expect("in bounds");
        gm::write_u32(&mut mem, 12, 3).expect("in bounds");
        let p = PendingHttp {
            request: None,
            max_body: 1024,
            headers_ptr: 100,
            headers_len_ptr: 8,
            body_ptr: 200,
            body_len_ptr: 12,
            status_ptr: 16,
        };
        let resp = Response {
            status: 201,
            headers: vec![("X-Long".into(), "value".into())],
            body: b"abcdef".to_vec(),
        };
        let (code, _) = complete(&mut mem, &p, Ok(resp.clone()));
        assert_eq!(code, SUCCESS);
        assert_eq!(gm::read_u32(&mem, 16), Some(201));
        assert_eq!(gm::read_u32(&mem, 8), Some(5));
        assert_eq!(gm::read_u32(&mem, 12), Some(3));
        assert_eq!(&mem[100..105], b"X-Lon");
        assert_eq!(&mem[200..203], b"abc");
        assert_eq!(mem[203], 0);
        let bad = PendingHttp {
            status_ptr: 4096,
            ..p
        };
        assert_eq!(complete(&mut mem, &bad, Ok(resp)).0, MEMORY_ERROR);
        assert_eq!(complete(&mut mem, &bad, Err(Failure::Timeout)).0, TIMEOUT);
    }
}
