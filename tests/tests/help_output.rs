//! Every binary prints `--help` without panicking when nobody reads it: `edge-node --help |
//! head -1` closes the pipe early, and `print!` panics on the failed write. The test hands
//! each binary a pipe whose read end is already closed (python3's os.pipe), so the write fails
//! with EPIPE every time instead of by a race.
use edge_tests::bins;
use std::process::Command;

const CLOSED_PIPE: &str = "
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
p = subprocess.run([sys.argv[1], '--help'], stdout=w, stderr=subprocess.PIPE)
sys.stderr.write(p.stderr.decode(errors='replace'))
sys.exit(p.returncode if p.returncode >= 0 else 128 - p.returncode)
";

#[test]
fn help_survives_a_reader_that_went_away() {
    for bin in [
        "proxy",
        "puller",
        "edge-node",
        "demo",
        "provisioner",
        "tune",
        "sqs-standin",
    ] {
        let path = bins::bin_path(bin);
        let out = Command::new("python3")
            .args(["-c", CLOSED_PIPE])
            .arg(&path)
            .output()
            .expect("run python3");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && !stderr.contains("panicked"),
            "{bin} --help into a closed pipe: {:?}\n{stderr}",
            out.status
        );
    }
}
