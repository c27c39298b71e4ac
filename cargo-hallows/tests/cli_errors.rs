//! Bad input gets a clear error saying what to do: unknown flags and subcommands, a directory
//! that is not a cargo project, an llvm-config of the wrong LLVM version, missing reports.

mod common;

use common::{fixture, hallows, output, rustc_llvm_major, scratch, text};
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

fn fails_with(command: &mut std::process::Command, needles: &[&str]) -> String {
    let out = output(command);
    let (stdout, stderr) = text(&out);
    assert!(
        !out.status.success(),
        "{command:?} succeeded:\n{stdout}\n{stderr}"
    );
    let all = format!("{stdout}\n{stderr}");
    for needle in needles {
        assert!(
            all.contains(needle),
            "{command:?}: expected `{needle}` in:\n{all}"
        );
    }
    all
}

#[test]
fn unknown_subcommand_shows_usage() {
    let dir = scratch("unknown-subcommand");
    fails_with(
        hallows(&dir).arg("frobnicate"),
        &[
            "unrecognized subcommand 'frobnicate'",
            "Usage: cargo hallows",
        ],
    );
}

#[test]
fn unknown_flag_shows_usage() {
    let dir = scratch("unknown-flag");
    fails_with(
        hallows(&dir).args(["report", "--frob"]),
        &[
            "unexpected argument '--frob'",
            "Usage: cargo hallows report",
        ],
    );
}

#[test]
fn works_without_the_cargo_subcommand_argument_too() {
    let dir = scratch("direct");
    let out = output(
        std::process::Command::new(env!("CARGO_BIN_EXE_cargo-hallows"))
            .current_dir(&dir)
            .arg("--help"),
    );
    assert!(out.status.success());
    assert!(text(&out).0.contains("Usage: cargo hallows"));
}

#[test]
fn bad_mode_value_is_rejected() {
    let dir = fixture("user-rustflags", "bad_mode_value_is_rejected");
    fails_with(
        hallows(&dir).args(["build", "--mode", "fast"]),
        &["invalid value 'fast'", "rustc", "lto"],
    );
    // Mixed in among cargo's arguments too.
    fails_with(
        hallows(&dir).args(["build", "--release", "--mode=fast"]),
        &["invalid value `fast` for `--mode`"],
    );
}

#[test]
fn unknown_pass_is_rejected() {
    let dir = fixture("user-rustflags", "unknown_pass_is_rejected");
    fails_with(
        hallows(&dir).args(["build", "--release", "--passes", "inventory,inline"]),
        &["unknown pass `inline`"],
    );
}

#[test]
fn not_a_cargo_project() {
    // Outside every cargo project: a scratch dir under the target dir would sit inside the
    // checkout that holds it (the Hallows workspace itself when run from a clone).
    let dir = std::env::temp_dir().join(format!("hallows-not-a-project-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create a directory outside any cargo project");
    fails_with(
        hallows(&dir).args(["build", "--release"]),
        &["not a cargo project", "--manifest-path"],
    );
    fails_with(hallows(&dir).arg("report"), &["not a cargo project"]);
    let _ = fs::remove_dir_all(&dir);
}

/// A fake `llvm-config` that claims another LLVM version.
fn fake_llvm_config(dir: &Path, version: &str) -> PathBuf {
    let path = dir.join("llvm-config");
    fs::write(&path, format!("#!/bin/sh\ncase \"$1\" in --version) echo {version};; --bindir) echo /nonexistent;; esac\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn llvm_config_of_the_wrong_version_names_the_package() {
    let major = rustc_llvm_major();
    let dir = fixture(
        "user-rustflags",
        "llvm_config_of_the_wrong_version_names_the_package",
    );
    let fake = fake_llvm_config(&scratch("fake-llvm"), &format!("{}.0.7", major - 7));
    let package = format!("llvm-{major}-dev");
    fails_with(
        hallows(&dir)
            .args(["build", "--release"])
            .env("LLVM_CONFIG", &fake),
        &[
            "LLVM_CONFIG=",
            &format!("{}.0.7", major - 7),
            &package,
            "scripts/setup.sh",
        ],
    );
    let all = fails_with(
        hallows(&dir)
            .args(["doctor", "--no-build"])
            .env("LLVM_CONFIG", &fake),
        &[&package],
    );
    assert!(all.contains("PROBLEM llvm-config"), "{all}");
}

#[test]
fn missing_llvm_config_override_is_an_error() {
    let dir = fixture("user-rustflags", "missing_llvm_config_override_is_an_error");
    fails_with(
        hallows(&dir)
            .args(["build", "--release"])
            .env("LLVM_CONFIG", "/nonexistent/llvm-config"),
        &["LLVM_CONFIG=/nonexistent/llvm-config", "failed to run"],
    );
}

#[test]
fn unreadable_plugin_override_is_an_error() {
    let dir = fixture("user-rustflags", "unreadable_plugin_override_is_an_error");
    fails_with(
        hallows(&dir)
            .args(["build", "--release"])
            .env("HALLOWS_PLUGIN", "/nonexistent/plugin.so"),
        &["HALLOWS_PLUGIN=/nonexistent/plugin.so", "cannot be read"],
    );
}

#[test]
fn report_without_reports_says_what_to_run() {
    let dir = scratch("no-reports");
    let target = dir.join("target");
    fails_with(
        hallows(&dir).arg("report").arg("--target-dir").arg(&target),
        &["no Hallows reports", "cargo hallows build --release"],
    );
    fails_with(
        hallows(&dir)
            .args(["report", "--profile", "release", "--target-dir"])
            .arg(&target),
        &["no Hallows reports", "cargo hallows build --release"],
    );
}

#[test]
fn report_with_corrupt_lines_warns_and_shows_the_rest() {
    let dir = scratch("corrupt-report");
    let reports = dir.join("target/hallows/reports/release");
    fs::create_dir_all(&reports).unwrap();
    let good = r#"{"schema":1,"producer":"plugin","pass":"hallows-railway","crate":"app","module":"m","function":"app::hot","symbol":"s","action":"reordered","reason":"hot path first","data":{"moved":2},"ts_ms":1}"#;
    fs::write(reports.join("m.jsonl"), format!("{good}\n{{broken\n")).unwrap();
    let out = output(
        hallows(&dir)
            .args(["report", "--target-dir"])
            .arg(dir.join("target")),
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("app::hot") && stdout.contains("hot path first [moved=2]"),
        "{stdout}"
    );
    assert!(
        stderr.contains("m.jsonl:2: skipped a corrupt line"),
        "{stderr}"
    );
    let out = output(
        hallows(&dir)
            .args(["report", "--json", "--pass", "railway", "--target-dir"])
            .arg(dir.join("target")),
    );
    assert_eq!(text(&out).0.lines().count(), 1);
}

#[test]
fn run_needs_an_examples_package() {
    let dir = fixture("user-rustflags", "run_needs_an_examples_package");
    fails_with(
        hallows(&dir).args(["run", "interp"]),
        &["no examples package"],
    );
}
