//! WASI preview1 (`wasi_snapshot_preview1`) as a Bacalhau compute node offers it to a WASM job:
//! argv and environment, real clocks and real sleep, stdout/stderr to the job log, an empty
//! stdin, no files (no preopened directories), a deterministic `random_get`, and every other
//! preview1 function present but answering ENOSYS so that any module links.
use super::ctx::{memory, NodeCtx};
use super::guest_mem as gm;
use super::suspend::Suspend;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use wasmi::{Caller, Error, FuncType, Linker, Val, ValType};

pub const MODULE: &str = "wasi_snapshot_preview1";

pub const ESUCCESS: i32 = 0;
pub const EBADF: i32 = 8;
pub const EFAULT: i32 = 21;
pub const EINVAL: i32 = 28;
pub const ENOSYS: i32 = 52;
pub const ESPIPE: i32 = 70;

/// Every preview1 function with its parameter types (all return an errno `i32`, except
/// `proc_exit`). `I` = i32, `L` = i64.
pub const PREVIEW1: &[(&str, &str)] = &[
    ("args_get", "II"),
    ("args_sizes_get", "II"),
    ("environ_get", "II"),
    ("environ_sizes_get", "II"),
    ("clock_res_get", "II"),
    ("clock_time_get", "ILI"),
    ("fd_advise", "ILLI"),
    ("fd_allocate", "ILL"),
    ("fd_close", "I"),
    ("fd_datasync", "I"),
    ("fd_fdstat_get", "II"),
    ("fd_fdstat_set_flags", "II"),
    ("fd_fdstat_set_rights", "ILL"),
    ("fd_filestat_get", "II"),
    ("fd_filestat_set_size", "IL"),
    ("fd_filestat_set_times", "ILLI"),
    ("fd_pread", "IIILI"),
    ("fd_prestat_get", "II"),
    ("fd_prestat_dir_name", "III"),
    ("fd_pwrite", "IIILI"),
    ("fd_read", "IIII"),
    ("fd_readdir", "IIILI"),
    ("fd_renumber", "II"),
    ("fd_seek", "ILII"),
    ("fd_sync", "I"),
    ("fd_tell", "II"),
    ("fd_write", "IIII"),
    ("path_create_directory", "III"),
    ("path_filestat_get", "IIIII"),
    ("path_filestat_set_times", "IIIILLI"),
    ("path_link", "IIIIIII"),
    ("path_open", "IIIIILLII"),
    ("path_readlink", "IIIIII"),
    ("path_remove_directory", "III"),
    ("path_rename", "IIIIII"),
    ("path_symlink", "IIIII"),
    ("path_unlink_file", "III"),
    ("poll_oneoff", "IIII"),
    ("proc_raise", "I"),
    ("sched_yield", ""),
    ("random_get", "II"),
    ("sock_accept", "III"),
    ("sock_recv", "IIIIII"),
    ("sock_send", "IIIII"),
    ("sock_shutdown", "II"),
];

/// Whether `name` is a preview1 function this host defines.
pub fn provides(name: &str) -> bool {
    name == "proc_exit" || PREVIEW1.iter().any(|(n, _)| *n == name)
}

/// A function that registers one host function in a linker.
type Define = fn(&mut Linker<NodeCtx>) -> Result<(), Error>;

/// Registers `$f` under `$name` in the preview1 module.
macro_rules! host {
    ($name:literal, $f:expr) => {
        ($name, |l: &mut Linker<NodeCtx>| {
            l.func_wrap(MODULE, $name, $f)
                .map(|_| ())
                .map_err(Error::from)
        })
    };
}

