//! cargo-hallows as cargo's `RUSTC_WRAPPER`.
//!
//! `cargo hallows build` sets `RUSTC_WRAPPER` to its own executable and [`WRAPPER_ENV`] to `1`;
//! cargo then runs `cargo-hallows <rustc> <args>` for every rustc call. For the crate
//! compilations cargo starts, the wrapper adds `-Zllvm-plugins=<plugin>` with
//! `RUSTC_BOOTSTRAP=1` (in `--mode rustc`) and logs the crate to [`COMPILE_LOG_ENV`] so the build
//! can check afterwards that the plugin reported on it. Every other call (cargo's `-vV` and
//! `--print` probes, and the probes build scripts run through `RUSTC_WRAPPER`, which never use
//! cargo's `--error-format=json`) runs unchanged, so build scripts do not see a nightly-enabled
//! compiler. Because `RUSTC_BOOTSTRAP` also switches rustc to nightly's default v0 symbol
//! mangling, the wrapper asks for stable's legacy mangling explicitly. A user's own wrapper ([`INNER_WRAPPER_ENV`]) still runs, around rustc.

use anyhow::{Context as _, Result};
use std::ffi::OsString;
use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::process::Command;

/// Set to `1` in cargo's environment to make this binary act as the wrapper.
pub const WRAPPER_ENV: &str = "HALLOWS_RUSTC_WRAPPER";
/// The plugin to load into rustc (absent in `--mode lto`).
pub const PLUGIN_ENV: &str = "HALLOWS_WRAPPED_PLUGIN";
/// The user's own rustc wrapper, run between this wrapper and rustc.
pub const INNER_WRAPPER_ENV: &str = "HALLOWS_INNER_WRAPPER";
/// File the wrapper appends `<crate>\t<crate types>\t<emit>\t<incremental 0|1>` lines to.
pub const COMPILE_LOG_ENV: &str = "HALLOWS_COMPILE_LOG";

/// Whether this process was started by cargo as the wrapper.
pub fn is_wrapper_invocation(args: &[OsString]) -> bool {
    std::env::var_os(WRAPPER_ENV).is_some_and(|v| v == "1")
        && args.get(1).is_some_and(|a| a != "hallows")
}

/// A crate compilation cargo started, as read from rustc's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compilation {
    /// `--crate-name`.
    pub crate_name: String,
    /// `--crate-type` values (comma-joined), `bin` when absent.
    pub crate_types: String,
    /// `--emit` value.
    pub emit: String,
    /// Whether `-C incremental` is on: unchanged codegen units are then reused without running
    /// LLVM, so the plugin may legitimately write nothing.
    pub incremental: bool,
}

impl Compilation {
    /// Recognises a cargo-started crate compilation; `None` for probes and queries.
    pub fn from_args(args: &[String]) -> Option<Compilation> {
        let mut crate_name = None;
        let mut crate_types = Vec::new();
        let mut emit = String::new();
        let mut json_errors = false;
        let mut incremental = false;
        let mut i = 0;
        while i < args.len() {
            let arg = args[i].as_str();
            let next = args.get(i + 1).map(String::as_str);
            match arg {
                "-" | "-vV" | "-V" | "--version" => return None,
                "--crate-name" => {
                    crate_name = next.map(str::to_string);
                    i += 1;
                }
                "--crate-type" => {
                    crate_types.extend(next.map(str::to_string));
                    i += 1;
                }
                "--print" => return None,
                _ if arg.starts_with("--print=") => return None,
                _ if arg.starts_with("--emit=") => emit = arg["--emit=".len()..].to_string(),
                _ if arg.starts_with("--crate-type=") => {
                    crate_types.push(arg["--crate-type=".len()..].to_string())
                }
                _ if arg.starts_with("--error-format=json") => json_errors = true,
                _ if arg.starts_with("-Cincremental=") => incremental = true,
                "-C" if next.is_some_and(|n| n.starts_with("incremental=")) => incremental = true,
                _ => {}
            }
            i += 1;
        }
        if !json_errors {
            return None;
        }
        let crate_types = if crate_types.is_empty() {
            "bin".to_string()
        } else {
            crate_types.join(",")
        };
        Some(Compilation {
            crate_name: crate_name?,
            crate_types,
            emit,
            incremental,
        })
    }

    /// Whether rustc generates code for it (so the plugin runs in `--mode rustc`).
    pub fn has_codegen(&self) -> bool {
        self.emit
            .split(',')
            .any(|e| e == "link" || e == "obj" || e.starts_with("link=") || e.starts_with("obj="))
    }

