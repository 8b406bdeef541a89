//! `SqsClient`: builds each action's query body, signs it, sends it over the keep-alive
//! transport and turns the XML answer (or AWS error document) into typed results.
use std::time::{Duration, SystemTime};

use super::config::SqsConfig;
use super::error::{Error, ErrorKind};
use super::model::{
    BatchEntry, BatchOutcome, DeleteEntry, DeleteOutcome, Message, ReceiveOptions, SentMessage,
};
use super::query::{check_batch, check_message, QueryBody};
use super::transport::Transport;
use super::url::Url;
use super::xml::{self, Element};
use crate::signer::{sign_request_cached, SignableRequest, SigningParams};
use crate::signing_key::SigningKeyCache;

const SERVICE: &str = "sqs";
const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";
/// Slack on top of a long poll's wait before a read counts as timed out.
const LONG_POLL_SLACK: Duration = Duration::from_secs(10);

/// One client = one keep-alive HTTP/1.1 connection (reconnects transparently when the peer
/// closed it). Not shared between threads: make one per thread (it is `Send`).
pub struct SqsClient {
    config: SqsConfig,
    transport: Transport,
    keys: SigningKeyCache,
}

impl std::fmt::Debug for SqsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqsClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SqsClient {
    pub fn new(config: SqsConfig) -> SqsClient {
        let transport = Transport::new(config.connect_timeout, config.io_timeout);
        SqsClient {
            config,
            transport,
            keys: SigningKeyCache::new(),
        }
    }

    pub fn config(&self) -> &SqsConfig {
        &self.config
    }

    pub fn send_message(&mut self, queue_url: &str, body: &str) -> Result<SentMessage, Error> {
        check_message("SendMessage", body)?;
        let mut q = QueryBody::new("SendMessage");
        q.param("QueueUrl", queue_url).param("MessageBody", body);
        let root = self.call(Some(queue_url), &q, None)?;
        let result = expect_child(&root, "SendMessageResult", q.action())?;
        Ok(SentMessage {
            message_id: required_text(result, "MessageId", q.action())?,
            md5_of_body: required_text(result, "MD5OfMessageBody", q.action())?,
        })
    }

