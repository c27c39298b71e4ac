//! Every workload binary, run with `--small`: prints one well-formed result line, prints the
//! same line twice in a row (deterministic input and computation), prints the same line for its
//! `plain` and `prefetch` variants, and rejects bad arguments with a usage error.

use std::process::{Command, Output};

/// (binary, path from Cargo, has a prefetch variant).
const BINS: &[(&str, &str, bool)] = &[
    ("interp", env!("CARGO_BIN_EXE_interp"), false),
    ("json", env!("CARGO_BIN_EXE_json"), false),
    ("lexer", env!("CARGO_BIN_EXE_lexer"), false),
    ("nas_is", env!("CARGO_BIN_EXE_nas_is"), true),
    ("nas_cg", env!("CARGO_BIN_EXE_nas_cg"), true),
    ("randacc", env!("CARGO_BIN_EXE_randacc"), true),
    ("hashjoin", env!("CARGO_BIN_EXE_hashjoin"), true),
    ("bfs", env!("CARGO_BIN_EXE_bfs"), true),
    ("ptrchase", env!("CARGO_BIN_EXE_ptrchase"), false),
    ("compute", env!("CARGO_BIN_EXE_compute"), false),
];

fn run(path: &str, args: &[&str]) -> Output {
    Command::new(path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {path}: {e}"))
}

/// Runs a workload that must succeed and returns its stdout line.
fn result_line(name: &str, path: &str, args: &[&str]) -> String {
    let out = run(path, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name} {args:?} failed: {stderr}");
    let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    assert!(
        stderr.contains(&format!("{name}: variant=")) && stderr.contains("kernel_s="),
        "{name}: no timing line on stderr: {stderr}"
    );
    assert!(
        !stdout.contains("_s="),
        "{name}: timing leaked into stdout: {stdout}"
    );
    stdout
}

/// `<name>: checksum=<16 hex> key=value ...` and a newline, nothing else.
fn assert_well_formed(name: &str, stdout: &str) {
    let line = stdout
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("{name}: no newline: {stdout:?}"));
    assert!(
        !line.contains('\n'),
        "{name}: more than one line: {stdout:?}"
    );
    let mut words = line.split(' ');
    assert_eq!(words.next(), Some(&*format!("{name}:")), "{name}: {line}");
    let checksum = words
        .next()
        .and_then(|w| w.strip_prefix("checksum="))
        .unwrap_or("");
    assert!(
        checksum.len() == 16 && checksum.bytes().all(|b| b.is_ascii_hexdigit()),
        "{name}: bad checksum field: {line}"
    );
    let mut fields = 0;
    for word in words {
        let (key, value) = word
            .split_once('=')
            .unwrap_or_else(|| panic!("{name}: `{word}` in {line}"));
        assert!(
            !key.is_empty() && !value.is_empty(),
            "{name}: `{word}` in {line}"
        );
        fields += 1;
    }
    assert!(fields >= 1, "{name}: no result fields: {line}");
}

#[test]
fn small_runs_are_well_formed_and_deterministic() {
    for &(name, path, _) in BINS {
        let first = result_line(name, path, &["--small"]);
        assert_well_formed(name, &first);
        let second = result_line(name, path, &["--small"]);
        assert_eq!(first, second, "{name}: two runs differ");
    }
}

#[test]
fn seeds_change_the_input() {
    for &(name, path, _) in BINS {
        let a = result_line(name, path, &["--small", "--seed", "1"]);
        let b = result_line(name, path, &["--small", "--seed", "2"]);
        assert_ne!(a, b, "{name}: seeds 1 and 2 print the same result");
    }
}

#[test]
fn prefetch_variants_compute_what_plain_ones_do() {
    for &(name, path, prefetch) in BINS {
        if !prefetch {
            let out = run(path, &["--small", "--variant", "prefetch"]);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{name} accepted --variant prefetch"
            );
            continue;
        }
        for seed in ["3", "42"] {
            let plain = result_line(
                name,
                path,
                &["--small", "--seed", seed, "--variant", "plain"],
            );
            let tuned = result_line(
                name,
                path,
                &["--small", "--seed", seed, "--variant", "prefetch"],
            );
            assert_eq!(plain, tuned, "{name} seed {seed}: variants differ");
        }
    }
}

