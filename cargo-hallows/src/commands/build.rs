//! `cargo hallows build`: `cargo build` with the pass plugin loaded.
//!
//! Steps: read the cargo arguments, find the target directory with `cargo metadata`, get the
//! plugin ([`crate::plugin::ensure`]), merge the user's rustflags ([`crate::rustflags`]) with ours,
//! run cargo with cargo-hallows as `RUSTC_WRAPPER` ([`crate::wrapper`]), then check that the
//! plugin reported on the crates that were compiled, so a build never silently runs without it.
//!
//! Cargo rebuilds only when the flags string changes, not when the plugin or the wrapper does, so
//! the flags carry a marker naming a hash of everything that changes the output (plugin, mode,
//! passes, PGO and access-pattern profiles): `--remap-path-prefix=/hallows-marker/<hash>=/hallows-marker/<hash>`.
//! It maps a path prefix that no source file has onto itself, which changes nothing rustc emits.

use crate::cargo::{self, BuildSettings, Metadata};
use crate::cli::{Mode, PluginOptions};
use crate::commands::profile;
use crate::plugin::{self, Origin, Plugin};
use crate::prefetch;
use crate::report::Reports;
use crate::rustflags::{self, CargoConfig};
use crate::term;
use crate::toolchain::Rustc;
use crate::wrapper::{self, Compilation};
use anyhow::{bail, Context as _, Result};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// Passes scheduled when `--passes` is not given and no access-pattern profile exists: static
/// prefetching heuristics are too risky to be on by default.
pub const DEFAULT_PASSES: &str = "inventory,railway";

/// Passes scheduled when `--passes` is not given and `cargo hallows profile` collected an
/// access-pattern profile (profile-guided prefetching).
pub const DEFAULT_PASSES_WITH_PREFETCH: &str = "inventory,railway,prefetch";

/// Passes the plugin knows (docs/REPORT_FORMAT.md, `HALLOWS_PASSES`); `prefetch-instrument` is
/// what `cargo hallows profile` builds the access-pattern training binary with.
pub const KNOWN_PASSES: &[&str] = &["inventory", "railway", "prefetch", "prefetch-instrument"];

/// Allowance for clock granularity when deciding whether a record was written by this build.
const CLOCK_SLACK_MS: u64 = 2_000;

/// An exit code to leave with after cargo (or the user's program) already explained the failure.
#[derive(Debug)]
pub struct ExitStatusError(pub i32);

impl std::fmt::Display for ExitStatusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exited with status {}", self.0)
    }
}

impl std::error::Error for ExitStatusError {}

/// What a finished build produced.
#[derive(Debug, Clone)]
pub struct Built {
    /// The target directory.
    pub target_dir: PathBuf,
    /// The profile's output directory name (`release`, `debug`, ...).
    pub profile_dir: String,
    /// Where reports went.
    pub report_dir: PathBuf,
}

/// Extracts cargo-hallows' own flags (`--mode`, `--passes`, `--no-profile`) from among the cargo
/// arguments (before any `--`), returning the rest.
pub fn split_own_flags(options: &mut PluginOptions, args: &[String]) -> Result<Vec<String>> {
    let mut rest = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if arg == "--" {
            rest.extend(args[i..].iter().cloned());
            break;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (arg.as_str(), None),
        };
        match name {
            "--mode" | "--passes" => {
                let value = match inline {
                    Some(v) => v,
                    None => {
                        i += 1;
                        args.get(i)
                            .cloned()
                            .with_context(|| format!("`{name}` needs a value"))?
                    }
                };
                if name == "--mode" {
                    options.mode = match value.as_str() {
                        "rustc" => Mode::Rustc,
                        "lto" => Mode::Lto,
                        other => {
                            bail!("invalid value `{other}` for `--mode`: expected `rustc` or `lto`")
                        }
                    };
                } else {
                    options.passes = Some(value);
                }
            }
            "--no-profile" if inline.is_none() => options.no_profile = true,
            _ => rest.push(arg.clone()),
        }
        i += 1;
    }
    Ok(rest)
}

