//! Per-node host state, stored in the node's wasmi `Store`.
use super::http_abi::PendingHttp;
use super::status::NodeStatus;
use crate::net::policy::NetworkPolicy;
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;
use wasmi::StoreLimits;

/// Where a guest's stdout/stderr go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// Straight through (one node, `run`).
    Direct,
    /// Line-buffered, each line prefixed with `[hostname] ` (many nodes).
    Prefixed,
    /// Dropped (load tests).
    Discard,
}

pub struct NodeCtx {
    pub limits: StoreLimits,
    /// `argv` and `environ` as NUL-terminated byte strings, ready to copy into the guest.
    pub argv: Vec<Vec<u8>>,
    pub environ: Vec<Vec<u8>>,
    pub status: Arc<NodeStatus>,
    pub policy: Arc<NetworkPolicy>,
    pub output: OutputMode,
    /// Partial lines per fd (1, 2) waiting for their newline in `Prefixed` mode.
    line_buf: [Vec<u8>; 2],
    /// `random_get` state: a fixed seed, because Bacalhau's `random_get` is deterministic too
    /// and modules written for it must not depend on real randomness.
    rng: u64,
    /// The request an `http_request` call is suspended on.
    pub pending_http: Option<PendingHttp>,
    /// The monotonic clock's zero for this process.
    pub epoch: Instant,
}

impl NodeCtx {
    pub fn new(
        limits: StoreLimits,
        args: &[String],
        env: &[(String, String)],
        status: Arc<NodeStatus>,
        policy: Arc<NetworkPolicy>,
        output: OutputMode,
        epoch: Instant,
    ) -> NodeCtx {
        let nul = |s: String| {
            let mut b = s.into_bytes();
            b.push(0);
            b
        };
        let mut argv = vec![vec![0u8]];
        argv.extend(args.iter().map(|a| nul(a.clone())));
        let mut sorted: Vec<_> = env.to_vec();
        sorted.sort();
        let environ = sorted
            .into_iter()
            .map(|(k, v)| nul(format!("{k}={v}")))
            .collect();
        NodeCtx {
            limits,
            argv,
            environ,
            status,
            policy,
            output,
            line_buf: [Vec::new(), Vec::new()],
            rng: 0x005e_ed0f_bac4_1a00,
            pending_http: None,
            epoch,
        }
    }

    /// Fills `out` with the deterministic random stream (splitmix64).
    pub fn fill_random(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.rng;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    }

    /// Writes guest output for fd 1 or 2.
    pub fn write_output(&mut self, fd: u32, bytes: &[u8]) {
        match self.output {
            OutputMode::Discard => {}
            OutputMode::Direct => {
                let _ = if fd == 1 {
                    std::io::stdout().write_all(bytes)
                } else {
                    std::io::stderr().write_all(bytes)
                };
            }
            OutputMode::Prefixed => {
                let idx = if fd == 1 { 0 } else { 1 };
                self.line_buf[idx].extend_from_slice(bytes);
                while let Some(nl) = self.line_buf[idx].iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = self.line_buf[idx].drain(..=nl).collect();
                    self.emit_line(fd, &line);
                }
                // A guest that never writes a newline must not grow the buffer forever.
                if self.line_buf[idx].len() > 64 * 1024 {
                    let mut line = std::mem::take(&mut self.line_buf[idx]);
                    line.push(b'\n');
                    self.emit_line(fd, &line);
                }
            }
        }
    }

    fn emit_line(&self, fd: u32, line: &[u8]) {
        let out = prefixed_line(&self.status.hostname, line);
        let _ = if fd == 1 {
            std::io::stdout().lock().write_all(&out)
        } else {
            std::io::stderr().lock().write_all(&out)
        };
    }

    /// Writes out any unterminated line at exit.
    pub fn flush_output(&mut self) {
        for (idx, fd) in [(0usize, 1u32), (1, 2)] {
            if self.output == OutputMode::Prefixed && !self.line_buf[idx].is_empty() {
                let mut line = std::mem::take(&mut self.line_buf[idx]);
                line.push(b'\n');
                self.emit_line(fd, &line);
            }
        }
        let _ = std::io::stdout().flush();
    }
}

/// One guest line (ending in `\n`) with its `[hostname] ` prefix. Both come from the job and
/// the guest, so both are made inert: a guest must not drive the operator's terminal.
fn prefixed_line(hostname: &str, line: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(line.strip_suffix(b"\n").unwrap_or(line));
    let mut out = Vec::with_capacity(line.len() + hostname.len() + 4);
    out.push(b'[');
    out.extend_from_slice(safe_text::inert(hostname).as_bytes());
    out.extend_from_slice(b"] ");
    out.extend_from_slice(safe_text::inert(&text).as_bytes());
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::prefixed_line;

    #[test]
    fn guest_lines_and_hostnames_are_inert() {
        assert_eq!(
            prefixed_line("edge-us-0", b"sqs-publisher: ok \xF0\x9F\x9A\x80\n"),
            "[edge-us-0] sqs-publisher: ok \u{1F680}\n".as_bytes()
        );
        let out = prefixed_line(
            "edge\x1b[2J",
            b"e\x1b]0;pwned\x07 \xC2\x9B31m \xE2\x80\xAEx\n",
        );
        let out = String::from_utf8(out).expect("utf-8");
        assert_eq!(
            out,
            "[edge\\u{1b}[2J] e\\u{1b}]0;pwned\\u{7} \\u{9b}31m \\u{202e}x\n"
        );
        assert!(!out.trim_end_matches('\n').chars().any(char::is_control));
    }
}
