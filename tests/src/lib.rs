//! Shared helpers of the end-to-end tests: locating the workspace, building `cargo-hallows`
//! once, and running commands with captured output.
//!
//! The tests in `tests/tests/` drive Hallows the way a user does: through `cargo hallows`
//! on real crates, comparing what the built programs print with plain `cargo build` builds.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Root of the Hallows workspace (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives inside the workspace")
        .to_path_buf()
}

/// Directory for this test run's build products, inside the workspace's target directory so
/// that CI leaves nothing behind elsewhere.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = workspace_root().join("target").join("e2e").join(name);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Path of a `cargo-hallows` binary built from this workspace.
///
/// `HALLOWS_CARGO_BIN` overrides it; otherwise the binary is built once per test process into
/// its own target directory (a separate one, so the outer `cargo test` lock is never contended).
pub fn cargo_hallows_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(path) = std::env::var_os("HALLOWS_CARGO_BIN") {
            return PathBuf::from(path);
        }
        let target = scratch_dir("cli-build");
        let out = Command::new(cargo())
            .current_dir(workspace_root())
            .args(["build", "--quiet", "-p", "cargo-hallows", "--target-dir"])
            .arg(&target)
            .output()
            .expect("spawn cargo build -p cargo-hallows");
        assert_success("cargo build -p cargo-hallows", &out);
        target.join("debug").join("cargo-hallows")
    })
    .clone()
}

/// The `cargo` that runs this test (cargo sets `CARGO` for test processes).
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("cargo"))
}

/// A `cargo hallows <args>` command, run the way cargo runs a subcommand.
pub fn cargo_hallows(dir: &Path) -> Command {
    let mut cmd = Command::new(cargo_hallows_bin());
    cmd.current_dir(dir).arg("hallows");
    // The plugin cache is kept under target/ and shared with cargo-hallows' own tests
    // (their `CARGO_TARGET_TMPDIR/hallows-cache`), so one test run builds the plugin once.
    let cache = workspace_root()
        .join("target")
        .join("tmp")
        .join("hallows-cache");
    std::fs::create_dir_all(&cache).expect("create plugin cache dir");
    cmd.env("XDG_CACHE_HOME", cache);
    cmd
}

/// Panics with both output streams when a command failed.
pub fn assert_success(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs a command to completion, asserting success, and returns its stdout as text.
pub fn run_ok(what: &str, cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("spawn {what}: {e}"));
    assert_success(what, &out);
    String::from_utf8(out.stdout).expect("stdout is UTF-8")
}
