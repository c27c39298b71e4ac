//! `cargo hallows profile` collects a PGO profile that later release builds use: the program
//! still prints the same, the passes see profile data, and damaged or stale profiles are
//! reported instead of silently used.

mod common;

use common::{
    assert_inventory_saw_profile, files_with, fixture, hallows, hallows_ok, output,
    plain_release_output, run_ok, run_release, rustc_llvm_major, scratch, text,
};
use std::fs;
use std::process::Command;

#[test]
fn profile_then_build_uses_it() {
    let dir = fixture("itoa-dep", "pgo");
    let target = scratch("pgo-target");
    let plain = scratch("pgo-plain");
    let expected = plain_release_output(&dir, &plain, "fixture-itoa-dep");

    let out = hallows_ok(
        &dir,
        &target,
        &[
            "profile",
            "--bin",
            "fixture-itoa-dep",
            "--no-prefetch-profile",
        ],
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(stdout, expected, "the training run prints something else");
    assert!(stderr.contains("PGO profile"), "{stderr}");
    let profiles = target.join("hallows/profiles");
    let profdata = files_with(&profiles, "profdata");
    assert_eq!(profdata.len(), 1, "{profdata:?}");

    let out = hallows_ok(&dir, &target, &["build", "--release"]);
    assert!(
        text(&out).1.contains("using PGO profile"),
        "{}",
        text(&out).1
    );
    let got = run_release(&target, "fixture-itoa-dep");
    assert_eq!(got, expected);
    assert_inventory_saw_profile(&dir, &target, "fixture_digit_checksum");

    // --no-profile builds without it (and rebuilds, since the flags differ).
    let out = hallows_ok(&dir, &target, &["build", "--release", "--no-profile"]);
    let stderr = text(&out).1;
    assert!(
        !stderr.contains("using PGO profile") && stderr.contains("Compiling fixture-itoa-dep"),
        "{stderr}"
    );

    // A source newer than the profile: warned about, still used.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let main = dir.join("src/main.rs");
    fs::write(&main, fs::read_to_string(&main).unwrap() + "\n// edited\n").unwrap();
    let out = hallows_ok(&dir, &target, &["build", "--release"]);
    assert!(
        text(&out)
            .1
            .contains("changed after the PGO profile was collected"),
        "{}",
        text(&out).1
    );

    // Damaged profiles stop the build with a clear error. A truncated one still starts with the
    // indexed-profile magic (rustc alone would only warn and build without it).
    let good = fs::read(&profdata[0]).unwrap();
    fs::write(&profdata[0], &good[..good.len() / 2]).unwrap();
    let stderr = failed_release_build(&dir, &target);
    assert!(
        stderr.contains("is damaged") && stderr.contains("--no-profile"),
        "{stderr}"
    );
    fs::write(&profdata[0], b"garbage, not a profile").unwrap();
    let stderr = failed_release_build(&dir, &target);
    assert!(
        stderr.contains("corrupt") && stderr.contains("--no-profile"),
        "{stderr}"
    );
    fs::write(&profdata[0], b"").unwrap();
    let stderr = failed_release_build(&dir, &target);
    assert!(stderr.contains("is empty"), "{stderr}");
    // Debug builds are not affected by a release profile.
    hallows_ok(&dir, &target, &["build"]);
}

/// Runs `cargo hallows build --release` in `dir`, expects it to fail and returns its stderr.
fn failed_release_build(dir: &std::path::Path, target: &std::path::Path) -> String {
    let out = output(
        hallows(dir)
            .args(["build", "--release", "--target-dir"])
            .arg(target),
    );
    assert!(!out.status.success());
    text(&out).1
}

#[test]
fn profile_needs_a_unique_bin() {
    let dir = fixture("two-members", "pgo-choose");
    let out = output(hallows(&dir).args(["profile", "--bin", "nope"]));
    assert!(!out.status.success());
    assert!(
        text(&out).1.contains("no bin target named `nope`"),
        "{}",
        text(&out).1
    );
}

/// The function records of the indexed profile `path`: (name, the record's lines).
fn profile_records(path: &std::path::Path) -> Vec<(String, String)> {
    let tool = format!("llvm-profdata-{}", rustc_llvm_major());
    let out = run_ok(
        Command::new(&tool)
            .args(["show", "--all-functions", "--counts"])
            .arg(path),
    );
    let mut records: Vec<(String, String)> = Vec::new();
    for line in text(&out).0.lines() {
        // A record starts with its name at two spaces' indent, its fields follow at four.
        if let Some(name) = line.strip_prefix("  ").filter(|l| !l.starts_with(' ')) {
            if let Some(name) = name.strip_suffix(':') {
                records.push((name.to_string(), String::new()));
                continue;
            }
        }
        if let Some((_, body)) = records.last_mut() {
            body.push_str(line.trim());
            body.push('\n');
        }
    }
    records
}

/// The `Block counts: [..]` of a record's lines.
fn block_counts(body: &str) -> Vec<u64> {
    body.lines()
        .find_map(|l| l.strip_prefix("Block counts: ["))
        .and_then(|l| l.strip_suffix(']'))
        .map(|l| l.split(", ").filter_map(|c| c.parse().ok()).collect())
        .unwrap_or_default()
}

/// Build scripts and proc macros run while the instrumented build compiles, and write raw
/// profiles too: the merged profile holds none of their functions, not even the build-time
/// copy of a crate the binary also uses, and holds the binary's.
#[test]
fn profile_holds_only_the_training_run() {
    let dir = fixture("host-code", "pgo-host-code");
    let target = scratch("pgo-host-code-target");
    let plain = scratch("pgo-host-code-plain");
    let expected = plain_release_output(&dir, &plain, "fixture-host-code");

    let out = hallows_ok(
        &dir,
        &target,
        &[
            "profile",
            "--bin",
            "fixture-host-code",
            "--no-prefetch-profile",
        ],
    );
    assert_eq!(
        text(&out).0,
        expected,
        "the training run prints something else"
    );
    let profdata = files_with(&target.join("hallows/profiles"), "profdata");
    assert_eq!(profdata.len(), 1, "{profdata:?}");
    let records = profile_records(&profdata[0]);
    let names: Vec<&str> = records.iter().map(|(n, _)| n.as_str()).collect();

    let build_time: Vec<&&str> = names
        .iter()
        .filter(|n| n.contains("fixture_host_macro") || n.contains("build_script_build"))
        .collect();
    assert!(
        build_time.is_empty(),
        "the profile holds {} function(s) of the build script or the proc macro, e.g. {:?}",
        build_time.len(),
        &build_time[..build_time.len().min(5)]
    );
    // The build script calls `collatz_steps` 3,000 times through its own (host) copy of the
    // shared crate; only the binary's copy, called 25 times in training, may be in the profile.
    let shared: Vec<&(String, String)> = records
        .iter()
        .filter(|(n, _)| n.contains("fixture_host_shared") && n.contains("collatz_steps"))
        .collect();
    assert_eq!(shared.len(), 1, "{shared:?}");
    let counts = block_counts(&shared[0].1);
    assert!(
        counts.iter().any(|&c| c > 0) && counts.iter().all(|&c| c < 3_000),
        "the shared function does not count the training run's 25 calls alone: {shared:?}"
    );
    let checksum: Vec<&(String, String)> = records
        .iter()
        .filter(|(n, _)| n.contains("fixture_host_checksum"))
        .collect();
    assert_eq!(checksum.len(), 1, "{names:?}");
    assert!(
        block_counts(&checksum[0].1).iter().any(|&c| c > 0),
        "the training run's counts are missing: {checksum:?}"
    );

    // The profile still builds the same program.
    hallows_ok(&dir, &target, &["build", "--release"]);
    assert_eq!(run_release(&target, "fixture-host-code"), expected);
}

#[test]
fn a_damaged_raw_profile_is_skipped_with_a_warning() {
    let dir = fixture("itoa-dep", "pgo-damaged-raw");
    // The training run also leaves a damaged raw file where its own goes, as a process killed
    // while writing its profile would.
    let main = dir.join("src/main.rs");
    let source = fs::read_to_string(&main).unwrap().replace(
        "fn main() {",
        "fn main() {
    if let Some(pattern) = std::env::var_os(\"LLVM_PROFILE_FILE\") {
        let raw_dir = std::path::Path::new(&pattern).parent().unwrap().to_path_buf();
        std::fs::write(raw_dir.join(\"killed.profraw\"), b\"\\xfflprofr\\x81 cut short\").unwrap();
    }",
    );
    fs::write(&main, source).unwrap();
    let target = scratch("pgo-damaged-raw-target");
    let out = hallows_ok(
        &dir,
        &target,
        &[
            "profile",
            "--bin",
            "fixture-itoa-dep",
            "--no-prefetch-profile",
        ],
    );
    let stderr = text(&out).1;
    assert!(
        stderr.contains("skipped 1 of 2 raw profile(s)") && stderr.contains("killed.profraw"),
        "{stderr}"
    );
    assert_eq!(
        files_with(&target.join("hallows/profiles"), "profdata").len(),
        1
    );
    let out = hallows_ok(&dir, &target, &["build", "--release"]);
    assert!(
        text(&out).1.contains("using PGO profile"),
        "{}",
        text(&out).1
    );
    assert_inventory_saw_profile(&dir, &target, "fixture_digit_checksum");
}
