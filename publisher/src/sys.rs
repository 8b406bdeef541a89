//! Everything that touches the WebAssembly host, and all of the crate's `unsafe`: the WASI
//! preview1 and `wasi:http/requests` imports, the `_start` entry point, the allocator and the
//! panic handler. Compiled for wasm32 only.
//!
//! Imports are exactly what Bacalhau's executor provides: `wasi_snapshot_preview1`
//! (`args_*`, `environ_*`, `clock_time_get`, `poll_oneoff`, `fd_write`, `proc_exit`) and
//! `wasi:http/requests`.`http_request`.
use crate::host::{Host, HttpError, Method, Reply};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;

mod ffi {
    /// WASI `subscription` for a relative clock timeout (48 bytes, `u.tag` = 0 = clock).
    #[repr(C)]
    pub struct Subscription {
        pub userdata: u64,
        pub tag: u8,
        pub _pad: [u8; 7],
        pub clock_id: u32,
        pub _pad2: u32,
        pub timeout: u64,
        pub precision: u64,
        pub flags: u16,
        pub _pad3: [u8; 6],
    }

    /// WASI `event` (32 bytes).
    #[repr(C)]
    pub struct Event {
        pub userdata: u64,
        pub error: u16,
        pub kind: u8,
        pub _pad: [u8; 5],
        pub nbytes: u64,
        pub flags: u16,
        pub _pad2: [u8; 6],
    }

    const _: () = assert!(core::mem::size_of::<Subscription>() == 48);
    const _: () = assert!(core::mem::size_of::<Event>() == 32);

    #[repr(C)]
    pub struct Ciovec {
        pub buf: *const u8,
        pub len: usize,
    }

    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    extern "C" {
        pub fn args_sizes_get(argc: *mut usize, buf_size: *mut usize) -> u16;
        pub fn args_get(argv: *mut *mut u8, buf: *mut u8) -> u16;
        pub fn environ_sizes_get(count: *mut usize, buf_size: *mut usize) -> u16;
        pub fn environ_get(environ: *mut *mut u8, buf: *mut u8) -> u16;
        pub fn clock_time_get(id: u32, precision: u64, time: *mut u64) -> u16;
        pub fn poll_oneoff(
            subs: *const Subscription,
            events: *mut Event,
            nsubs: usize,
            nevents: *mut usize,
        ) -> u16;
        pub fn fd_write(fd: u32, iovs: *const Ciovec, iovs_len: usize, nwritten: *mut usize)
            -> u16;
        pub fn proc_exit(code: u32) -> !;
    }

    #[link(wasm_import_module = "wasi:http/requests")]
    extern "C" {
        /// Bacalhau's HTTP host function (module `wasi:http/requests`, defined in
        /// pkg/executor/wasm/funcs/http/ of bacalhau-project/bacalhau at v1.7.0): method code,
        /// URL, `Key: Value` header lines joined by `\n` and body in; the caller stores the
        /// capacities of its response buffers at the two length pointers and gets the written
        /// lengths back, the HTTP status as u32 little-endian at `status_ptr`, and a result
        /// code (0 success, 1 invalid URL, 2 network error, 3 timeout, 4 not allowed, ...).
        pub fn http_request(
            method: u32,
            url_ptr: u32,
            url_len: u32,
            headers_ptr: u32,
            headers_len: u32,
            body_ptr: u32,
            body_len: u32,
            resp_headers_ptr: u32,
            resp_headers_len_ptr: u32,
            resp_body_ptr: u32,
            resp_body_len_ptr: u32,
            status_ptr: u32,
        ) -> u32;
    }
}

/// Calls a WASI function that returns an errno, turning non-zero into `Err(errno)`.
macro_rules! syscall {
    ($call:expr) => {{
        let errno: u16 = $call;
        if errno == 0 {
            Ok(())
        } else {
            Err(errno)
        }
    }};
}

const CLOCK_REALTIME: u32 = 0;
const CLOCK_MONOTONIC: u32 = 1;

fn clock(id: u32) -> u64 {
    let mut t = 0u64;
    // SAFETY: `t` is a valid, writable u64 for the duration of the call.
    let _ = syscall!(unsafe { ffi::clock_time_get(id, 1, &mut t) });
    t
}

