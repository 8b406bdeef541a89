//! Crash-safe file replacement: write a temporary file beside the target, fsync it, rename it
//! over the target, fsync the directory. A crash leaves either the old or the new file, never a
//! half-written daemon.json that would stop docker from starting.
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Replaces `path` with `contents`, with permission bits `mode`.
pub fn write(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let dir = parent(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tune-{}.tmp", std::process::id()));
    let result = write_temp(&tmp, contents, mode).and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        // Best effort: the temporary file is ours and useless after a failure.
        let _ = fs::remove_file(&tmp);
    }
    result?;
    fs::File::open(&dir)?.sync_all()
}

fn write_temp(tmp: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(tmp)?;
    // The umask may have cleared bits of `mode`; set them exactly.
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    file.write_all(contents)?;
    file.sync_all()
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Creates `dir` and any missing parents, returning the directories it created, outermost
/// first, so revert can remove exactly those.
pub fn create_dirs(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if d.as_os_str().is_empty() || d.exists() {
            break;
        }
        missing.push(d.to_path_buf());
        cur = d.parent();
    }
    missing.reverse();
    for d in &missing {
        fs::create_dir(d)?;
    }
    Ok(missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_contents_and_mode_and_leaves_no_temp_file() {
        let dir = std::env::temp_dir().join(format!("tune-aw-{}", std::process::id()));
        let created = create_dirs(&dir.join("a/b")).expect("mkdir");
        assert_eq!(created, vec![dir.clone(), dir.join("a"), dir.join("a/b")]);
        let file = dir.join("a/b/f");
        write(&file, b"one", 0o600).expect("write");
        write(&file, b"two", 0o640).expect("rewrite");
        assert_eq!(fs::read(&file).expect("read"), b"two");
        let mode = fs::metadata(&file).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        let entries = fs::read_dir(dir.join("a/b")).expect("ls").count();
        assert_eq!(entries, 1);
        assert!(create_dirs(&dir.join("a")).expect("again").is_empty());
        fs::remove_dir_all(&dir).expect("cleanup");
    }
}
