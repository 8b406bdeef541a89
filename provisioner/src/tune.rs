//! The host-capacity guard: above ~500 edge nodes the stock kernel and docker limits (conntrack,
//! neighbour tables, file handles, bridge address pools) run out, so `up` asks the `tune`
//! binary whether the host is ready and refuses without `--force`.
use crate::error::{Error, ErrorKind};
use std::path::PathBuf;
use std::process::Command;

/// Edge-node count above which the host must be checked.
pub const TUNE_THRESHOLD: u64 = 500;

pub fn check_capacity(edges: u64, force: bool) -> Result<(), Error> {
    check_capacity_with(edges, force, run_tune_check)
}

/// [`check_capacity`] with the `tune check` call injected (for tests).
fn check_capacity_with(
    edges: u64,
    force: bool,
    check: impl FnOnce(u64) -> Result<(), String>,
) -> Result<(), Error> {
    if edges <= TUNE_THRESHOLD {
        return Ok(());
    }
    match check(edges) {
        Ok(()) => Ok(()),
        Err(why) if force => {
            eprintln!(
                "provisioner: warning: {}; continuing because of --force",
                safe_text::inert(&why)
            );
            Ok(())
        }
        Err(why) => Err(Error::new(ErrorKind::NotTuned(format!(
            "{edges} edge nodes is above {TUNE_THRESHOLD}: {why}. Run `tune check --nodes {edges}` to see what is \
             missing and `sudo tune apply --nodes {edges}` to fix it (undo with `sudo tune revert`), or pass --force"
        )))),
    }
}

/// `Ok` when `tune check --nodes N` exits 0; otherwise why not (its output, or that it is
/// missing).
fn run_tune_check(edges: u64) -> Result<(), String> {
    let tune = find_tune().ok_or_else(|| {
        "the `tune` binary was not found next to provisioner or on PATH (build it with `cargo build -p tune`)".to_string()
    })?;
    let output = Command::new(&tune)
        .args(["check", "--nodes", &edges.to_string()])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", tune.display()))?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Err(format!(
        "`{} check --nodes {edges}` says the host is not ready ({}):\n{}",
        tune.display(),
        output.status,
        text.trim_end()
    ))
}

/// `tune` next to our own executable (both come from the same `target/<profile>/`), else PATH.
fn find_tune() -> Option<PathBuf> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("tune")));
    if let Some(path) = beside.filter(|p| p.is_file()) {
        return Some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("tune"))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_networks_need_no_check() {
        let never = |_| -> Result<(), String> { panic!("tune must not run for small fleets") };
        assert!(check_capacity_with(TUNE_THRESHOLD, false, never).is_ok());
    }

    #[test]
    fn untuned_host_is_refused_unless_forced() {
        let untuned = |_| Err("nf_conntrack_max too low".to_string());
        let err = check_capacity_with(600, false, untuned).expect_err("refused");
        let text = err.to_string();
        for want in [
            "600",
            "nf_conntrack_max too low",
            "tune check --nodes 600",
            "--force",
        ] {
            assert!(text.contains(want), "missing {want:?} in {text}");
        }
        assert!(check_capacity_with(600, true, untuned).is_ok());
        assert!(check_capacity_with(600, false, |n| if n == 600 {
            Ok(())
        } else {
            Err(String::new())
        })
        .is_ok());
    }
}
