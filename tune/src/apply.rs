//! `tune apply`: back up, then write the files, then the kernel values, then raise this
//! process's open-file limit. Every original is in the manifest before the first change.
use crate::backup::Manifest;
use crate::daemon_json::Document;
use crate::error::{Error, ErrorKind};
use crate::layout::{self, Layout};
use crate::plan::{read_optional, Plan, State, SysctlTarget};
use crate::settings::Kind;
use crate::{atomic_write, limits, sysctl, sysctl_conf};
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;

/// A file apply will replace, with its new text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileWrite {
    /// Relative to the root.
    pub path: &'static str,
    pub text: String,
}

/// The files the plan needs rewritten (only those whose text changes).
pub fn file_writes(plan: &Plan, layout: &Layout) -> Result<Vec<FileWrite>, Error> {
    let mut writes = Vec::new();
    // Persist what tune changes now or changed before (it is in the backup). A value the host
    // meets on its own is left to the host: pinning it would freeze e.g. a RAM-derived default.
    let backed_up = Manifest::load(layout)?
        .map(|m| m.sysctls)
        .unwrap_or_default();
    let updates: Vec<(String, String)> = plan
        .items
        .iter()
        .filter(|i| i.state == State::Change || backed_up.iter().any(|b| b.name == i.setting.name))
        .filter_map(|i| {
            i.sysctl
                .as_ref()
                .map(|t| (i.setting.name.clone(), join(&t.desired)))
        })
        .collect();
    if !updates.is_empty() {
        let existing = read_optional(&layout.file(layout::SYSCTL_FILE))?;
        let text = sysctl_conf::render(existing.as_deref(), &updates);
        if existing.as_deref() != Some(text.as_str()) {
            writes.push(FileWrite {
                path: layout::SYSCTL_FILE,
                text,
            });
        }
    }
    for item in plan.changes() {
        if let Kind::Nofile(n) = item.setting.kind {
            writes.push(FileWrite {
                path: layout::LIMITS_FILE,
                text: limits::render(n),
            });
        }
    }
    let docker: Vec<_> = plan
        .changes()
        .filter_map(|i| match &i.setting.kind {
            Kind::Docker { path, value } => Some((path, value)),
            _ => None,
        })
        .collect();
    if !docker.is_empty() {
        let mut doc = plan.daemon.clone().unwrap_or_else(Document::empty);
        for (path, value) in docker {
            doc.set(path, value.clone());
        }
        writes.push(FileWrite {
            path: layout::DAEMON_JSON,
            text: doc.render(),
        });
    }
    Ok(writes)
}

fn join(values: &[u64]) -> String {
    values
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes a progress line. A closed stdout must not stop a half-done apply: the changes are
/// what matter, and errors go to stderr.
fn say(out: &mut dyn Write, line: impl std::fmt::Display) {
    let _ = writeln!(out, "{line}");
}

/// Runs apply. `euid` is passed in so the root decision is testable.
pub fn run(
    plan: &Plan,
    layout: &Layout,
    euid: u32,
    dry_run: bool,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let writes = file_writes(plan, layout)?;
    let sysctls: Vec<_> = plan
        .changes()
        .filter_map(|i| i.sysctl.as_ref().map(|t| (i.setting.name.as_str(), t)))
        .collect();
    if dry_run {
        report_dry_run(layout, &writes, &sysctls, out);
        return Ok(());
    }
    layout.require_privilege(euid)?;
    if writes.is_empty() && sysctls.is_empty() {
        say(out, "nothing to change: the host already meets the plan");
    } else {
        back_up(plan, layout, &writes, out)?;
    }
    for w in &writes {
        let path = layout.file(w.path);
        // Keep the file's permissions (daemon.json is often 0600); new files get 0644.
        let mode = fs::metadata(&path)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o644);
        atomic_write::write(&path, w.text.as_bytes(), mode)
            .map_err(|e| Error::io("write", &path, e))?;
        say(out, format!("wrote {}", path.display()));
    }
    let failed = set_sysctls(layout, &sysctls, out);
    if let Some(n) = plan.items.iter().find_map(|i| match i.setting.kind {
        Kind::Nofile(n) => Some(n),
        _ => None,
    }) {
        raise_own_limit(n, out);
    }
    if writes.iter().any(|w| w.path == layout::DAEMON_JSON) {
        say(
            out,
            "docker: daemon.json changed, restart docker to use it (systemctl restart docker); \
             address pools only apply to networks created afterwards",
        );
    } else if plan
        .items
        .iter()
        .any(|i| matches!(i.setting.kind, Kind::Docker { .. }))
    {
        say(out, "docker: daemon.json unchanged, no restart needed");
    }
    if failed > 0 {
        return Err(Error::new(ErrorKind::Incomplete { failed }));
    }
    Ok(())
}

