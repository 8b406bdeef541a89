//! The open-file limit: the limits.d file pam_limits applies at each login, and this process's
//! own `RLIMIT_NOFILE` (raised at apply so whatever tune starts next inherits it).
use crate::sys::{self, OpenFileLimit};
use std::io;

/// limits.d text setting soft and hard nofile to `n`. `*` does not cover root in pam_limits
/// (limits.conf(5)), hence the separate root lines.
pub fn render(n: u64) -> String {
    format!(
        "# Written by `tune apply` (edge sensors); `tune revert` restores the previous state.\n\
         # Open files per process: proxies and the orchestrator hold a socket per edge node.\n\
         *    soft nofile {n}\n\
         *    hard nofile {n}\n\
         root soft nofile {n}\n\
         root hard nofile {n}\n"
    )
}

/// The smallest nofile value a limits.d text sets for all of `*` and root, soft and hard;
/// `None` unless all four are present.
pub fn configured(text: &str) -> Option<u64> {
    let mut found = [None::<u64>; 4];
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let [domain, kind, item, value] = words.as_slice() else {
            continue;
        };
        if *item != "nofile" {
            continue;
        }
        let slot = match (*domain, *kind) {
            ("*", "soft") => 0,
            ("*", "hard") => 1,
            ("root", "soft") => 2,
            ("root", "hard") => 3,
            ("*" | "root", "-") => {
                let v = value.parse().ok();
                let base = if *domain == "*" { 0 } else { 2 };
                found[base] = v;
                found[base + 1] = v;
                continue;
            }
            _ => continue,
        };
        found[slot] = value.parse().ok();
    }
    found
        .iter()
        .copied()
        .collect::<Option<Vec<u64>>>()?
        .into_iter()
        .min()
}

/// Raises this process's soft and hard limit to at least `n` (never lowers either). Raising
/// the hard limit needs CAP_SYS_RESOURCE; without it (EPERM) the soft limit still goes up as far
/// as the hard one allows. Returns the limit before and after.
pub fn raise_own(n: u64) -> io::Result<(OpenFileLimit, OpenFileLimit)> {
    let before = sys::open_file_limit()?;
    let wanted = OpenFileLimit {
        soft: before.soft.max(n),
        hard: before.hard.max(n),
    };
    if wanted != before {
        if let Err(e) = sys::set_open_file_limit(wanted) {
            if e.kind() != io::ErrorKind::PermissionDenied {
                return Err(e);
            }
            let soft = before.soft.max(n.min(before.hard));
            sys::set_open_file_limit(OpenFileLimit {
                soft,
                hard: before.hard,
            })?;
        }
    }
    Ok((before, sys::open_file_limit()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_file_reads_back() {
        assert_eq!(configured(&render(65_536)), Some(65_536));
    }

    #[test]
    fn partial_or_foreign_files_are_not_enough() {
        assert_eq!(configured("*    soft nofile 65536\n"), None);
        assert_eq!(
            configured("* - nofile 4096\nroot - nofile 8192\n"),
            Some(4096)
        );
        assert_eq!(configured("# nothing\n"), None);
    }

    #[test]
    fn raising_to_the_current_soft_limit_changes_nothing() {
        let now = sys::open_file_limit().expect("getrlimit");
        let (before, after) = raise_own(now.soft.min(now.hard)).expect("raise");
        assert_eq!(before, now);
        assert_eq!(after, now);
    }
}