/// Checks a `--passes` list and returns it normalised (`hallows-` prefixes dropped).
pub fn validate_passes(list: &str) -> Result<String> {
    let mut passes = Vec::new();
    for pass in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bare = pass.strip_prefix("hallows-").unwrap_or(pass);
        if !KNOWN_PASSES.contains(&bare) {
            bail!(
                "unknown pass `{pass}` in `--passes`: expected a comma list of {}",
                KNOWN_PASSES.join(", ")
            );
        }
        if !passes.contains(&bare) {
            passes.push(bare);
        }
    }
    if passes.is_empty() {
        bail!(
            "`--passes` is empty: expected a comma list of {}",
            KNOWN_PASSES.join(", ")
        );
    }
    Ok(passes.join(","))
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// What a caller adds to a build.
#[derive(Debug, Clone, Default)]
pub struct Additions {
    /// Rustflags after the user's and cargo-hallows' own.
    pub flags: Vec<String>,
    /// Environment of cargo, and so of every rustc and build script it starts.
    pub env: Vec<(&'static str, OsString)>,
}

/// Runs `cargo hallows build`.
pub fn run(options: PluginOptions, cargo_args: Vec<String>) -> Result<()> {
    build(options, cargo_args, &Additions::default()).map(|_| ())
}

/// Builds with the plugin, plus `additions`, and returns where things went.
pub fn build(
    mut options: PluginOptions,
    cargo_args: Vec<String>,
    additions: &Additions,
) -> Result<Built> {
    let extra_flags = &additions.flags;
    let cargo_args = split_own_flags(&mut options, &cargo_args)?;
    let explicit_passes = options.passes.as_deref().map(validate_passes).transpose()?;
    let settings = BuildSettings::parse(&cargo_args);
    if settings.quiet {
        term::set_quiet(true);
    }
    if settings.targets.len() > 1 {
        bail!("cargo hallows builds for one `--target` at a time; run it once per target");
    }
    let cwd = std::env::current_dir().context("failed to read the current directory")?;
    let metadata = Metadata::load(settings.manifest_path.as_deref())?;
    let target_dir = match &settings.target_dir {
        Some(dir) => cwd.join(dir),
        None => metadata.target_directory.clone(),
    };
    let profile_dir = settings.profile_dir();
    let report_dir = target_dir
        .join("hallows")
        .join("reports")
        .join(&profile_dir);

    let rustc = Rustc::detect()?;
    let plugin = plugin::ensure(&rustc)?;

    let env = rustflags::current_env();
    let cargo_home = env
        .get("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env.get("HOME").map(|h| Path::new(h).join(".cargo")));
    let mut config = CargoConfig::load(&cwd, cargo_home.as_deref())?;
    config.merge_cli_args(&settings.config_args, &cwd)?;
    let target = settings
        .targets
        .first()
        .cloned()
        .or_else(|| env.get("CARGO_BUILD_TARGET").cloned())
        .or_else(|| config.build_target())
        .unwrap_or_else(|| rustc.host.clone());
    let user =
        rustflags::user_rustflags(&env, &config, &target, &mut || target_cfg(&rustc, &target))?;

    let pgo = if options.no_profile {
        None
    } else {
        profile::current(&target_dir, &profile_dir, &metadata.workspace_root)?
    };
    let wants_prefetch = explicit_passes
        .as_deref()
        .is_none_or(|p| p.split(',').any(|p| p == "prefetch"));
    let prefetch_profile = if options.no_profile || !wants_prefetch {
        None
    } else {
        profile::current_prefetch(&target_dir, &profile_dir, &metadata.workspace_root)?
    };
    let passes = match explicit_passes {
        Some(passes) => passes,
        None if prefetch_profile.is_some() => DEFAULT_PASSES_WITH_PREFETCH.to_string(),
        None => DEFAULT_PASSES.to_string(),
    };
    let mut flags = user.flags.clone();
    let marker = plugin::short_hash(
        format!(
            "{}|{}|{}|{}|{}|{}",
            plugin.hash,
            options.mode.name(),
            passes,
            pgo.as_ref().map(|p| p.hash.as_str()).unwrap_or(""),
            prefetch_profile
                .as_ref()
                .map(|p| p.hash.as_str())
                .unwrap_or(""),
            extra_flags.join(" ")
        )
        .as_bytes(),
    );
    flags.push(format!(
        "--remap-path-prefix=/hallows-marker/{marker}=/hallows-marker/{marker}"
    ));
    if options.mode == Mode::Lto {
        flags.extend(["-C".into(), "linker-plugin-lto".into()]);
        flags.extend([
            "-C".into(),
            format!("link-arg=-Wl,--load-pass-plugin={}", plugin.path.display()),
        ]);
        // The linker's stderr (and so the plugin's) is only shown through this lint.
        if env.get("HALLOWS_REPORT_STDERR").is_some_and(|v| v == "1") {
            flags.extend(["-W".into(), "linker-messages".into()]);
        }
    }
    if let Some(pgo) = &pgo {
        flags.push(format!("-Cprofile-use={}", pgo.path.display()));
    }
    flags.extend(extra_flags.iter().cloned());

    fs::create_dir_all(&report_dir)
        .with_context(|| format!("failed to create {}", report_dir.display()))?;
    let log_dir = target_dir.join("hallows").join("compile-log");
    fs::create_dir_all(&log_dir)
        .with_context(|| format!("failed to create {}", log_dir.display()))?;
    let compile_log = log_dir.join(format!("{}.log", std::process::id()));
    let _ = fs::remove_file(&compile_log);

    let exe = std::env::current_exe().context("failed to find the cargo-hallows executable")?;
    let mut command = Command::new(cargo::program());
    command
        .arg("build")
        .args(&cargo_args)
        .env("CARGO_ENCODED_RUSTFLAGS", rustflags::encode(&flags))
        .env("RUSTC_WRAPPER", &exe)
        .env(wrapper::WRAPPER_ENV, "1")
        .env(wrapper::COMPILE_LOG_ENV, &compile_log)
        .env("HALLOWS_REPORT_DIR", &report_dir)
        .env("HALLOWS_PASSES", &passes)
        .envs(additions.env.iter().map(|(k, v)| (k, v)));
    match &prefetch_profile {
        Some(p) => command.env(prefetch::PROFILE_ENV, &p.path),
        None => command.env_remove(prefetch::PROFILE_ENV),
    };
    if options.mode == Mode::Rustc {
        command.env(wrapper::PLUGIN_ENV, &plugin.path);
    } else {
        command.env_remove(wrapper::PLUGIN_ENV);
    }
    match rustflags::user_rustc_wrapper(&env, &config) {
        Some(inner) => command.env(wrapper::INNER_WRAPPER_ENV, inner),
        None => command.env_remove(wrapper::INNER_WRAPPER_ENV),
    };

    let origin = match plugin.origin {
        Origin::Override => " from HALLOWS_PLUGIN",
        Origin::Cached => "",
        Origin::Built => " (just built)",
    };
    term::status(&format!(
        "plugin {}{origin} (LLVM {}), mode {}, passes {passes}, reports in {}",
        plugin.hash,
        rustc.llvm_major,
        options.mode.name(),
        report_dir.display()
    ));
    if !user.flags.is_empty() {
        term::status(&format!("keeping your rustflags: {}", user.flags.join(" ")));
    }
    if let Some(pgo) = &pgo {
        term::status(&format!(
            "using PGO profile {} (pass --no-profile to build without it)",
            pgo.path.display()
        ));
    }
    if let Some(p) = &prefetch_profile {
        term::status(&format!(
            "using prefetch profile {} ({} load sites; pass --no-profile to build without it)",
            p.path.display(),
            p.sites
        ));
    }

    let start_ms = now_ms();
    let stamp = report_dir.join(crate::report::BUILD_START_FILE);
    fs::write(&stamp, start_ms.to_string())
        .with_context(|| format!("failed to write {}", stamp.display()))?;
    let status = command.status().context("failed to run `cargo build`")?;
    let compiled = read_compile_log(&compile_log);
    let _ = fs::remove_file(&compile_log);
    if !status.success() {
        return Err(ExitStatusError(status.code().unwrap_or(101)).into());
    }
    verify_reports(&plugin, options.mode, &report_dir, &compiled, start_ms)?;
    Ok(Built {
        target_dir,
        profile_dir,
        report_dir,
    })
}

/// `rustc --print cfg --target <target>`.
fn target_cfg(rustc: &Rustc, target: &str) -> Result<Vec<rustflags::CfgEntry>> {
    let output = Command::new(&rustc.program)
        .args(["--print", "cfg", "--target", target])
        .output()
        .context("failed to run `rustc --print cfg`")?;
    if !output.status.success() {
        bail!(
            "`rustc --print cfg --target {target}` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(rustflags::parse_print_cfg(&String::from_utf8_lossy(
        &output.stdout,
    )))
}

fn read_compile_log(path: &Path) -> Vec<Compilation> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(Compilation::from_log_line)
        .collect()
}