    /// Whether the linker runs for it (so the plugin runs in `--mode lto`).
    pub fn is_linked(&self) -> bool {
        self.has_codegen()
            && self
                .crate_types
                .split(',')
                .any(|t| matches!(t, "bin" | "cdylib" | "dylib" | "proc-macro"))
    }

    /// Parses one compile-log line.
    pub fn from_log_line(line: &str) -> Option<Compilation> {
        let mut parts = line.split('\t');
        Some(Compilation {
            crate_name: parts.next()?.to_string(),
            crate_types: parts.next()?.to_string(),
            emit: parts.next()?.to_string(),
            incremental: parts.next()? == "1",
        })
    }
}

/// Runs as the wrapper: `args[1]` is rustc, the rest its arguments. Returns only on error.
pub fn run(args: Vec<OsString>) -> Result<std::convert::Infallible> {
    let rustc = args
        .get(1)
        .cloned()
        .context("the rustc wrapper was started without a rustc path")?;
    let rest: Vec<OsString> = args[2..].to_vec();
    let text: Vec<String> = rest
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let compilation = Compilation::from_args(&text);

    let mut command = match std::env::var_os(INNER_WRAPPER_ENV).filter(|w| !w.is_empty()) {
        Some(inner) => {
            let mut c = Command::new(inner);
            c.arg(&rustc);
            c
        }
        None => Command::new(&rustc),
    };
    command.args(&rest);
    for var in [WRAPPER_ENV, PLUGIN_ENV, INNER_WRAPPER_ENV, COMPILE_LOG_ENV] {
        command.env_remove(var);
    }
    if let Some(compilation) = &compilation {
        if let Some(plugin) = std::env::var_os(PLUGIN_ENV).filter(|p| !p.is_empty()) {
            let mut flag = OsString::from("-Zllvm-plugins=");
            flag.push(plugin);
            command.arg(flag).env("RUSTC_BOOTSTRAP", "1");
            // RUSTC_BOOTSTRAP makes rustc behave as a nightly, whose default symbol mangling is
            // v0; keep stable's legacy mangling so the binary matches a plain build.
            if !text.iter().any(|a| a.contains("symbol-mangling-version")) {
                command.args(["-Csymbol-mangling-version=legacy", "-Zunstable-options"]);
            }
        }
        if let Some(log) = std::env::var_os(COMPILE_LOG_ENV) {
            let line = format!(
                "{}\t{}\t{}\t{}\n",
                compilation.crate_name,
                compilation.crate_types,
                compilation.emit,
                u8::from(compilation.incremental)
            );
            // One small O_APPEND write per process: lines of parallel rustc calls do not interleave.
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
                .with_context(|| {
                    format!("failed to open the compile log {}", log.to_string_lossy())
                })?;
            file.write_all(line.as_bytes()).with_context(|| {
                format!("failed to write the compile log {}", log.to_string_lossy())
            })?;
        }
    }
    let err = command.exec();
    Err(err).with_context(|| format!("failed to run {}", rustc.to_string_lossy()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn recognises_cargo_compilations_only() {
        let real = Compilation::from_args(&args(
            "--crate-name itoa --edition=2018 src/lib.rs --error-format=json --json=diagnostic-rendered-ansi --crate-type lib --emit=dep-info,metadata,link -C opt-level=3",
        ))
        .unwrap();
        assert_eq!(real.crate_name, "itoa");
        assert!(real.has_codegen());
        assert!(!real.is_linked());
        assert!(!real.incremental);
        let incremental = Compilation::from_args(&args(
            "--crate-name a a.rs --error-format=json -C incremental=/t/i --emit=link",
        ))
        .unwrap();
        assert!(incremental.incremental);
        let bin = Compilation::from_args(&args("--crate-name app src/main.rs --error-format=json --crate-type bin --emit=dep-info,link")).unwrap();
        assert!(bin.is_linked());
        assert!(Compilation::from_args(&args("-vV")).is_none());
        assert!(Compilation::from_args(&args(
            "- --crate-name ___ --print=file-names --error-format=json"
        ))
        .is_none());
        // A build script's probe (no JSON diagnostics) is left alone.
        assert!(Compilation::from_args(&args(
            "--crate-name probe --crate-type lib --emit=metadata probe.rs"
        ))
        .is_none());
        let check = Compilation::from_args(&args(
            "--crate-name x x.rs --error-format=json --emit=dep-info,metadata",
        ))
        .unwrap();
        assert!(!check.has_codegen());
    }

    #[test]
    fn log_lines_round_trip() {
        let c = Compilation::from_log_line("itoa\tlib\tdep-info,link\t1").unwrap();
        assert_eq!(c.crate_name, "itoa");
        assert!(c.incremental);
        assert!(Compilation::from_log_line("broken").is_none());
    }
}
