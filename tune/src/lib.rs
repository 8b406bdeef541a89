//! `tune`: host tuning for high-density edge-sensor runs, with plan, apply, check and revert.
//!
//! The model: a fleet size N gives a [`sizing::Sizing`]; that gives the list of
//! [`settings::Setting`]s (kernel parameters, the login open-file limit, docker daemon keys),
//! optionally filtered by name prefix; reading the host turns it into a [`plan::Plan`] where
//! each setting is met, to change, or skipped with a reason. `plan` prints it, `apply` backs up
//! and carries it out, `check` verifies it, `revert` undoes it from the backup.
//!
//! Everything is resolved through a [`layout::Layout`] (root for files, /proc/sys directory,
//! backup directory) so the whole cycle runs against a temporary tree in tests, and against a
//! network namespace's private `net.*` parameters on the real kernel.
#![deny(unsafe_code)]

pub mod apply;
pub mod args;
pub mod atomic_write;
pub mod backup;
pub mod check;
pub mod daemon_json;
pub mod error;
pub mod layout;
pub mod limits;
pub mod plan;
pub mod revert;
pub mod settings;
pub mod sizing;
#[allow(unsafe_code)] // the one module with FFI: every call carries a SAFETY comment
pub mod sys;
pub mod sysctl;
pub mod sysctl_conf;

use args::{Command, HiArgs};
use error::Error;
use layout::Layout;
use std::io::Write;

/// Runs one command; `Ok(false)` means "ran fine, answer is no" (check not met).
pub fn run(args: HiArgs, out: &mut dyn Write) -> Result<bool, Error> {
    let layout = resolve(&args.layout)?;
    let euid = sys::effective_uid();
    match args.command {
        Command::Plan => {
            let plan = build_plan(&args, &layout)?;
            let _ = write!(out, "{}", plan.render());
            Ok(true)
        }
        Command::Apply => {
            if !args.dry_run {
                // Refuse before reading anything: an ordinary user may not even be able to
                // read daemon.json, and the refusal is the message that helps.
                layout.require_privilege(euid)?;
            }
            let _lock = if args.dry_run {
                None
            } else {
                Some(lock(&layout)?)
            };
            let plan = build_plan(&args, &layout)?;
            let _ = writeln!(out, "{}", plan.render());
            apply::run(&plan, &layout, euid, args.dry_run, out)?;
            Ok(true)
        }
        Command::Check => check::run(&build_plan(&args, &layout)?, &layout, out),
        Command::Revert => {
            let _lock = lock(&layout)?;
            revert::run(&layout, euid, out)?;
            Ok(true)
        }
    }
}

/// Sizes the settings for `--nodes`, keeps those `--only` selects, and reads the host.
fn build_plan(args: &HiArgs, layout: &Layout) -> Result<plan::Plan, Error> {
    let sizing = sizing::Sizing::for_nodes(args.nodes);
    let selected = settings::filtered(settings::all(&sizing), &args.only);
    if selected.is_empty() {
        let only = args.only.join(",");
        return Err(Error::new(error::ErrorKind::NoMatch { only }));
    }
    plan::Plan::build(args.nodes, selected, layout)
}

/// Serialises apply and revert on one root: two at once would each take the other's writes
/// for originals. The lock is flock(2) on the root directory itself, so it creates no file
/// (revert must leave the tree exactly as it was) and vanishes with the process.
fn lock(layout: &Layout) -> Result<std::fs::File, Error> {
    let dir = std::fs::File::open(&layout.root)
        .map_err(|e| Error::io("open root directory", &layout.root, e))?;
    match sys::try_lock_exclusive(&dir) {
        Ok(true) => Ok(dir),
        Ok(false) => Err(Error::new(error::ErrorKind::Busy {
            root: layout.root.clone(),
        })),
        Err(e) => Err(Error::io("lock", &layout.root, e)),
    }
}

/// Checks the root exists and resolves it (so `/tmp/..` is recognised as the real root).
fn resolve(layout: &Layout) -> Result<Layout, Error> {
    let root = std::fs::canonicalize(&layout.root)
        .map_err(|e| Error::io("open root directory", &layout.root, e))?;
    let proc_sys = std::fs::canonicalize(&layout.proc_sys).unwrap_or(layout.proc_sys.clone());
    Ok(Layout::new(
        root,
        Some(proc_sys),
        Some(layout.backup_dir.clone()),
    ))
}
