//! Where things are: module paths inside a job mapped to this host, and memory sizes.
use super::error::{Error, ErrorKind};
use super::model::{Engine, Task};
use super::validate::path_is_under;
use std::path::{Path, PathBuf};

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

/// Parses a memory size as Bacalhau does (go-humanize): a number with an optional unit,
/// case-insensitive; `kb`/`mb`/`gb`/`tb` (and `k`, `m`, ...) are powers of 1000, `ki`/`kib`,
/// `mi`/`mib`, ... powers of 1024; no unit means bytes. "36mb" = 36,000,000.
pub fn parse_memory(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = (&t[..split], t[split..].trim().to_ascii_lowercase());
    let value: f64 = number
        .parse()
        .map_err(|_| format!("memory {text:?}: expected a number with an optional unit"))?;
    let multiplier: u64 = match unit.as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "m" | "mb" => 1000_u64.pow(2),
        "g" | "gb" => 1000_u64.pow(3),
        "t" | "tb" => 1000_u64.pow(4),
        "ki" | "kib" => 1 << 10,
        "mi" | "mib" => 1 << 20,
        "gi" | "gib" => 1 << 30,
        "ti" | "tib" => 1 << 40,
        _ => return Err(format!("memory {text:?}: unknown unit {unit:?}")),
    };
    let bytes = value * multiplier as f64;
    if !bytes.is_finite() || bytes > u64::MAX as f64 {
        return Err(format!("memory {text:?} is too large"));
    }
    Ok(bytes.ceil() as u64)
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
    fn refuses_paths_outside_targets_and_remote_sources() {
        let t = task("/opt/p.wasm", &[("localDirectory", "/a", "/app")]);
        assert_eq!(
            resolve_module_path(&t, None).unwrap_err().kind(),
            ErrorKind::Path
        );
        let t = task("/app/p.wasm", &[("urlDownload", "http://x", "/app")]);
        assert!(resolve_module_path(&t, None).is_err());
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("36mb"), Ok(36_000_000));
        assert_eq!(parse_memory("64Mi"), Ok(64 << 20));
        assert_eq!(parse_memory("1gb"), Ok(1_000_000_000));
        assert_eq!(parse_memory("1GiB"), Ok(1 << 30));
        assert_eq!(parse_memory("4096"), Ok(4096));
        assert_eq!(parse_memory("0.5 kb"), Ok(500));
        assert!(parse_memory("lots").is_err());
        assert!(parse_memory("5 parsecs").is_err());
    }
}