    /// 1..=10 entries, ids distinct `[A-Za-z0-9_-]{1,80}`, total ≤ 1 MiB (else `InvalidInput`
    /// before any I/O). `Ok` lists one outcome per entry, in the order of `entries`.
    pub fn send_message_batch(
        &mut self,
        queue_url: &str,
        entries: &[BatchEntry<'_>],
    ) -> Result<Vec<BatchOutcome>, Error> {
        let action = "SendMessageBatch";
        let total: usize = entries.iter().map(|e| e.body.len()).sum();
        check_batch(action, entries.iter().map(|e| e.id), total)?;
        if let Some(e) = entries.iter().find(|e| e.body.is_empty()) {
            return Err(Error::new(
                ErrorKind::InvalidInput(format!("batch entry {:?} has an empty body", e.id)),
                action,
            ));
        }
        let mut q = QueryBody::new(action);
        q.param("QueueUrl", queue_url);
        for (i, e) in entries.iter().enumerate() {
            let prefix = format!("SendMessageBatchRequestEntry.{}", i + 1);
            q.param(format!("{prefix}.Id"), e.id)
                .param(format!("{prefix}.MessageBody"), e.body);
        }
        let root = self.call(Some(queue_url), &q, None)?;
        let result = expect_child(&root, "SendMessageBatchResult", action)?;
        let mut outcomes = Vec::with_capacity(entries.len());
        for entry in entries {
            let sent = result
                .children("SendMessageBatchResultEntry")
                .find(|r| r.child_text("Id") == Some(entry.id));
            let outcome = match sent {
                Some(r) => BatchOutcome::Sent {
                    id: entry.id.to_string(),
                    message_id: required_text(r, "MessageId", action)?,
                    md5_of_body: required_text(r, "MD5OfMessageBody", action)?,
                },
                None => {
                    let (code, message, sender_fault) = batch_error(result, entry.id);
                    BatchOutcome::Failed {
                        id: entry.id.to_string(),
                        code,
                        message,
                        sender_fault,
                    }
                }
            };
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    pub fn receive_message(
        &mut self,
        queue_url: &str,
        options: &ReceiveOptions,
    ) -> Result<Vec<Message>, Error> {
        let action = "ReceiveMessage";
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
        let mut q = QueryBody::new(action);
        q.param("QueueUrl", queue_url)
            .param("MaxNumberOfMessages", options.max_messages.to_string())
            .param("WaitTimeSeconds", options.wait_seconds.to_string());
        if let Some(v) = options.visibility_timeout {
            q.param("VisibilityTimeout", v.to_string());
        }
        let names: Vec<&str> = options
            .system_attributes
            .iter()
            .map(String::as_str)
            .collect();
        q.list("AttributeName", &names);
        let wait = Duration::from_secs(u64::from(options.wait_seconds)) + LONG_POLL_SLACK;
        let root = self.call(Some(queue_url), &q, Some(wait))?;
        let result = expect_child(&root, "ReceiveMessageResult", action)?;
        result
            .children("Message")
            .map(|m| {
                Ok(Message {
                    message_id: required_text(m, "MessageId", action)?,
                    receipt_handle: required_text(m, "ReceiptHandle", action)?,
                    body: required_text(m, "Body", action)?,
                    md5_of_body: m.child_text("MD5OfBody").unwrap_or("").to_string(),
                    attributes: name_value_pairs(m, "Attribute"),
                })
            })
            .collect()
    }

    pub fn delete_message_batch(
        &mut self,
        queue_url: &str,
        entries: &[DeleteEntry<'_>],
    ) -> Result<Vec<DeleteOutcome>, Error> {
        let action = "DeleteMessageBatch";
        check_batch(action, entries.iter().map(|e| e.id), 0)?;
        let mut q = QueryBody::new(action);
        q.param("QueueUrl", queue_url);
        for (i, e) in entries.iter().enumerate() {
            let prefix = format!("DeleteMessageBatchRequestEntry.{}", i + 1);
            q.param(format!("{prefix}.Id"), e.id)
                .param(format!("{prefix}.ReceiptHandle"), e.receipt_handle);
        }
        let root = self.call(Some(queue_url), &q, None)?;
        let result = expect_child(&root, "DeleteMessageBatchResult", action)?;
        Ok(entries
            .iter()
            .map(|entry| {
                let deleted = result
                    .children("DeleteMessageBatchResultEntry")
                    .any(|r| r.child_text("Id") == Some(entry.id));
                if deleted {
                    DeleteOutcome::Deleted {
                        id: entry.id.to_string(),
                    }
                } else {
                    let (code, message, sender_fault) = batch_error(result, entry.id);
                    DeleteOutcome::Failed {
                        id: entry.id.to_string(),
                        code,
                        message,
                        sender_fault,
                    }
                }
            })
            .collect())
    }

    pub fn delete_message(&mut self, queue_url: &str, receipt_handle: &str) -> Result<(), Error> {
        let mut q = QueryBody::new("DeleteMessage");
        q.param("QueueUrl", queue_url)
            .param("ReceiptHandle", receipt_handle);
        self.call(Some(queue_url), &q, None).map(drop)
    }

    /// Returns the queue URL (idempotent when the attributes match an existing queue).
    pub fn create_queue(
        &mut self,
        name: &str,
        attributes: &[(&str, &str)],
    ) -> Result<String, Error> {
        let mut q = QueryBody::new("CreateQueue");
        q.param("QueueName", name);
        for (i, (k, v)) in attributes.iter().enumerate() {
            q.param(format!("Attribute.{}.Name", i + 1), *k)
                .param(format!("Attribute.{}.Value", i + 1), *v);
        }
        let root = self.call(None, &q, None)?;
        let result = expect_child(&root, "CreateQueueResult", q.action())?;
        required_text(result, "QueueUrl", q.action())
    }

    pub fn get_queue_url(&mut self, name: &str) -> Result<String, Error> {
        let mut q = QueryBody::new("GetQueueUrl");
        q.param("QueueName", name);
        let root = self.call(None, &q, None)?;
        let result = expect_child(&root, "GetQueueUrlResult", q.action())?;
        required_text(result, "QueueUrl", q.action())
    }

    pub fn get_queue_attributes(
        &mut self,
        queue_url: &str,
        names: &[&str],
    ) -> Result<Vec<(String, String)>, Error> {
        let mut q = QueryBody::new("GetQueueAttributes");
        q.param("QueueUrl", queue_url).list("AttributeName", names);
        let root = self.call(Some(queue_url), &q, None)?;
        let result = expect_child(&root, "GetQueueAttributesResult", q.action())?;
        Ok(name_value_pairs(result, "Attribute"))
    }

    pub fn purge_queue(&mut self, queue_url: &str) -> Result<(), Error> {
        let mut q = QueryBody::new("PurgeQueue");
        q.param("QueueUrl", queue_url);
        self.call(Some(queue_url), &q, None).map(drop)
    }

    /// Where a request goes: the queue URL's path on the configured endpoint (or the queue
    /// URL itself), or the service root for queue-less actions.
    fn target(&self, queue_url: Option<&str>) -> Result<Url, String> {
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

    /// Signs and sends one action; returns the root of a 2xx XML answer or a typed error.
    fn call(
        &mut self,
        queue_url: Option<&str>,
        query: &QueryBody,
        min_read_timeout: Option<Duration>,
    ) -> Result<Element, Error> {
        let action = query.action();
        let target = self
            .target(queue_url)
            .map_err(|why| Error::new(ErrorKind::InvalidInput(why), action))?;
        let context = format!("{action} to {}{}", target.origin(), target.path);
        let body = query.encode();
        let host = target.authority();
        let headers = vec![("content-type".to_string(), CONTENT_TYPE.to_string())];
        let signed = sign_request_cached(
            &SignableRequest {
                method: "POST",
                host: &host,
                path: &target.path,
                query: &[],
                headers: &headers,
                body: body.as_bytes(),
            },
            &SigningParams {
                credentials: &self.config.credentials,
                region: &self.config.region,
                service: SERVICE,
                time: SystemTime::now(),
            },
            &mut self.keys,
        );
        let mut request = format!("POST {} HTTP/1.1\r\n", target.path);
        for (name, value) in headers.iter().chain(signed.headers_to_add.iter()) {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str(&format!(
            "content-length: {}\r\nconnection: keep-alive\r\n\r\n",
            body.len()
        ));
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(body.as_bytes());

        let read_timeout =
            min_read_timeout.map_or(self.config.io_timeout, |t| t.max(self.config.io_timeout));
        let response = self
            .transport
            .round_trip(&target, &bytes, read_timeout)
            .map_err(|kind| Error::new(kind, context.clone()))?;
        let text = String::from_utf8(response.body).map_err(|_| {
            Error::new(
                ErrorKind::Protocol("answer body is not utf-8".to_string()),
                context.clone(),
            )
        })?;
        if !(200..300).contains(&response.status) {
            return Err(service_error(response.status, &text).with_context(context));
        }
        xml::parse(&text).map_err(|why| {
            Error::new(
                ErrorKind::Protocol(format!("answer is not valid xml: {why}")),
                context,
            )
        })
    }
}

/// Reads an AWS query-protocol error document (`<ErrorResponse><Error><Code>...`); a body
/// that is not one (a proxy's HTML page, say) still yields the status and a snippet.
fn service_error(status: u16, text: &str) -> Error {
    let parsed = xml::parse(text).ok();
    let error = parsed.as_ref().and_then(|root| root.find("Error"));
    let (code, message) = match error {
        Some(e) => (
            e.child_text("Code").unwrap_or("").to_string(),
            e.child_text("Message").unwrap_or("").to_string(),
        ),
        None => {
            let snippet: String = text.chars().take(200).collect();
            (String::new(), snippet)
        }
    };
    Error::new(
        ErrorKind::Service {
            status,
            code,
            message,
        },
        "",
    )
}

fn expect_child<'a>(root: &'a Element, name: &str, action: &str) -> Result<&'a Element, Error> {
    root.find(name).ok_or_else(|| {
        Error::new(
            ErrorKind::Protocol(format!("answer has no <{name}>")),
            action.to_string(),
        )
    })
}

fn required_text(el: &Element, name: &str, action: &str) -> Result<String, Error> {
    el.child_text(name).map(str::to_string).ok_or_else(|| {
        Error::new(
            ErrorKind::Protocol(format!("<{}> has no <{name}>", el.name)),
            action.to_string(),
        )
    })
}

/// `<Attribute><Name>n</Name><Value>v</Value></Attribute>` lists.
fn name_value_pairs(el: &Element, tag: &str) -> Vec<(String, String)> {
    el.children(tag)
        .filter_map(|a| {
            Some((
                a.child_text("Name")?.to_string(),
                a.child_text("Value").unwrap_or("").to_string(),
            ))
        })
        .collect()
}

/// The `BatchResultErrorEntry` for `id`; an entry in neither list gets a synthetic failure
/// so the caller retries it rather than assuming it went through.
fn batch_error(result: &Element, id: &str) -> (String, String, bool) {
    match result
        .children("BatchResultErrorEntry")
        .find(|r| r.child_text("Id") == Some(id))
    {
        Some(e) => (
            e.child_text("Code").unwrap_or("").to_string(),
            e.child_text("Message").unwrap_or("").to_string(),
            e.child_text("SenderFault")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
        ),
        None => (
            "MissingFromResponse".to_string(),
            "the answer listed this entry neither as done nor as failed".to_string(),
            false,
        ),
    }
}
