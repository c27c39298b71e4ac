//! `cargo hallows doctor`: checks everything Hallows needs, one line per item, each either OK or
//! a problem with its fix. Exits non-zero when a required item fails.

use crate::cli::DoctorArgs;
use crate::plugin::{self, PLUGIN_FILE_NAME};
use crate::toolchain::{self, LlvmConfig, Rustc};
use anyhow::{bail, Result};
use std::fs;
use std::path::Path;
use std::process::Command;

/// A tiny module for the plugin load check: one function with a loop.
const PROBE_MODULE: &str = r#"; hallows doctor probe
define i32 @hallows_doctor_probe(i32 %n) {
entry:
  br label %loop
loop:
  %i = phi i32 [ 0, %entry ], [ %next, %loop ]
  %next = add i32 %i, 1
  %done = icmp sge i32 %next, %n
  br i1 %done, label %exit, label %loop
exit:
  ret i32 %next
}
"#;

/// Result of one check.
struct Line {
    ok: bool,
    required: bool,
    item: String,
    detail: String,
}

#[derive(Default)]
struct Doctor {
    lines: Vec<Line>,
}

impl Doctor {
    fn ok(&mut self, item: &str, detail: impl Into<String>) {
        self.push(true, true, item, detail.into());
    }
    fn problem(&mut self, required: bool, item: &str, detail: impl Into<String>) {
        self.push(false, required, item, detail.into());
    }
    fn push(&mut self, ok: bool, required: bool, item: &str, detail: String) {
        let tag = match (ok, required) {
            (true, _) => "OK     ",
            (false, true) => "PROBLEM",
            (false, false) => "note   ",
        };
        println!("{tag} {item:<16} {detail}");
        self.lines.push(Line {
            ok,
            required,
            item: item.to_string(),
            detail,
        });
    }
}

/// Runs `cargo hallows doctor`.
pub fn run(args: DoctorArgs) -> Result<()> {
    let mut doctor = Doctor::default();
    let rustc = match Rustc::detect() {
        Ok(rustc) => {
            doctor.ok(
                "rustc",
                format!(
                    "{} ({}), LLVM {}",
                    rustc.release, rustc.host, rustc.llvm_version
                ),
            );
            rustc
        }
        Err(e) => {
            doctor.problem(true, "rustc", format!("{e:#}"));
            return finish(doctor);
        }
    };
    let major = rustc.llvm_major;
    let llvm = match LlvmConfig::find(major) {
        Ok(llvm) => {
            doctor.ok(
                "llvm-config",
                format!("{} (LLVM {})", llvm.path.display(), llvm.version),
            );
            Some(llvm)
        }
        Err(e) => {
            doctor.problem(true, "llvm-config", format!("{e:#}"));
            None
        }
    };
    let bindir = llvm.as_ref().map(|l| l.bindir.as_path());
    // (tool, required, what it is for)
    let tools = [
        (
            "opt",
            true,
            "runs the plugin's FileCheck tests and this load check",
        ),
        ("clang++", true, "compiles the plugin's C++ shim"),
        (
            "llvm-profdata",
            true,
            "merges PGO profiles for `cargo hallows profile`",
        ),
        ("FileCheck", false, "checks the plugin's lit tests"),
        (
            "ld.lld",
            false,
            "links with --load-pass-plugin outside rustc's own rust-lld",
        ),
    ];
    let mut opt = None;
    for (tool, required, purpose) in tools {
        match toolchain::find_tool(tool, major, bindir) {
            Ok(path) => {
                let version = toolchain::run_stdout(&path, &["--version"]).unwrap_or_default();
                let matches = version_mentions_major(&version, major);
                if matches || version.is_empty() {
                    doctor.ok(tool, path.display().to_string());
                    if tool == "opt" {
                        opt = Some(path);
                    }
                } else {
                    doctor.problem(
                        required,
                        tool,
                        format!(
                            "{} is not LLVM {major}; {}",
                            path.display(),
                            toolchain::install_hint(tool, major)
                        ),
                    );
                }
            }
            Err(e) => doctor.problem(required, tool, format!("{e:#} ({purpose})")),
        }
    }

    check_plugin(
        &mut doctor,
        &rustc,
        llvm.as_ref(),
        opt.as_deref(),
        args.no_build,
    );
    check_counters(&mut doctor);
    check_miri(&mut doctor);
    finish(doctor)
}

fn version_mentions_major(version: &str, major: u32) -> bool {
    version
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter(|w| w.contains('.'))
        .any(|w| toolchain::major_of(w) == Some(major))
}

