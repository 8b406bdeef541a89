//! `tune revert`: put back every kernel value and file exactly as the first apply found them,
//! remove the files and directories it created, then delete the backup. If anything cannot be
//! restored the backup is kept so the revert can be retried.
use crate::backup::Manifest;
use crate::error::{Error, ErrorKind};
use crate::layout::Layout;
use crate::{atomic_write, sysctl};
use std::fs;
use std::io::{self, Write};

pub fn run(layout: &Layout, euid: u32, out: &mut dyn Write) -> Result<(), Error> {
    let Some(manifest) = Manifest::load(layout)? else {
        let _ = writeln!(
            out,
            "nothing to revert: no backup at {}",
            Manifest::path(layout).display()
        );
        return Ok(());
    };
    layout.require_privilege(euid)?;
    let mut failed = 0;
    for s in &manifest.sysctls {
        match sysctl::write(&layout.proc_sys, &s.name, &s.raw) {
            Ok(()) => {
                let _ = writeln!(out, "restored {} = {}", s.name, s.raw.trim());
            }
            Err(e) => {
                failed += 1;
                eprintln!("tune: failed to restore {}: {e}", s.name);
            }
        }
    }
    for f in &manifest.files {
        let path = layout.file(&f.path);
        let result = match &f.original {
            Some(orig) => fs::read(layout.backup_dir.join(&orig.copy))
                .and_then(|bytes| atomic_write::write(&path, &bytes, orig.mode))
                .map(|()| "restored"),
            None => match fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok("removed (it did not exist before)"),
            },
        };
        match result {
            Ok(what) => {
                let _ = writeln!(out, "{what} {}", path.display());
            }
            Err(e) => {
                failed += 1;
                eprintln!("tune: failed to restore {}: {e}", path.display());
            }
        }
    }
    if failed > 0 {
        return Err(Error::new(ErrorKind::Incomplete { failed }));
    }
    delete_backup(layout, &manifest)?;
    let _ = writeln!(
        out,
        "reverted; backup {} removed",
        layout.backup_dir.display()
    );
    Ok(())
}

/// Deletes the copies and the manifest, then the directories apply created, innermost first.
/// A directory someone else has put files in since is left alone.
fn delete_backup(layout: &Layout, manifest: &Manifest) -> Result<(), Error> {
    for f in &manifest.files {
        if let Some(orig) = &f.original {
            let copy = layout.backup_dir.join(&orig.copy);
            fs::remove_file(&copy).map_err(|e| Error::io("remove", &copy, e))?;
        }
    }
    let path = Manifest::path(layout);
    fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
    for dir in manifest.created_dirs.iter().rev() {
        let dir = layout.root.join(dir);
        match fs::remove_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => eprintln!("tune: note: kept {}: {e}", dir.display()),
        }
    }
    Ok(())
}
