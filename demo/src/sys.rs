//! Every libc call the demo makes: signal flags, the parent-death signal for children, and
//! terminal detection. Nothing else in the crate uses `unsafe`.
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

/// Turns a libc `-1` return into the `errno` error, as mio's `syscall!` does.
macro_rules! syscall {
    ($fn:ident ( $($arg:expr),* $(,)* )) => {{
        // SAFETY: the caller upholds the contract of the named libc function.
        let res = unsafe { libc::$fn($($arg),*) };
        if res == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(res)
        }
    }};
}

/// Set by SIGINT/SIGTERM; polled by the scenario loop.
static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop_signal(_signal: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    STOP_REQUESTED.store(true, Ordering::SeqCst);
}

/// Routes SIGINT and SIGTERM to [`stop_requested`] instead of killing the process, so the demo
/// can stop what it started.
pub fn install_stop_handler() -> io::Result<()> {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value; we then set the
        // handler to a function that only performs an atomic store.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = on_stop_signal as extern "C" fn(libc::c_int) as usize;
        action.sa_flags = libc::SA_RESTART;
        syscall!(sigaction(signal, &action, std::ptr::null_mut()))?;
    }
    Ok(())
}

/// True once SIGINT or SIGTERM arrived.
pub fn stop_requested() -> bool {
    STOP_REQUESTED.load(Ordering::SeqCst)
}

/// In a freshly forked child (before exec): ask the kernel to send SIGTERM if the demo dies,
/// so a killed demo leaves no orphans, and put the child in its own process group so a
/// terminal Ctrl-C reaches only the demo, which then stops children in the right order.
pub fn child_setup() -> io::Result<()> {
    syscall!(prctl(
        libc::PR_SET_PDEATHSIG,
        libc::SIGTERM as libc::c_ulong,
        0,
        0,
        0
    ))?;
    syscall!(setpgid(0, 0))?;
    Ok(())
}

/// Sends `signal` to process `pid`. A process that is already gone is not an error.
pub fn send_signal(pid: u32, signal: libc::c_int) -> io::Result<()> {
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range"))?;
    match syscall!(kill(pid, signal)) {
        Ok(_) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Whether standard output is a terminal (decides between live view and plain lines).
pub fn stdout_is_tty() -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(libc::STDOUT_FILENO) == 1 }
}

/// Makes `command` run [`child_setup`] in the child between fork and exec.
pub fn configure_child(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: child_setup only calls prctl and setpgid, both async-signal-safe, and allocates
    // nothing, as required between fork and exec.
    unsafe {
        command.pre_exec(child_setup);
    }
}

/// Sends `signal` to every process of group `pgid`.
pub fn send_signal_group(pgid: i32, signal: libc::c_int) -> io::Result<()> {
    match syscall!(kill(-pgid, signal)) {
        Ok(_) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
        Err(e) => Err(e),
    }
}
