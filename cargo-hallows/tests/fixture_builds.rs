//! End to end: fixture crates built with `cargo hallows build --release` print exactly what a
//! plain `cargo build --release` build prints, the user's own flags and wrapper still apply, and
//! the report names the fixtures' functions.
//!
//! These tests need rustc's LLVM (`llvm-config-NN`, `clang++-NN`; scripts/setup.sh installs
//! them) and build the pass plugin once into a cache shared by all of them.

mod common;

use common::{cargo, fixture, hallows, hallows_ok, run_ok, run_release, scratch, text};
use serde_json::Value;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

/// Builds `dir` plainly and with cargo-hallows (extra `hallows_args` before cargo's; `cargo_args`
/// go to both builds), runs `bin` from both and checks they print the same. Returns the program's
/// output, the cargo-hallows target directory and cargo-hallows' stderr.
fn build_both(
    dir: &Path,
    tag: &str,
    bin: &str,
    hallows_args: &[&str],
    cargo_args: &[&str],
) -> (String, std::path::PathBuf, String) {
    let plain = scratch(&format!("{tag}-plain"));
    let with = scratch(&format!("{tag}-hallows"));
    run_ok(
        cargo(dir)
            .args(["build", "--release", "--quiet"])
            .args(cargo_args)
            .arg("--target-dir")
            .arg(&plain),
    );
    let out = run_ok(
        hallows(dir)
            .arg("build")
            .args(hallows_args)
            .arg("--release")
            .args(cargo_args)
            .arg("--target-dir")
            .arg(&with),
    );
    let stderr = text(&out).1;
    assert!(
        stderr.contains("hallows: plugin "),
        "no status line:\n{stderr}"
    );
    let expected = text(&run_ok(&mut Command::new(plain.join("release").join(bin)))).0;
    let got = text(&run_ok(&mut Command::new(with.join("release").join(bin)))).0;
    assert!(!expected.trim().is_empty(), "{bin} printed nothing");
    assert_eq!(
        got, expected,
        "{bin} built with cargo hallows prints something else"
    );
    (got, with, stderr)
}

/// The report of `target` as parsed JSON lines.
fn report(dir: &Path, target: &Path) -> Vec<Value> {
    let out = run_ok(
        hallows(dir)
            .args(["report", "--json", "--target-dir"])
            .arg(target),
    );
    text(&out)
        .0
        .lines()
        .map(|l| serde_json::from_str(l).expect("report line is JSON"))
        .collect()
}

fn assert_reported(records: &[Value], krate: &str, function: &str) {
    assert!(
        records
            .iter()
            .any(|r| r["crate"] == krate
                && r["function"].as_str().is_some_and(|f| f.contains(function))),
        "no record for {krate} {function} among {} records:\n{}",
        records.len(),
        records
            .iter()
            .map(|r| format!("{} {} {}", r["crate"], r["function"], r["pass"]))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn crates_io_dependency() {
    let dir = fixture("itoa-dep", "crates-io");
    let (_, target, _) = build_both(&dir, "crates-io", "fixture-itoa-dep", &[], &[]);
    let records = report(&dir, &target);
    assert_reported(&records, "fixture_itoa_dep", "fixture_digit_checksum");
    assert_reported(&records, "itoa", "fmt");

    // Nothing changed: cargo has nothing to do and says so.
    let out = hallows_ok(&dir, &target, &["build", "--release"]);
    let stderr = text(&out).1;
    assert!(
        !stderr.contains("Compiling"),
        "an unchanged build recompiled:\n{stderr}"
    );
    assert!(stderr.contains("nothing was recompiled"), "{stderr}");
    // `--quiet` silences cargo-hallows' status lines along with cargo's.
    let out = hallows_ok(&dir, &target, &["build", "--quiet", "--release"]);
    assert!(
        !text(&out).1.contains("hallows: plugin"),
        "{}",
        text(&out).1
    );
    // Other passes change the marker in the flags, so cargo rebuilds.
    let out = hallows_ok(
        &dir,
        &target,
        &["build", "--passes", "inventory", "--release"],
    );
    let stderr = text(&out).1;
    assert!(
        stderr.contains("Compiling fixture-itoa-dep"),
        "changing --passes did not rebuild:\n{stderr}"
    );
}

#[test]
fn workspace_with_two_members() {
    let dir = fixture("two-members", "two-members");
    let (output, target, _) = build_both(&dir, "two-members", "fixture-app", &[], &[]);
    assert!(output.contains("gcd(1071, 462) = 21"), "{output}");
    let records = report(&dir, &target);
    assert_reported(&records, "fixture_mathlib", "fixture_collatz_steps");
    assert_reported(&records, "fixture_app", "fixture_collatz_total");
    // Filters work on real reports too.
    let out = hallows_ok(
        &dir,
        &target,
        &["report", "--crate", "fixture_mathlib", "--function", "gcd"],
    );
    let table = text(&out).0;
    assert!(
        table
            .lines()
            .skip(1)
            .all(|l| l.starts_with("fixture_mathlib") && l.contains("fixture_gcd")),
        "{table}"
    );
    assert!(table.lines().count() >= 2, "{table}");
}

#[test]
fn user_rustflags_from_config_still_apply_in_both_modes() {
    let dir = fixture("user-rustflags", "user-rustflags");
    let (output, target, _) =
        build_both(&dir, "user-rustflags", "fixture-user-rustflags", &[], &[]);
    assert!(
        output.contains("user_flag is set"),
        "the user's --cfg was lost:\n{output}"
    );
    assert_reported(
        &report(&dir, &target),
        "fixture_user_rustflags",
        "fixture_triangle",
    );

    // Link-time mode on stable: the same output, and the linker ran the plugin.
    let out = hallows_ok(&dir, &target, &["build", "--mode", "lto", "--release"]);
    assert!(text(&out).1.contains("mode lto"), "{}", text(&out).1);
    let got = run_release(&target, "fixture-user-rustflags");
    assert_eq!(got, output);
    let records = report(&dir, &target);
    assert_reported(&records, "fixture_user_rustflags", "fixture_triangle");
    // The newer (link-time) records replace the rustc-mode ones for the same function.
    let triangle: Vec<&Value> = records
        .iter()
        .filter(|r| {
            r["pass"] == "hallows-inventory"
                && r["function"] == "fixture_user_rustflags::fixture_triangle"
        })
        .collect();
    assert_eq!(triangle.len(), 1, "{triangle:#?}");
}

#[test]
fn rustflags_from_cargo_config_arg_are_kept() {
    let dir = fixture("user-rustflags", "user-config-arg");
    let config = r#"build.rustflags=["--cfg","cli_flag"]"#;
    let (got, with, stderr) = build_both(
        &dir,
        "user-config-arg",
        "fixture-user-rustflags",
        &[],
        &["--config", config],
    );
    assert!(!stderr.contains("not merged"), "{stderr}");
    // Both the config file's flag and the command line's reached rustc, next to the plugin's.
    assert!(got.contains("user_flag is set"), "{got}");
    assert!(got.contains("cli_flag is set"), "{got}");
    assert_reported(
        &report(&dir, &with),
        "fixture_user_rustflags",
        "fixture_triangle",
    );

    // A malformed --config is an error that says what cargo expects, before anything is built.
    let out = hallows(&dir)
        .args([
            "build",
            "--release",
            "--config",
            "build.rustflags=[",
            "--target-dir",
        ])
        .arg(&with)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out)
            .1
            .contains("neither a config file nor a TOML `KEY=VALUE`"),
        "{}",
        text(&out).1
    );
}

