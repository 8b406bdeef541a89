//! Where delivered messages go. The sink is the single writer: pollers hand it whole batches
//! under one lock, so lines never interleave, and a batch counts as accepted only once it was
//! written and flushed (and fsynced with `--fsync`) — only then may its messages be deleted.
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;

use crate::args::WebhookSettings;
use crate::webhook::{Webhook, WebhookUrl};

/// What `--sink` named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkSpec {
    Stdout,
    /// Append-only JSON-lines file.
    Jsonl(PathBuf),
    /// A webhook: each batch is one POST (see `webhook`).
    Webhook(WebhookUrl),
}

impl SinkSpec {
    /// `stdout`, `jsonl:PATH` or `http://URL`.
    pub fn parse(text: &str) -> Result<SinkSpec, String> {
        if text == "stdout" || text == "-" {
            return Ok(SinkSpec::Stdout);
        }
        let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return WebhookUrl::parse(text).map(SinkSpec::Webhook);
        }
        match text.strip_prefix("jsonl:") {
            Some("") => Err("jsonl sink needs a path, as in 'jsonl:/var/log/sensors.jsonl'".into()),
            Some(path) => Ok(SinkSpec::Jsonl(PathBuf::from(path))),
            None => Err(format!(
                "unknown sink '{text}' (expected 'stdout', 'jsonl:PATH' or 'http(s)://URL')"
            )),
        }
    }
}

enum Target {
    Stdout(io::Stdout),
    File { file: File, fsync: bool },
    Webhook(Webhook),
}

pub struct Sink {
    target: Target,
    /// Reused so a batch is one `write` call (one line per message, never split by another
    /// thread's output, and cheap).
    buffer: Vec<u8>,
}

impl Sink {
    #[cfg(test)]
    pub fn open(spec: &SinkSpec, fsync: bool) -> io::Result<Sink> {
        Sink::open_with(spec, fsync, None)
    }

    /// `webhook`: the settings a URL sink needs (`--sink-format`, token, deadlines).
    pub fn open_with(
        spec: &SinkSpec,
        fsync: bool,
        webhook: Option<&WebhookSettings>,
    ) -> io::Result<Sink> {
        let target = match spec {
            SinkSpec::Webhook(url) => {
                let settings = webhook.cloned().ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidInput, "webhook sink without settings")
                })?;
                let hook = Webhook::new(url.clone(), settings)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
                Target::Webhook(hook)
            }
            SinkSpec::Stdout => Target::Stdout(io::stdout()),
            SinkSpec::Jsonl(path) => {
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| {
                        io::Error::new(e.kind(), format!("cannot open {}: {e}", path.display()))
                    })?;
                Target::File { file, fsync }
            }
        };
        Ok(Sink {
            target,
            buffer: Vec::with_capacity(64 * 1024),
        })
    }

    /// Writes `lines` (each gets a newline) and makes them durable as far as configured.
    /// An error means none of the batch may be deleted.
    pub fn write_batch(&mut self, lines: &[String]) -> io::Result<()> {
        if let Target::Webhook(hook) = &mut self.target {
            return hook.post_batch(lines);
        }
        self.buffer.clear();
        for line in lines {
            self.buffer.extend_from_slice(line.as_bytes());
            self.buffer.push(b'\n');
        }
        match &mut self.target {
            Target::Stdout(out) => {
                let mut out = out.lock();
                out.write_all(&self.buffer)?;
                out.flush()
            }
            Target::File { file, fsync } => {
                file.write_all(&self.buffer)?;
                file.flush()?;
                if *fsync {
                    file.sync_data()?;
                }
                Ok(())
            }
            Target::Webhook(_) => Ok(()), // posted above
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        assert_eq!(SinkSpec::parse("stdout"), Ok(SinkSpec::Stdout));
        assert_eq!(
            SinkSpec::parse("jsonl:/tmp/x"),
            Ok(SinkSpec::Jsonl("/tmp/x".into()))
        );
        assert!(SinkSpec::parse("jsonl:").is_err());
        assert!(SinkSpec::parse("kafka:x")
            .unwrap_err()
            .contains("unknown sink"));
    }

    #[test]
    fn jsonl_appends_whole_lines() {
        let path = std::env::temp_dir().join(format!("puller-sink-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let spec = SinkSpec::Jsonl(path.clone());
        Sink::open(&spec, true)
            .expect("open")
            .write_batch(&["a".into(), "b".into()])
            .expect("w");
        Sink::open(&spec, false)
            .expect("open")
            .write_batch(&["c".into()])
            .expect("write");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "a\nb\nc\n");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn unopenable_path_is_an_error_naming_it() {
        let err = match Sink::open(&SinkSpec::Jsonl("/proc/self/nope/x.jsonl".into()), false) {
            Err(e) => e,
            Ok(_) => panic!("opened an impossible path"),
        };
        assert!(err.to_string().contains("/proc/self/nope/x.jsonl"), "{err}");
    }
}
