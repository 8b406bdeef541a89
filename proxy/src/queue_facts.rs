//! What the proxy asks its queue once at start (GetQueueAttributes): `MaximumMessageSize`,
//! the limit for one message and for one SendMessageBatch (bodies plus attributes), and
//! `FifoQueue`.
//!
//! If SQS cannot be asked right now (unreachable, 5xx, throttled: retryable errors, or an
//! answer that is not HTTP/SQS at all) the
//! proxy starts anyway with [`FALLBACK_MAX_MESSAGE_BYTES`] and says so: it is built to
//! start before SQS is reachable and to recover on its own, and 262,144 is the limit SQS
//! applied to every queue before the 1 MiB increase (and older LocalStack releases'
//! default), so it is
//! the value least likely to let a message through that the queue then refuses; a queue set
//! lower makes SQS refuse those entries, which the sender sees as 400, never as a false
//! 200. An error SQS itself gives and retrying cannot fix (the queue does not exist, these
//! credentials may not read it) stops the start with exit 1: that is a deployment mistake, better found when
//! the proxy starts than by the first sensor.
use crate::log;
use sigv4::sqs::{Error, ErrorKind, SqsClient, SqsConfig};
use std::sync::mpsc;
use std::time::Duration;

/// The longest start-up waits for the answer (SQS answers in milliseconds). An endpoint that
/// stalls (accepts and never answers, never completes TLS) counts as unreachable after it.
pub const ASK_DEADLINE: Duration = Duration::from_secs(5);

/// SQS's limit for queues before the 1 MiB increase (and older LocalStack releases').
pub const FALLBACK_MAX_MESSAGE_BYTES: usize = 262_144;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFacts {
    pub max_message_bytes: usize,
    /// `None` when the queue could not be asked.
    pub fifo: Option<bool>,
}

/// Asks the queue, waiting at most [`ASK_DEADLINE`]; `Err` only for errors that retrying
/// cannot fix.
pub fn learn(sqs: &SqsConfig, queue_url: &str) -> Result<QueueFacts, String> {
    let fallback = |why: &str| {
        log::error(&format!(
            "could not read the queue's MaximumMessageSize ({}); assuming {} bytes until \
             restarted",
            safe_text::inert(why),
            FALLBACK_MAX_MESSAGE_BYTES
        ));
        Ok(QueueFacts {
            max_message_bytes: FALLBACK_MAX_MESSAGE_BYTES,
            fifo: None,
        })
    };
    match ask(sqs, queue_url) {
        Err(why) => fallback(&why),
        Ok(Ok(attributes)) => from_attributes(&attributes),
        // A peer that does not speak HTTP or SQS properly (a broken middlebox, a garbled
        // answer) is trouble on the way, like a 5xx: start, answer 503 and recover with it.
        Ok(Err(e)) if e.is_retryable() || matches!(e.kind(), ErrorKind::Protocol(_)) => {
            fallback(&e.to_string())
        }
        Ok(Err(e)) => Err(format!(
            "reading the queue's attributes (sqs:GetQueueAttributes): {}",
            safe_text::inert(&e.to_string())
        )),
    }
}

/// The call on its own thread, so a stalled endpoint costs [`ASK_DEADLINE`], not a hang
/// (the thread is left to end with its call; it holds nothing else).
fn ask(sqs: &SqsConfig, queue_url: &str) -> Result<Result<Vec<(String, String)>, Error>, String> {
    let (tx, rx) = mpsc::channel();
    let (config, url) = (sqs.clone(), queue_url.to_string());
    let spawned = std::thread::Builder::new()
        .name("queue-facts".into())
        .spawn(move || {
            let mut client = SqsClient::new(config);
            let names = ["MaximumMessageSize", "FifoQueue"];
            let _ = tx.send(client.get_queue_attributes(&url, &names));
        });
    if let Err(e) = spawned {
        return Err(format!("cannot start a thread: {e}"));
    }
    rx.recv_timeout(ASK_DEADLINE).map_err(|e| match e {
        mpsc::RecvTimeoutError::Timeout => format!("no answer within {ASK_DEADLINE:?}"),
        mpsc::RecvTimeoutError::Disconnected => "the sqs client failed".to_string(),
    })
}

fn from_attributes(attributes: &[(String, String)]) -> Result<QueueFacts, String> {
    let get = |name: &str| {
        attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let max = get("MaximumMessageSize").ok_or("the queue did not say its MaximumMessageSize")?;
    let max_message_bytes = max
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1024..=crate::batcher::MAX_BATCH_BYTES).contains(n))
        .ok_or_else(|| {
            format!(
                "the queue's MaximumMessageSize {:?} is not 1024..=1048576",
                safe_text::inert(max)
            )
        })?;
    Ok(QueueFacts {
        max_message_bytes,
        fifo: Some(get("FifoQueue").is_some_and(|v| v.eq_ignore_ascii_case("true"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_the_limit_and_the_kind() {
        let f = from_attributes(&attrs(&[
            ("MaximumMessageSize", "1048576"),
            ("FifoQueue", "true"),
        ]))
        .unwrap();
        assert_eq!(f.max_message_bytes, 1_048_576);
        assert_eq!(f.fifo, Some(true));
        let f = from_attributes(&attrs(&[("MaximumMessageSize", "262144")])).unwrap();
        assert_eq!(f.fifo, Some(false), "standard queues do not list FifoQueue");
    }

    #[test]
    fn a_missing_or_impossible_limit_is_an_error() {
        assert!(from_attributes(&[]).is_err());
        for bad in ["0", "2000000", "big"] {
            assert!(from_attributes(&attrs(&[("MaximumMessageSize", bad)])).is_err());
        }
    }

    #[test]
    fn unreachable_sqs_falls_back_to_the_old_default() {
        let config = |endpoint: &str| {
            let mut c = SqsConfig::new(
                "us-east-1",
                Some(endpoint.to_string()),
                sigv4::Credentials::new("test", "test", None),
            );
            c.connect_timeout = std::time::Duration::from_secs(1);
            c
        };
        // Nothing listens on port 9 (discard) on a test host: connection refused.
        let f = learn(&config("http://127.0.0.1:9"), "http://127.0.0.1:9/0/q").unwrap();
        assert_eq!(f.max_message_bytes, FALLBACK_MAX_MESSAGE_BYTES);
        assert_eq!(f.fifo, None);
    }

    #[test]
    fn a_stalled_endpoint_costs_the_deadline_then_falls_back() {
        // Accepts connections (the backlog) and never answers.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", silent.local_addr().unwrap());
        let mut config = SqsConfig::new(
            "us-east-1",
            Some(endpoint.clone()),
            sigv4::Credentials::new("test", "test", None),
        );
        config.io_timeout = Duration::from_secs(60);
        let started = std::time::Instant::now();
        let f = learn(&config, &format!("{endpoint}/0/q")).unwrap();
        assert_eq!(f.max_message_bytes, FALLBACK_MAX_MESSAGE_BYTES);
        let took = started.elapsed();
        assert!(
            took >= ASK_DEADLINE && took < ASK_DEADLINE + Duration::from_secs(2),
            "{took:?}"
        );
    }
}
