//! Toolchain discovery: which rustc runs the build, which LLVM it carries, and the matching LLVM
//! tools (`llvm-config-NN`, `opt-NN`, ...) from the distribution's packages.
//!
//! The plugin must be built against the same LLVM major version as rustc's own libLLVM, so the
//! LLVM major read from `rustc -vV` decides which `llvm-config-NN` is acceptable.

use anyhow::{anyhow, bail, Context as _, Result};
use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What `rustc -vV` says about the compiler that cargo will run.
#[derive(Debug, Clone)]
pub struct Rustc {
    /// The rustc program (from `RUSTC`, else `rustc`).
    pub program: OsString,
    /// The whole `rustc -vV` output; part of the plugin's cache key.
    pub verbose_version: String,
    /// `release:` line, e.g. `1.95.0`.
    pub release: String,
    /// `host:` line, e.g. `x86_64-unknown-linux-gnu`.
    pub host: String,
    /// `LLVM version:` line, e.g. `22.1.2`.
    pub llvm_version: String,
    /// Major part of `llvm_version`.
    pub llvm_major: u32,
}

impl Rustc {
    /// Runs `$RUSTC -vV` (or `rustc -vV`) and parses it.
    pub fn detect() -> Result<Rustc> {
        let program = env::var_os("RUSTC")
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "rustc".into());
        let output = Command::new(&program)
            .arg("-vV")
            .output()
            .with_context(|| {
                format!(
                    "failed to run `{} -vV`; install Rust with rustup (https://rustup.rs)",
                    program.to_string_lossy()
                )
            })?;
        if !output.status.success() {
            bail!(
                "`{} -vV` failed: {}",
                program.to_string_lossy(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        Rustc::parse(program, &text)
    }

    /// Parses the output of `rustc -vV`.
    pub fn parse(program: OsString, text: &str) -> Result<Rustc> {
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_string())
        };
        let release =
            field("release:").ok_or_else(|| anyhow!("`rustc -vV` printed no `release:` line"))?;
        let host = field("host:").ok_or_else(|| anyhow!("`rustc -vV` printed no `host:` line"))?;
        let llvm_version = field("LLVM version:").ok_or_else(|| {
            anyhow!("`rustc -vV` printed no `LLVM version:` line; Hallows needs a rustc built with LLVM (install Rust with rustup)")
        })?;
        let llvm_major = major_of(&llvm_version)
            .ok_or_else(|| anyhow!("cannot read the LLVM major version from `{llvm_version}`"))?;
        Ok(Rustc {
            program,
            verbose_version: text.to_string(),
            release,
            host,
            llvm_version,
            llvm_major,
        })
    }
}

/// The major number of a version string like `22.1.2` or `22.1.8git`.
pub fn major_of(version: &str) -> Option<u32> {
    version.trim().split('.').next()?.trim().parse().ok()
}

/// The Debian package that ships an LLVM tool of the given major version.
pub fn debian_package(tool: &str, major: u32) -> String {
    match tool {
        "llvm-config" => format!("llvm-{major}-dev"),
        "clang++" | "clang" => format!("clang-{major}"),
        "ld.lld" | "lld" => format!("lld-{major}"),
        "FileCheck" => format!("llvm-{major}-tools"),
        _ => format!("llvm-{major}"),
    }
}

/// The hint that ends every "missing tool" error.
pub fn install_hint(tool: &str, major: u32) -> String {
    format!(
        "install it with `apt-get install {}` (or run scripts/setup.sh from the Hallows checkout, which installs every LLVM {major} package Hallows needs)",
        debian_package(tool, major)
    )
}

/// An `llvm-config` whose major version matches rustc's LLVM.
#[derive(Debug, Clone)]
pub struct LlvmConfig {
    /// Full path of the program.
    pub path: PathBuf,
    /// Its `--version` output, e.g. `22.1.8`.
    pub version: String,
    /// Its `--bindir` output.
    pub bindir: PathBuf,
}