fn check_plugin(
    doctor: &mut Doctor,
    rustc: &Rustc,
    llvm: Option<&LlvmConfig>,
    opt: Option<&Path>,
    no_build: bool,
) {
    let plugin = match plugin::from_override() {
        Err(e) => {
            doctor.problem(true, "plugin", format!("{e:#}"));
            return;
        }
        Ok(Some(p)) => {
            doctor.ok(
                "plugin",
                format!("{} (from HALLOWS_PLUGIN)", p.path.display()),
            );
            p
        }
        Ok(None) => {
            let Some(llvm) = llvm else {
                doctor.problem(
                    true,
                    "plugin",
                    "cannot be built without llvm-config (see above)",
                );
                return;
            };
            let cached = plugin::cache_entry(rustc, llvm)
                .map(|(dir, _)| dir.join(PLUGIN_FILE_NAME).is_file());
            match cached {
                Ok(false) if no_build => {
                    doctor.problem(
                        false,
                        "plugin",
                        "not built yet; `cargo hallows build` builds it on first use",
                    );
                    return;
                }
                Err(e) => {
                    doctor.problem(true, "plugin", format!("{e:#}"));
                    return;
                }
                _ => {}
            }
            match plugin::ensure_built(rustc, llvm) {
                Ok(p) => {
                    let how = if cached.is_ok_and(|c| c) {
                        "cached"
                    } else {
                        "built now"
                    };
                    doctor.ok(
                        "plugin",
                        format!(
                            "{how}: {} ({} embedded source files)",
                            p.path.display(),
                            plugin::embedded_file_count()
                        ),
                    );
                    p
                }
                Err(e) => {
                    doctor.problem(true, "plugin", format!("{e:#}"));
                    return;
                }
            }
        }
    };
    let Some(opt) = opt else {
        doctor.problem(
            true,
            "plugin load",
            "not checked: opt is missing (see above)",
        );
        return;
    };
    match load_check(opt, &plugin.path) {
        Ok(()) => doctor.ok(
            "plugin load",
            format!("{} -passes=hallows-inventory ran", opt.display()),
        ),
        Err(e) => doctor.problem(true, "plugin load", format!("{e:#}")),
    }
}

/// Runs `opt -load-pass-plugin=<so> -passes=hallows-inventory` on [`PROBE_MODULE`].
fn load_check(opt: &Path, so: &Path) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("hallows-doctor-{}", std::process::id()));
    fs::create_dir_all(&dir)?;
    let module = dir.join("probe.ll");
    fs::write(&module, PROBE_MODULE)?;
    let output = Command::new(opt)
        .arg(format!("-load-pass-plugin={}", so.display()))
        .args(["-passes=hallows-inventory", "-disable-output"])
        .arg(&module)
        .env_remove("HALLOWS_REPORT_DIR")
        .output();
    let _ = fs::remove_dir_all(&dir);
    let output = output?;
    if !output.status.success() {
        bail!(
            "opt could not run the plugin ({}): {}; rebuild it by deleting {} or report a bug",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim(),
            so.parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
    }
    Ok(())
}

fn check_counters(doctor: &mut Doctor) {
    use perf_event::events::Hardware;
    match perf_event::Builder::new()
        .kind(Hardware::INSTRUCTIONS)
        .build()
    {
        Ok(mut counter) => {
            let works = counter
                .enable()
                .and_then(|_| counter.disable())
                .and_then(|_| counter.read());
            match works {
                Ok(_) => doctor.ok("hw counters", "hardware instruction counter readable"),
                Err(e) => doctor.problem(
                    false,
                    "hw counters",
                    format!("not available, software fallback ({e})"),
                ),
            }
        }
        Err(e) => doctor.problem(
            false,
            "hw counters",
            format!("not available, software fallback ({e})"),
        ),
    }
}

fn check_miri(doctor: &mut Doctor) {
    let output = Command::new("cargo")
        .args(["+nightly", "miri", "--version"])
        .output();
    match output {
        Ok(o) if o.status.success() => {
            doctor.ok("nightly miri", String::from_utf8_lossy(&o.stdout).trim().to_string());
        }
        _ => doctor.problem(
            false,
            "nightly miri",
            "not installed (optional): `rustup toolchain install nightly --component miri rust-src`",
        ),
    }
}

fn finish(doctor: Doctor) -> Result<()> {
    let failed: Vec<&Line> = doctor
        .lines
        .iter()
        .filter(|l| !l.ok && l.required)
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = failed.iter().map(|l| l.item.as_str()).collect();
    let first = &failed[0].detail;
    bail!(
        "{} required item(s) failed: {}; first: {first}",
        failed.len(),
        names.join(", ")
    )
}
