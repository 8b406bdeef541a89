//! A tiny hand-rolled WebAssembly binary encoder for runner tests: enough to write guests that
//! poke the host ABI's edge cases directly (no wat crate, no wasm toolchain needed).
#![allow(dead_code)]

pub const I32: u8 = 0x7f;
pub const I64: u8 = 0x7e;

fn uleb(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn sleb(mut v: i64, out: &mut Vec<u8>) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        let done = (v == 0 && byte & 0x40 == 0) || (v == -1 && byte & 0x40 != 0);
        out.push(if done { byte } else { byte | 0x80 });
        if done {
            return;
        }
    }
}

fn name(s: &str, out: &mut Vec<u8>) {
    uleb(s.len() as u64, out);
    out.extend_from_slice(s.as_bytes());
}

/// A function body under construction (instructions only; `end` is added for you).
#[derive(Default, Clone)]
pub struct Body {
    pub code: Vec<u8>,
}

impl Body {
    pub fn new() -> Body {
        Body::default()
    }
    pub fn i32(mut self, v: i32) -> Self {
        self.code.push(0x41);
        sleb(i64::from(v), &mut self.code);
        self
    }
    pub fn i64(mut self, v: i64) -> Self {
        self.code.push(0x42);
        sleb(v, &mut self.code);
        self
    }
    pub fn call(mut self, f: u32) -> Self {
        self.code.push(0x10);
        uleb(u64::from(f), &mut self.code);
        self
    }
    pub fn get(mut self, l: u32) -> Self {
        self.code.push(0x20);
        uleb(u64::from(l), &mut self.code);
        self
    }
    pub fn set(mut self, l: u32) -> Self {
        self.code.push(0x21);
        uleb(u64::from(l), &mut self.code);
        self
    }
    /// `i32.load` from the address on the stack.
    pub fn load32(mut self) -> Self {
        self.code.extend_from_slice(&[0x28, 0x02, 0x00]);
        self
    }
    pub fn load64(mut self) -> Self {
        self.code.extend_from_slice(&[0x29, 0x03, 0x00]);
        self
    }
    /// `i32.store` (address, value on the stack).
    pub fn store32(mut self) -> Self {
        self.code.extend_from_slice(&[0x36, 0x02, 0x00]);
        self
    }
    pub fn store64(mut self) -> Self {
        self.code.extend_from_slice(&[0x37, 0x03, 0x00]);
        self
    }
    /// Stores constant `v` at constant address `at`.
    pub fn poke(self, at: i32, v: i32) -> Self {
        self.i32(at).i32(v).store32()
    }
    pub fn op(mut self, byte: u8) -> Self {
        self.code.push(byte);
        self
    }
    pub fn drop_(self) -> Self {
        self.op(0x1a)
    }
    pub fn grow(mut self) -> Self {
        self.code.extend_from_slice(&[0x40, 0x00]);
        self
    }
    pub fn loop_(mut self) -> Self {
        self.code.extend_from_slice(&[0x03, 0x40]);
        self
    }
    pub fn block(mut self) -> Self {
        self.code.extend_from_slice(&[0x02, 0x40]);
        self
    }
    pub fn if_(mut self) -> Self {
        self.code.extend_from_slice(&[0x04, 0x40]);
        self
    }
    pub fn end(self) -> Self {
        self.op(0x0b)
    }
    pub fn br(mut self, depth: u32) -> Self {
        self.code.push(0x0c);
        uleb(u64::from(depth), &mut self.code);
        self
    }
    pub fn br_if(mut self, depth: u32) -> Self {
        self.code.push(0x0d);
        uleb(u64::from(depth), &mut self.code);
        self
    }
}

struct Func {
    ty: u32,
    locals: Vec<u8>,
    body: Body,
}

/// A module: imports, functions, one memory exported as `memory`, `_start` export.
#[derive(Default)]
pub struct Module {
    types: Vec<(Vec<u8>, Vec<u8>)>,
    imports: Vec<(String, String, u32)>,
    funcs: Vec<Func>,
    memory: Option<(u32, Option<u32>)>,
    data: Vec<(u32, Vec<u8>)>,
    start: Option<u32>,
}

impl Module {
    pub fn new() -> Module {
        Module {
            memory: Some((1, None)),
            ..Module::default()
        }
    }

    fn ty(&mut self, params: &[u8], results: &[u8]) -> u32 {
        let key = (params.to_vec(), results.to_vec());
        if let Some(i) = self.types.iter().position(|t| *t == key) {
            return i as u32;
        }
        self.types.push(key);
        (self.types.len() - 1) as u32
    }

    /// Imports a function; returns its index. Import all functions before defining any.
    pub fn import(&mut self, module: &str, field: &str, params: &[u8], results: &[u8]) -> u32 {
        assert!(self.funcs.is_empty(), "imports first");
        let ty = self.ty(params, results);
        self.imports.push((module.into(), field.into(), ty));
        (self.imports.len() - 1) as u32
    }