/// The preview1 functions with real behaviour; every other one answers ENOSYS.
fn implemented() -> [(&'static str, Define); 17] {
    [
        host!(
            "args_sizes_get",
            |c: Caller<'_, NodeCtx>, n: u32, size: u32| { sizes(c, n, size, |ctx| &ctx.argv) }
        ),
        host!("args_get", |c: Caller<'_, NodeCtx>, ptrs: u32, buf: u32| {
            strings(c, ptrs, buf, |ctx| &ctx.argv)
        }),
        host!(
            "environ_sizes_get",
            |c: Caller<'_, NodeCtx>, n: u32, size: u32| { sizes(c, n, size, |ctx| &ctx.environ) }
        ),
        host!("environ_get", |c: Caller<'_, NodeCtx>,
                              ptrs: u32,
                              buf: u32| {
            strings(c, ptrs, buf, |ctx| &ctx.environ)
        }),
        host!("clock_res_get", clock_res_get),
        host!("clock_time_get", clock_time_get),
        host!("fd_write", fd_write),
        host!("fd_read", fd_read),
        host!("fd_close", |_: Caller<'_, NodeCtx>, fd: u32| {
            if fd <= 2 {
                ESUCCESS
            } else {
                EBADF
            }
        }),
        host!("fd_seek", |_: Caller<'_, NodeCtx>,
                          fd: u32,
                          _off: i64,
                          _whence: u32,
                          _out: u32| {
            if fd <= 2 {
                ESPIPE
            } else {
                EBADF
            }
        }),
        host!("fd_fdstat_get", fd_fdstat_get),
        // No preopened directories: EBADF ends the guest's preopen scan at fd 3.
        host!(
            "fd_prestat_get",
            |_: Caller<'_, NodeCtx>, _fd: u32, _out: u32| EBADF
        ),
        host!(
            "fd_prestat_dir_name",
            |_: Caller<'_, NodeCtx>, _fd: u32, _p: u32, _l: u32| { EBADF }
        ),
        host!("random_get", |mut c: Caller<'_, NodeCtx>,
                             buf: u32,
                             len: u32|
         -> i32 {
            with_mem(&mut c, |mem, ctx| {
                ctx.fill_random(gm::slice_mut(mem, buf, len)?);
                Some(())
            })
        }),
        host!("proc_exit", |_: Caller<'_, NodeCtx>,
                            code: i32|
         -> Result<(), Error> {
            Err(Error::i32_exit(code))
        }),
        host!("sched_yield", |_: Caller<'_, NodeCtx>| ESUCCESS),
        host!("poll_oneoff", poll_oneoff),
    ]
}

/// Defines all of preview1 in `linker`: the implemented functions, then ENOSYS stubs with
/// the right signatures for the rest (so any module links).
pub fn define(linker: &mut Linker<NodeCtx>) -> Result<(), Error> {
    let table = implemented();
    for (_, define) in &table {
        define(linker)?;
    }
    let done = |n: &str| table.iter().any(|(name, _)| *name == n);
    for (name, params) in PREVIEW1.iter().filter(|(n, _)| !done(n)) {
        let params: Vec<ValType> = params
            .chars()
            .map(|c| if c == 'L' { ValType::I64 } else { ValType::I32 })
            .collect();
        let ty = FuncType::new(params, [ValType::I32]);
        linker.func_new(
            MODULE,
            name,
            ty,
            |_, _params: &[Val], results: &mut [Val]| {
                results[0] = Val::I32(ENOSYS);
                Ok(())
            },
        )?;
    }
    Ok(())
}

fn clock_res_get(mut c: Caller<'_, NodeCtx>, id: u32, out: u32) -> i32 {
    if id > 3 {
        return EINVAL;
    }
    with_mem(&mut c, |mem, _| gm::write_u64(mem, out, 1))
}

fn clock_time_get(mut c: Caller<'_, NodeCtx>, id: u32, _precision: u64, out: u32) -> i32 {
    let epoch = c.data().epoch;
    let Some(now) = clock_now(id, epoch) else {
        return EINVAL;
    };
    with_mem(&mut c, |mem, _| gm::write_u64(mem, out, now))
}

fn fd_read(mut c: Caller<'_, NodeCtx>, fd: u32, _iovs: u32, _n: u32, nread: u32) -> i32 {
    // stdin is empty: every read is end-of-file.
    if fd != 0 {
        return EBADF;
    }
    with_mem(&mut c, |mem, _| gm::write_u32(mem, nread, 0))
}