fn write_all(fd: u32, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        let iov = ffi::Ciovec {
            buf: bytes.as_ptr(),
            len: bytes.len(),
        };
        let mut written = 0usize;
        // SAFETY: `iov` points at `bytes`, alive and unchanged during the call; `written` is
        // a valid out-pointer.
        let ok = syscall!(unsafe { ffi::fd_write(fd, &iov, 1, &mut written) });
        if ok.is_err() || written == 0 {
            return; // stderr/stdout gone: nothing useful left to do with the text
        }
        bytes = &bytes[written.min(bytes.len())..];
    }
}

/// Reads a WASI string list (argv or environ) into owned strings.
fn read_list(
    sizes: unsafe extern "C" fn(*mut usize, *mut usize) -> u16,
    get: unsafe extern "C" fn(*mut *mut u8, *mut u8) -> u16,
) -> Vec<String> {
    let (mut count, mut size) = (0usize, 0usize);
    // SAFETY: both out-pointers are valid.
    if syscall!(unsafe { sizes(&mut count, &mut size) }).is_err() {
        return Vec::new();
    }
    let mut ptrs: Vec<*mut u8> = vec![core::ptr::null_mut(); count];
    let mut buf: Vec<u8> = vec![0; size];
    // SAFETY: `ptrs` has room for `count` pointers and `buf` for `size` bytes, as the host
    // asked for in `sizes`.
    if syscall!(unsafe { get(ptrs.as_mut_ptr(), buf.as_mut_ptr()) }).is_err() {
        return Vec::new();
    }
    // Entries are NUL-terminated and packed in order, so split the buffer instead of
    // dereferencing the pointers.
    buf.split(|&b| b == 0)
        .take(count)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// The real host: WASI clocks and sleep, Bacalhau's http_request, stderr/stdout.
struct WasiHost {
    /// Room for the answer's headers: enough for `Retry-After` behind the usual few.
    resp_headers: [u8; 512],
    resp_body: [u8; 512],
}

impl Host for WasiHost {
    fn monotonic_ns(&mut self) -> u64 {
        clock(CLOCK_MONOTONIC)
    }

    fn realtime_ns(&mut self) -> u64 {
        clock(CLOCK_REALTIME)
    }

    fn sleep_ns(&mut self, ns: u64) {
        let sub = ffi::Subscription {
            userdata: 0,
            tag: 0,
            _pad: [0; 7],
            clock_id: CLOCK_MONOTONIC,
            _pad2: 0,
            timeout: ns,
            precision: 0,
            flags: 0, // relative timeout
            _pad3: [0; 6],
        };
        let mut event = ffi::Event {
            userdata: 0,
            error: 0,
            kind: 0,
            _pad: [0; 5],
            nbytes: 0,
            flags: 0,
            _pad2: [0; 6],
        };
        let mut n = 0usize;
        // SAFETY: one valid subscription in, room for one event out, valid count pointer.
        let _ = syscall!(unsafe { ffi::poll_oneoff(&sub, &mut event, 1, &mut n) });
    }

    fn http(
        &mut self,
        method: Method,
        url: &str,
        headers: &str,
        body: &[u8],
    ) -> Result<Reply, HttpError> {
        // Capacity in, real length out (the host truncates silently to the capacity).
        let mut headers_len = self.resp_headers.len() as u32;
        let mut body_len = self.resp_body.len() as u32;
        let mut status = 0u32;
        // SAFETY: every pointer is into memory owned by this frame or `self`, valid for the
        // stated lengths, and the host writes at most the capacities we stored.
        let code = unsafe {
            ffi::http_request(
                method as u32,
                url.as_ptr() as u32,
                url.len() as u32,
                headers.as_ptr() as u32,
                headers.len() as u32,
                body.as_ptr() as u32,
                body.len() as u32,
                self.resp_headers.as_mut_ptr() as u32,
                &mut headers_len as *mut u32 as u32,
                self.resp_body.as_mut_ptr() as u32,
                &mut body_len as *mut u32 as u32,
                &mut status as *mut u32 as u32,
            )
        };
        if code != 0 {
            return Err(HttpError(code));
        }
        let got = &self.resp_body[..(body_len as usize).min(self.resp_body.len())];
        let filtered = got.windows(10).any(|w| w == b"\"filtered\"");
        let headers = &self.resp_headers[..(headers_len as usize).min(self.resp_headers.len())];
        let retry_after_secs = crate::status::retry_after_secs(headers);
        Ok(Reply {
            status,
            filtered,
            retry_after_secs,
        })
    }

    fn log(&mut self, line: &str) {
        write_all(2, line.as_bytes());
        write_all(2, b"\n");
    }

    fn print(&mut self, text: &str) {
        write_all(1, text.as_bytes());
    }
}

/// The WASI command entry point.
#[no_mangle]
pub extern "C" fn _start() {
    let args = read_list(ffi::args_sizes_get, ffi::args_get);
    let env = read_list(ffi::environ_sizes_get, ffi::environ_get);
    let mut host = WasiHost {
        resp_headers: [0; 512],
        resp_body: [0; 512],
    };
    let code = crate::publisher::run(&mut host, &args, &env);
    // SAFETY: proc_exit ends the instance; nothing runs after it.
    unsafe { ffi::proc_exit(code) }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // No formatting here: it would pull core::fmt's panic machinery into the module.
    write_all(2, b"sqs-publisher: internal error (panic)\n");
    core::arch::wasm32::unreachable()
}

/// `memcmp`, which core's slice and string comparisons lower to. The module links no libc,
/// and rustup's prebuilt wasm32-wasip1 `compiler_builtins` leaves the mem functions to
/// wasi-libc, so without this the link fails with "undefined symbol: memcmp". (Copies and
/// fills need nothing: with bulk memory they compile to `memory.copy`/`memory.fill`.)
/// Volatile reads keep LLVM from recognising the loop as a memcmp call to itself.
///
/// # Safety
/// `a` and `b` must be valid for reads of `n` bytes (the C contract).
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        // SAFETY: i < n and the caller guarantees both ranges are readable.
        let (x, y) = unsafe { (a.add(i).read_volatile(), b.add(i).read_volatile()) };
        if x != y {
            return x as i32 - y as i32;
        }
        i += 1;
    }
    0
}

