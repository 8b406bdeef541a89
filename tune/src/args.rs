//! Command line: tokens → [`LowArgs`] (what was typed) → [`HiArgs`] (validated).
use crate::layout::Layout;
use crate::sizing::MAX_NODES;
use flags::{Arg, Error, Parser};
use std::path::PathBuf;

pub const USAGE: &str = "\
usage: tune <plan|apply|check|revert> [options]

Host tuning for running many edge-sensor nodes on one machine: kernel parameters
(connection tracking, neighbour tables, port range, backlogs, open files), the login
open-file limit, and docker daemon keys. Values are sized from the fleet size.

commands:
  plan     show every setting: current -> target value, action and reason
  apply    back up, then write /etc/sysctl.d/99-edge-sensors.conf and apply it through
           /proc/sys, write /etc/security/limits.d/99-edge-sensors.conf, raise this
           process's open-file limit, merge keys into /etc/docker/daemon.json (other
           keys kept) and say whether docker needs a restart; needs root when it touches
           the real host (--root / or /proc/sys). Applying again keeps the first backup.
  check    exit 0 when the host meets the plan, 1 listing what does not
  revert   restore every backed-up value and file exactly, remove what apply created
           (give it the same --root/--proc-sys/--backup-dir as apply)

options:
  --nodes N          fleet size to size for (default 300, 1..=100000)
  --only PREFIX      only settings whose name starts with PREFIX (repeat or comma-separate),
                     e.g. --only net. (names: sysctl names, limits.nofile, docker.<key>)
  --dry-run          apply: show what would change, change nothing (no root needed)
  --root DIR         filesystem root for /etc and the backup (default /)
  --proc-sys DIR     kernel parameter directory (default <root>/proc/sys)
  --backup-dir DIR   backup and manifest (default <root>/var/lib/edge-sensors/tune)
  -h, --help         show this help

A kernel parameter this kernel lacks, or that is read-only here (e.g. a global one seen
from a network namespace), is reported and skipped, not fatal.
exit status: 0 ok, 1 failure or check not met, 2 usage error";

/// Default fleet size: the demo's three regions at one hundred nodes each.
pub const DEFAULT_NODES: u64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Plan,
    Apply,
    Check,
    Revert,
}

/// What was typed, unvalidated.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LowArgs {
    pub help: bool,
    pub command: Option<String>,
    pub nodes: Option<u64>,
    pub only: Vec<String>,
    pub dry_run: bool,
    pub root: Option<PathBuf>,
    pub proc_sys: Option<PathBuf>,
    pub backup_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiArgs {
    pub command: Command,
    pub nodes: u64,
    pub only: Vec<String>,
    pub dry_run: bool,
    pub layout: Layout,
}

pub enum Mode {
    Help,
    Run(HiArgs),
}

pub fn parse_low_raw<I, S>(args: I) -> Result<LowArgs, Error>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    parse_low(Parser::new(args))
}

pub fn parse_low(mut p: Parser) -> Result<LowArgs, Error> {
    let mut low = LowArgs::default();
    while let Some(arg) = p.next()? {
        match arg {
            Arg::Short('h') => low.help = true,
            Arg::Long(ref n) if n == "help" => low.help = true,
            Arg::Long(ref n) if n == "nodes" => low.nodes = Some(p.parse()?),
            Arg::Long(ref n) if n == "only" => low.only.extend(
                p.value()?
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from),
            ),
            Arg::Long(ref n) if n == "dry-run" => low.dry_run = true,
            Arg::Long(ref n) if n == "root" => low.root = Some(path_value(&mut p)?),
            Arg::Long(ref n) if n == "proc-sys" => low.proc_sys = Some(path_value(&mut p)?),
            Arg::Long(ref n) if n == "backup-dir" => low.backup_dir = Some(path_value(&mut p)?),
            Arg::Value(v) if low.command.is_none() => low.command = Some(v),
            other => return Err(Error::unknown(&other)),
        }
    }
    Ok(low)
}

fn path_value(p: &mut Parser) -> Result<PathBuf, Error> {
    let v = p.value()?;
    if v.is_empty() {
        return Err(Error::new("a directory option needs a non-empty path"));
    }
    Ok(PathBuf::from(v))
}

