//! The crate's only FFI: waiting for SIGTERM/SIGINT in the stand-in service. As PID 1 in a
//! container a process gets no default signal handling, so `docker stop` would otherwise wait
//! out its whole grace period and SIGKILL it.
use std::io;

macro_rules! syscall {
    ($call:expr) => {{
        let rc = $call;
        if rc == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(rc)
        }
    }};
}

/// Blocks SIGTERM and SIGINT for this thread and waits until one arrives; returns its number.
pub fn wait_for_termination() -> io::Result<i32> {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it before any other use.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, exclusively borrowed sigset_t.
    syscall!(unsafe { libc::sigemptyset(&mut set) })?;
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: `set` is initialised; `sig` is a valid signal number.
        syscall!(unsafe { libc::sigaddset(&mut set, sig) })?;
    }
    // SAFETY: `set` is initialised; a null old-set pointer is allowed.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    let mut sig: libc::c_int = 0;
    // SAFETY: `set` is initialised and `sig` is a valid out-pointer for the call's duration.
    let rc = unsafe { libc::sigwait(&set, &mut sig) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(sig)
}
