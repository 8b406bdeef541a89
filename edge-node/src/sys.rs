//! The crate's only libc uses: SIGTERM/SIGINT set a flag the main loop polls, so a stop by
//! signal flushes stats and exits 0 just like the `stop` control command; and a guest's
//! untouched memory pages are given back to the kernel ([`release_zero_pages`]).
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

/// Gives the kernel back every whole page of `mem` that holds only zeros; returns how many.
///
/// wasmi allocates a guest's linear memory on the heap and writes zeros over all of it
/// (`ByteBuffer::new` in wasmi_core 2.0), so every page is resident even where the guest
/// never writes: most of a module's stack and heap. The heap is private anonymous memory
/// (glibc's malloc takes it from `brk` or anonymous `mmap`), and for such memory
/// `madvise(MADV_DONTNEED)` drops the pages and the next access reads fresh zero pages
/// (madvise(2)). A page that holds only zeros therefore reads the same before and after;
/// only the resident set shrinks.
pub fn release_zero_pages(mem: &mut [u8]) -> usize {
    // SAFETY: sysconf has no preconditions.
    let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        p if p > 0 => p as usize,
        _ => return 0,
    };
    let skip = mem.as_ptr().align_offset(page).min(mem.len());
    let pages = &mut mem[skip..];
    let whole = pages.len() / page;
    let mut released = 0;
    let mut i = 0;
    while i < whole {
        // One madvise for each run of zero pages.
        let run = (i..whole)
            .take_while(|&p| pages[p * page..(p + 1) * page].iter().all(|&b| b == 0))
            .count();
        if run == 0 {
            i += 1;
            continue;
        }
        let bytes = &mut pages[i * page..(i + run) * page];
        // SAFETY: `bytes` is whole page-aligned pages of private anonymous memory that we
        // borrow exclusively and that hold only zeros; after MADV_DONTNEED they still read
        // as zeros, so no Rust-visible value changes.
        let done =
            unsafe { libc::madvise(bytes.as_mut_ptr().cast(), bytes.len(), libc::MADV_DONTNEED) };
        if done == 0 {
            released += run;
        }
        i += run;
    }
    released
}

#[cfg(test)]
mod tests {
    use super::release_zero_pages;

    /// Which of the pages covering `mem` are resident (mincore(2)); `mem` starts on a page.
    fn resident(mem: &[u8], page: usize) -> Vec<bool> {
        let mut vec = vec![0u8; mem.len().div_ceil(page)];
        // SAFETY: `mem` is mapped memory starting on a page boundary and `vec` has one byte
        // per page of it, as mincore requires.
        let r = unsafe { libc::mincore(mem.as_ptr() as *mut _, mem.len(), vec.as_mut_ptr()) };
        assert_eq!(r, 0, "mincore: {}", std::io::Error::last_os_error());
        vec.iter().map(|b| b & 1 == 1).collect()
    }

    #[test]
    fn zero_pages_leave_the_resident_set_and_still_read_as_zeros() {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        // Zeros written as wasmi writes them, so every page is resident to begin with.
        let mut buf: Vec<u8> = Vec::with_capacity(18 * page);
        buf.extend(std::iter::repeat_n(0u8, 18 * page));
        let skip = buf.as_ptr().align_offset(page);
        let mem = &mut buf[skip..skip + 16 * page];
        mem[3 * page + 17] = 7;
        mem[9 * page] = 1;
        mem[15 * page + page - 1] = 2;
        assert!(resident(mem, page).iter().all(|&r| r));

        assert_eq!(release_zero_pages(mem), 13);

        let after = resident(mem, page);
        for (i, r) in after.iter().enumerate() {
            assert_eq!(*r, [3, 9, 15].contains(&i), "page {i} resident: {r}");
        }
        let nonzero: Vec<usize> = (0..mem.len()).filter(|&i| mem[i] != 0).collect();
        assert_eq!(nonzero, [3 * page + 17, 9 * page, 16 * page - 1]);
        assert_eq!(
            (mem[3 * page + 17], mem[9 * page], mem[16 * page - 1]),
            (7, 1, 2)
        );
        // A released page can be written again.
        mem[5 * page] = 9;
        assert_eq!(mem[5 * page], 9);
    }

    #[test]
    fn memory_not_starting_on_a_page_releases_only_whole_pages() {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let mut buf = vec![0u8; 4 * page];
        let skip = buf.as_ptr().align_offset(page);
        // From one byte past a page boundary to one byte before the page after the next:
        // no whole page lies inside.
        let mem = &mut buf[skip + 1..skip + 2 * page - 1];
        assert_eq!(release_zero_pages(mem), 0);
        assert_eq!(release_zero_pages(&mut []), 0);
    }
}
