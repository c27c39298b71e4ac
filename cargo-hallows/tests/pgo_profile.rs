//! `cargo hallows profile` collects a PGO profile that later release builds use: the program
//! still prints the same, the passes see profile data, and damaged or stale profiles are
//! reported instead of silently used.

mod common;

use common::{
    assert_inventory_saw_profile, files_with, fixture, hallows, hallows_ok, output,
    plain_release_output, run_release, scratch, text,
};
use std::fs;

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

    // Damaged profiles stop the build with a clear error.
    fs::write(&profdata[0], b"garbage, not a profile").unwrap();
    let out = output(
        hallows(&dir)
            .args(["build", "--release", "--target-dir"])
            .arg(&target),
    );
    assert!(!out.status.success());
    assert!(
        text(&out).1.contains("corrupt") && text(&out).1.contains("--no-profile"),
        "{}",
        text(&out).1
    );
    fs::write(&profdata[0], b"").unwrap();
    let out = output(
        hallows(&dir)
            .args(["build", "--release", "--target-dir"])
            .arg(&target),
    );
    assert!(!out.status.success());
    assert!(text(&out).1.contains("is empty"), "{}", text(&out).1);
    // Debug builds are not affected by a release profile.
    hallows_ok(&dir, &target, &["build"]);
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
