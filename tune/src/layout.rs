//! Where tune reads and writes: a filesystem root for files, a /proc/sys directory for kernel
//! parameters, and the backup directory. Tests point all three at temporary trees.
use crate::error::{Error, ErrorKind};
use std::path::{Path, PathBuf};

/// The sysctl.d file tune owns (99- so it is read last and wins).
pub const SYSCTL_FILE: &str = "etc/sysctl.d/99-edge-sensors.conf";
/// The limits.d file tune owns.
pub const LIMITS_FILE: &str = "etc/security/limits.d/99-edge-sensors.conf";
/// The docker daemon configuration tune merges keys into.
pub const DAEMON_JSON: &str = "etc/docker/daemon.json";
/// Default backup directory, under the root.
pub const BACKUP_DIR: &str = "var/lib/edge-sensors/tune";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Filesystem root the files above are resolved against ("/" normally).
    pub root: PathBuf,
    /// Directory holding kernel parameters (`<root>/proc/sys` unless told otherwise).
    pub proc_sys: PathBuf,
    /// Backups and the manifest.
    pub backup_dir: PathBuf,
}

impl Layout {
    pub fn new(root: PathBuf, proc_sys: Option<PathBuf>, backup_dir: Option<PathBuf>) -> Layout {
        let proc_sys = proc_sys.unwrap_or_else(|| root.join("proc/sys"));
        let backup_dir = backup_dir.unwrap_or_else(|| root.join(BACKUP_DIR));
        Layout {
            root,
            proc_sys,
            backup_dir,
        }
    }

    /// Absolute path of one of the root-relative file constants above.
    pub fn file(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// True when this layout touches the running host: its real kernel parameters or its /etc.
    /// Only then does apply insist on root.
    pub fn touches_host(&self) -> bool {
        is_root_dir(&self.root) || self.proc_sys == Path::new("/proc/sys")
    }

    /// Refuses (with the reason and the ways out) to change the host without root.
    pub fn require_privilege(&self, euid: u32) -> Result<(), Error> {
        if self.touches_host() && euid != 0 {
            return Err(Error::new(ErrorKind::NotRoot));
        }
        Ok(())
    }
}

fn is_root_dir(path: &Path) -> bool {
    path.components()
        .all(|c| matches!(c, std::path::Component::RootDir))
        && path.has_root()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_root() {
        let l = Layout::new("/tmp/r".into(), None, None);
        assert_eq!(l.proc_sys, Path::new("/tmp/r/proc/sys"));
        assert_eq!(l.backup_dir, Path::new("/tmp/r/var/lib/edge-sensors/tune"));
        assert_eq!(
            l.file(DAEMON_JSON),
            Path::new("/tmp/r/etc/docker/daemon.json")
        );
        assert!(!l.touches_host());
    }

    #[test]
    fn real_root_or_real_proc_touches_the_host() {
        assert!(Layout::new("/".into(), None, None).touches_host());
        assert!(Layout::new("//".into(), None, None).touches_host());
        assert!(Layout::new("/tmp/r".into(), Some("/proc/sys".into()), None).touches_host());
    }

    #[test]
    fn only_root_may_change_the_host() {
        let host = Layout::new("/".into(), None, None);
        let err = host.require_privilege(1000).expect_err("non-root refused");
        assert!(matches!(err.kind(), ErrorKind::NotRoot));
        assert!(err.to_string().contains("needs root"), "{err}");
        assert!(host.require_privilege(0).is_ok());
        let tree = Layout::new("/tmp/r".into(), None, None);
        assert!(tree.require_privilege(1000).is_ok());
    }
}
