//! What the puller needs to know about the queue itself, read once at start with
//! GetQueueAttributes: the visibility timeout in force (the heartbeat extends before it
//! runs out), whether a RedrivePolicy hands poison messages to an SQS dead-letter queue, and
//! whether the queue is FIFO.
use sigv4::sqs::SqsClient;

/// SQS's default VisibilityTimeout, assumed when the queue's cannot be read.
const DEFAULT_VISIBILITY_TIMEOUT: u32 = 30;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueInfo {
    /// Seconds a received message stays hidden: `--visibility-timeout`, else the queue's.
    pub visibility_timeout: u32,
    /// The queue's RedrivePolicy: SQS moves a message to `dead_letter_target` once it was
    /// received more than `max_receive_count` times.
    pub redrive: Option<Redrive>,
    pub fifo: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redrive {
    pub dead_letter_target: String,
    pub max_receive_count: u32,
}

impl QueueInfo {
    /// What is known without asking SQS: the flags.
    pub fn assumed(visibility_timeout: Option<u32>, fifo: bool) -> QueueInfo {
        QueueInfo {
            visibility_timeout: visibility_timeout.unwrap_or(DEFAULT_VISIBILITY_TIMEOUT),
            redrive: None,
            fifo,
        }
    }

    /// Reads the queue's attributes. Err (with the assumed values to go on with) when SQS
    /// would not tell: the caller warns, since a RedrivePolicy then goes unnoticed.
    pub fn fetch(
        client: &mut SqsClient,
        queue_url: &str,
        visibility_timeout: Option<u32>,
        fifo: bool,
    ) -> Result<QueueInfo, (QueueInfo, String)> {
        let assumed = QueueInfo::assumed(visibility_timeout, fifo);
        let names = ["VisibilityTimeout", "RedrivePolicy", "FifoQueue"];
        match client.get_queue_attributes(queue_url, &names) {
            Ok(attrs) => Ok(QueueInfo::from_attributes(&attrs, visibility_timeout, fifo)),
            Err(e) => Err((assumed, e.to_string())),
        }
    }

    pub fn from_attributes(
        attrs: &[(String, String)],
        visibility_timeout: Option<u32>,
        fifo: bool,
    ) -> QueueInfo {
        let get = |name: &str| {
            attrs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let queue_timeout = get("VisibilityTimeout").and_then(|v| v.trim().parse().ok());
        QueueInfo {
            visibility_timeout: visibility_timeout
                .or(queue_timeout)
                .unwrap_or(DEFAULT_VISIBILITY_TIMEOUT),
            redrive: get("RedrivePolicy").and_then(Redrive::parse),
            fifo: fifo || get("FifoQueue") == Some("true"),
        }
    }
}

impl Redrive {
    /// `{"deadLetterTargetArn":"arn:...","maxReceiveCount":"2"}` (the count is a string or a
    /// number depending on who set it).
    fn parse(text: &str) -> Option<Redrive> {
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        let target = v.get("deadLetterTargetArn")?.as_str()?.to_string();
        let count = v.get("maxReceiveCount")?;
        let max_receive_count = count
            .as_u64()
            .or_else(|| count.as_str()?.trim().parse().ok())?;
        Some(Redrive {
            dead_letter_target: target,
            max_receive_count: u32::try_from(max_receive_count).ok()?,
        })
    }
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
    fn reads_the_queue_settings() {
        let a = attrs(&[
            ("VisibilityTimeout", "2"),
            (
                "RedrivePolicy",
                "{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:0:dlq\",\"maxReceiveCount\":\"2\"}",
            ),
            ("FifoQueue", "true"),
        ]);
        let info = QueueInfo::from_attributes(&a, None, false);
        assert_eq!(info.visibility_timeout, 2);
        assert!(info.fifo);
        let r = info.redrive.expect("redrive");
        assert_eq!(
            (r.dead_letter_target.as_str(), r.max_receive_count),
            ("arn:aws:sqs:us-east-1:0:dlq", 2)
        );
        // The flag wins over the queue's timeout; a numeric count parses too.
        let a = attrs(&[
            ("VisibilityTimeout", "2"),
            (
                "RedrivePolicy",
                "{\"deadLetterTargetArn\":\"x\",\"maxReceiveCount\":7}",
            ),
        ]);
        let info = QueueInfo::from_attributes(&a, Some(60), false);
        assert_eq!(info.visibility_timeout, 60);
        assert_eq!(info.redrive.map(|r| r.max_receive_count), Some(7));
        assert!(!info.fifo);
        // Nothing known: SQS's defaults.
        let info = QueueInfo::from_attributes(&attrs(&[("RedrivePolicy", "garbage")]), None, true);
        assert_eq!(info, QueueInfo::assumed(None, true));
        assert_eq!(info.visibility_timeout, 30);
    }
}
