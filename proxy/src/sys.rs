//! Every libc call of the proxy: the `SO_REUSEPORT` listener, the open-files limit, signal
//! handling and CPU time. Everything else in the crate is safe code.
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::FromRawFd;

/// Runs a libc call inside `unsafe` and turns `-1` into the `errno` error, naming the call.
/// Each call site says why its arguments are valid.
macro_rules! syscall {
    ($name:ident ( $($arg:expr),* $(,)? )) => {{
        // SAFETY: the caller's `// SAFETY:` comment justifies the arguments of this call.
        #[allow(unused_unsafe)]
        let rc = unsafe { libc::$name($($arg),*) };
        if rc == -1 {
            let err = io::Error::last_os_error();
            Err(io::Error::new(err.kind(), format!("{}: {}", stringify!($name), err)))
        } else {
            Ok(rc)
        }
    }};
}

/// A non-blocking listening socket with `SO_REUSEADDR` and `SO_REUSEPORT`, so every worker
/// binds its own socket to the same address and the kernel spreads new connections over
/// them (socket(7), SO_REUSEPORT: "load distribution"). No accept lock is shared.
pub fn reuseport_listener(addr: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    let family = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    // SAFETY: plain integer arguments.
    let fd = syscall!(socket(
        family,
        libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        0
    ))?;
    // SAFETY: `fd` was just returned by socket(2) and nothing else owns it; the listener
    // closes it on drop, including on the error paths below.
    let listener = unsafe { TcpListener::from_raw_fd(fd) };
    set_flag(fd, libc::SO_REUSEADDR)?;
    set_flag(fd, libc::SO_REUSEPORT)?;
    let (storage, len) = sockaddr(addr);
    // SAFETY: `storage` is an initialised sockaddr of length `len` for `family`.
    syscall!(bind(fd, &storage as *const _ as *const libc::sockaddr, len))?;
    // SAFETY: `fd` is a bound stream socket.
    syscall!(listen(fd, backlog))?;
    Ok(listener)
}

fn set_flag(fd: i32, option: libc::c_int) -> io::Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: the value pointer refers to a live c_int and the length is its size.
    syscall!(setsockopt(
        fd,
        libc::SOL_SOCKET,
        option,
        &one as *const libc::c_int as *const libc::c_void,
        std::mem::size_of::<libc::c_int>() as libc::socklen_t
    ))?;
    Ok(())
}

fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in, sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: v6.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in6, sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// Raises the soft open-files limit to the hard limit (10,000 idle keep-alive connections
/// need more than the usual 1024 descriptors). Returns the new soft limit.
pub fn raise_nofile_limit() -> io::Result<libc::rlim_t> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit.
    syscall!(getrlimit(libc::RLIMIT_NOFILE, &mut lim))?;
    if lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: `lim` is a valid rlimit with cur <= max.
        syscall!(setrlimit(libc::RLIMIT_NOFILE, &lim))?;
    }
    Ok(lim.rlim_cur)
}

/// The signals the proxy receives on its signal thread: shutdown and reload.
fn shutdown_set() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it before use.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid sigset_t and the signal numbers are valid, so these calls
    // cannot fail (sigsetops(3)).
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGHUP);
    }
    set
}

/// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and every thread it spawns afterwards.
/// Called first in `server::run`: then no async-signal handler is needed, one thread receives
/// them synchronously with sigwait(3).
pub fn block_shutdown_signals() -> io::Result<()> {
    let set = shutdown_set();
    // SAFETY: `set` is initialised; a null old-set pointer is allowed.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(())
}

/// A signal the signal thread acts on.
pub enum Signal {
    /// SIGTERM or SIGINT, by name.
    Stop(&'static str),
    /// SIGHUP: read the token and certificate files again.
    Reload,
}

/// Waits for SIGTERM, SIGINT or SIGHUP (blocked by [`block_shutdown_signals`]).
pub fn wait_for_signal() -> io::Result<Signal> {
    let set = shutdown_set();
    let mut sig: libc::c_int = 0;
    // SAFETY: `set` is initialised and `sig` is writable.
    let rc = unsafe { libc::sigwait(&set, &mut sig) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(match sig {
        libc::SIGHUP => Signal::Reload,
        libc::SIGINT => Signal::Stop("SIGINT"),
        _ => Signal::Stop("SIGTERM"),
    })
}

/// CPU time (user + system) this process has used, for the metrics page.
pub fn process_cpu_seconds() -> f64 {
    // SAFETY: rusage is plain data; all-zero is valid and getrusage overwrites it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage.
    if syscall!(getrusage(libc::RUSAGE_SELF, &mut usage)).is_err() {
        return 0.0;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_listeners_share_one_port() {
        let a = reuseport_listener("127.0.0.1:0".parse().unwrap(), 16).unwrap();
        let addr = a.local_addr().unwrap();
        let b = reuseport_listener(addr, 16).unwrap();
        assert_eq!(b.local_addr().unwrap(), addr);
    }
}
