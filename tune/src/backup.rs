//! The backup: a manifest (JSON) plus a copy of every file tune replaced, in the backup
//! directory. The first apply records the originals; later applies only add entries for things
//! not yet recorded, so the state before tune ever ran is never overwritten. revert restores
//! from it and then deletes it.
use crate::atomic_write;
use crate::error::Error;
use crate::layout::Layout;
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub const MANIFEST: &str = "manifest.json";
const FORMAT: &str = "edge-sensors-tune-backup/1";

/// A kernel parameter's text before tune first wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysctlBackup {
    pub name: String,
    pub raw: String,
}

/// A file before tune first wrote it: `None` when it did not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileBackup {
    /// Path relative to the root.
    pub path: String,
    pub original: Option<Original>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    pub mode: u32,
    /// The copy's file name inside the backup directory.
    pub copy: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub sysctls: Vec<SysctlBackup>,
    pub files: Vec<FileBackup>,
    /// Directories tune created, outermost first; relative to the root when under it.
    pub created_dirs: Vec<PathBuf>,
}

impl Manifest {
    pub fn path(layout: &Layout) -> PathBuf {
        layout.backup_dir.join(MANIFEST)
    }

    /// The manifest in `layout`'s backup directory, `None` when there is none.
    pub fn load(layout: &Layout) -> Result<Option<Manifest>, Error> {
        let path = Manifest::path(layout);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        let value: Value =
            serde_json::from_str(&text).map_err(|e| Error::manifest(&path, e.to_string()))?;
        from_json(&value)
            .map(Some)
            .map_err(|reason| Error::manifest(&path, reason))
    }

    /// Writes the manifest atomically (it must never be half-written: it is the way back).
    pub fn save(&self, layout: &Layout) -> Result<(), Error> {
        let path = Manifest::path(layout);
        let text = serde_json::to_string_pretty(&to_json(self)).unwrap_or_default() + "\n";
        atomic_write::write(&path, text.as_bytes(), 0o600).map_err(|e| Error::io("write", &path, e))
    }

    pub fn has_sysctl(&self, name: &str) -> bool {
        self.sysctls.iter().any(|s| s.name == name)
    }

    /// Records a parameter's original text unless an earlier apply already did.
    pub fn record_sysctl(&mut self, name: &str, raw: &str) {
        if !self.has_sysctl(name) {
            self.sysctls.push(SysctlBackup {
                name: name.to_string(),
                raw: raw.to_string(),
            });
        }
    }

    /// Copies file `relative` (under the root) into the backup directory unless an earlier
    /// apply already recorded it.
    pub fn record_file(&mut self, layout: &Layout, relative: &str) -> Result<(), Error> {
        if self.files.iter().any(|f| f.path == relative) {
            return Ok(());
        }
        let path = layout.file(relative);
        let original = match fs::read(&path) {
            Ok(bytes) => {
                let mode = fs::metadata(&path)
                    .map_err(|e| Error::io("inspect", &path, e))?
                    .permissions()
                    .mode()
                    & 0o7777;
                let copy = format!("file-{}", self.files.len());
                let dest = layout.backup_dir.join(&copy);
                atomic_write::write(&dest, &bytes, 0o600)
                    .map_err(|e| Error::io("back up to", &dest, e))?;
                Some(Original { mode, copy })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io("back up", &path, e)),
        };
        self.files.push(FileBackup {
            path: relative.to_string(),
            original,
        });
        Ok(())
    }

    /// Records directories tune created, relative to the root when under it.
    pub fn record_dirs(&mut self, layout: &Layout, dirs: Vec<PathBuf>) {
        for dir in dirs {
            let dir = dir
                .strip_prefix(&layout.root)
                .map(Path::to_path_buf)
                .unwrap_or(dir);
            if !self.created_dirs.contains(&dir) {
                self.created_dirs.push(dir);
            }
        }
    }
}

fn to_json(m: &Manifest) -> Value {
    json!({
        "format": FORMAT,
        "sysctls": m.sysctls.iter().map(|s| json!({"name": s.name, "raw": s.raw})).collect::<Vec<_>>(),
        "files": m.files.iter().map(|f| match &f.original {
            Some(o) => json!({"path": f.path, "existed": true, "mode": o.mode, "copy": o.copy}),
            None => json!({"path": f.path, "existed": false}),
        }).collect::<Vec<_>>(),
        "created_dirs": m.created_dirs.iter().map(|d| d.to_string_lossy()).collect::<Vec<_>>(),
    })
}

fn from_json(v: &Value) -> Result<Manifest, String> {
    if v["format"] != FORMAT {
        return Err(format!("not a {FORMAT} manifest"));
    }
    let list = |key: &str| v[key].as_array().ok_or(format!("'{key}' is not a list"));
    let text = |e: &Value, key: &str| {
        e[key]
            .as_str()
            .map(str::to_string)
            .ok_or(format!("an entry lacks '{key}'"))
    };
    let mut m = Manifest::default();
    for e in list("sysctls")? {
        let name = text(e, "name")?;
        // Names become paths under /proc/sys: nothing that could leave it.
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(format!("'{name}' is not a kernel parameter name"));
        }
        m.sysctls.push(SysctlBackup {
            name,
            raw: text(e, "raw")?,
        });
    }
    for e in list("files")? {
        let original = match e["existed"].as_bool() {
            Some(true) => {
                let mode = e["mode"].as_u64().ok_or("a file entry lacks 'mode'")? as u32;
                let copy = text(e, "copy")?;
                if copy.contains('/') || copy.starts_with('.') {
                    return Err(format!("copy name '{copy}' is not a plain file name"));
                }
                Some(Original { mode, copy })
            }
            Some(false) => None,
            None => return Err("a file entry lacks 'existed'".to_string()),
        };
        let path = text(e, "path")?;
        if path.starts_with('/') || path.split('/').any(|c| c == "..") {
            return Err(format!("file path '{path}' leaves the root"));
        }
        m.files.push(FileBackup { path, original });
    }
    for d in list("created_dirs")? {
        m.created_dirs.push(PathBuf::from(
            d.as_str().ok_or("a directory is not a string")?,
        ));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_round_trips_through_json() {
        let m = Manifest {
            sysctls: vec![SysctlBackup {
                name: "a.b".into(),
                raw: "32768\t60999\n".into(),
            }],
            files: vec![
                FileBackup {
                    path: "etc/docker/daemon.json".into(),
                    original: Some(Original {
                        mode: 0o644,
                        copy: "file-0".into(),
                    }),
                },
                FileBackup {
                    path: "etc/x".into(),
                    original: None,
                },
            ],
            created_dirs: vec!["etc/sysctl.d".into(), "/abs/backup".into()],
        };
        assert_eq!(from_json(&to_json(&m)), Ok(m));
    }

    #[test]
    fn foreign_or_damaged_manifests_are_rejected() {
        assert!(from_json(&json!({"format": "other"})).is_err());
        let bad_copy = json!({"format": FORMAT, "sysctls": [], "created_dirs": [],
            "files": [{"path": "p", "existed": true, "mode": 420, "copy": "../../etc/passwd"}]});
        assert!(from_json(&bad_copy).is_err());
        let bad_name = json!({"format": FORMAT, "files": [], "created_dirs": [],
            "sysctls": [{"name": "net/../../etc/passwd", "raw": "x"}]});
        assert!(from_json(&bad_name).is_err());
        let no_list = json!({"format": FORMAT, "sysctls": 3, "files": [], "created_dirs": []});
        assert!(from_json(&no_list).is_err());
    }
}