    /// Imports a WASI preview1 function with the usual `(i32...) -> i32` shape.
    pub fn wasi(&mut self, field: &str, params: &[u8]) -> u32 {
        let results: &[u8] = if field == "proc_exit" { &[] } else { &[I32] };
        self.import("wasi_snapshot_preview1", field, params, results)
    }

    /// Imports Bacalhau's `http_request` (12 × i32 → i32).
    pub fn http(&mut self) -> u32 {
        self.import("wasi:http/requests", "http_request", &[I32; 12], &[I32])
    }

    /// Defines a function with `i32` locals; returns its index.
    pub fn func(&mut self, params: &[u8], results: &[u8], i32_locals: u32, body: Body) -> u32 {
        let ty = self.ty(params, results);
        let mut locals = Vec::new();
        if i32_locals > 0 {
            uleb(1, &mut locals);
            uleb(u64::from(i32_locals), &mut locals);
            locals.push(I32);
        } else {
            uleb(0, &mut locals);
        }
        self.funcs.push(Func { ty, locals, body });
        (self.imports.len() + self.funcs.len() - 1) as u32
    }

    /// Defines `_start` (no params, `locals` i32 locals).
    pub fn start(&mut self, locals: u32, body: Body) {
        let f = self.func(&[], &[], locals, body);
        self.start = Some(f);
    }

    pub fn memory(&mut self, min_pages: u32, max_pages: Option<u32>) {
        self.memory = Some((min_pages, max_pages));
    }

    pub fn data(&mut self, at: u32, bytes: &[u8]) {
        self.data.push((at, bytes.to_vec()));
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = b"\0asm\x01\0\0\0".to_vec();
        let section = |id: u8, items: Vec<Vec<u8>>, out: &mut Vec<u8>| {
            if items.is_empty() {
                return;
            }
            let mut content = Vec::new();
            uleb(items.len() as u64, &mut content);
            for i in items {
                content.extend(i);
            }
            out.push(id);
            uleb(content.len() as u64, out);
            out.extend(content);
        };
        let types = self
            .types
            .iter()
            .map(|(p, r)| {
                let mut t = vec![0x60];
                uleb(p.len() as u64, &mut t);
                t.extend(p);
                uleb(r.len() as u64, &mut t);
                t.extend(r);
                t
            })
            .collect();
        section(1, types, &mut out);
        let imports = self
            .imports
            .iter()
            .map(|(m, f, ty)| {
                let mut i = Vec::new();
                name(m, &mut i);
                name(f, &mut i);
                i.push(0);
                uleb(u64::from(*ty), &mut i);
                i
            })
            .collect();
        section(2, imports, &mut out);
        let funcs = self
            .funcs
            .iter()
            .map(|f| {
                let mut v = Vec::new();
                uleb(u64::from(f.ty), &mut v);
                v
            })
            .collect();
        section(3, funcs, &mut out);
        if let Some((min, max)) = self.memory {
            let mut m = Vec::new();
            match max {
                Some(max) => {
                    m.push(1);
                    uleb(u64::from(min), &mut m);
                    uleb(u64::from(max), &mut m);
                }
                None => {
                    m.push(0);
                    uleb(u64::from(min), &mut m);
                }
            }
            section(5, vec![m], &mut out);
        }
        let mut exports = Vec::new();
        if self.memory.is_some() {
            let mut e = Vec::new();
            name("memory", &mut e);
            e.push(2);
            uleb(0, &mut e);
            exports.push(e);
        }
        if let Some(s) = self.start {
            let mut e = Vec::new();
            name("_start", &mut e);
            e.push(0);
            uleb(u64::from(s), &mut e);
            exports.push(e);
        }
        section(7, exports, &mut out);
        let code = self
            .funcs
            .iter()
            .map(|f| {
                let mut body = f.locals.clone();
                body.extend(&f.body.code);
                body.push(0x0b);
                let mut c = Vec::new();
                uleb(body.len() as u64, &mut c);
                c.extend(body);
                c
            })
            .collect();
        section(10, code, &mut out);
        let data = self
            .data
            .iter()
            .map(|(at, bytes)| {
                let mut d = vec![0x00, 0x41];
                sleb(i64::from(*at), &mut d);
                d.push(0x0b);
                uleb(bytes.len() as u64, &mut d);
                d.extend(bytes);
                d
            })
            .collect();
        section(11, data, &mut out);
        out
    }

    /// Writes the module to a fresh temporary file and returns its path.
    pub fn write_temp(&self, label: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join("edge-node-tests");
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(format!("{}.wasm", edge_tests::unique_name(label)));
        std::fs::write(&path, self.encode()).expect("write wasm");
        path
    }
}
