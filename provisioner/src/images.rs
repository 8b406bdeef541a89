//! `images`: builds our images locally, FROM scratch, with static binaries from the workspace,
//! because nothing can be pulled here. Each image gets a generated build context under
//! `target/images/<name>/` and carries a fingerprint label of its inputs, so an unchanged image
//! is not rebuilt (tests call this every run).
use crate::docker::Docker;
use crate::error::Error;
use std::collections::hash_map::DefaultHasher;
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "x86_64-unknown-linux-gnu";
const FINGERPRINT: &str = "edge-sensors.fingerprint";

/// One image: its name, the package and binaries it needs, and the Dockerfile body after the
/// COPY of those binaries.
struct ImageSpec {
    name: &'static str,
    package: &'static str,
    bins: &'static [&'static str],
    /// Copy the workspace's `target/modules/` into `/app/modules/` (the runner).
    with_modules: bool,
    entrypoint: &'static str,
}

const IMAGES: [ImageSpec; 4] = [
    ImageSpec {
        name: "standin",
        package: "provisioner",
        bins: &["standin"],
        with_modules: false,
        entrypoint: "/standin",
    },
    ImageSpec {
        name: "proxy",
        package: "proxy",
        bins: &["proxy"],
        with_modules: false,
        entrypoint: "/proxy",
    },
    ImageSpec {
        name: "puller",
        package: "puller",
        bins: &["puller"],
        with_modules: false,
        entrypoint: "/puller",
    },
    ImageSpec {
        name: "runner",
        package: "edge-node",
        bins: &["edge-node"],
        with_modules: true,
        entrypoint: "/edge-node",
    },
];

/// Image names `--only` accepts.
pub const NAMES: [&str; 4] = ["standin", "proxy", "puller", "runner"];

/// The tag `images` gives image `name`, which the `standin` profile refers to.
pub fn tag(name: &str) -> String {
    format!("edge-sensors/{name}:local")
}

/// Builds every image it can; an image whose package fails to build is reported and skipped,
/// and the command then fails listing them (the others are still usable).
pub fn build_all(
    docker: &Docker,
    workspace: &Path,
    run_cargo: bool,
    only: &[String],
) -> Result<(), Error> {
    let static_dir = workspace
        .join("target")
        .join("static")
        .join(TARGET)
        .join("release");
    let mut failed = Vec::new();
    for spec in IMAGES
        .iter()
        .filter(|s| only.is_empty() || only.iter().any(|o| o == s.name))
    {
        let result = (|| {
            if run_cargo {
                cargo_build_static(workspace, spec.package)?;
            }
            build_image(docker, workspace, &static_dir, spec)
        })();
        if let Err(e) = result {
            eprintln!("images: {}: {e}", tag(spec.name));
            failed.push(spec.name);
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::images(format!(
            "could not build {} (see above)",
            failed.join(", ")
        )))
    }
}

/// `cargo build --release` with static glibc (`+crt-static`) into `target/static`, a separate
/// target dir so the normal dynamic builds of everyone else are not invalidated.
fn cargo_build_static(workspace: &Path, package: &str) -> Result<(), Error> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let target_dir = workspace.join("target").join("static");
    eprintln!("images: cargo build --release -p {package} (static)");
    let status = Command::new(&cargo)
        .current_dir(workspace)
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .args(["build", "--release", "--target", TARGET, "--target-dir"])
        .arg(&target_dir)
        .args(["-p", package])
        .status()
        .map_err(|e| Error::images(format!("cannot run {cargo}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::images(format!(
            "cargo build -p {package} failed ({status})"
        )))
    }
}