#[test]
fn user_rustc_wrapper_is_chained() {
    let dir = fixture("user-rustflags", "user-wrapper");
    let tools = scratch("user-wrapper-tools");
    let log = tools.join("calls.log");
    let wrapper = tools.join("wrapper.sh");
    fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec \"$@\"\n",
            log.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
    let target = scratch("user-wrapper-target");
    run_ok(
        hallows(&dir)
            .args(["build", "--release", "--target-dir"])
            .arg(&target)
            .env("RUSTC_WRAPPER", &wrapper),
    );
    let calls = fs::read_to_string(&log).expect("the user's wrapper ran");
    let compile = calls
        .lines()
        .find(|l| l.contains("--crate-name fixture_user_rustflags"))
        .expect("wrapper saw the crate");
    assert!(
        compile.contains("-Zllvm-plugins="),
        "the plugin flag is missing: {compile}"
    );
    assert!(
        compile.contains("--cfg user_flag"),
        "the user's flag is missing: {compile}"
    );
    // cargo's own `-vV` probe went through unchanged.
    assert!(
        calls
            .lines()
            .any(|l| l.ends_with("-vV") && !l.contains("llvm-plugins")),
        "{calls}"
    );
}

#[test]
fn build_without_the_plugin_running_is_an_error() {
    // A user wrapper that drops the plugin flag: cargo succeeds, but the plugin never ran.
    let dir = fixture("user-rustflags", "plugin-dropped");
    let tools = scratch("plugin-dropped-tools");
    let wrapper = tools.join("drop-plugin.sh");
    let script = "#!/bin/sh\nrustc=$1; shift\nfor a in \"$@\"; do shift; case \"$a\" in -Zllvm-plugins=*) ;; *) set -- \"$@\" \"$a\";; esac; done\nexec \"$rustc\" \"$@\"\n";
    fs::write(&wrapper, script).unwrap();
    fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
    let target = scratch("plugin-dropped-target");
    let out = common::output(
        hallows(&dir)
            .args(["build", "--release", "--target-dir"])
            .arg(&target)
            .env("RUSTC_WRAPPER", &wrapper),
    );
    let stderr = text(&out).1;
    assert!(
        !out.status.success(),
        "a build without the plugin passed:\n{stderr}"
    );
    assert!(
        stderr.contains("wrote no report") && stderr.contains("fixture_user_rustflags"),
        "{stderr}"
    );
}

#[test]
fn build_script_probes_see_the_stable_compiler() {
    let dir = fixture("build-probe", "build-probe");
    let (output, _, _) = build_both(&dir, "build-probe", "fixture-build-probe", &[], &[]);
    // On a stable toolchain the plain build says "not available"; with a nightly toolchain both
    // builds agree the other way. What matters is that cargo-hallows did not change the answer.
    assert!(output.starts_with("nightly features: "), "{output}");
}

#[test]
fn marker_flag_does_not_change_the_binary() {
    let dir = fixture("itoa-dep", "marker");
    let a = scratch("marker-a");
    let b = scratch("marker-b");
    run_ok(
        cargo(&dir)
            .args(["build", "--release", "--quiet", "--target-dir"])
            .arg(&a),
    );
    run_ok(
        cargo(&dir)
            .args(["build", "--release", "--quiet", "--target-dir"])
            .arg(&b)
            .env(
                "RUSTFLAGS",
                "--remap-path-prefix=/hallows-marker/0123=/hallows-marker/0123",
            ),
    );
    let read = |t: &Path| fs::read(t.join("release/fixture-itoa-dep")).expect("binary built");
    assert!(read(&a) == read(&b), "the marker flag changed the binary");
}