fn fd_fdstat_get(mut c: Caller<'_, NodeCtx>, fd: u32, out: u32) -> i32 {
    if fd > 2 {
        return EBADF;
    }
    // A character device with read (stdin) or write (stdout/stderr) and poll rights.
    let rights: u64 = if fd == 0 {
        (1 << 1) | (1 << 27)
    } else {
        (1 << 6) | (1 << 27)
    };
    let mut stat = [0u8; 24];
    stat[0] = 2;
    stat[8..16].copy_from_slice(&rights.to_le_bytes());
    with_mem(&mut c, |mem, _| gm::write(mem, out, &stat))
}

/// Runs `f` on the guest memory and the node state; a missing memory or a pointer outside it
/// is EFAULT.
fn with_mem(
    c: &mut Caller<'_, NodeCtx>,
    f: impl FnOnce(&mut [u8], &mut NodeCtx) -> Option<()>,
) -> i32 {
    let Some(memory) = memory(c) else {
        return EFAULT;
    };
    let (mem, ctx) = memory.data_and_store_mut(c);
    match f(mem, ctx) {
        Some(()) => ESUCCESS,
        None => EFAULT,
    }
}

fn sizes(
    mut c: Caller<'_, NodeCtx>,
    count_ptr: u32,
    size_ptr: u32,
    pick: fn(&NodeCtx) -> &Vec<Vec<u8>>,
) -> i32 {
    with_mem(&mut c, |mem, ctx| {
        let list = pick(ctx);
        let total: usize = list.iter().map(Vec::len).sum();
        gm::write_u32(mem, count_ptr, u32::try_from(list.len()).ok()?)?;
        gm::write_u32(mem, size_ptr, u32::try_from(total).ok()?)
    })
}

fn strings(
    mut c: Caller<'_, NodeCtx>,
    ptrs: u32,
    buf: u32,
    pick: fn(&NodeCtx) -> &Vec<Vec<u8>>,
) -> i32 {
    with_mem(&mut c, |mem, ctx| {
        let mut at = buf;
        for (i, s) in pick(ctx).iter().enumerate() {
            gm::write_u32(mem, ptrs.checked_add(u32::try_from(i * 4).ok()?)?, at)?;
            gm::write(mem, at, s)?;
            at = at.checked_add(u32::try_from(s.len()).ok()?)?;
        }
        Some(())
    })
}

/// Nanoseconds on clock `id`: 0 realtime, 1 monotonic; the CPU-time clocks (2, 3) read the
/// monotonic clock, which is what a guest sleeping most of the time expects anyway.
pub fn clock_now(id: u32, epoch: Instant) -> Option<u64> {
    match id {
        0 => Some(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0),
        ),
        1..=3 => Some(u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)),
        _ => None,
    }
}

fn fd_write(mut c: Caller<'_, NodeCtx>, fd: u32, iovs: u32, iovs_len: u32, nwritten: u32) -> i32 {
    if fd != 1 && fd != 2 {
        return EBADF;
    }
    with_mem(&mut c, |mem, ctx| {
        let mut bytes = Vec::new();
        for i in 0..iovs_len {
            let iov = iovs.checked_add(i.checked_mul(8)?)?;
            let (ptr, len) = (
                gm::read_u32(mem, iov)?,
                gm::read_u32(mem, iov.checked_add(4)?)?,
            );
            bytes.extend_from_slice(gm::slice(mem, ptr, len)?);
        }
        ctx.write_output(fd, &bytes);
        gm::write_u32(mem, nwritten, u32::try_from(bytes.len()).ok()?)
    })
}

const SUB_SIZE: u32 = 48;
const EVENT_SIZE: u32 = 32;
const TAG_CLOCK: u8 = 0;
const TAG_FD_READ: u8 = 1;
const TAG_FD_WRITE: u8 = 2;

