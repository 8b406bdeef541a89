//! Paths of the workspace's binaries, for tests in crates other than the binary's own.
//!
//! Cargo only exposes `CARGO_BIN_EXE_*` to a package's own tests, so cross-crate tests find
//! binaries next to the test executable's profile directory. The test command
//! (`scripts/test`) runs `cargo build --workspace --bins` first.
use std::path::PathBuf;

/// `target/<profile>/` of the running test.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test-binary>
    exe.parent()
        .and_then(|deps| deps.parent())
        .map(PathBuf::from)
        .expect("test binary lives in target/<profile>/deps")
}

/// Path of workspace binary `name`; panics with the command to build it if it is missing.
pub fn bin_path(name: &str) -> PathBuf {
    let path = target_dir().join(name);
    assert!(
        path.exists(),
        "binary {} not found; build it first with `cargo build --workspace --bins` \
         (scripts/test does this)",
        path.display()
    );
    path
}

/// Root of the workspace checkout.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .expect("tests/ has a parent")
}
