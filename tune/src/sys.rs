//! Every libc call `tune` makes: the effective user id (apply needs root) and the open-file
//! resource limit (apply raises its own, as the provisioner's children inherit it).
//!
//! Each call goes through [`syscall!`], which turns the C convention (`-1` plus `errno`) into an
//! `io::Result`, so no caller ever looks at `errno` by hand.
use std::io;

/// Calls a libc function and maps a `-1` return to `io::Error::last_os_error()`.
macro_rules! syscall {
    ($fn:ident ( $($arg:expr),* $(,)? )) => {{
        // SAFETY: each call site below states why its arguments are valid.
        #[allow(unused_unsafe)]
        let res = unsafe { libc::$fn($($arg),*) };
        if res == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(res)
        }
    }};
}

/// The effective user id of this process (root is 0).
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid takes no arguments, cannot fail and touches no memory of ours
    // (getuid(2): "These functions are always successful").
    unsafe { libc::geteuid() }
}

/// The soft and hard `RLIMIT_NOFILE` of this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFileLimit {
    pub soft: u64,
    pub hard: u64,
}

/// Reads this process's open-file limit (getrlimit(2)).
#[allow(clippy::unnecessary_cast)] // rlim_t is narrower than u64 on some 32-bit targets
pub fn open_file_limit() -> io::Result<OpenFileLimit> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable `rlimit` living for the whole call; RLIMIT_NOFILE is a
    // valid resource number.
    syscall!(getrlimit(libc::RLIMIT_NOFILE, &mut lim))?;
    Ok(OpenFileLimit {
        soft: lim.rlim_cur as u64,
        hard: lim.rlim_max as u64,
    })
}

/// Sets this process's open-file limit (setrlimit(2)). Raising the hard limit needs
/// CAP_SYS_RESOURCE and a value no larger than `fs.nr_open`, else EPERM.
#[allow(clippy::unnecessary_cast)] // rlim_t is narrower than u64 on some 32-bit targets
pub fn set_open_file_limit(limit: OpenFileLimit) -> io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: limit.soft as libc::rlim_t,
        rlim_max: limit.hard as libc::rlim_t,
    };
    // SAFETY: `lim` is a valid, initialised `rlimit` that outlives the call; the kernel only
    // reads it.
    syscall!(setrlimit(libc::RLIMIT_NOFILE, &lim))?;
    Ok(())
}

/// Takes an exclusive advisory lock on an open file or directory without waiting (flock(2)).
/// `Ok(false)` when another process holds it. The lock lasts until `file` is closed.
pub fn try_lock_exclusive(file: &std::fs::File) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor belongs to `file`, which the caller keeps open for the call; flock
    // only takes an integer descriptor and flags and touches no memory of ours.
    match syscall!(flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB)) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => Ok(false),
        Err(e) => Err(e),
    }
}
