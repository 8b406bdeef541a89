//! `tune check`: does the host meet the plan? Every selected setting must hold its target now,
//! and every kernel value tune itself changed (those in the backup manifest) must also be
//! persisted in the sysctl.d file, else a reboot undoes it. A value the host meets on its own
//! needs no persisting. Skipped settings (missing or read-only here) are listed but do not fail
//! the check.
use crate::backup::Manifest;
use crate::error::Error;
use crate::layout::{self, Layout};
use crate::plan::{read_optional, Plan, State};
use crate::settings::Kind;
use crate::{sysctl, sysctl_conf};
use std::io::Write;

/// The problems found; empty when the host meets the plan.
pub fn problems(plan: &Plan, layout: &Layout) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    let changed_by_tune = Manifest::load(layout)?
        .map(|m| m.sysctls)
        .unwrap_or_default();
    let persisted = read_optional(&layout.file(layout::SYSCTL_FILE))?
        .map(|t| sysctl_conf::parse(&t))
        .unwrap_or_default();
    for item in &plan.items {
        let name = &item.setting.name;
        if item.state == State::Change {
            out.push(format!("{name} is {}, needs {}", item.current, item.target));
        }
        let (Some(_), Kind::Sysctl(goal)) = (&item.sysctl, &item.setting.kind) else {
            continue;
        };
        if !changed_by_tune.iter().any(|s| &s.name == name) {
            continue;
        }
        match persisted.iter().rev().find(|(k, _)| k == name) {
            None => out.push(format!(
                "{name} is not persisted in {} (lost at reboot)",
                layout::SYSCTL_FILE
            )),
            Some((_, v)) => {
                if !sysctl::numbers(v).is_some_and(|n| goal.is_met(&n)) {
                    out.push(format!(
                        "{name} = {v} in {} does not meet {}",
                        layout::SYSCTL_FILE,
                        goal.describe()
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// Prints the verdict; `Ok(true)` when the host meets the plan.
pub fn run(plan: &Plan, layout: &Layout, out: &mut dyn Write) -> Result<bool, Error> {
    let problems = problems(plan, layout)?;
    let mut lines = Vec::new();
    for item in &plan.items {
        if let State::Skipped(why) = &item.state {
            lines.push(format!("skipped: {} ({why})", item.setting.name));
        }
    }
    for p in &problems {
        lines.push(format!("not met: {p}"));
    }
    let checked = plan
        .items
        .iter()
        .filter(|i| !matches!(i.state, State::Skipped(_)))
        .count();
    if problems.is_empty() {
        lines.push(format!(
            "ok: the host meets the plan for {} nodes ({checked} settings)",
            plan.nodes
        ));
    } else {
        lines.push(format!(
            "{} problem(s); `tune apply` with the same --nodes/--only/--root fixes them",
            problems.len()
        ));
    }
    for line in lines {
        // The exit code carries the verdict; a closed stdout must not change it.
        let _ = writeln!(out, "{line}");
    }
    Ok(problems.is_empty())
}
