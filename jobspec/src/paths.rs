//! Where things are: paths inside a job (input source targets, the wasm entry module) mapped
//! to this host, and the compute node's allow-listed local paths.
use super::error::{Error, ErrorKind};
use super::model::{Engine, Task};
use std::path::{Component, Path, PathBuf};

/// Maps a wasm task's `entryModule` (a path inside the job, e.g. /app/modules/publisher.wasm)
/// to a host path through the input source whose `target` contains it (the longest, if
/// several do). For a `localDirectory` source the host directory is its `sourcePath`, or
/// `host_root_for_local_dirs` when given — that replaces what the edge node would have
/// mounted there. Example: source /app/modules → target /app/modules and host root
/// `<workspace>/target/modules` give `<workspace>/target/modules/publisher.wasm`.
pub fn resolve_module_path(
    task: &Task,
    host_root_for_local_dirs: Option<&Path>,
) -> Result<PathBuf, Error> {
    let err = |m: String| Error::new(ErrorKind::Path, m);
    let Engine::Wasm { entry_module, .. } = &task.engine else {
        return Err(err(format!("task {:?} is not a wasm task", task.name)));
    };
    let module = Path::new(entry_module);
    let source = task
        .input_sources
        .iter()
        .filter(|s| path_is_under(module, Path::new(&s.target)))
        .max_by_key(|s| Path::new(&s.target).components().count())
        .ok_or_else(|| {
            err(format!(
                "{entry_module:?} is not under any input source target"
            ))
        })?;
    if !source.source_type.eq_ignore_ascii_case("localDirectory") {
        return Err(err(format!(
            "{entry_module:?} comes from a {:?} input source; only localDirectory can be run locally",
            source.source_type
        )));
    }
    let relative = module
        .strip_prefix(&source.target)
        .map_err(|_| err(format!("{entry_module:?} is not under {:?}", source.target)))?;
    let base = match host_root_for_local_dirs {
        Some(root) => root.to_path_buf(),
        None => PathBuf::from(source.source_path.as_deref().unwrap_or_default()),
    };
    Ok(base.join(relative))
}

/// True if `path` is `dir` or inside it, comparing whole components (so /app/mod is not
/// under /app/m).
pub fn path_is_under(path: &Path, dir: &Path) -> bool {
    let clean = |p: &Path| -> Vec<String> {
        p.components()
            .filter(|c| !matches!(c, Component::CurDir))
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect()
    };
    let (p, d) = (clean(path), clean(dir));
    if p.iter().any(|c| c == "..") {
        return false;
    }
    p.len() >= d.len() && p[..d.len()] == d[..]
}

/// One entry of a compute node's `Compute.AllowListedLocalPaths`: a doublestar glob with an
/// optional `:rw` (read-write) or `:ro` suffix, read-only by default
/// (pkg/storage/local_directory at v1.7.0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedPath {
    pub pattern: String,
    pub read_write: bool,
}

impl AllowedPath {
    pub fn parse(raw: &str) -> AllowedPath {
        let (pattern, read_write) = match raw.rsplit_once(':') {
            Some((p, "rw")) => (p, true),
            Some((p, "ro")) => (p, false),
            _ => (raw, false),
        };
        AllowedPath {
            pattern: pattern.to_string(),
            read_write,
        }
    }

    /// Bacalhau's `isInAllowedPaths`: a read-write source needs a `:rw` entry, and the source
    /// path must match the glob (`**` any number of segments, `*` and `?` within one).
    pub fn allows(&self, source_path: &str, read_write: bool) -> bool {
        (!read_write || self.read_write) && glob_match(&self.pattern, source_path)
    }
}

/// doublestar.PathMatch, for the patterns compute configs use.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    let pat: Vec<&str> = pattern.split('/').collect();
    let segs: Vec<&str> = path.split('/').collect();
    match_segments(&pat, &segs)
}

