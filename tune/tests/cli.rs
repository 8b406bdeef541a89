//! The command line as a user meets it: help, usage errors, and the refusal to touch the real
//! host without root.
mod util;

use std::process::Command;
use util::*;

#[test]
fn help_prints_usage_and_succeeds() {
    for flag in ["--help", "-h"] {
        let out = tune(&[flag]);
        assert_exit(&out, 0);
        assert!(stdout(&out).starts_with("usage: tune <plan|apply|check|revert>"));
    }
}

#[test]
fn usage_errors_exit_2_with_a_message() {
    for (args, message) in [
        (&["plan", "--bogus"][..], "unknown flag '--bogus'"),
        (&["frobnicate"][..], "unknown command 'frobnicate'"),
        (&[][..], "missing command"),
        (&["plan", "--nodes", "lots"][..], "'--nodes'"),
        (
            &["check", "--dry-run"][..],
            "--dry-run only applies to 'apply'",
        ),
    ] {
        let out = tune(args);
        assert_exit(&out, 2);
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn only_matching_nothing_is_an_error() {
    let out = tune(&["plan", "--only", "kernel.nothing"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("no setting matches --only kernel.nothing"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_root_that_does_not_exist_is_a_clear_runtime_error() {
    let out = tune(&["plan", "--root", "/nonexistent/tune-root"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("/nonexistent/tune-root"),
        "{}",
        stderr(&out)
    );
}

/// apply on the real host as an ordinary user must refuse before changing anything. When the
/// test runs as root it drops to `nobody` with setpriv(1) to be an ordinary user.
#[test]
fn apply_on_the_real_host_without_root_refuses() {
    // Our effective uid, from the "Uid:" line of /proc/self/status (real, effective, ...).
    let status = std::fs::read_to_string("/proc/self/status").expect("proc status");
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .expect("Uid line");
    let out = if euid == "0" {
        let setpriv = Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                tune_bin(),
                "apply",
            ])
            .output();
        match setpriv {
            Ok(out) => out,
            Err(e) => panic!(
                "setpriv (util-linux) is needed to run as nobody: {e}; apt-get install util-linux"
            ),
        }
    } else {
        tune(&["apply"])
    };
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("needs root"), "{}", stderr(&out));
    assert!(stderr(&out).contains("--dry-run"), "{}", stderr(&out));
}
