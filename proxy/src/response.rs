//! HTTP responses the proxy sends, and their exact bytes on the wire.

/// A response before the connection decides its `Connection` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            content_type,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// 200 `{"message_id": id}`: SQS accepted the message. The hot path, written directly.
    pub fn accepted(message_id: &str) -> Response {
        let mut body = Vec::with_capacity(message_id.len() + 20);
        body.extend_from_slice(b"{\"message_id\":");
        // Serializing a str into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut body, message_id);
        body.push(b'}');
        Response::new(200, "application/json", body)
    }

    /// A JSON body, the shape every proxy endpoint except /metrics answers with.
    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        Response::new(status, "application/json", value.to_string())
    }

    /// `{"error": message}` with `status`.
    pub fn error(status: u16, message: &str) -> Response {
        Response::json(status, &serde_json::json!({ "error": message }))
    }

    /// 503 with `Retry-After`, the answer whenever a message could not be handed to SQS, so
    /// well-behaved clients come back instead of treating it as a permanent failure.
    pub fn unavailable(message: &str, retry_after_secs: u32) -> Response {
        Response::error(503, message).with_header("Retry-After", retry_after_secs.to_string())
    }

    pub fn with_header(mut self, name: &'static str, value: String) -> Response {
        self.headers.push((name, value));
        self
    }

    /// About how many bytes [`Response::encode`] writes (enough for the head's fixed parts).
    pub fn encoded_len_hint(&self) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|(n, v)| n.len() + v.len() + 4)
            .sum();
        128 + headers + self.body.len()
    }

    /// The full response bytes. `close` adds `Connection: close` (the connection ends after it).
    /// Written piece by piece: this runs once per answered message.
    pub fn encode(&self, close: bool, out: &mut Vec<u8>) {
        out.extend_from_slice(b"HTTP/1.1 ");
        push_number(out, usize::from(self.status));
        out.push(b' ');
        out.extend_from_slice(reason(self.status).as_bytes());
        out.extend_from_slice(b"\r\nContent-Type: ");
        out.extend_from_slice(self.content_type.as_bytes());
        out.extend_from_slice(b"\r\nContent-Length: ");
        push_number(out, self.body.len());
        out.extend_from_slice(b"\r\n");
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if close {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
    }
}

/// `n` in decimal.
fn push_number(out: &mut Vec<u8>, n: usize) {
    // Serializing an integer into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &n);
}

/// The interim response to `Expect: 100-continue` (RFC 9110 §10.1.1).
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_status_line_length_and_close() {
        let mut out = Vec::new();
        Response::new(200, "text/plain", "hi").encode(true, &mut out);
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
        );
    }

    #[test]
    fn unavailable_carries_retry_after() {
        let mut out = Vec::new();
        Response::unavailable("sqs down", 1).encode(false, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
        assert!(text.contains("\r\nRetry-After: 1\r\n"));
        assert!(text.ends_with("{\"error\":\"sqs down\"}"));
    }

    #[test]
    fn accepted_is_the_json_of_its_message_id() {
        for id in [
            "5fea7756-0ea4-451a-a703-a558b933e274",
            "odd \"id\" \\ \u{1}",
        ] {
            let r = Response::accepted(id);
            let want = serde_json::json!({ "message_id": id });
            assert_eq!((r.status, r.content_type), (200, "application/json"));
            assert_eq!(
                serde_json::from_slice::<serde_json::Value>(&r.body).ok(),
                Some(want)
            );
        }
    }
}
