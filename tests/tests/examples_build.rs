//! End to end: the example workloads built with `cargo hallows build --release` print exactly
//! what a plain `cargo build --release` build prints, and the report describes their functions.

use hallows_tests::{cargo, cargo_hallows, run_ok, scratch_dir, workspace_root};
use std::path::Path;
use std::process::Command;

/// Every workload binary of the `hallows-examples` package, from its `src/bin/` directory.
fn example_bins() -> Vec<String> {
    let dir = workspace_root().join("examples").join("src").join("bin");
    let mut bins: Vec<String> = std::fs::read_dir(&dir)
        .expect("read examples/src/bin")
        .filter_map(|e| {
            let path = e.ok()?.path();
            (path.extension()? == "rs").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    bins.sort();
    bins
}

fn run_bin(target: &Path, bin: &str) -> String {
    run_ok(
        &format!("{bin} --small"),
        Command::new(target.join("release").join(bin)).arg("--small"),
    )
}

#[test]
fn hallows_build_matches_plain_build_and_reports() {
    let root = workspace_root();
    let plain = scratch_dir("examples-plain");
    let hallows = scratch_dir("examples-hallows");
    let bins = example_bins();
    assert!(!bins.is_empty(), "no example workloads found");

    run_ok(
        "cargo build --release -p hallows-examples",
        Command::new(cargo())
            .current_dir(&root)
            .args([
                "build",
                "--release",
                "--quiet",
                "-p",
                "hallows-examples",
                "--bins",
            ])
            .arg("--target-dir")
            .arg(&plain),
    );
    run_ok(
        "cargo hallows build --release -p hallows-examples",
        cargo_hallows(&root)
            .args(["build", "--release", "-p", "hallows-examples", "--bins"])
            .arg("--target-dir")
            .arg(&hallows),
    );

    for bin in &bins {
        let expected = run_bin(&plain, bin);
        let got = run_bin(&hallows, bin);
        assert!(!expected.trim().is_empty(), "{bin} printed nothing");
        assert_eq!(got, expected, "{bin}: hallows build prints something else");
    }

    let report = run_ok(
        "cargo hallows report --json",
        cargo_hallows(&root)
            .args([
                "report",
                "--json",
                "--pass",
                "hallows-inventory",
                "--target-dir",
            ])
            .arg(&hallows),
    );
    // Each workload binary is its own crate in the report (named after the bin).
    for bin in &bins {
        let crate_field = format!("\"crate\":\"{bin}\"");
        assert!(
            report
                .lines()
                .any(|r| r.contains(&crate_field) && r.contains("\"pass\":\"hallows-inventory\"")),
            "the report has no inventory record for crate `{bin}`:\n{report}"
        );
    }
}
