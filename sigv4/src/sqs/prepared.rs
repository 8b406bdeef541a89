//! A `SendMessageBatch` call signed but not sent, for a caller that drives its own
//! non-blocking socket (the proxy's event loops): the bytes to write, where they go, and the
//! reading of the answer, which is the same as [`SqsClient::send_message_batch`]'s.
//!
//! [`SqsClient::send_message_batch`]: super::SqsClient::send_message_batch
use super::error::Error;
use super::json_ops;
use super::model::BatchOutcome;
use super::url::{Scheme, Url};

pub struct PreparedBatch {
    bytes: Vec<u8>,
    target: Url,
    /// What the call was, for errors (`SendMessageBatch to http://host:port/`).
    context: String,
    /// The entries' ids, in the order the outcomes are returned.
    ids: Vec<String>,
}

impl PreparedBatch {
    pub(super) fn new(bytes: Vec<u8>, target: Url, ids: Vec<String>) -> PreparedBatch {
        let context = format!("SendMessageBatch to {}{}", target.origin(), target.path);
        PreparedBatch {
            bytes,
            target,
            context,
            ids,
        }
    }

    /// The whole request: head and body.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The request's bytes, moved out (the call can still read its answer): for a sender
    /// that keeps them until they are written, without a copy.
    pub fn take_bytes(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.bytes)
    }

    /// Host name or IP literal (no brackets) and port the request goes to.
    pub fn host(&self) -> &str {
        &self.target.host
    }

    pub fn port(&self) -> u16 {
        self.target.port
    }

    pub fn is_tls(&self) -> bool {
        self.target.scheme == Scheme::Https
    }

    /// What the call was, for a log line or an error.
    pub fn context(&self) -> &str {
        &self.context
    }

    /// Reads the answer (status, headers with lower-case names, body): one outcome per entry
    /// in the order they were given, or the call's error (a non-2xx status says which; a
    /// malformed answer is a protocol error).
    pub fn outcomes(
        &self,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<Vec<BatchOutcome>, Error> {
        json_ops::read_batch_answer(status, headers, body, &self.context, &self.ids)
    }
}