fn report_dry_run(
    layout: &Layout,
    writes: &[FileWrite],
    sysctls: &[(&str, &SysctlTarget)],
    out: &mut dyn Write,
) {
    say(out, "dry run: nothing is changed");
    for w in writes {
        say(
            out,
            format!("would write {}", layout.file(w.path).display()),
        );
    }
    for (name, t) in sysctls {
        say(out, format!("would set {name} = {}", join(&t.desired)));
    }
    if writes.is_empty() && sysctls.is_empty() {
        say(out, "nothing to change");
    }
}

/// Writes each kernel value, going on past failures; returns how many failed.
fn set_sysctls(layout: &Layout, sysctls: &[(&str, &SysctlTarget)], out: &mut dyn Write) -> usize {
    let mut failed = 0;
    for (name, target) in sysctls {
        let wanted = join(&target.desired);
        match sysctl::write(&layout.proc_sys, name, &sysctl::format(&target.desired)) {
            Ok(()) => say(
                out,
                format!("set {name} = {wanted} (was {})", target.raw.trim()),
            ),
            Err(e) => {
                failed += 1;
                eprintln!("tune: failed to set {name} = {wanted}: {e}");
            }
        }
    }
    failed
}

/// Raises this process's open-file limit. Not fatal: the lasting limit is the limits.d file,
/// and the kernel may cap this process below it (no CAP_SYS_RESOURCE, fs.nr_open skipped).
fn raise_own_limit(n: u64, out: &mut dyn Write) {
    match limits::raise_own(n) {
        Ok((before, after)) => {
            let capped = if after.soft < n {
                " (capped by the hard limit)"
            } else {
                ""
            };
            say(
                out,
                format!(
                    "open-file limit of this process (soft/hard): {}/{} -> {}/{}{capped}; \
                     new logins get {n} from limits.d",
                    before.soft, before.hard, after.soft, after.hard
                ),
            );
        }
        Err(e) => {
            eprintln!("tune: warning: could not raise this process's open-file limit to {n}: {e}")
        }
    }
}

/// Records every original (kernel values to change, files to replace) and the directories
/// about to be created, saving the manifest before anything else changes.
fn back_up(
    plan: &Plan,
    layout: &Layout,
    writes: &[FileWrite],
    out: &mut dyn Write,
) -> Result<(), Error> {
    let created = atomic_write::create_dirs(&layout.backup_dir)
        .map_err(|e| Error::io("create", &layout.backup_dir, e))?;
    let existing = Manifest::load(layout)?;
    let first = existing.is_none();
    let mut manifest = existing.unwrap_or_default();
    manifest.record_dirs(layout, created);
    for item in plan.changes() {
        if let Some(t) = &item.sysctl {
            manifest.record_sysctl(&item.setting.name, &t.raw);
        }
    }
    for w in writes {
        manifest.record_file(layout, w.path)?;
    }
    manifest.save(layout)?;
    for w in writes {
        let path = layout.file(w.path);
        if let Some(dir) = path.parent() {
            let created =
                atomic_write::create_dirs(dir).map_err(|e| Error::io("create", dir, e))?;
            manifest.record_dirs(layout, created);
        }
    }
    manifest.save(layout)?;
    let note = if first {
        "originals saved"
    } else {
        "originals from the first apply kept"
    };
    let _ = writeln!(out, "backup: {} ({note})", Manifest::path(layout).display());
    Ok(())
}