impl LlvmConfig {
    /// Finds `llvm-config` for LLVM `major`: `LLVM_CONFIG` if set (it must match), else
    /// `llvm-config-NN` on `PATH`, else `/usr/lib/llvm-NN/bin/llvm-config`.
    pub fn find(major: u32) -> Result<LlvmConfig> {
        if let Some(path) = env::var_os("LLVM_CONFIG").filter(|p| !p.is_empty()) {
            let path = PathBuf::from(path);
            return LlvmConfig::probe(&path, major).with_context(|| {
                format!(
                    "LLVM_CONFIG={} is not a usable llvm-config for LLVM {major}",
                    path.display()
                )
            });
        }
        let mut candidates = Vec::new();
        if let Some(p) = find_in_path(&format!("llvm-config-{major}")) {
            candidates.push(p);
        }
        candidates.push(PathBuf::from(format!(
            "/usr/lib/llvm-{major}/bin/llvm-config"
        )));
        if let Some(p) = find_in_path("llvm-config") {
            candidates.push(p);
        }
        let mut mismatches = Vec::new();
        for candidate in candidates.iter().filter(|p| p.is_file()) {
            match LlvmConfig::probe(candidate, major) {
                Ok(found) => return Ok(found),
                Err(e) => mismatches.push(format!("{}: {e:#}", candidate.display())),
            }
        }
        let tried = if mismatches.is_empty() {
            String::new()
        } else {
            format!(" (rejected: {})", mismatches.join("; "))
        };
        bail!(
            "rustc uses LLVM {major} but no llvm-config-{major} was found on PATH or in /usr/lib/llvm-{major}/bin{tried}; {}; or point LLVM_CONFIG at it",
            install_hint("llvm-config", major)
        )
    }

    /// Checks that `path --version` reports LLVM `major`.
    pub fn probe(path: &Path, major: u32) -> Result<LlvmConfig> {
        let version = run_stdout(path, &["--version"])?;
        let found = major_of(&version);
        if found != Some(major) {
            bail!(
                "it reports LLVM version `{version}`, but rustc uses LLVM {major}; {}",
                install_hint("llvm-config", major)
            );
        }
        let bindir = PathBuf::from(run_stdout(path, &["--bindir"])?);
        Ok(LlvmConfig {
            path: path.to_path_buf(),
            version,
            bindir,
        })
    }

    /// Finds an LLVM tool (`opt`, `llvm-profdata`, `FileCheck`, `clang++`, `ld.lld`) of this
    /// LLVM: `<tool>-NN` on PATH, else `<bindir>/<tool>`.
    pub fn tool(&self, tool: &str) -> Result<PathBuf> {
        let major = major_of(&self.version).unwrap_or(0);
        find_tool(tool, major, Some(&self.bindir))
    }
}

/// Finds `<tool>-<major>` on PATH, else `<bindir>/<tool>`, else `/usr/lib/llvm-NN/bin/<tool>`.
pub fn find_tool(tool: &str, major: u32, bindir: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = find_in_path(&format!("{tool}-{major}")) {
        return Ok(p);
    }
    let dirs = bindir
        .map(Path::to_path_buf)
        .into_iter()
        .chain([PathBuf::from(format!("/usr/lib/llvm-{major}/bin"))]);
    for dir in dirs {
        let p = dir.join(tool);
        if p.is_file() {
            return Ok(p);
        }
    }
    bail!("{tool}-{major} not found; {}", install_hint(tool, major))
}

/// Looks `name` up in `PATH` like a shell would.
pub fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Runs `program args` and returns its trimmed stdout, or an error with its stderr.
pub fn run_stdout(program: &Path, args: &[&str]) -> Result<String> {
    let output = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("failed to run `{} {}`", program.display(), args.join(" ")))?;
    if !output.status.success() {
        bail!(
            "`{} {}` failed ({}): {}",
            program.display(),
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VV: &str = "rustc 1.95.0 (59807616e 2026-04-14)\nbinary: rustc\ncommit-hash: 5980\nhost: x86_64-unknown-linux-gnu\nrelease: 1.95.0\nLLVM version: 22.1.2\n";

    #[test]
    fn parses_rustc_verbose_version() {
        let rustc = Rustc::parse("rustc".into(), VV).unwrap();
        assert_eq!(rustc.llvm_major, 22);
        assert_eq!(rustc.llvm_version, "22.1.2");
        assert_eq!(rustc.host, "x86_64-unknown-linux-gnu");
        assert_eq!(rustc.release, "1.95.0");
    }

    #[test]
    fn rustc_without_llvm_is_an_error() {
        let err = Rustc::parse("rustc".into(), "release: 1.0\nhost: x\n").unwrap_err();
        assert!(err.to_string().contains("LLVM version"), "{err}");
    }

    #[test]
    fn package_names_follow_debian() {
        assert_eq!(debian_package("llvm-config", 22), "llvm-22-dev");
        assert_eq!(debian_package("clang++", 22), "clang-22");
        assert_eq!(debian_package("FileCheck", 21), "llvm-21-tools");
        assert_eq!(debian_package("opt", 22), "llvm-22");
        assert_eq!(major_of("22.1.8git"), Some(22));
    }
}
