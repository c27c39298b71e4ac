//! End to end, PGO plus branch layout: `cargo hallows profile` trains the `interp` workload,
//! `cargo hallows build --release --passes inventory,railway` builds it with the profile and the
//! railway pass, the built program prints exactly what a plain `cargo build --release` build
//! prints, and the report says railway reordered blocks of at least one interpreter function.

use hallows_tests::{cargo, cargo_hallows, run_ok, scratch_dir, workspace_root};
use std::path::Path;
use std::process::Command;

/// The workload trained and checked: the branchiest of the examples.
const BIN: &str = "interp";

/// Arguments of the training run: the small input with the training seed.
const TRAINING_ARGS: &[&str] = &["--small", "--seed", "1"];

/// Arguments of the checked runs: the small input with a different seed than training, so
/// the check covers input the profile has not seen.
const CHECK_ARGS: &[&str] = &["--small", "--seed", "7"];

fn run_interp(target: &Path, args: &[&str]) -> String {
    run_ok(
        &format!("{BIN} {}", args.join(" ")),
        Command::new(target.join("release").join(BIN)).args(args),
    )
}

/// The value of a string field `"key":"..."` in one JSON-lines record (the report's strings
/// are plain names, so no unescaping is needed for the fields checked here).
fn field<'a>(record: &'a str, key: &str) -> Option<&'a str> {
    let start = record.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let len = record[start..].find('"')?;
    Some(&record[start..start + len])
}

#[test]
fn pgo_railway_build_matches_plain_build_and_reorders_interp() {
    let root = workspace_root();
    let plain = scratch_dir("pgo-railway-plain");
    let hallows = scratch_dir("pgo-railway-hallows");

    run_ok(
        "cargo build --release -p hallows-examples --bin interp",
        Command::new(cargo())
            .current_dir(&root)
            .args([
                "build",
                "--release",
                "--quiet",
                "-p",
                "hallows-examples",
                "--bin",
                BIN,
            ])
            .arg("--target-dir")
            .arg(&plain),
    );
    run_ok(
        "cargo hallows profile --bin interp",
        cargo_hallows(&root)
            .args([
                "profile",
                "-p",
                "hallows-examples",
                "--bin",
                BIN,
                "--target-dir",
            ])
            .arg(&hallows)
            .arg("--")
            .args(TRAINING_ARGS),
    );
    run_ok(
        "cargo hallows build --release --passes inventory,railway --bin interp",
        cargo_hallows(&root)
            .args(["build", "--passes", "inventory,railway", "--release"])
            .args(["-p", "hallows-examples", "--bin", BIN, "--target-dir"])
            .arg(&hallows),
    );

    for args in [CHECK_ARGS, TRAINING_ARGS] {
        let expected = run_interp(&plain, args);
        assert!(!expected.trim().is_empty(), "plain {BIN} printed nothing");
        let got = run_interp(&hallows, args);
        assert_eq!(
            got, expected,
            "{BIN} {args:?}: the PGO + railway build prints something else"
        );
    }

    let report = run_ok(
        "cargo hallows report --json --pass hallows-railway",
        cargo_hallows(&root)
            .args([
                "report",
                "--json",
                "--pass",
                "hallows-railway",
                "--target-dir",
            ])
            .arg(&hallows),
    );
    let records: Vec<&str> = report.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(
        records
            .iter()
            .all(|r| field(r, "pass") == Some("hallows-railway")),
        "`--pass hallows-railway` returned records of other passes:\n{report}"
    );
    assert!(
        records.iter().any(|r| {
            field(r, "action") == Some("reordered")
                && field(r, "function").is_some_and(|f| f.starts_with("interp::"))
        }),
        "the railway report has no `reordered` record for an interp function \
         (the profile should make the dispatch loop's layout change):\n{report}"
    );
    assert!(
        records.iter().any(|r| {
            field(r, "function").is_some_and(|f| f.contains("Machine") && f.ends_with("::run"))
                && r.contains(r#""threaded":true"#)
        }),
        "the interpreter's dispatch loop (`Machine::run`) was not threaded:\n{report}"
    );
}