fn match_segments(pat: &[&str], segs: &[&str]) -> bool {
    match pat.split_first() {
        None => segs.is_empty(),
        Some((&"**", rest)) => (0..=segs.len()).any(|skip| match_segments(rest, &segs[skip..])),
        Some((p, rest)) => match segs.split_first() {
            Some((s, srest)) => {
                match_segment(p.as_bytes(), s.as_bytes()) && match_segments(rest, srest)
            }
            None => false,
        },
    }
}

fn match_segment(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|skip| match_segment(rest, &s[skip..])),
        Some((b'?', rest)) => !s.is_empty() && match_segment(rest, &s[1..]),
        Some((c, rest)) => s.first() == Some(c) && match_segment(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{InputSource, Network};

    fn task(entry: &str, sources: &[(&str, &str, &str)]) -> Task {
        Task {
            name: "t".into(),
            engine: Engine::Wasm {
                entry_module: entry.into(),
                entrypoint: "_start".into(),
                parameters: vec![],
                import_modules: vec![],
            },
            env: vec![],
            input_sources: sources
                .iter()
                .map(|(ty, src, target)| InputSource {
                    source_type: ty.to_string(),
                    source_path: Some(src.to_string()),
                    read_write: false,
                    target: target.to_string(),
                })
                .collect(),
            memory_bytes: None,
            cpu: None,
            network: Network::Host,
            ports: vec![],
            queue_timeout: 0,
            execution_timeout: 0,
        }
    }

    #[test]
    fn maps_through_the_deepest_local_directory() {
        let t = task(
            "/app/modules/p.wasm",
            &[
                ("localDirectory", "/srv/app", "/app/"),
                ("localDirectory", "/m", "/app/modules"),
            ],
        );
        assert_eq!(
            resolve_module_path(&t, None).unwrap(),
            PathBuf::from("/m/p.wasm")
        );
        assert_eq!(
            resolve_module_path(&t, Some(Path::new("/ws/target/modules"))).unwrap(),
            PathBuf::from("/ws/target/modules/p.wasm")
        );
        let t = task(
            "/app/modules/p.wasm",
            &[("localDirectory", "/app/", "/app/")],
        );
        assert_eq!(
            resolve_module_path(&t, Some(Path::new("/ws"))).unwrap(),
            PathBuf::from("/ws/modules/p.wasm")
        );
    }

    #[test]
    fn allowed_local_paths_glob_and_read_write() {
        let app = AllowedPath::parse("/app/**:rw");
        assert!(app.read_write);
        assert!(app.allows("/app/modules", true));
        assert!(app.allows("/app", false));
        assert!(!app.allows("/srv/modules", false));
        let ro = AllowedPath::parse("/data/*");
        assert!(!ro.read_write);
        assert!(ro.allows("/data/x", false));
        assert!(!ro.allows("/data/x", true), "read-write needs :rw");
        assert!(!ro.allows("/data/x/y", false), "* stays in one segment");
    }

    #[test]
    fn path_under_compares_components() {
        assert!(path_is_under(
            Path::new("/app/modules/p.wasm"),
            Path::new("/app/")
        ));
        assert!(path_is_under(
            Path::new("/app/modules/p.wasm"),
            Path::new("/app/modules")
        ));
        assert!(!path_is_under(
            Path::new("/app/modules/p.wasm"),
            Path::new("/app/mod")
        ));
        assert!(!path_is_under(
            Path::new("/app/../etc/p"),
            Path::new("/app")
        ));
    }

    #[test]
    fn refuses_paths_outside_targets_and_remote_sources() {
        let t = task("/opt/p.wasm", &[("localDirectory", "/a", "/app")]);
        assert_eq!(
            resolve_module_path(&t, None).unwrap_err().kind(),
            ErrorKind::Path
        );
        let t = task("/app/p.wasm", &[("urlDownload", "http://x", "/app")]);
        assert!(resolve_module_path(&t, None).is_err());
    }
}
