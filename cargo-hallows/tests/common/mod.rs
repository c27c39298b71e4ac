//! Helpers shared by the integration tests that drive the built `cargo-hallows` binary.
#![allow(dead_code)] // Each test file uses a different subset.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Environment variables of the outer `cargo test` (or the developer's shell) that must not leak
/// into the builds the tests start.
const CLEARED_ENV: &[&str] = &[
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "HALLOWS_PLUGIN",
    "HALLOWS_REPORT_DIR",
    "HALLOWS_PASSES",
    "HALLOWS_REPORT_STDERR",
    "HALLOWS_RUSTC_WRAPPER",
    "HALLOWS_PREFETCH_PROFILE",
    "HALLOWS_PREFETCH_PROFILE_OUT",
];

/// A fresh, empty directory for one test under cargo's per-test-target scratch directory.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cargo-hallows-tests")
        .join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// The plugin cache shared by every test of this run (kept under the target dir for CI).
pub fn shared_cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hallows-cache")
}

/// `cargo-hallows hallows <args>` run in `dir`, as cargo runs the subcommand.
pub fn hallows(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-hallows"));
    command
        .current_dir(dir)
        .arg("hallows")
        .env("XDG_CACHE_HOME", shared_cache());
    for var in CLEARED_ENV {
        command.env_remove(var);
    }
    command
}

/// The cargo running the tests.
pub fn cargo(dir: &Path) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(dir);
    for var in CLEARED_ENV {
        command.env_remove(var);
    }
    command
}

/// Copies `tests/fixtures/<name>` of the workspace into a scratch directory of its own for the
/// test `tag` (so builds leave the checkout untouched and parallel tests do not share) and
/// returns the copy.
pub fn fixture(name: &str, tag: &str) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name);
    let dest = scratch(&format!("fixture-{tag}")).join(name);
    copy_dir(&source, &dest);
    dest
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create fixture copy");
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display())) {
        let entry = entry.expect("fixture entry");
        let name = entry.file_name();
        if name == "target" || name == "Cargo.lock" {
            continue;
        }
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &to.join(&name));
        } else {
            fs::copy(entry.path(), to.join(&name)).expect("copy fixture file");
        }
    }
}

/// Runs `command`, returning its output whatever the status.
pub fn output(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("failed to spawn {command:?}: {e}"))
}

/// Runs `command`, panicking with both streams unless it succeeds; returns the output.
pub fn run_ok(command: &mut Command) -> Output {
    let out = output(command);
    assert!(
        out.status.success(),
        "{command:?} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `cargo hallows ARGS --target-dir TARGET` in `dir`, which must succeed.
pub fn hallows_ok(dir: &Path, target: &Path, args: &[&str]) -> Output {
    run_ok(hallows(dir).args(args).arg("--target-dir").arg(target))
}

/// What the release binary `bin` under `target` prints; it must succeed.
pub fn run_release(target: &Path, bin: &str) -> String {
    text(&run_ok(&mut Command::new(target.join("release").join(bin)))).0
}

/// Stdout and stderr as text.
pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The LLVM major of the rustc that runs the tests.
pub fn rustc_llvm_major() -> u32 {
    let out = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
        .arg("-vV")
        .output()
        .expect("run rustc -vV");
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text
        .lines()
        .find_map(|l| l.strip_prefix("LLVM version:"))
        .expect("rustc has an LLVM version");
    version.trim().split('.').next().unwrap().parse().unwrap()
}

/// Builds the fixture in `dir` with a plain `cargo build --release` into `target` and returns
/// what its binary `bin` prints: the output a Hallows build of the same fixture must match.
pub fn plain_release_output(dir: &Path, target: &Path, bin: &str) -> String {
    run_ok(
        cargo(dir)
            .args(["build", "--release", "--quiet", "--target-dir"])
            .arg(target),
    );
    text(&run_ok(&mut Command::new(target.join("release").join(bin)))).0
}

/// Files in `dir` with extension `ext`.
pub fn files_with(dir: &Path, ext: &str) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect()
}

/// Asserts that the inventory pass saw profile data in `function` (a name substring) in the
/// release build under `target`.
pub fn assert_inventory_saw_profile(dir: &Path, target: &Path, function: &str) {
    let report = text(&hallows_ok(
        dir,
        target,
        &[
            "report",
            "--json",
            "--pass",
            "inventory",
            "--function",
            function,
        ],
    ))
    .0;
    assert!(
        report.contains("\"has_profile\":true"),
        "the pass saw no profile data in `{function}`:\n{report}"
    );
}
