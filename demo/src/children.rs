//! The processes the demo starts: each with its own log file, its own process group and a
//! parent-death signal, stopped in order with a bounded wait.
use crate::sys;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// One started process.
pub struct Service {
    pub name: String,
    pub log: PathBuf,
    child: Child,
    stdin: Option<ChildStdin>,
    exit: Option<ExitStatus>,
}

impl Service {
    /// Starts `command` with stdout and stderr appended to `log`. With `control`, its stdin is
    /// a pipe the demo writes commands to (edge-node's `--control stdin`).
    pub fn start(
        name: &str,
        mut command: Command,
        log: &Path,
        control: bool,
    ) -> io::Result<Service> {
        let out = File::create(log)
            .map_err(|e| io::Error::new(e.kind(), format!("creating {}: {e}", log.display())))?;
        let err = out.try_clone()?;
        command
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .stdin(if control {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        sys::configure_child(&mut command);
        let program = command.get_program().to_string_lossy().into_owned();
        let mut child = command
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("starting {name} ({program}): {e}")))?;
        let stdin = child.stdin.take();
        Ok(Service {
            name: name.to_string(),
            log: log.to_path_buf(),
            child,
            stdin,
            exit: None,
        })
    }

    /// Sends one control line to the process's stdin.
    pub fn send(&mut self, line: &str) -> io::Result<()> {
        let stdin = self.stdin.as_mut().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotConnected,
                format!("{} has no control pipe", self.name),
            )
        })?;
        stdin.write_all(line.as_bytes())?;
        stdin.write_all(b"\n")?;
        stdin.flush()
    }

    /// The exit status if the process has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }

    /// The last `lines` lines of its log, for error messages.
    /// The last `lines` lines of the log, each made inert: children log what messages,
    /// requests and job files said, and this text goes to the operator's terminal.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..]
            .iter()
            .map(|line| safe_text::inert(line))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Asks the process to stop (`stop` on its control pipe when it has one, else SIGTERM),
    /// waits up to `grace`, then kills its whole process group.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        if self.exited().is_some() {
            return self.exit;
        }
        let asked = self.stdin.is_some() && self.send("stop").is_ok();
        if !asked {
            let _ = sys::send_signal(self.child.id(), libc::SIGTERM);
        }
        if let Some(status) = self.wait_for(grace) {
            return Some(status);
        }
        if asked {
            let _ = sys::send_signal(self.child.id(), libc::SIGTERM);
            if let Some(status) = self.wait_for(Duration::from_secs(2)) {
                return Some(status);
            }
        }
        self.kill()
    }

    /// Waits up to `timeout` for the process to end on its own.
    pub fn wait_for(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.exited()
    }

    /// SIGKILL to the process group (the child is its leader), then reap.
    pub fn kill(&mut self) -> Option<ExitStatus> {
        if let Ok(pgid) = i32::try_from(self.child.id()) {
            let _ = sys::send_signal_group(pgid, libc::SIGKILL);
        }
        let _ = self.child.kill();
        self.exit = self.child.wait().ok();
        self.exit
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if self.exited().is_none() {
            self.kill();
        }
    }
}
