//! Every libc call the puller makes: terminal detection and the stop-signal handlers.
//!
//! Each call goes through [`syscall!`], which turns the C convention (`-1` plus `errno`) into an
//! `io::Error`, and every `unsafe` block says why it is sound.
use std::io;
use std::sync::atomic::{AtomicI32, Ordering};

/// Runs a libc call and maps `-1` to `io::Error::last_os_error()`.
macro_rules! syscall {
    ($fn:ident ( $($arg:expr),* $(,)? )) => {{
        // SAFETY: the caller of the macro states why the arguments are valid for this call.
        let res = unsafe { libc::$fn($($arg),*) };
        if res == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(res)
        }
    }};
}

/// The last stop signal received (0 = none). A signal handler may only touch lock-free atomics,
/// so the main loop polls this instead of being told.
static STOP_SIGNAL: AtomicI32 = AtomicI32::new(0);

/// First SIGINT/SIGTERM: remember it (the main loop starts a graceful stop). Second one: the
/// operator insists, so leave at once with `_exit`, the only exit that is async-signal-safe.
/// Nothing is lost by that: undeleted messages reappear after their visibility timeout.
extern "C" fn on_stop_signal(signal: libc::c_int) {
    if STOP_SIGNAL.swap(signal, Ordering::SeqCst) != 0 {
        // SAFETY: `_exit` is async-signal-safe (signal-safety(7)) and takes any status.
        unsafe { libc::_exit(128 + signal) };
    }
}

/// Installs the SIGINT and SIGTERM handlers. `SA_RESTART` keeps blocking socket reads in the
/// pollers' SQS clients from failing with EINTR (a failed receive would be retried and counted
/// as an error); the stop does not wait for those reads anyway, only for batches in flight.
pub fn install_stop_handlers() -> io::Result<()> {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: an all-zero `sigaction` is a valid "no flags, empty mask" value.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = on_stop_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        // SAFETY: `action.sa_mask` is a valid, owned sigset_t.
        syscall!(sigemptyset(&mut action.sa_mask))?;
        // SAFETY: `action` is fully initialised and the handler only touches an atomic (and
        // calls `_exit`), which is async-signal-safe; the old action is not wanted (null).
        syscall!(sigaction(signal, &action, std::ptr::null_mut()))?;
    }
    Ok(())
}

/// The stop signal received so far, if any (SIGINT = 2, SIGTERM = 15).
pub fn stop_signal() -> Option<i32> {
    match STOP_SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// The conventional name of a stop signal, for messages.
pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        _ => "signal",
    }
}

/// Whether standard output is a terminal (decides pretty vs json output).
pub fn stdout_is_tty() -> bool {
    // SAFETY: isatty only inspects the descriptor number; fd 1 may be closed, which it reports
    // as 0 (ENOTTY/EBADF) rather than misbehaving.
    unsafe { libc::isatty(libc::STDOUT_FILENO) == 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names() {
        assert_eq!(signal_name(libc::SIGTERM), "SIGTERM");
        assert_eq!(signal_name(libc::SIGINT), "SIGINT");
    }

    #[test]
    fn no_signal_until_one_arrives() {
        assert_eq!(stop_signal(), None);
    }
}
