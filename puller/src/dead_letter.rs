//! The dead-letter file: messages the sink kept refusing, written with the reason before they
//! are deleted from the queue, so nothing is ever dropped silently. Opened on first use (an
//! empty run leaves no file) and fsynced per entry: it is rare, and it is the last copy.
use crate::time::format_rfc3339_ms;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub struct DeadLetter {
    path: PathBuf,
    file: Option<File>,
}

/// One dead-lettered message.
pub struct Entry<'a> {
    pub message_id: &'a str,
    pub body: &'a str,
    pub reason: &'a str,
    pub receive_count: u32,
    pub at_ms: u64,
}

impl DeadLetter {
    pub fn new(path: &Path) -> DeadLetter {
        DeadLetter {
            path: path.to_path_buf(),
            file: None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one JSON line; only after `Ok` may the message be deleted.
    pub fn write(&mut self, entry: &Entry<'_>) -> io::Result<()> {
        let file = match &mut self.file {
            Some(file) => file,
            None => {
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)
                    .map_err(|e| {
                        io::Error::new(
                            e.kind(),
                            format!("cannot open {}: {e}", self.path.display()),
                        )
                    })?;
                self.file.insert(file)
            }
        };
        let line = serde_json::json!({
            "message_id": entry.message_id,
            "body": entry.body,
            "reason": entry.reason,
            "receive_count": entry.receive_count,
            "dead_lettered_at": format_rfc3339_ms(entry.at_ms),
        });
        let mut bytes = line.to_string().into_bytes();
        bytes.push(b'\n');
        file.write_all(&bytes)?;
        file.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_reason_and_body_lazily() {
        let path = std::env::temp_dir().join(format!("puller-dl-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let mut dl = DeadLetter::new(&path);
        assert!(!path.exists(), "no file before the first entry");
        let entry = Entry {
            message_id: "m",
            body: "b\n",
            reason: "r",
            receive_count: 5,
            at_ms: 0,
        };
        dl.write(&entry).expect("write");
        let text = std::fs::read_to_string(&path).expect("read");
        let v: serde_json::Value = serde_json::from_str(text.trim_end()).expect("json");
        assert_eq!(
            (v["body"].as_str(), v["reason"].as_str()),
            (Some("b\n"), Some("r"))
        );
        assert_eq!(v["receive_count"], 5);
        let _ = std::fs::remove_file(&path);
    }
}
