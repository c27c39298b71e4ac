//! What cargo-hallows needs to know about the user's cargo invocation: the cargo program, the
//! workspace from `cargo metadata`, and the settings hidden in `cargo build` arguments.

use anyhow::{bail, Context as _, Result};
use serde::Deserialize;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The cargo program: `$CARGO` (set when cargo runs a subcommand), else `cargo`.
pub fn program() -> OsString {
    std::env::var_os("CARGO")
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "cargo".into())
}

/// The parts of `cargo metadata` cargo-hallows uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    /// Where cargo puts build outputs (honours `CARGO_TARGET_DIR` and `build.target-dir`).
    pub target_directory: PathBuf,
    /// The workspace root.
    pub workspace_root: PathBuf,
    /// Workspace members (with `--no-deps`).
    pub packages: Vec<Package>,
}

/// A package in [`Metadata`].
#[derive(Debug, Clone, Deserialize)]
pub struct Package {
    /// Package name.
    pub name: String,
    /// Its targets.
    pub targets: Vec<Target>,
    /// Its `[package.metadata]` table (`null` in `cargo metadata` when there is none).
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
}

/// A build target in [`Package`].
#[derive(Debug, Clone, Deserialize)]
pub struct Target {
    /// Target name.
    pub name: String,
    /// `bin`, `lib`, `example`, ...
    pub kind: Vec<String>,
}

impl Metadata {
    /// Runs `cargo metadata --no-deps` for the project at `manifest_path` or the current directory.
    pub fn load(manifest_path: Option<&Path>) -> Result<Metadata> {
        let mut command = Command::new(program());
        command.args(["metadata", "--format-version", "1", "--no-deps"]);
        if let Some(path) = manifest_path {
            command.arg("--manifest-path").arg(path);
        }
        let output = command
            .output()
            .context("failed to run `cargo metadata`; is cargo installed?")?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            if stderr.contains("could not find `Cargo.toml`") {
                let cwd = std::env::current_dir()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default();
                bail!(
                    "not a cargo project: no Cargo.toml in {cwd} or any parent directory; run `cargo hallows` inside a crate or workspace, or pass `--manifest-path`"
                );
            }
            bail!("`cargo metadata` failed:\n{}", stderr.trim());
        }
        serde_json::from_slice(&output.stdout)
            .context("failed to parse the output of `cargo metadata`")
    }
}

/// Settings read from `cargo build` arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildSettings {
    /// `--release` / `-r`.
    pub release: bool,
    /// `--profile NAME`.
    pub profile: Option<String>,
    /// `--target-dir DIR`.
    pub target_dir: Option<PathBuf>,
    /// Every `--target TRIPLE`.
    pub targets: Vec<String>,
    /// `--manifest-path PATH`.
    pub manifest_path: Option<PathBuf>,
    /// Every `--config KEY=VALUE|PATH`, in command-line order.
    pub config_args: Vec<String>,
    /// `--quiet` / `-q`.
    pub quiet: bool,
}

impl BuildSettings {
    /// Reads the settings from `cargo build` arguments (stopping at `--`).
    pub fn parse(args: &[String]) -> BuildSettings {
        let mut settings = BuildSettings::default();
        let mut i = 0;
        while i < args.len() {
            let arg = args[i].as_str();
            if arg == "--" {
                break;
            }
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
                _ => (arg, None),
            };
            let takes_value = matches!(
                name,
                "--profile" | "--target-dir" | "--target" | "--manifest-path" | "--config"
            );
            let value = if takes_value {
                match inline {
                    Some(v) => Some(v),
                    None => {
                        i += 1;
                        args.get(i).cloned()
                    }
                }
            } else {
                None
            };
            match name {
                "--release" | "-r" => settings.release = true,
                "--quiet" | "-q" => settings.quiet = true,
                "--profile" => settings.profile = value,
                "--target-dir" => settings.target_dir = value.map(PathBuf::from),
                "--target" => settings.targets.extend(value),
                "--manifest-path" => settings.manifest_path = value.map(PathBuf::from),
                "--config" => settings.config_args.extend(value),
                _ => {}
            }
            i += 1;
        }
        settings
    }

    /// The name of the directory cargo writes this profile's outputs to.
    pub fn profile_dir(&self) -> String {
        match self.profile.as_deref() {
            Some("dev") | Some("test") => "debug".into(),
            Some("bench") => "release".into(),
            Some(other) => other.to_string(),
            None if self.release => "release".into(),
            None => "debug".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reads_build_settings() {
        let s = BuildSettings::parse(&args(&[
            "-p",
            "x",
            "--release",
            "--target-dir=/t",
            "--target",
            "a-b-c",
        ]));
        assert!(s.release);
        assert_eq!(s.target_dir.as_deref(), Some(Path::new("/t")));
        assert_eq!(s.targets, ["a-b-c"]);
        assert_eq!(s.profile_dir(), "release");
        let s = BuildSettings::parse(&args(&["--profile", "bench", "--", "--release"]));
        assert_eq!(s.profile_dir(), "release");
        assert_eq!(
            BuildSettings::parse(&args(&["--profile=custom"])).profile_dir(),
            "custom"
        );
        assert_eq!(BuildSettings::parse(&args(&[])).profile_dir(), "debug");
    }

    #[test]
    fn keeps_config_args_in_order() {
        let s = BuildSettings::parse(&args(&[
            "--config",
            "build.rustflags=[\"-Ca\"]",
            "--config=extra.toml",
            "--",
            "--config",
            "ignored",
        ]));
        assert_eq!(s.config_args, ["build.rustflags=[\"-Ca\"]", "extra.toml"]);
    }
}
