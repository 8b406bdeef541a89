//! One HTTP/1.1 exchange with a credentials endpoint (STS, the container endpoint, IMDS) over
//! sigv4's own transport, on a fresh connection with the caller's deadline.
use std::time::Duration;

use http1::tls::TlsConnector;

use crate::sqs::transport::Transport;
use crate::sqs::url::Url;

pub(crate) struct Answer {
    pub status: u16,
    pub body: String,
}

/// `method url` with `headers` and `body`; `timeout` bounds the connect, the write and each
/// read; `tls` is who an https endpoint is trusted from (`None`: the webpki roots). The error
/// names the URL and what failed, never a header value (tokens travel there).
pub(crate) fn call(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
    tls: Option<&TlsConnector>,
) -> Result<Answer, String> {
    let target = Url::parse(url).map_err(|why| format!("url {url:?}: {why}"))?;
    let mut request = format!(
        "{method} {} HTTP/1.1\r\nhost: {}\r\n",
        target.path,
        target.authority()
    );
    for (name, value) in headers {
        if value.contains(['\r', '\n']) {
            return Err(format!("header {name} for {url} contains a line break"));
        }
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    let mut transport = Transport::new(timeout, timeout).with_tls(tls.cloned());
    let response = transport
        .round_trip(&target, &bytes, timeout)
        .map_err(|kind| format!("{method} {}{}: {kind}", target.origin(), target.path))?;
    let body = String::from_utf8(response.body).map_err(|_| {
        format!(
            "{method} {}{}: answer is not utf-8",
            target.origin(),
            target.path
        )
    })?;
    Ok(Answer {
        status: response.status,
        body,
    })
}
