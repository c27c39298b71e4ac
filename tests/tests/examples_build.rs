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
            .args(["build", "--release", "--quiet", "-p", "hallows-examples", "--bins"])
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
            .args(["report", "--json", "--crate", "hallows_examples", "--target-dir"])
            .arg(&hallows),
    );
    let records: Vec<&str> = report.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(
        records
            .iter()
            .any(|r| r.contains("\"pass\":\"hallows-inventory\"") && r.contains("main")),
        "the report has no inventory record for the examples' functions:\n{report}"
    );
}
