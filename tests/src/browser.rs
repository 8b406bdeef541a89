//! A real browser for page tests: headless Chromium (Debian's `chromium`, installed by
//! scripts/setup) driven over the DevTools protocol by `tests/browser/cdp.py` (stdlib Python,
//! a pipe instead of a websocket, no driver to download). Real time, not virtual time, so the
//! page's own timers, fetches and render-time measurements behave as for a person.
use crate::bins::workspace_root;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// What to do with a page.
pub struct Visit<'a> {
    pub url: &'a str,
    /// A JavaScript expression; the page is read once it is true.
    pub ready: &'a str,
    pub timeout: Duration,
    /// (name, JavaScript expression): the result maps each name to the expression's value.
    pub eval: &'a [(&'a str, &'a str)],
    pub screenshot: Option<&'a Path>,
}

/// Loads `visit.url`, waits for `visit.ready`, evaluates the expressions; panics with
/// Chromium's or the script's complaint when that fails.
pub fn visit(visit: &Visit<'_>) -> serde_json::Value {
    let script = workspace_root().join("tests/browser/cdp.py");
    let mut cmd = Command::new("python3");
    cmd.arg(&script)
        .arg(visit.url)
        .args(["--ready", visit.ready])
        .args(["--timeout", &visit.timeout.as_secs().to_string()]);
    for (name, js) in visit.eval {
        cmd.arg("--eval").arg(format!("{name}={js}"));
    }
    if let Some(path) = visit.screenshot {
        cmd.arg("--screenshot").arg(path);
    }
    let out = cmd.output().expect("run python3 tests/browser/cdp.py");
    assert!(
        out.status.success(),
        "browser visit of {} failed: {}{}",
        visit.url,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "cdp.py printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}
