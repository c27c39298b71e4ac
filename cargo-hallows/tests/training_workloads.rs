//! Training workloads declared in `[package.metadata.hallows]`: one `cargo hallows profile`
//! builds every target once, runs every workload with a progress line, merges all their
//! profiles into one that later builds use; a failing workload records nothing and keeps the
//! previous profile; a malformed table is an error that says what to write.

mod common;

use common::{
    assert_inventory_saw_profile, cargo, files_with, fixture, hallows, hallows_ok, output, run_ok,
    run_release, rustc_llvm_major, scratch, text,
};
use std::fs;
use std::path::Path;
use std::process::Command;

/// What the plain release build of the fixture's `classify` prints.
fn plain_classify(dir: &Path) -> String {
    let plain = scratch("training-plain");
    run_ok(
        cargo(dir)
            .args([
                "build",
                "--release",
                "--quiet",
                "--bin",
                "classify",
                "--target-dir",
            ])
            .arg(&plain),
    );
    run_release(&plain, "classify")
}

#[test]
fn declared_workloads_train_one_profile() {
    let dir = fixture("training-workloads", "training");
    let target = scratch("training-target");
    let expected = plain_classify(&dir);
    assert!(expected.starts_with("classify seed=42 "), "{expected}");

    let out = hallows_ok(&dir, &target, &["profile", "--no-prefetch-profile"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(stdout, "", "declared workloads' output goes to the log");
    for step in [
        "training [",
        "1/3 classify --seed 1",
        "2/3 classify, second seed",
        "3/3 tally 300",
        "ran 3 training workload(s)",
    ] {
        assert!(stderr.contains(step), "missing `{step}` in:\n{stderr}");
    }
    let profiles = target.join("hallows/profiles");
    let log = fs::read_to_string(profiles.join("training.log")).unwrap();
    for line in [
        "classify seed=1 counts=",
        "classify seed=2 counts=",
        "tally n=300 digits=",
    ] {
        assert!(log.contains(line), "missing `{line}` in the log:\n{log}");
    }
    // The merged profile holds both programs' counters.
    let profdata = files_with(&profiles, "profdata");
    assert_eq!(profdata.len(), 1, "{profdata:?}");
    let shown = text(&run_ok(
        Command::new(format!("llvm-profdata-{}", rustc_llvm_major()))
            .args(["show", "--all-functions"])
            .arg(&profdata[0]),
    ))
    .0;
    for main in ["8classify4main", "5tally4main"] {
        assert!(shown.contains(main), "no `{main}` counters in the profile");
    }
    let current = fs::read_to_string(profiles.join("current.json")).unwrap();
    assert!(
        current.contains("bin classify") && current.contains("example tally"),
        "{current}"
    );

    let out = hallows_ok(&dir, &target, &["build", "--release", "--bin", "classify"]);
    assert!(
        text(&out).1.contains("using PGO profile"),
        "{}",
        text(&out).1
    );
    assert_eq!(run_release(&target, "classify"), expected);
    assert_inventory_saw_profile(&dir, &target, "classify");

    // A failing workload: an error naming it, with its output, and the old profile stays.
    let manifest = dir.join("Cargo.toml");
    let good = fs::read_to_string(&manifest).unwrap();
    fs::write(
        &manifest,
        format!("{good}\n[[package.metadata.hallows.training]]\nbin = \"classify\"\nargs = [\"--fail\"]\n"),
    )
    .unwrap();
    let out = output(
        hallows(&dir)
            .args(["profile", "--no-prefetch-profile", "--target-dir"])
            .arg(&target),
    );
    let stderr = text(&out).1;
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("training workload 4/4 `classify --fail` failed")
            && stderr.contains("classify: asked to fail")
            && stderr.contains("previous one is kept")
            && !stderr.contains("panicked"),
        "{stderr}"
    );
    assert_eq!(
        fs::read_to_string(profiles.join("current.json")).unwrap(),
        current
    );
    let out = hallows_ok(&dir, &target, &["build", "--release", "--bin", "classify"]);
    assert!(
        text(&out).1.contains("using PGO profile"),
        "{}",
        text(&out).1
    );
    assert!(
        !profiles
            .read_dir()
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("raw-")),
        "the raw profile directory was left behind"
    );
}

#[test]
fn malformed_training_tables_are_errors_that_say_what_to_write() {
    let dir = fixture("training-workloads", "training-bad");
    let manifest = dir.join("Cargo.toml");
    let good = fs::read_to_string(&manifest).unwrap();
    let cases = [
        ("bin = \"classify\"", "bin = \"clasify\"", "names bin `clasify`, which package `fixture-training` does not have; its bin targets are `classify` or `other`"),
        ("args = [\"300\"]", "args = [300]", "argument 1 of training workload 3"),
        ("[[package.metadata.hallows.training]]\nexample", "[[package.metadata.hallows.trainig]]\nexample", "unknown key `trainig`"),
    ];
    for (from, to, message) in cases {
        fs::write(&manifest, good.replacen(from, to, 1)).unwrap();
        let out = output(hallows(&dir).args(["profile"]));
        let stderr = text(&out).1;
        assert!(!out.status.success(), "{stderr}");
        assert!(
            stderr.contains(message) && !stderr.contains("panicked"),
            "expected `{message}` in:\n{stderr}"
        );
    }
    fs::write(&manifest, &good).unwrap();
    let out = output(hallows(&dir).args(["profile", "--", "--seed", "3"]));
    assert!(!out.status.success());
    assert!(
        text(&out)
            .1
            .contains("arguments after `--` go with `--bin NAME`"),
        "{}",
        text(&out).1
    );
}
