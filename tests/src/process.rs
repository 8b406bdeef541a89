//! Running a binary that is expected to exit, with a deadline.
use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// `cmd.output()`, except that a run still going after `timeout` is killed and fails the
/// test with what it printed: a binary expected to stop at start (a usage error, a queue it
/// may not read) that starts serving instead must fail the test, not hang the suite. (Only
/// `cmd`'s own process is killed: run binaries, not scripts that leave children holding the
/// pipes.)
pub fn output_within(cmd: &mut Command, timeout: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    // Exit is what is waited for (not the pipes' end: a process may close them and go on).
    let deadline = Instant::now() + timeout;
    let (status, ended) = loop {
        match child.try_wait() {
            Ok(Some(status)) => break (status, true),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let status = child
                    .wait()
                    .unwrap_or_else(|e| panic!("waiting for {cmd:?}: {e}"));
                break (status, false);
            }
            Err(e) => panic!("waiting for {cmd:?}: {e}"),
        }
    };
    let output = Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    assert!(
        ended,
        "{cmd:?} was still running after {timeout:?} (killed); it printed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Reads `pipe` to its end on a thread.
fn drain(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_that_ends_gives_its_status_and_output() {
        let out = output_within(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(30),
        );
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(
            (&out.stdout[..], &out.stderr[..]),
            (&b"out\n"[..], &b"err\n"[..])
        );
    }

    #[test]
    #[should_panic(expected = "still running")]
    fn a_run_that_closes_its_pipes_and_goes_on_is_still_killed_at_the_deadline() {
        output_within(
            Command::new("sh").args(["-c", "exec >&- 2>&-; exec sleep 60"]),
            Duration::from_millis(300),
        );
    }

    #[test]
    #[should_panic(expected = "still running")]
    fn a_run_past_its_deadline_is_killed_and_fails() {
        output_within(
            Command::new("sh").args(["-c", "echo serving >&2; exec sleep 60"]),
            Duration::from_millis(300),
        );
    }
}
