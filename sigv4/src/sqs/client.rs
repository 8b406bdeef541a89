//! `SqsClient`: checks each operation's input before any I/O, hands it to the configured
//! protocol (`json_ops` or `query_ops`, which build the body and read the answer), and signs
//! and sends the resulting POST over the keep-alive transport.
use std::cell::RefCell;
use std::time::{Duration, SystemTime};

use super::config::{Protocol, SqsConfig};
use super::error::{Error, ErrorKind};
use super::model::{
    BatchEntry, BatchOutcome, ChangeVisibilityEntry, ChangeVisibilityOutcome, DeleteEntry,
    DeleteOutcome, Message, ReceiveExtras, ReceiveOptions, SentMessage,
};
use super::prepared::PreparedBatch;
use super::query::{check_batch, check_message, MAX_MESSAGE_ATTRIBUTES};
use super::transport::Transport;
use super::url::Url;
use super::{json_ops, query_ops};
use crate::credentials::Credentials;
use crate::signer::{sign_request_cached, SignableRequest, SigningParams};
use crate::signing_key::SigningKeyCache;

const SERVICE: &str = "sqs";
/// Slack on top of a long poll's wait before a read counts as timed out.
const LONG_POLL_SLACK: Duration = Duration::from_secs(10);

/// One client = one keep-alive HTTP/1.1 connection (reconnects transparently when the peer
/// closed it). Not shared between threads: make one per thread (it is `Send`).
pub struct SqsClient {
    config: SqsConfig,
    transport: Transport,
    keys: SigningKeyCache,
    /// The last target worked out, with the queue URL it is for: a client speaks to one
    /// queue, and parsing its URL (and the endpoint's) for every call was about a tenth of
    /// what signing a batch costs besides the hashing.
    last_target: RefCell<Option<(Option<String>, Url)>>,
}

/// A 2xx-or-not answer, its body as text, and what the request was (for error context).
pub(super) struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub text: String,
    pub context: String,
}

impl std::fmt::Debug for SqsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqsClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Calls the same-named function of the configured protocol's module.
macro_rules! by_protocol {
    ($client:expr, $op:ident($($arg:expr),*)) => {
        match $client.config.protocol {
            Protocol::Json => json_ops::$op($client, $($arg),*),
            Protocol::Query => query_ops::$op($client, $($arg),*),
        }
    };
}

impl SqsClient {
    pub fn new(config: SqsConfig) -> SqsClient {
        let transport =
            Transport::new(config.connect_timeout, config.io_timeout).with_tls(config.tls.clone());
        SqsClient {
            config,
            transport,
            keys: SigningKeyCache::new(),
            last_target: RefCell::new(None),
        }
    }

    pub fn config(&self) -> &SqsConfig {
        &self.config
    }

    pub fn send_message(&mut self, queue_url: &str, body: &str) -> Result<SentMessage, Error> {
        check_message("SendMessage", body)?;
        by_protocol!(self, send_message(queue_url, body))
    }