impl HiArgs {
    pub fn from_low(low: LowArgs) -> Result<Mode, Error> {
        if low.help {
            return Ok(Mode::Help);
        }
        let command = match low.command.as_deref() {
            Some("plan") => Command::Plan,
            Some("apply") => Command::Apply,
            Some("check") => Command::Check,
            Some("revert") => Command::Revert,
            Some(other) => {
                return Err(Error::new(format!(
                    "unknown command '{other}' (expected plan, apply, check or revert)"
                )))
            }
            None => return Err(Error::new("missing command: plan, apply, check or revert")),
        };
        let nodes = low.nodes.unwrap_or(DEFAULT_NODES);
        if !(1..=MAX_NODES).contains(&nodes) {
            return Err(Error::new(format!(
                "--nodes must be between 1 and {MAX_NODES}, got {nodes}"
            )));
        }
        if low.dry_run && command != Command::Apply {
            return Err(Error::new("--dry-run only applies to 'apply'"));
        }
        if command == Command::Revert && (low.nodes.is_some() || !low.only.is_empty()) {
            return Err(Error::new(
                "revert restores everything in the backup; it takes no --nodes or --only",
            ));
        }
        let root = low.root.unwrap_or_else(|| PathBuf::from("/"));
        Ok(Mode::Run(HiArgs {
            command,
            nodes,
            only: low.only,
            dry_run: low.dry_run,
            layout: Layout::new(root, low.proc_sys, low.backup_dir),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn hi(args: &[&str]) -> Result<HiArgs, Error> {
        match HiArgs::from_low(parse_low_raw(args.iter().copied())?)? {
            Mode::Run(hi) => Ok(hi),
            Mode::Help => Err(Error::new("help")),
        }
    }

    #[test]
    fn help_flags() {
        for args in [["--help"], ["-h"]] {
            assert!(matches!(
                HiArgs::from_low(parse_low_raw(args).expect("parse")),
                Ok(Mode::Help)
            ));
        }
    }

    #[test]
    fn commands() {
        assert_eq!(hi(&["plan"]).expect("plan").command, Command::Plan);
        assert_eq!(hi(&["apply"]).expect("apply").command, Command::Apply);
        assert_eq!(hi(&["check"]).expect("check").command, Command::Check);
        assert_eq!(hi(&["revert"]).expect("revert").command, Command::Revert);
        assert!(hi(&[])
            .expect_err("none")
            .to_string()
            .contains("missing command"));
        assert!(hi(&["tune"])
            .expect_err("bad")
            .to_string()
            .contains("unknown command 'tune'"));
        assert!(hi(&["plan", "extra"]).is_err());
    }

    #[test]
    fn nodes_flag() {
        assert_eq!(hi(&["plan"]).expect("default").nodes, DEFAULT_NODES);
        assert_eq!(hi(&["plan", "--nodes", "5000"]).expect("5000").nodes, 5000);
        assert_eq!(hi(&["plan", "--nodes=7"]).expect("7").nodes, 7);
        assert!(hi(&["plan", "--nodes", "0"]).is_err());
        assert!(hi(&["plan", "--nodes", "100001"]).is_err());
        let err = hi(&["plan", "--nodes", "many"]).expect_err("not a number");
        assert!(err.to_string().contains("'--nodes'"), "{err}");
    }

    #[test]
    fn only_flag() {
        let h = hi(&["apply", "--only", "net.,fs.nr_open", "--only=docker."]).expect("only");
        assert_eq!(h.only, ["net.", "fs.nr_open", "docker."]);
        assert!(hi(&["revert", "--only", "net."]).is_err());
    }

    #[test]
    fn dry_run_flag() {
        assert!(hi(&["apply", "--dry-run"]).expect("dry").dry_run);
        assert!(!hi(&["apply"]).expect("wet").dry_run);
        assert!(hi(&["plan", "--dry-run"]).is_err());
    }

    #[test]
    fn root_proc_sys_and_backup_dir_flags() {
        let h = hi(&["check"]).expect("defaults");
        assert_eq!(h.layout.root, Path::new("/"));
        assert_eq!(h.layout.proc_sys, Path::new("/proc/sys"));
        let h = hi(&[
            "apply",
            "--root",
            "/t",
            "--proc-sys",
            "/p",
            "--backup-dir",
            "/b",
        ])
        .expect("all");
        assert_eq!(
            h.layout,
            Layout::new("/t".into(), Some("/p".into()), Some("/b".into()))
        );
        assert_eq!(
            hi(&["plan", "--root=/t"]).expect("root").layout.proc_sys,
            Path::new("/t/proc/sys")
        );
        assert!(hi(&["plan", "--root="]).is_err());
        assert!(hi(&["plan", "--root"]).is_err());
    }

    #[test]
    fn unknown_flag_is_rejected() {
        let err = hi(&["plan", "--bogus"]).expect_err("unknown");
        assert_eq!(err.to_string(), "unknown flag '--bogus'");
        assert!(hi(&["revert", "--nodes", "3"]).is_err());
    }
}
