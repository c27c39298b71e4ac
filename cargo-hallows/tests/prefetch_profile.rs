//! `cargo hallows profile` also collects the access-pattern profile of `hallows-prefetch`; later
//! release builds find it, turn the prefetch pass on with it and still print the same; programs
//! without loops of their own only get a warning and keep their PGO profile.

mod common;

use common::{
    files_with, fixture, hallows, hallows_ok, output, plain_release_output, run_release, scratch,
    text,
};
use std::fs;

#[test]
fn profile_collects_access_patterns_and_build_prefetches_with_them() {
    let dir = fixture("indirect-gather", "prefetch");
    let target = scratch("prefetch-target");
    let plain = scratch("prefetch-plain");
    let expected = plain_release_output(&dir, &plain, "fixture-indirect-gather");
    assert!(expected.starts_with("checksum "), "{expected}");

    let out = hallows_ok(
        &dir,
        &target,
        &["profile", "--bin", "fixture-indirect-gather"],
    );
    let (stdout, stderr) = text(&out);
    // Two training runs: the PGO one and the access-pattern one.
    assert_eq!(stdout, format!("{expected}{expected}"), "{stderr}");
    assert!(
        stderr.contains("access-pattern instrumentation"),
        "{stderr}"
    );
    let profiles = target.join("hallows/profiles");
    let prefetch = files_with(&profiles, "prefetch");
    assert_eq!(prefetch.len(), 1, "{prefetch:?}\n{stderr}");
    assert_eq!(files_with(&profiles, "profdata").len(), 1);
    let profile_text = fs::read_to_string(&prefetch[0]).unwrap();
    assert!(
        profile_text.starts_with("hallows-prefetch-profile") && profile_text.contains("\nsite "),
        "{profile_text}"
    );
    assert!(
        !profiles
            .read_dir()
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("prefetch-raw-")),
        "the raw sample directory was left behind"
    );

    let out = hallows_ok(&dir, &target, &["build", "--release"]);
    let stderr = text(&out).1;
    assert!(
        stderr.contains(&format!("using prefetch profile {}", prefetch[0].display())),
        "{stderr}"
    );
    assert!(
        stderr.contains("passes inventory,railway,prefetch,"),
        "{stderr}"
    );
    let got = run_release(&target, "fixture-indirect-gather");
    assert_eq!(got, expected);
    let report = text(&hallows_ok(
        &dir,
        &target,
        &["report", "--json", "--pass", "hallows-prefetch"],
    ))
    .0;
    let gather: Vec<&str> = report
        .lines()
        .filter(|l| l.contains("\"function\":\"fixture_indirect_gather::gather\""))
        .collect();
    assert!(
        !gather.is_empty(),
        "no prefetch records for gather:\n{report}"
    );
    // The optimised build found the instrumented build's sites in the profile.
    assert!(
        gather
            .iter()
            .any(|l| l.contains("\"mode\":\"profile\"") && l.contains("\"execs\":")),
        "the prefetch pass matched no profiled site:\n{report}"
    );

    // --no-profile drops both profiles and the prefetch pass.
    let out = hallows_ok(&dir, &target, &["build", "--release", "--no-profile"]);
    let stderr = text(&out).1;
    assert!(
        !stderr.contains("using prefetch profile")
            && !stderr.contains("using PGO profile")
            && stderr.contains("passes inventory,railway,")
            && stderr.contains("Compiling fixture-indirect-gather"),
        "{stderr}"
    );
    // Explicit passes win: without `prefetch` the profile is not used.
    let out = hallows_ok(
        &dir,
        &target,
        &["build", "--release", "--passes", "inventory"],
    );
    let stderr = text(&out).1;
    assert!(
        !stderr.contains("using prefetch profile") && stderr.contains("using PGO profile"),
        "{stderr}"
    );

    // A damaged profile stops the build with a clear error.
    fs::write(&prefetch[0], b"garbage\n").unwrap();
    let out = output(
        hallows(&dir)
            .args(["build", "--release", "--target-dir"])
            .arg(&target),
    );
    assert!(!out.status.success());
    let stderr = text(&out).1;
    assert!(
        stderr.contains("unusable") && stderr.contains("--no-profile"),
        "{stderr}"
    );
}

#[test]
fn program_without_loops_keeps_its_pgo_profile() {
    let dir = fixture("build-probe", "prefetch-noloops");
    let target = scratch("prefetch-noloops-target");
    let out = hallows_ok(&dir, &target, &["profile"]);
    let stderr = text(&out).1;
    assert!(
        stderr.contains("no prefetch profile was collected")
            && stderr.contains("wrote no sample file"),
        "{stderr}"
    );
    let profiles = target.join("hallows/profiles");
    assert_eq!(files_with(&profiles, "profdata").len(), 1);
    assert!(files_with(&profiles, "prefetch").is_empty());

    // Without a prefetch profile the default passes leave prefetching off.
    let out = hallows_ok(&dir, &target, &["build", "--release"]);
    let stderr = text(&out).1;
    assert!(
        stderr.contains("passes inventory,railway,") && stderr.contains("using PGO profile"),
        "{stderr}"
    );

    // --no-prefetch-profile skips the second build entirely.
    let out = hallows_ok(&dir, &target, &["profile", "--no-prefetch-profile"]);
    let stderr = text(&out).1;
    assert!(
        !stderr.contains("access-pattern instrumentation"),
        "{stderr}"
    );
}