    /// 1..=10 entries, ids distinct `[A-Za-z0-9_-]{1,80}`, total ≤ 1 MiB (else `InvalidInput`
    /// before any I/O). `Ok` lists one outcome per entry, in the order of `entries`.
    pub fn send_message_batch(
        &mut self,
        queue_url: &str,
        entries: &[BatchEntry<'_>],
    ) -> Result<Vec<BatchOutcome>, Error> {
        check_batch_entries(entries)?;
        by_protocol!(self, send_message_batch(queue_url, entries))
    }

    /// Where this client's AWS JSON 1.0 requests about `queue_url` go (the path is `/`).
    pub fn json_origin(&self, queue_url: &str) -> Result<http1::Url, Error> {
        json_ops::json_target(self, Some(queue_url), "SendMessageBatch")
    }

    /// A `SendMessageBatch` call (AWS JSON 1.0 only) checked and signed with `credentials`
    /// but not sent: for a caller that does its own non-blocking I/O. It reads the answer
    /// with [`PreparedBatch::outcomes`]. The query protocol gives `InvalidInput`.
    pub fn prepare_send_message_batch(
        &mut self,
        queue_url: &str,
        entries: &[BatchEntry<'_>],
        credentials: &Credentials,
    ) -> Result<PreparedBatch, Error> {
        check_batch_entries(entries)?;
        if self.config.protocol != Protocol::Json {
            return Err(Error::new(
                ErrorKind::InvalidInput("prepared calls speak AWS JSON 1.0 only".to_string()),
                "SendMessageBatch",
            ));
        }
        json_ops::prepare_send_message_batch(self, queue_url, entries, credentials)
    }

    pub fn receive_message(
        &mut self,
        queue_url: &str,
        options: &ReceiveOptions,
    ) -> Result<Vec<Message>, Error> {
        self.receive_message_with(queue_url, options, &ReceiveExtras::default())
    }

    /// [`receive_message`](Self::receive_message) also asking for message attributes and/or
    /// carrying a FIFO `ReceiveRequestAttemptId`.
    pub fn receive_message_with(
        &mut self,
        queue_url: &str,
        options: &ReceiveOptions,
        extras: &ReceiveExtras,
    ) -> Result<Vec<Message>, Error> {
        let action = "ReceiveMessage";
        if let Some(id) = &extras.attempt_id {
            // AWS: 1..=128 characters of alphanumerics and punctuation (!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~).
            if !(1..=128).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(Error::new(
                    ErrorKind::InvalidInput(format!(
                        "receive request attempt id must be 1..=128 printable ASCII characters, got {id:?}"
                    )),
                    action,
                ));
            }
        }
        if !(1..=10).contains(&options.max_messages) {
            return Err(Error::new(
                ErrorKind::InvalidInput(format!(
                    "max_messages must be 1..=10, got {}",
                    options.max_messages
                )),
                action,
            ));
        }
        if options.wait_seconds > 20 {
            return Err(Error::new(
                ErrorKind::InvalidInput(format!(
                    "wait_seconds must be 0..=20, got {}",
                    options.wait_seconds
                )),
                action,
            ));
        }
        let wait = Duration::from_secs(u64::from(options.wait_seconds)) + LONG_POLL_SLACK;
        by_protocol!(self, receive_message(queue_url, options, extras, wait))
    }

    pub fn delete_message_batch(
        &mut self,
        queue_url: &str,
        entries: &[DeleteEntry<'_>],
    ) -> Result<Vec<DeleteOutcome>, Error> {
        check_batch("DeleteMessageBatch", entries.iter().map(|e| e.id), 0)?;
        by_protocol!(self, delete_message_batch(queue_url, entries))
    }

    /// 1..=10 entries, ids as for the other batches, timeouts 0..=43200 (else `InvalidInput`
    /// before any I/O). `Ok` lists one outcome per entry, in the order of `entries`.
    pub fn change_message_visibility_batch(
        &mut self,
        queue_url: &str,
        entries: &[ChangeVisibilityEntry<'_>],
    ) -> Result<Vec<ChangeVisibilityOutcome>, Error> {
        let action = "ChangeMessageVisibilityBatch";
        check_batch(action, entries.iter().map(|e| e.id), 0)?;
        if let Some(e) = entries.iter().find(|e| e.visibility_timeout > 43_200) {
            return Err(Error::new(
                ErrorKind::InvalidInput(format!(
                    "visibility timeout of entry {:?} must be 0..=43200, got {}",
                    e.id, e.visibility_timeout
                )),
                action,
            ));
        }
        by_protocol!(self, change_message_visibility_batch(queue_url, entries))
    }

    pub fn delete_message(&mut self, queue_url: &str, receipt_handle: &str) -> Result<(), Error> {
        by_protocol!(self, delete_message(queue_url, receipt_handle))
    }

    /// Returns the queue URL (idempotent when the attributes match an existing queue).
    pub fn create_queue(
        &mut self,
        name: &str,
        attributes: &[(&str, &str)],
    ) -> Result<String, Error> {
        by_protocol!(self, create_queue(name, attributes))
    }

    pub fn get_queue_url(&mut self, name: &str) -> Result<String, Error> {
        by_protocol!(self, get_queue_url(name))
    }

    pub fn get_queue_attributes(
        &mut self,
        queue_url: &str,
        names: &[&str],
    ) -> Result<Vec<(String, String)>, Error> {
        by_protocol!(self, get_queue_attributes(queue_url, names))
    }

    pub fn purge_queue(&mut self, queue_url: &str) -> Result<(), Error> {
        by_protocol!(self, purge_queue(queue_url))
    }

    /// Any action as an AWS JSON 1.0 request (whatever protocol is configured): `request` is
    /// the JSON body, the answer's JSON is returned. For operations or fields this client does
    /// not model (tests sending FIFO or attribute-carrying messages, say).
    pub fn call_json(
        &mut self,
        action: &'static str,
        queue_url: Option<&str>,
        request: &serde_json::Value,
    ) -> Result<serde_json::Value, Error> {
        json_ops::call(self, queue_url, action, request, None)
    }

    /// Where a request goes: the queue URL's path on the configured endpoint (or the queue
    /// URL itself), or the service root for queue-less actions. (The JSON protocol then
    /// replaces the path with `/`.)
    pub(super) fn target(&self, queue_url: Option<&str>) -> Result<Url, String> {
        if let Some((for_queue, target)) = &*self.last_target.borrow() {
            if for_queue.as_deref() == queue_url {
                return Ok(target.clone());
            }
        }
        let target = self.work_out_target(queue_url)?;
        *self.last_target.borrow_mut() = Some((queue_url.map(str::to_string), target.clone()));
        Ok(target)
    }

    fn work_out_target(&self, queue_url: Option<&str>) -> Result<Url, String> {
        let endpoint = match &self.config.endpoint_url {
            Some(ep) => Some(Url::parse(ep).map_err(|why| format!("endpoint url {ep:?}: {why}"))?),
            None => None,
        };
        match (queue_url, endpoint) {
            (Some(q), endpoint) => {
                let queue = Url::parse(q).map_err(|why| format!("queue url {q:?}: {why}"))?;
                Ok(match endpoint {
                    Some(ep) => Url {
                        path: queue.path,
                        ..ep
                    },
                    None => queue,
                })
            }
            (None, Some(ep)) => Ok(Url {
                path: "/".to_string(),
                ..ep
            }),
            (None, None) => Url::parse(&format!(
                "https://sqs.{}.amazonaws.com/",
                self.config.region
            ))
            .map_err(|why| format!("region {:?}: {why}", self.config.region)),
        }
    }

    /// Signs `headers` + `body` as a POST to `target` and sends it; any HTTP status is an
    /// `Ok` answer (the protocol module reads its error format), transport trouble an `Err`.
    /// An answer saying the credentials expired makes the provider renew them now, and the
    /// request is signed and sent once more.
    pub(super) fn signed_post(
        &mut self,
        action: &str,
        target: &Url,
        headers: &[(String, String)],
        body: &[u8],
        min_read_timeout: Option<Duration>,
    ) -> Result<Answer, Error> {
        let provider = self.config.credentials.clone();
        let credentials_error = |e: crate::CredentialsError| {
            Error::new(ErrorKind::Credentials(e.to_string()), action.to_string())
        };
        let used = provider.current().map_err(credentials_error)?;
        let answer = self.send_signed(target, headers, body, min_read_timeout, &used, action)?;
        if !says_credentials_expired(&answer) {
            return Ok(answer);
        }
        match provider.force_refresh(&used) {
            Ok(fresh) => self.send_signed(target, headers, body, min_read_timeout, &fresh, action),
            // Long-term keys cannot be renewed: the service's own error says the rest.
            Err(_) => Ok(answer),
        }
    }

    fn send_signed(
        &mut self,
        target: &Url,
        headers: &[(String, String)],
        body: &[u8],
        min_read_timeout: Option<Duration>,
        credentials: &Credentials,
        action: &str,
    ) -> Result<Answer, Error> {
        let context = format!("{action} to {}{}", target.origin(), target.path);
        let bytes = self.signed_bytes(target, headers, body, credentials);
        let read_timeout =
            min_read_timeout.map_or(self.config.io_timeout, |t| t.max(self.config.io_timeout));
        let response = self
            .transport
            .round_trip(target, &bytes, read_timeout)
            .map_err(|kind| Error::new(kind, context.clone()))?;
        let text = String::from_utf8(response.body).map_err(|_| {
            Error::new(
                ErrorKind::Protocol("answer body is not utf-8".to_string()),
                context.clone(),
            )
        })?;
        Ok(Answer {
            status: response.status,
            headers: response.headers,
            text,
            context,
        })
    }

    /// The POST of `headers` + `body` to `target`, signed: the bytes to put on the wire.
    pub(super) fn signed_bytes(
        &mut self,
        target: &Url,
        headers: &[(String, String)],
        body: &[u8],
        credentials: &Credentials,
    ) -> Vec<u8> {
        let host = target.authority();
        let signed = sign_request_cached(
            &SignableRequest {
                method: "POST",
                host: &host,
                path: &target.path,
                query: &[],
                headers,
                body,
            },
            &SigningParams {
                credentials,
                region: &self.config.region,
                service: SERVICE,
                time: SystemTime::now(),
            },
            &mut self.keys,
        );
        post_bytes(
            &target.path,
            headers.iter().chain(signed.headers_to_add.iter()),
            body,
        )
    }
}

/// The checks `SendMessageBatch` input gets before any I/O.
fn check_batch_entries(entries: &[BatchEntry<'_>]) -> Result<(), Error> {
    let action = "SendMessageBatch";
    let total: usize = entries.iter().map(BatchEntry::size).sum();
    check_batch(action, entries.iter().map(|e| e.id), total)?;
    for e in entries {
        check_entry(e).map_err(|why| Error::new(ErrorKind::InvalidInput(why), action))?;
    }
    Ok(())
}

/// The request on the wire: head and body in one buffer sized once (a batch's body is up to
/// 1 MiB; growing the buffer piece by piece copied it again).
fn post_bytes<'a>(
    path: &str,
    headers: impl Iterator<Item = &'a (String, String)> + Clone,
    body: &[u8],
) -> Vec<u8> {
    const FIXED: &[u8] = b"POST  HTTP/1.1\r\ncontent-length: \r\nconnection: keep-alive\r\n\r\n";
    let head: usize = headers.clone().map(|(n, v)| n.len() + v.len() + 4).sum();
    let mut out = Vec::with_capacity(FIXED.len() + path.len() + head + 20 + body.len());
    out.extend_from_slice(b"POST ");
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"content-length: ");
    out.extend_from_slice(body.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\nconnection: keep-alive\r\n\r\n");
    out.extend_from_slice(body);
    out
}

/// What SQS would refuse in one batch entry besides its id: an empty body, more than 10
/// attributes, a malformed FIFO group or deduplication id (1..=128 characters,
/// alphanumeric or punctuation: AWS SQS API Reference, `SendMessageBatchRequestEntry`).
fn check_entry(e: &BatchEntry<'_>) -> Result<(), String> {
    if e.body.is_empty() {
        return Err(format!("batch entry {:?} has an empty body", e.id));
    }
    if e.attributes.len() > MAX_MESSAGE_ATTRIBUTES {
        return Err(format!(
            "batch entry {:?} has {} message attributes, at most {MAX_MESSAGE_ATTRIBUTES} allowed",
            e.id,
            e.attributes.len()
        ));
    }
    for (what, value) in [
        ("MessageGroupId", e.group_id),
        ("MessageDeduplicationId", e.deduplication_id),
    ] {
        if let Some(v) = value {
            if !is_fifo_token(v) {
                return Err(format!(
                    "batch entry {:?}: {what} {v:?} must be 1 to 128 ASCII letters, digits or \
                     punctuation",
                    e.id
                ));
            }
        }
    }
    Ok(())
}

/// SQS's rule for MessageGroupId and MessageDeduplicationId.
pub fn is_fifo_token(v: &str) -> bool {
    (1..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic())
}

/// `ExpiredToken` / `ExpiredTokenException` or `RequestExpired` as the error code (query:
/// `<Code>`; JSON: `x-amzn-query-error` or `__type`): the signature's credentials or time are
/// stale, which fresh credentials and a new signature fix. Only the code counts, not a
/// message that happens to mention it.
fn says_credentials_expired(answer: &Answer) -> bool {
    const CODES: [&str; 3] = ["ExpiredToken", "ExpiredTokenException", "RequestExpired"];
    if !matches!(answer.status, 400 | 403) {
        return false;
    }
    let header = answer
        .headers
        .iter()
        .find(|(name, _)| name == "x-amzn-query-error")
        .and_then(|(_, v)| v.split(';').next());
    CODES.iter().any(|code| {
        header == Some(*code)
            || answer.text.contains(&format!("<Code>{code}</Code>"))
            || answer.text.contains(&format!("#{code}\""))
            || answer.text.contains(&format!("\"__type\":\"{code}\""))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::Credentials;

    #[test]
    fn the_remembered_target_is_for_the_queue_asked_about() {
        let config = SqsConfig::new(
            "us-east-1",
            Some("http://127.0.0.1:4566".to_string()),
            Credentials::new("a", "b", None),
        );
        let client = SqsClient::new(config);
        let q1 = "https://sqs.us-east-1.amazonaws.com/1/one";
        let q2 = "https://sqs.us-east-1.amazonaws.com/1/two";
        for (queue, path) in [
            (Some(q1), "/1/one"),
            (Some(q1), "/1/one"),
            (Some(q2), "/1/two"),
        ]
        .into_iter()
        .chain([(None, "/"), (Some(q1), "/1/one")])
        {
            let target = client.target(queue).unwrap();
            assert_eq!((target.host.as_str(), target.port), ("127.0.0.1", 4566));
            assert_eq!(target.path, path, "{queue:?}");
        }
        assert!(client.target(Some("not a url")).is_err());
        assert_eq!(client.target(Some(q2)).unwrap().path, "/1/two");
    }

    #[test]
    fn post_bytes_is_the_head_then_the_body() {
        let headers = [
            (
                "content-type".to_string(),
                "application/x-amz-json-1.0".to_string(),
            ),
            (
                "authorization".to_string(),
                "AWS4-HMAC-SHA256 x".to_string(),
            ),
        ];
        let body = "{\"QueueUrl\":\"q\"}".repeat(100);
        let got = post_bytes("/q/1", headers.iter(), body.as_bytes());
        let want = format!(
            "POST /q/1 HTTP/1.1\r\ncontent-type: application/x-amz-json-1.0\r\n\
             authorization: AWS4-HMAC-SHA256 x\r\ncontent-length: {}\r\n\
             connection: keep-alive\r\n\r\n{body}",
            body.len()
        );
        assert_eq!(String::from_utf8(got).unwrap(), want);
    }
}