/// Errors when crates were compiled (or linked, in LTO mode) but the plugin wrote nothing.
fn verify_reports(
    plugin: &Plugin,
    mode: Mode,
    report_dir: &Path,
    compiled: &[Compilation],
    start_ms: u64,
) -> Result<()> {
    let ran_plugin = |c: &&Compilation| {
        if mode == Mode::Rustc {
            c.has_codegen()
        } else {
            c.is_linked()
        }
    };
    // With incremental compilation (rustc mode) unchanged codegen units skip LLVM entirely.
    let expected: BTreeSet<&str> = compiled
        .iter()
        .filter(ran_plugin)
        .filter(|c| mode == Mode::Lto || !c.incremental)
        .map(|c| c.crate_name.as_str())
        .collect();
    if !compiled.iter().any(|c| ran_plugin(&c)) {
        term::status(&format!(
            "nothing was recompiled; reports in {} are from an earlier build",
            report_dir.display()
        ));
        return Ok(());
    }
    let incremental_compiled = compiled.iter().any(|c| ran_plugin(&c) && c.incremental);
    let reports = Reports::read_dir(report_dir)?;
    let fresh: Vec<_> = reports
        .records
        .iter()
        .filter(|l| l.record.ts_ms + CLOCK_SLACK_MS >= start_ms)
        .collect();
    if fresh.is_empty() {
        if !expected.is_empty() {
            bail!(
                "the pass plugin wrote no report for the {} crate(s) just compiled ({}); it did not load or did not run. Check `cargo hallows doctor`; plugin: {}",
                expected.len(),
                expected.iter().copied().collect::<Vec<_>>().join(", "),
                plugin.path.display()
            );
        }
        if incremental_compiled {
            if reports.records.is_empty() {
                bail!(
                    "the pass plugin has written no report in {} although crates were compiled; it did not load or did not run. Check `cargo hallows doctor`; plugin: {}",
                    report_dir.display(),
                    plugin.path.display()
                );
            }
            term::status("incremental build: unchanged codegen units kept their earlier reports");
        }
        return Ok(());
    }
    let reported: BTreeSet<&str> = fresh
        .iter()
        .flat_map(|l| {
            [
                l.record.krate.as_str(),
                l.record.module.split(['.', '-']).next().unwrap_or(""),
            ]
        })
        .collect();
    let missing: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|c| !reported.contains(c))
        .collect();
    if mode == Mode::Rustc && !missing.is_empty() {
        term::warning(&format!(
            "no report records for {} (crates without own functions have none)",
            missing.join(", ")
        ));
    }
    let crates: BTreeSet<&str> = fresh.iter().map(|l| l.record.krate.as_str()).collect();
    term::status(&format!(
        "{} report records for {} crates; run `cargo hallows report` to read them",
        fresh.len(),
        crates.len()
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn defaults() -> PluginOptions {
        PluginOptions {
            mode: Mode::Rustc,
            passes: None,
            no_profile: false,
        }
    }

    #[test]
    fn own_flags_are_stripped_anywhere_before_double_dash() {
        let mut options = defaults();
        let rest = split_own_flags(
            &mut options,
            &strings(&[
                "--release",
                "--mode",
                "lto",
                "-p",
                "x",
                "--passes=railway",
                "--no-profile",
                "--",
                "--mode",
            ]),
        )
        .unwrap();
        assert_eq!(rest, strings(&["--release", "-p", "x", "--", "--mode"]));
        assert_eq!(options.mode, Mode::Lto);
        assert_eq!(options.passes.as_deref(), Some("railway"));
        assert!(options.no_profile);
        assert!(split_own_flags(&mut defaults(), &strings(&["--mode", "fast"])).is_err());
        assert!(split_own_flags(&mut defaults(), &strings(&["--mode"])).is_err());
    }

    #[test]
    fn passes_are_validated() {
        assert_eq!(
            validate_passes("hallows-railway, prefetch,railway").unwrap(),
            "railway,prefetch"
        );
        assert!(validate_passes("inline")
            .unwrap_err()
            .to_string()
            .contains("unknown pass `inline`"));
        assert!(validate_passes(",").is_err());
    }
}