/// `poll_oneoff`: fd subscriptions (stdio) are ready at once; otherwise the guest sleeps until
/// its earliest clock subscription, for real, without holding a thread.
fn poll_oneoff(
    mut c: Caller<'_, NodeCtx>,
    subs: u32,
    events: u32,
    nsubs: u32,
    nevents: u32,
) -> Result<i32, Error> {
    if nsubs == 0 {
        return Ok(EINVAL);
    }
    let epoch = c.data().epoch;
    let Some(memory) = memory(&c) else {
        return Ok(EFAULT);
    };
    let mem = memory.data_mut(&mut c);
    let now = Instant::now();
    let mut ready: Vec<[u8; 32]> = Vec::new();
    let mut clocks: Vec<(u64, Instant)> = Vec::new();
    for i in 0..nsubs {
        let Some(sub) = i.checked_mul(SUB_SIZE).and_then(|o| subs.checked_add(o)) else {
            return Ok(EFAULT);
        };
        let Some(raw) = gm::slice(mem, sub, SUB_SIZE) else {
            return Ok(EFAULT);
        };
        match subscription(raw, epoch, now) {
            Ok(Subscription::Ready(ev)) => ready.push(ev),
            Ok(Subscription::Clock(userdata, at)) => clocks.push((userdata, at)),
            Err(errno) => return Ok(errno),
        }
    }
    let mut wake = None;
    if ready.is_empty() {
        let Some(earliest) = clocks.iter().map(|(_, t)| *t).min() else {
            return Ok(EINVAL);
        };
        ready.extend(
            clocks
                .iter()
                .filter(|(_, t)| *t == earliest)
                .map(|(u, _)| event(*u, 0, TAG_CLOCK)),
        );
        wake = Some(earliest);
    }
    if write_events(mem, events, nevents, &ready).is_none() {
        return Ok(EFAULT);
    }
    match wake {
        Some(at) if at > Instant::now() => Err(Error::host(Suspend::Sleep(at))),
        _ => Ok(ESUCCESS),
    }
}

/// What one 48-byte subscription asks for.
enum Subscription {
    /// Answered at once (stdio is always ready; a bad clock id or fd gets its error).
    Ready([u8; 32]),
    /// A clock: its userdata and when it fires.
    Clock(u64, Instant),
}

/// Reads the subscription `raw` (WASI preview 1 `subscription`); an unknown tag is EINVAL.
fn subscription(raw: &[u8], epoch: Instant, now: Instant) -> Result<Subscription, i32> {
    let userdata = u64::from_le_bytes(raw[0..8].try_into().unwrap_or_default());
    match raw[8] {
        TAG_CLOCK => {
            let id = u32::from_le_bytes(raw[16..20].try_into().unwrap_or_default());
            let timeout = u64::from_le_bytes(raw[24..32].try_into().unwrap_or_default());
            let absolute = raw[40] & 1 == 1;
            let Some(clock) = clock_now(id, epoch) else {
                return Ok(Subscription::Ready(event(
                    userdata,
                    EINVAL as u16,
                    TAG_CLOCK,
                )));
            };
            let wait = if absolute {
                timeout.saturating_sub(clock)
            } else {
                timeout
            };
            Ok(Subscription::Clock(
                userdata,
                now + Duration::from_nanos(wait),
            ))
        }
        tag @ (TAG_FD_READ | TAG_FD_WRITE) => {
            let fd = u32::from_le_bytes(raw[16..20].try_into().unwrap_or_default());
            let ok =
                (tag == TAG_FD_READ && fd == 0) || (tag == TAG_FD_WRITE && (fd == 1 || fd == 2));
            let error = if ok { 0 } else { EBADF as u16 };
            Ok(Subscription::Ready(event(userdata, error, tag)))
        }
        _ => Err(EINVAL),
    }
}

/// Writes the events at `events` and their count at `nevents`; `None` when out of memory.
fn write_events(mem: &mut [u8], events: u32, nevents: u32, ready: &[[u8; 32]]) -> Option<()> {
    for (i, ev) in ready.iter().enumerate() {
        let at = u32::try_from(i)
            .ok()?
            .checked_mul(EVENT_SIZE)
            .and_then(|o| events.checked_add(o))?;
        gm::write(mem, at, ev)?;
    }
    gm::write_u32(mem, nevents, u32::try_from(ready.len()).ok()?)
}

fn event(userdata: u64, error: u16, tag: u8) -> [u8; 32] {
    let mut ev = [0u8; 32];
    ev[0..8].copy_from_slice(&userdata.to_le_bytes());
    ev[8..10].copy_from_slice(&error.to_le_bytes());
    ev[10] = tag;
    ev
}