#[test]
fn bad_arguments_are_usage_errors_not_panics() {
    for &(name, path, _) in BINS {
        for args in [
            &["--size"][..],
            &["--size", "banana"],
            &["--bogus"],
            &["--small", "--size", "64"],
        ] {
            let out = run(path, args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{name} {args:?}: {stderr}");
            assert!(
                stderr.starts_with("error: ") && stderr.contains("usage:"),
                "{name} {args:?}: {stderr}"
            );
            assert!(!stderr.contains("panicked"), "{name} {args:?}: {stderr}");
            assert!(out.stdout.is_empty(), "{name} {args:?} printed to stdout");
        }
    }
}

#[test]
fn help_goes_to_stdout() {
    for &(name, path, _) in BINS {
        let out = run(path, &["--help"]);
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("usage: {name}")));
    }
}

/// The workloads ported to the Hallows runtime, with the sequential binary each must agree with.
const RUNTIME_PORTS: &[(&str, &str, &str, &str)] = &[
    (
        "rt_json",
        env!("CARGO_BIN_EXE_rt_json"),
        "json",
        env!("CARGO_BIN_EXE_json"),
    ),
    (
        "rt_compute",
        env!("CARGO_BIN_EXE_rt_compute"),
        "compute",
        env!("CARGO_BIN_EXE_compute"),
    ),
];

/// A port prints its original's result line (after the name) for every worker count and seed,
/// the runtime's counters only on stderr, and rejects bad `--workers` values as usage errors.
#[test]
fn runtime_ports_print_what_their_sequential_originals_print() {
    for &(name, path, original, original_path) in RUNTIME_PORTS {
        for seed in ["1", "42"] {
            let expected = result_line(original, original_path, &["--small", "--seed", seed]);
            let expected = expected
                .strip_prefix(&format!("{original}: "))
                .unwrap_or_else(|| panic!("{original}: {expected}"));
            for workers in [None, Some("1"), Some("2"), Some("3")] {
                let mut args = vec!["--small", "--seed", seed];
                args.extend(workers.iter().flat_map(|n| ["--workers", n]));
                let out = run(path, &args);
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(out.status.success(), "{name} {args:?}: {stderr}");
                let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
                assert_well_formed(name, &stdout);
                assert_eq!(
                    stdout.strip_prefix(&format!("{name}: ")),
                    Some(expected),
                    "{name} {args:?} differs from {original}"
                );
                let summary = stderr
                    .lines()
                    .find(|l| l.starts_with(&format!("{name}: scheduler workers=")))
                    .unwrap_or_else(|| panic!("{name} {args:?}: no scheduler line: {stderr}"));
                for counter in [" steals=", " migrations=", " polls="] {
                    assert!(summary.contains(counter), "{name}: {summary}");
                }
                if let Some(n) = workers {
                    assert!(
                        summary.contains(&format!("workers={n} ")),
                        "{name} {args:?}: {summary}"
                    );
                }
                assert!(
                    stderr.contains(&format!("{name}: variant=")) && stderr.contains("kernel_s="),
                    "{name}: no timing line on stderr: {stderr}"
                );
            }
        }
        for args in [
            &["--workers"][..],
            &["--workers", "0"],
            &["--workers", "many"],
            &["--workers", "1", "--workers", "2"],
            &["--workers", "2", "--bogus"],
        ] {
            let out = run(path, args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{name} {args:?}: {stderr}");
            assert!(
                stderr.starts_with("error: ") && stderr.contains("usage:"),
                "{name} {args:?}: {stderr}"
            );
            assert!(!stderr.contains("panicked"), "{name} {args:?}: {stderr}");
            assert!(out.stdout.is_empty(), "{name} {args:?} printed to stdout");
        }
        let help = run(path, &["--help"]);
        assert!(help.status.success());
        assert!(String::from_utf8_lossy(&help.stdout).contains("--workers N"));
    }
}
