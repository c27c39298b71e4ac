//! `cargo hallows run` builds and runs a workload of the examples package with the report
//! directory set; `cargo hallows doctor` passes on a machine set up by scripts/setup.sh.

mod common;

use common::{fixture, hallows, output, run_ok, scratch, text};

#[test]
fn run_builds_and_runs_an_example_with_the_report_dir() {
    let dir = fixture("run-workspace", "run");
    let target = scratch("run-target");
    let out = run_ok(
        hallows(&dir)
            .args(["run", "echo_args", "--target-dir"])
            .arg(&target)
            .args(["--", "a", "--b"]),
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(stdout, "args: a+--b\nreport dir set: true\n", "{stderr}");
    assert!(stderr.contains("hallows: running"), "{stderr}");
    let report = text(&run_ok(
        hallows(&dir)
            .args(["report", "--function", "fixture_join_args", "--target-dir"])
            .arg(&target),
    ))
    .0;
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("echo_args") && l.contains("fixture_join_args")),
        "{report}"
    );

    let out = output(
        hallows(&dir)
            .args(["run", "nope", "--target-dir"])
            .arg(&target),
    );
    assert!(!out.status.success());
    assert!(
        text(&out)
            .1
            .contains("no bin named `nope`; available: echo_args"),
        "{}",
        text(&out).1
    );
}

#[test]
fn doctor_passes_and_loads_the_plugin() {
    let dir = scratch("doctor");
    let out = output(hallows(&dir).arg("doctor"));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "doctor failed:\n{stdout}\n{stderr}");
    for item in [
        "rustc",
        "llvm-config",
        "opt",
        "clang++",
        "llvm-profdata",
        "plugin",
        "plugin load",
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with("OK")
                && l.split_whitespace().nth(1) == Some(item.split(' ').next().unwrap())),
            "no OK line for {item}:\n{stdout}"
        );
    }
    assert!(stdout.contains("plugin load"), "{stdout}");
    assert!(stdout.contains("hw counters"), "{stdout}");
}