/// A bump allocator. The module allocates at start-up (argv, environ, the message template)
/// and afterwards only grows the outbox while the proxy is away; nothing else allocates in
/// the steady state (logging uses a stack buffer). Freeing or growing the most recent block
/// happens in place, which covers the outbox; anything else freed is simply not reused.
struct Bump {
    next: Cell<usize>,
    end: Cell<usize>,
    last: Cell<usize>,
}

// SAFETY: wasm32-wasip1 modules are single-threaded; the cells are never shared across threads.
unsafe impl Sync for Bump {}

#[global_allocator]
static ALLOCATOR: Bump = Bump {
    next: Cell::new(0),
    end: Cell::new(0),
    last: Cell::new(0),
};

const PAGE: usize = 65_536;

extern "C" {
    /// End of static data and stack, provided by wasm-ld: the heap starts here.
    static __heap_base: u8;
}

impl Bump {
    /// Makes sure `[next, new_next)` is backed by linear memory.
    fn ensure(&self, new_next: usize) -> bool {
        if self.end.get() == 0 {
            // Only the address of the linker symbol is taken, never its contents.
            let base = core::ptr::addr_of!(__heap_base) as usize;
            self.next.set(base);
            self.end.set(core::arch::wasm32::memory_size(0) * PAGE);
        }
        if new_next <= self.end.get() {
            return true;
        }
        let pages = (new_next - self.end.get()).div_ceil(PAGE);
        if core::arch::wasm32::memory_grow(0, pages) == usize::MAX {
            return false;
        }
        self.end.set(self.end.get() + pages * PAGE);
        true
    }
}

// SAFETY: blocks handed out never overlap (`next` only moves forward except when the most
// recent block is freed or resized in place), are aligned as asked and lie in grown memory.
unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if self.end.get() == 0 && !self.ensure(0) {
            return core::ptr::null_mut();
        }
        let start = (self.next.get() + layout.align() - 1) & !(layout.align() - 1);
        let Some(new_next) = start.checked_add(layout.size()) else {
            return core::ptr::null_mut();
        };
        if !self.ensure(new_next) {
            return core::ptr::null_mut();
        }
        self.next.set(new_next);
        self.last.set(start);
        start as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ptr as usize == self.last.get() && ptr as usize + layout.size() == self.next.get() {
            self.next.set(ptr as usize);
            self.last.set(0);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = ptr as usize;
        if p == self.last.get() && p + layout.size() == self.next.get() {
            // The most recent block: resize in place.
            if let Some(new_next) = p.checked_add(new_size) {
                if self.ensure(new_next) {
                    self.next.set(new_next);
                    return ptr;
                }
            }
            return core::ptr::null_mut();
        }
        // SAFETY: the new layout keeps the old alignment and a valid size (caller's contract).
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: forwarding to our own alloc with a valid layout.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are valid for the copied length and do not overlap
            // (the new one lies beyond the old one).
            unsafe { core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
        }
        new
    }
}
