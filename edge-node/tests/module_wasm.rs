//! The built sensor module (target/modules/publisher.wasm, made by scripts/build-wasm):
//! imports only what Bacalhau's WASM executor provides, with `http_request`'s exact type,
//! exports a WASI command, stays small in size and memory.
use std::path::PathBuf;

fn module_bytes() -> Vec<u8> {
    let path: PathBuf = edge_tests::bins::workspace_root().join("target/modules/publisher.wasm");
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: run scripts/build-wasm first (scripts/test does)",
            path.display()
        )
    })
}

/// Just enough of the WebAssembly binary format (spec §5) to list imports and exports.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> u8 {
        let b = self.bytes[self.pos];
        self.pos += 1;
        b
    }

    fn leb_u32(&mut self) -> u32 {
        let (mut result, mut shift) = (0u32, 0);
        loop {
            let b = self.byte();
            result |= ((b & 0x7f) as u32) << shift;
            if b & 0x80 == 0 {
                return result;
            }
            shift += 7;
        }
    }

    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        s
    }

    fn name(&mut self) -> String {
        let n = self.leb_u32() as usize;
        String::from_utf8(self.bytes(n).to_vec()).expect("utf-8 name")
    }

    fn limits(&mut self) -> (u32, Option<u32>) {
        let flags = self.byte();
        let min = self.leb_u32();
        let max = (flags & 1 == 1).then(|| self.leb_u32());
        (min, max)
    }
}

#[derive(Debug, Default)]
struct Module {
    /// (params, results) per type index, value types as bytes (0x7f = i32).
    types: Vec<(Vec<u8>, Vec<u8>)>,
    /// (module, name, type index) of imported functions.
    func_imports: Vec<(String, String, u32)>,
    other_imports: Vec<(String, String)>,
    exports: Vec<(String, u8)>,
    memory_min_pages: Option<u32>,
}

fn parse(bytes: &[u8]) -> Module {
    assert_eq!(&bytes[..8], b"\0asm\x01\0\0\0", "not a wasm 1.0 module");
    let mut r = Reader { bytes, pos: 8 };
    let mut m = Module::default();
    while r.pos < bytes.len() {
        let id = r.byte();
        let size = r.leb_u32() as usize;
        let end = r.pos + size;
        match id {
            1 => {
                for _ in 0..r.leb_u32() {
                    assert_eq!(r.byte(), 0x60, "function type");
                    let np = r.leb_u32() as usize;
                    let params = r.bytes(np).to_vec();
                    let nr = r.leb_u32() as usize;
                    let results = r.bytes(nr).to_vec();
                    m.types.push((params, results));
                }
            }
            2 => {
                for _ in 0..r.leb_u32() {
                    let module = r.name();
                    let name = r.name();
                    match r.byte() {
                        0 => {
                            let ty = r.leb_u32();
                            m.func_imports.push((module, name, ty));
                        }
                        1 => {
                            r.byte();
                            r.limits();
                            m.other_imports.push((module, name));
                        }
                        2 => {
                            r.limits();
                            m.other_imports.push((module, name));
                        }
                        3 => {
                            r.bytes(2);
                            m.other_imports.push((module, name));
                        }
                        k => panic!("unknown import kind {k}"),
                    }
                }
            }
            5 => {
                let memories = r.leb_u32();
                m.memory_min_pages = (memories > 0).then(|| r.limits().0);
            }
            7 => {
                for _ in 0..r.leb_u32() {
                    let name = r.name();
                    let kind = r.byte();
                    r.leb_u32();
                    m.exports.push((name, kind));
                }
            }
            _ => {}
        }
        r.pos = end;
    }
    m
}

#[test]
fn imports_only_bacalhau_host_functions() {
    let m = parse(&module_bytes());
    assert!(
        m.other_imports.is_empty(),
        "imports besides functions: {:?}",
        m.other_imports
    );
    let allowed_wasi = [
        "args_get",
        "args_sizes_get",
        "environ_get",
        "environ_sizes_get",
        "clock_time_get",
        "poll_oneoff",
        "fd_write",
        "proc_exit",
        "random_get",
    ];
    for (module, name, _) in &m.func_imports {
        match module.as_str() {
            "wasi_snapshot_preview1" => {
                assert!(
                    allowed_wasi.contains(&name.as_str()),
                    "unexpected WASI import {name}"
                )
            }
            "wasi:http/requests" => assert_eq!(name, "http_request"),
            other => panic!("import from unexpected module {other}.{name}"),
        }
    }
    let (_, _, ty) = m
        .func_imports
        .iter()
        .find(|(module, name, _)| module == "wasi:http/requests" && name == "http_request")
        .expect("http_request is imported");
    let (params, results) = &m.types[*ty as usize];
    assert_eq!(params, &vec![0x7f; 12], "http_request takes 12 x i32");
    assert_eq!(results, &vec![0x7f], "http_request returns i32");
}

#[test]
fn is_a_wasi_command_with_small_memory() {
    let m = parse(&module_bytes());
    assert!(
        m.exports.contains(&("_start".to_string(), 0)),
        "{:?}",
        m.exports
    );
    assert!(
        m.exports.contains(&("memory".to_string(), 2)),
        "{:?}",
        m.exports
    );
    // 32 KiB stack + static data + start-up heap fit in one 64 KiB page: thousands of
    // instances share one runner process, so a second page would double their memory.
    let pages = m.memory_min_pages.expect("memory section");
    assert_eq!(pages, 1, "initial memory of {pages} pages");
}

#[test]
fn release_module_is_at_most_100_kb() {
    let size = module_bytes().len();
    assert!(size <= 100_000, "publisher.wasm is {size} bytes");
}