fn build_image(
    docker: &Docker,
    workspace: &Path,
    static_dir: &Path,
    spec: &ImageSpec,
) -> Result<(), Error> {
    let context = workspace.join("target").join("images").join(spec.name);
    if context.exists() {
        std::fs::remove_dir_all(&context).map_err(|e| Error::io(&context, e))?;
    }
    std::fs::create_dir_all(context.join("etc")).map_err(|e| Error::io(&context, e))?;
    let mut hasher = DefaultHasher::new();
    let mut dockerfile = String::from("FROM scratch\n");
    for bin in spec.bins {
        let src = static_dir.join(bin);
        let bytes = std::fs::read(&src).map_err(|e| Error::io(&src, e))?;
        if has_interpreter(&bytes) {
            return Err(Error::images(format!(
                "{} is dynamically linked; a scratch image needs a static binary",
                src.display()
            )));
        }
        hasher.write(&bytes);
        write_file(&context.join(bin), &bytes)?;
        dockerfile.push_str(&format!("COPY {bin} /{bin}\n"));
    }
    // Checked here: static glibc 2.36 in a scratch image resolves /etc/hosts entries
    // (--add-host) and docker's embedded DNS even without this file; it pins the order
    // anyway, since older static glibc builds needed it.
    write_file(
        &context.join("etc").join("nsswitch.conf"),
        b"hosts: files dns\n",
    )?;
    dockerfile.push_str("COPY etc/ /etc/\n");
    if spec.with_modules {
        let modules = workspace.join("target").join("modules");
        let dest = context.join("modules");
        std::fs::create_dir_all(&dest).map_err(|e| Error::io(&dest, e))?;
        copy_modules(&modules, &dest, &mut hasher)?;
        dockerfile.push_str("COPY modules/ /app/modules/\n");
    }
    dockerfile.push_str(&format!("ENTRYPOINT [\"{}\"]\n", spec.entrypoint));
    hasher.write(dockerfile.as_bytes());
    let fingerprint = format!("{:016x}", hasher.finish());
    let tag = tag(spec.name);
    if current_fingerprint(docker, &tag).as_deref() == Some(fingerprint.as_str()) {
        eprintln!("images: {tag} is up to date");
        return Ok(());
    }
    dockerfile.push_str(&format!("LABEL {FINGERPRINT}=\"{fingerprint}\"\n"));
    write_file(&context.join("Dockerfile"), dockerfile.as_bytes())?;
    let context_str = context.display().to_string();
    docker.run(
        &["build", "-q", "-t", &tag, &context_str],
        &format!("image {tag}"),
        "build",
    )?;
    eprintln!("images: built {tag}");
    Ok(())
}

/// Copies `*.wasm` from the modules directory (missing directory: the image just has none, and
/// edge nodes get the mounted directory anyway).
fn copy_modules(from: &Path, to: &Path, hasher: &mut DefaultHasher) -> Result<(), Error> {
    let Ok(entries) = std::fs::read_dir(from) else {
        eprintln!(
            "images: warning: {} does not exist; run scripts/build-wasm for the publisher module",
            from.display()
        );
        return Ok(());
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .collect();
    files.sort();
    for file in files {
        let bytes = std::fs::read(&file).map_err(|e| Error::io(&file, e))?;
        hasher.write(&bytes);
        if let Some(name) = file.file_name() {
            write_file(&to.join(name), &bytes)?;
        }
    }
    Ok(())
}

fn current_fingerprint(docker: &Docker, tag: &str) -> Option<String> {
    let format = format!("{{{{index .Config.Labels \"{FINGERPRINT}\"}}}}");
    let out = docker
        .run(
            &["image", "inspect", "--format", &format, tag],
            tag,
            "inspect",
        )
        .ok()?;
    Some(out.trim().to_string()).filter(|f| !f.is_empty())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if bytes.starts_with(b"\x7fELF") {
            0o755
        } else {
            0o644
        };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io(path, e))?;
    }
    Ok(())
}

/// Whether a 64-bit little-endian ELF file has a PT_INTERP program header, i.e. needs a
/// dynamic loader that a scratch image does not have. (Static-pie binaries have none.)
fn has_interpreter(elf: &[u8]) -> bool {
    const PT_INTERP: u32 = 3;
    let u16_at = |o: usize| {
        elf.get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let u32_at = |o: usize| {
        elf.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |o: usize| {
        elf.get(o..o + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
    };
    if !elf.starts_with(b"\x7fELF\x02\x01") {
        // Not a 64-bit LE ELF: cannot be run in our image either way; treat as unusable.
        return true;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        return true;
    };
    (0..phnum).any(|i| u32_at(phoff as usize + i * phentsize) == Some(PT_INTERP))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_dynamic_binaries() {
        // The test binary itself is dynamically linked in a normal build.
        let me = std::fs::read(std::env::current_exe().expect("exe")).expect("read");
        assert!(has_interpreter(&me));
        assert!(has_interpreter(b"not an elf"));
    }
}
