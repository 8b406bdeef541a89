//! The webhook sink: each batch is one HTTP/1.1 POST (a JSON array of the records, or NDJSON),
//! answered 2xx or not at all. Only a 2xx answer counts as accepted, so a batch is deleted
//! whole or not at all. Every step has a deadline of `--sink-timeout`: name lookup and
//! connect (and the TLS handshake), sending the request, and the answer's head (each bounded
//! as a whole by `http1`, so a peer dripping bytes cannot stretch it). A failed POST is
//! retried with backoff (`--sink-retries`) unless the endpoint's answer says retrying cannot
//! help (a 4xx other than 408/429). `https://` URLs use rustls with the webpki roots, plus
//! `--sink-ca-file` for a private CA.
use crate::args::{BatchFormat, WebhookSettings};
use http1::tls::TlsConnector;
use http1::{DeadlineStream, Limits, MessageReader, Scheme, Stream, Url};
use sigv4::Backoff;
use std::io::{self, Write};
use std::time::{Duration, Instant};

/// Where POSTs go: `http(s)://HOST[:PORT][/PATH]` (http1's strict endpoint form: no user
/// info, query or fragment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(Url);

impl WebhookUrl {
    pub fn parse(text: &str) -> Result<WebhookUrl, String> {
        Url::parse(text)
            .map(WebhookUrl)
            .map_err(|why| format!("webhook '{text}': {why}"))
    }
}

pub struct Webhook {
    url: Url,
    settings: WebhookSettings,
    /// Set for https URLs.
    tls: Option<TlsConnector>,
}

/// Why one POST did not count as accepted, and whether another try may do better.
struct Failure {
    why: String,
    retry: bool,
}

fn retry(why: String) -> Failure {
    Failure { why, retry: true }
}

impl Webhook {
    /// Fails when the TLS configuration (or `--sink-ca-file`) cannot be loaded.
    pub fn new(url: WebhookUrl, settings: WebhookSettings) -> Result<Webhook, String> {
        let tls = match url.0.scheme {
            Scheme::Http => None,
            Scheme::Https => Some(TlsConnector::with_extra_ca(settings.ca_file.as_deref())?),
        };
        Ok(Webhook {
            url: url.0,
            settings,
            tls,
        })
    }

    /// POSTs the records as one body until a 2xx answer, at most `1 + retries` times. An
    /// error means the endpoint did not accept the batch: none of it may be deleted.
    pub fn post_batch(&mut self, lines: &[String]) -> io::Result<()> {
        let body = batch_body(self.settings.format, lines);
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        let attempts = 1 + self.settings.retries;
        for attempt in 1..=attempts {
            match self.post_once(&body) {
                Ok(()) => return Ok(()),
                Err(f) if f.retry && attempt < attempts => {
                    let delay = backoff.next_delay();
                    eprintln!(
                        "puller: warning: webhook POST failed (attempt {attempt} of {attempts}), \
                         retrying in {delay:.1?}: {}",
                        safe_text::inert(&f.why)
                    );
                    std::thread::sleep(delay);
                }
                Err(f) => return Err(io::Error::other(format!("webhook: {}", f.why))),
            }
        }
        Err(io::Error::other("webhook: no attempt was made"))
    }

    fn post_once(&self, body: &[u8]) -> Result<(), Failure> {
        let timeout = self.settings.timeout;
        let failed = |what: &str, e: http1::Error| match e.is_timeout() {
            true => retry(format!("{what}: not done within the {timeout:?} deadline")),
            false => retry(format!("{what}: {e}")),
        };
        let mut stream = self.connect().map_err(|e| failed("connecting", e))?;
        stream.set_deadline(Some(Instant::now() + timeout));
        let head = self.request_head(body.len());
        stream
            .write_all(head.as_bytes())
            .and_then(|()| stream.write_all(body))
            .and_then(|()| stream.flush())
            .map_err(|e| {
                failed(
                    "sending the batch",
                    http1::Error::from_io(&e, "write", true),
                )
            })?;
        stream.set_deadline(Some(Instant::now() + timeout));
        let mut reader = MessageReader::new(stream);
        let answer = reader
            .read_response_head(false, &Limits::default())
            .map_err(|e| failed("reading the answer", e))?;
        match answer.status {
            200..=299 => Ok(()),
            408 | 429 | 500..=599 => Err(retry(format!("endpoint answered {}", answer.status))),
            status => Err(Failure {
                why: format!("endpoint answered {status} (not retried)"),
                retry: false,
            }),
        }
    }

    /// Name lookup, connect and (https) the TLS handshake, all within one `--sink-timeout`.
    fn connect(&self) -> Result<Stream, http1::Error> {
        let deadline = Instant::now() + self.settings.timeout;
        let addrs = http1::resolve(&self.url.host, self.url.port, deadline)?;
        let tcp = DeadlineStream::new(http1::dial(&addrs, deadline)?, Some(deadline));
        Ok(match &self.tls {
            None => Stream::Plain(tcp),
            Some(tls) => Stream::Tls(Box::new(tls.connect(tcp, &self.url.host)?)),
        })
    }

    fn request_head(&self, length: usize) -> String {
        let content_type = match self.settings.format {
            BatchFormat::JsonArray => "application/json",
            BatchFormat::Ndjson => "application/x-ndjson",
        };
        let mut head = format!(
            "POST {} HTTP/1.1\r\nhost: {}\r\ncontent-type: {content_type}\r\n\
             content-length: {length}\r\nconnection: close\r\nuser-agent: edge-sensors-puller\r\n",
            self.url.path,
            self.url.authority()
        );
        if let Some(token) = &self.settings.token {
            head.push_str(&format!("authorization: Bearer {token}\r\n"));
        }
        head.push_str("\r\n");
        head
    }
}

/// `[r1,r2]` or `r1\nr2\n`: the records are already JSON objects, so no re-encoding.
pub fn batch_body(format: BatchFormat, lines: &[String]) -> Vec<u8> {
    let size: usize = lines.iter().map(|l| l.len() + 1).sum::<usize>() + 2;
    let mut body = Vec::with_capacity(size);
    match format {
        BatchFormat::JsonArray => {
            body.push(b'[');
            for (i, line) in lines.iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(line.as_bytes());
            }
            body.push(b']');
        }
        BatchFormat::Ndjson => {
            for line in lines {
                body.extend_from_slice(line.as_bytes());
                body.push(b'\n');
            }
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let u = WebhookUrl::parse("http://127.0.0.1:8080/hook")
            .expect("url")
            .0;
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 8080, "/hook")
        );
        let u = WebhookUrl::parse("https://example.com").expect("url").0;
        assert_eq!((u.port, u.path.as_str()), (443, "/"));
        for bad in [
            "ftp://x",
            "http://",
            "http://h:99999/",
            "http://u:p@h/",
            "http://h/a b",
            "http://h/a\r\nx: y",
            "http://h/?q=1",
        ] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn batch_bodies() {
        let lines = vec!["{\"a\":1}".to_string(), "{\"b\":\"x\\ny\"}".to_string()];
        let array = batch_body(BatchFormat::JsonArray, &lines);
        let parsed: serde_json::Value = serde_json::from_slice(&array).expect("json");
        assert_eq!(parsed.as_array().map(Vec::len), Some(2));
        let nd = String::from_utf8(batch_body(BatchFormat::Ndjson, &lines)).expect("utf8");
        assert_eq!(nd, "{\"a\":1}\n{\"b\":\"x\\ny\"}\n");
    }
}
