//! Reading and writing kernel parameters as files under a /proc/sys directory.
//!
//! A parameter is in one of three states: missing (the module that owns it is not loaded, or the
//! kernel is too old), read-only (the kernel shows it with mode 0444, e.g. a global parameter
//! seen from a network namespace other than the initial one), or writable. Writes go in place:
//! /proc/sys files cannot be replaced by rename, and the kernel parses the whole value from one
//! write(2).
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The file holding parameter `name` ("net.core.somaxconn" → net/core/somaxconn).
pub fn path(proc_sys: &Path, name: &str) -> PathBuf {
    proc_sys.join(name.replace('.', "/"))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Missing,
    /// The raw text the kernel gave, kept byte for byte for revert.
    ReadOnly(String),
    Writable(String),
}

/// Reads a parameter's state. Any error other than "not found" is an error: tune must not
/// mistake a permission problem for an absent parameter.
pub fn read(proc_sys: &Path, name: &str) -> io::Result<State> {
    let file = path(proc_sys, name);
    let meta = match fs::metadata(&file) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(State::Missing),
        Err(e) => return Err(e),
    };
    let raw = fs::read_to_string(&file)?;
    if meta.permissions().mode() & 0o222 == 0 {
        Ok(State::ReadOnly(raw))
    } else {
        Ok(State::Writable(raw))
    }
}

/// The numbers of a raw value ("32768\t60999\n" → [32768, 60999]); `None` when any word is not
/// a number, which tune then reports instead of guessing.
pub fn numbers(raw: &str) -> Option<Vec<u64>> {
    let values: Result<Vec<u64>, _> = raw.split_whitespace().map(str::parse).collect();
    values.ok().filter(|v| !v.is_empty())
}

/// The text tune writes for a value: numbers separated by a tab, as the kernel prints them.
pub fn format(values: &[u64]) -> String {
    values
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join("\t")
}

/// Writes `text` to parameter `name` in one write(2), truncating (a no-op on /proc, needed for
/// the plain files of a test tree).
pub fn write(proc_sys: &Path, name: &str, text: &str) -> io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path(proc_sys, name))?;
    file.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_paths() {
        assert_eq!(
            path(Path::new("/proc/sys"), "net.ipv4.ip_local_port_range"),
            Path::new("/proc/sys/net/ipv4/ip_local_port_range")
        );
    }

    #[test]
    fn parses_kernel_text() {
        assert_eq!(numbers("32768\t60999\n"), Some(vec![32768, 60999]));
        assert_eq!(numbers("4096\n"), Some(vec![4096]));
        assert_eq!(numbers("abc\n"), None);
        assert_eq!(numbers("\n"), None);
        assert_eq!(format(&[1024, 65535]), "1024\t65535");
    }
}
