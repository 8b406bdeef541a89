//! The crate's only libc use: SIGTERM/SIGINT set a flag the main loop polls, so a stop by
//! signal flushes stats and exits 0 just like the `stop` control command.
#![allow(unsafe_code)]
use std::sync::atomic::{AtomicBool, Ordering};

static SIGNALLED: AtomicBool = AtomicBool::new(false);

/// Runs a libc call, turning its `-1`/`SIG_ERR` failure into an `io::Error`.
macro_rules! syscall {
    ($fail:expr, $call:expr) => {{
        let ret = $call;
        if ret == $fail {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(ret)
        }
    }};
}

extern "C" fn on_signal(_: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    SIGNALLED.store(true, Ordering::SeqCst);
}

/// Installs the handler for SIGTERM and SIGINT.
pub fn install_stop_signals() -> std::io::Result<()> {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: `on_signal` is an `extern "C"` function that only performs an atomic store,
        // which is async-signal-safe; `signal` has no other preconditions.
        syscall!(libc::SIG_ERR, unsafe { libc::signal(sig, handler) })?;
    }
    Ok(())
}

/// Whether a stop signal has arrived.
pub fn stop_requested() -> bool {
    SIGNALLED.load(Ordering::SeqCst)
}
