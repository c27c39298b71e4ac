//! `cargo hallows profile`: profile-guided optimisation on stable rustc.
//!
//! What is trained: the target of `--bin`/`--example` with the arguments after `--`; without
//! either, every training workload the packages declare in `[package.metadata.hallows]`
//! ([`crate::training`]); without those, the workspace's one bin.
//!
//! 1. Build the training targets instrumented (`-C profile-generate=<raw dir>`, once per package,
//!    in a separate target directory so the normal build stays intact). The rustflags reach
//!    every crate cargo compiles, build scripts and proc macros too (without `--target`, cargo
//!    builds them with the same flags, see its `build.rustflags` documentation), and those run
//!    during the build: build scripts as processes, proc macros inside rustc. So the build runs
//!    with `LLVM_PROFILE_FILE` naming a directory of its own, deleted when the build ends,
//!    and what they wrote never reaches the profile. They stay instrumented: `--target` would
//!    keep the flags away from them, but it also changes every crate's `-C metadata` (cargo
//!    hashes the compile kind) and so every symbol name, and the user's build, which has no
//!    `--target`, would then match none of the profile; a wrapper could drop the flag for the
//!    build-script and proc-macro crates only, not for their dependencies, and the build-time
//!    copies of crates carry symbol names of their own anyway (cargo builds them as separate
//!    units), so the only thing to keep apart is the counts, which the separate directory does.
//! 2. Run every workload (declared ones with a progress bar, their output in
//!    `<target>/hallows/profiles/training.log`) with `LLVM_PROFILE_FILE` in the raw dir, so
//!    the raw dir holds what the training runs executed and nothing else.
//! 3. Merge all `.profraw` files with `llvm-profdata-NN merge` into
//!    `<target>/hallows/profiles/<content hash>.profdata` and record it in
//!    `<target>/hallows/profiles/current.json`. A failed run records nothing: the previous
//!    profile stays in use.
//! 4. Unless `--no-prefetch-profile`: build the targets again with
//!    `HALLOWS_PASSES=prefetch-instrument` (own target directory
//!    `<target>/hallows/prefetch-target`, no `-Cprofile-generate`, but `-Cprofile-use` of the
//!    profile just merged so the functions are optimised as in the final build and the load-site
//!    ids match), run the workloads again with `HALLOWS_PREFETCH_PROFILE_OUT=<raw dir>`, and merge
//!    their `hallows-prefetch-<pid>.raw` files into `<target>/hallows/profiles/<content
//!    hash>.prefetch` ([`crate::prefetch`]). A failure here is a warning: the PGO profile is kept.
//!
//! Later `cargo hallows build` runs for the same build profile pass `-C profile-use=<file>`
//! (see [`current`]) and set `HALLOWS_PREFETCH_PROFILE` to the newest access-pattern profile
//! (see [`current_prefetch`]), which also turns the `prefetch` pass on by default; both hashes
//! are part of the rebuild marker, `--no-profile` skips both.

use crate::cargo::{BuildSettings, Metadata};
use crate::cli::{Mode, PluginOptions, ProfileArgs};
use crate::commands::build::{self, ExitStatusError};
use crate::plugin;
use crate::prefetch::{self, PrefetchProfile};
use crate::term;
use crate::toolchain::{find_tool, LlvmConfig, Rustc};
use crate::training::{self, Workload};
use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

/// First bytes of an indexed LLVM profile (`IndexedInstrProf::Magic`, little-endian).
const PROFDATA_MAGIC: [u8; 8] = [0xff, 0x6c, 0x70, 0x72, 0x6f, 0x66, 0x69, 0x81];

/// Name of the pointer file in the profiles directory.
const CURRENT_FILE: &str = "current.json";

/// Passes of the access-pattern training build.
const INSTRUMENT_PASSES: &str = "inventory,prefetch-instrument";

/// Passes of the PGO training build: without profile data the layout pass has nothing to do,
/// so only the inventory runs (its report shows what was instrumented).
const PGO_INSTRUMENT_PASSES: &str = "inventory";

/// Log of the declared training workloads' output, in the profiles directory.
const TRAINING_LOG: &str = "training.log";

/// Lines of a failed training run's output shown in the error.
const FAILED_RUN_LINES: usize = 20;

/// The build profile PGO profiles are collected with and used for.
const PGO_BUILD_PROFILE: &str = "release";

/// Where an instrumented program writes its raw profile (overrides `-Cprofile-generate`'s
/// directory; see LLVM's `InstrProfilingFile.c`).
const PROFILE_FILE_ENV: &str = "LLVM_PROFILE_FILE";

/// Raw profile file name: `%m` the binary's signature, `%p` the process id, so concurrent
/// processes never write to one file.
const PROFILE_FILE_PATTERN: &str = "%m-%p.profraw";

/// A PGO profile to use.
#[derive(Debug, Clone)]
pub struct Pgo {
    /// Absolute path of the `.profdata`.
    pub path: PathBuf,
    /// Its content hash (part of the rebuild marker).
    pub hash: String,
}

/// What `current.json` records.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Current {
    /// File name inside the profiles directory.
    file: String,
    /// Build profile directory it applies to.
    profile_dir: String,
    /// The program that was trained.
    program: String,
}

/// `<target>/hallows/profiles`.
pub fn profiles_dir(target_dir: &Path) -> PathBuf {
    target_dir.join("hallows").join("profiles")
}

/// The profile recorded for builds of `profile_dir` under `target_dir`, checked for damage; warns
/// when the workspace's sources are newer than it.
pub fn current(target_dir: &Path, profile_dir: &str, workspace_root: &Path) -> Result<Option<Pgo>> {
    let dir = profiles_dir(target_dir);
    let pointer = dir.join(CURRENT_FILE);
    let Ok(text) = fs::read_to_string(&pointer) else {
        return Ok(None);
    };
    let current: Current = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is corrupt; delete it or re-run `cargo hallows profile`",
            pointer.display()
        )
    })?;
    if current.profile_dir != profile_dir {
        return Ok(None);
    }
    let path = dir.join(&current.file);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) => {
            term::warning(&format!(
                "the PGO profile {} named by {} cannot be read ({e}); building without it. Re-run `cargo hallows profile`",
                path.display(),
                pointer.display()
            ));
            return Ok(None);
        }
    };
    check_profdata(&path, &bytes)?;
    let hash = plugin::check_content_name(
        &path,
        &bytes,
        "the PGO profile",
        "re-run `cargo hallows profile`, or build with `--no-profile`",
    )?;
    if let Some(newer) = changed_source(workspace_root, &path) {
        term::warning(&format!(
            "{} changed after the PGO profile was collected; functions that changed get no profile data. Re-run `cargo hallows profile` (for {})",
            newer.display(),
            current.program
        ));
    }
    Ok(Some(Pgo { hash, path }))
}

/// The newest access-pattern profile under `target_dir`, for builds of `profile_dir` (it is
/// collected with a release build, like the PGO profile); warns when the workspace's sources
/// are newer than it.
pub fn current_prefetch(
    target_dir: &Path,
    profile_dir: &str,
    workspace_root: &Path,
) -> Result<Option<PrefetchProfile>> {
    if profile_dir != PGO_BUILD_PROFILE {
        return Ok(None);
    }
    let Some(found) = prefetch::newest(target_dir)? else {
        return Ok(None);
    };
    if let Some(newer) = changed_source(workspace_root, &found.path) {
        term::warning(&format!(
            "{} changed after the prefetch profile was collected; loads in changed functions get no profile data. Re-run `cargo hallows profile`",
            newer.display()
        ));
    }
    Ok(Some(found))
}

/// The file names among `raws` that `llvm-profdata merge --failure-mode=all` warned about
/// (`warning: <path>: <reason>` lines on its stderr).
fn skipped_raw_files(stderr: &str, raws: &[PathBuf]) -> Vec<String> {
    raws.iter()
        .filter(|raw| {
            let shown = raw.display().to_string();
            stderr.lines().any(|l| {
                l.strip_prefix("warning: ")
                    .is_some_and(|rest| rest.starts_with(&format!("{shown}:")))
            })
        })
        .map(|raw| {
            raw.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect()
}

/// Errors unless `bytes` looks like an indexed profile with content.
fn check_profdata(path: &Path, bytes: &[u8]) -> Result<()> {
    if bytes.is_empty() {
        bail!("the PGO profile {} is empty; re-run `cargo hallows profile`, or build with `--no-profile`", path.display());
    }
    if bytes.len() < PROFDATA_MAGIC.len() || bytes[..PROFDATA_MAGIC.len()] != PROFDATA_MAGIC {
        bail!(
            "the PGO profile {} is not an indexed LLVM profile (corrupt?); re-run `cargo hallows profile`, or build with `--no-profile`",
            path.display()
        );
    }
    Ok(())
}

/// Suffix of the file beside a merged profile that records the sources it was collected from.
const SOURCES_SUFFIX: &str = ".sources.json";

/// The workspace's sources as `cargo hallows profile` started building them: when, and each
/// `.rs` / `Cargo.toml` file's content hash by path relative to the workspace root. Stored as
/// `<profile>.sources.json` so that a file whose modification time moved but whose content did
/// not (a `git checkout` there and back, `touch`) does not make the profile look stale.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct SourceSnapshot {
    /// Milliseconds since the Unix epoch.
    taken_ms: u64,
    files: BTreeMap<String, String>,
}

impl SourceSnapshot {
    fn take(root: &Path) -> SourceSnapshot {
        let taken_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let mut files = BTreeMap::new();
        for_each_source(root, &mut |path, _| {
            if let (Ok(rel), Ok(bytes)) = (path.strip_prefix(root), fs::read(path)) {
                files.insert(
                    rel.to_string_lossy().into_owned(),
                    plugin::short_hash(&bytes),
                );
            }
            false
        });
        SourceSnapshot { taken_ms, files }
    }

    /// Writes the snapshot beside `profile` (best effort: without it, staleness falls back to
    /// modification times).
    fn save_beside(&self, profile: &Path) {
        let path = sources_path(profile);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let written = serde_json::to_string(self)
            .map_err(std::io::Error::other)
            .and_then(|text| fs::write(&tmp, text))
            .and_then(|()| fs::rename(&tmp, &path));
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            term::warning(&format!(
                "could not record the sources of {} in {} ({e}); later builds judge its staleness by file times",
                profile.display(),
                path.display()
            ));
        }
    }

    fn load_beside(profile: &Path) -> Option<SourceSnapshot> {
        serde_json::from_str(&fs::read_to_string(sources_path(profile)).ok()?).ok()
    }
}

fn sources_path(profile: &Path) -> PathBuf {
    let mut name = profile.file_name().unwrap_or_default().to_os_string();
    name.push(SOURCES_SUFFIX);
    profile.with_file_name(name)
}

/// Calls `visit(path, modified)` for every `.rs` or `Cargo.toml` file under `root` (outside
/// `target/` and hidden directories) until it returns true.
fn for_each_source(root: &Path, visit: &mut dyn FnMut(&Path, Option<SystemTime>) -> bool) {
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if !name.starts_with('.') && name != "target" {
                    stack.push(path);
                }
            } else if (name.ends_with(".rs") || name == "Cargo.toml")
                && visit(&path, entry.metadata().and_then(|m| m.modified()).ok())
            {
                return;
            }
        }
    }
}

/// A source under `root` that changed after `profile` was collected: with a recorded
/// [`SourceSnapshot`], a file modified after the snapshot whose content differs from it (or that
/// is new); without one, any file modified after the profile was written.
fn changed_source(root: &Path, profile: &Path) -> Option<PathBuf> {
    let snapshot = SourceSnapshot::load_beside(profile);
    let since = match &snapshot {
        Some(s) => SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(s.taken_ms),
        None => fs::metadata(profile).and_then(|m| m.modified()).ok()?,
    };
    let mut found = None;
    for_each_source(root, &mut |path, modified| {
        if modified.is_none_or(|m| m <= since) {
            return false;
        }
        let unchanged = snapshot.as_ref().is_some_and(|s| {
            let rel = path
                .strip_prefix(root)
                .map(|r| r.to_string_lossy().into_owned());
            match (rel, fs::read(path)) {
                (Ok(rel), Ok(bytes)) => s.files.get(&rel) == Some(&plugin::short_hash(&bytes)),
                _ => false,
            }
        });
        if !unchanged {
            found = Some(path.to_path_buf());
        }
        found.is_some()
    });
    found
}

/// Runs `cargo hallows profile`.
pub fn run(args: ProfileArgs) -> Result<()> {
    let metadata = Metadata::load(args.manifest_path.as_deref())?;
    let cwd = std::env::current_dir()?;
    let target_dir = match &args.target_dir {
        Some(d) => cwd.join(d),
        None => metadata.target_directory.clone(),
    };
    let training = Training::choose(&metadata, &args, &target_dir)?;
    let rustc = Rustc::detect()?;
    let profdata_tool = match LlvmConfig::find(rustc.llvm_major) {
        Ok(llvm) => llvm.tool("llvm-profdata")?,
        Err(_) => find_tool("llvm-profdata", rustc.llvm_major, None)?,
    };

    // What the instrumented builds compile: later builds compare the sources against it.
    let sources = SourceSnapshot::take(&metadata.workspace_root);
    let dir = profiles_dir(&target_dir);
    let raw = dir.join(format!("raw-{}", std::process::id()));
    let _ = fs::remove_dir_all(&raw);
    fs::create_dir_all(&raw).with_context(|| format!("failed to create {}", raw.display()))?;
    let instrumented = Phase {
        what: "PGO instrumentation",
        target_subdir: "pgo-target",
        passes: PGO_INSTRUMENT_PASSES,
        flags: vec![format!("-Cprofile-generate={}", raw.display())],
        pgo_raw: Some(&raw),
        prefetch_out: None,
    };
    if let Err(err) = training.run(&instrumented) {
        let _ = fs::remove_dir_all(&raw);
        return Err(err);
    }
    let raws: Vec<PathBuf> = fs::read_dir(&raw)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "profraw") && p.metadata().is_ok_and(|m| m.len() > 0)
        })
        .collect();
    if raws.is_empty() {
        let _ = fs::remove_dir_all(&raw);
        bail!("the training run wrote no .profraw file into {}; did the program exit through `std::process::exit` before main returned, or abort?", raw.display());
    }
    let merged = dir.join(format!(".merge-{}.profdata", std::process::id()));
    // `--failure-mode=all`: a damaged raw file (a training process killed while writing it)
    // is skipped with a warning instead of failing the whole merge.
    let output = Command::new(&profdata_tool)
        .arg("merge")
        .arg("--failure-mode=all")
        .arg("-o")
        .arg(&merged)
        .args(&raws)
        .output()
        .with_context(|| format!("failed to run {}", profdata_tool.display()))?;
    let merge_stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        // Nothing could be merged: keep the raw files for the user to inspect.
        let _ = fs::remove_file(&merged);
        bail!(
            "`{} merge` could not read any of the {} raw profile(s) in {} (kept there): {}; rustc's profile format must match LLVM {}; re-run `cargo hallows profile`",
            profdata_tool.display(),
            raws.len(),
            raw.display(),
            merge_stderr.trim(),
            rustc.llvm_major
        );
    }
    let skipped = skipped_raw_files(&merge_stderr, &raws);
    if !skipped.is_empty() {
        term::warning(&format!(
            "skipped {} of {} raw profile(s) that llvm-profdata could not read ({}); the profile holds the other runs",
            skipped.len(),
            raws.len(),
            skipped.join(", ")
        ));
    }
    let _ = fs::remove_dir_all(&raw);
    let bytes =
        fs::read(&merged).with_context(|| format!("failed to read {}", merged.display()))?;
    check_profdata(&merged, &bytes)?;
    let file = format!("{}.profdata", plugin::short_hash(&bytes));
    let final_path = dir.join(&file);
    fs::rename(&merged, &final_path)
        .with_context(|| format!("failed to move the profile to {}", final_path.display()))?;
    sources.save_beside(&final_path);
    let current = Current {
        file,
        profile_dir: PGO_BUILD_PROFILE.into(),
        program: training.describe(),
    };
    let pointer_tmp = dir.join(format!(".{CURRENT_FILE}.{}", std::process::id()));
    fs::write(&pointer_tmp, serde_json::to_string_pretty(&current)?)?;
    fs::rename(&pointer_tmp, dir.join(CURRENT_FILE))?;
    term::status(&format!(
        "PGO profile {} from {} raw file(s); `cargo hallows build --release` now uses it",
        final_path.display(),
        raws.len()
    ));
    if args.no_prefetch_profile {
        return Ok(());
    }
    match collect_prefetch(&training, &final_path) {
        Ok(merged) => {
            sources.save_beside(&merged.path);
            term::status(&format!(
            "prefetch profile {} ({} load sites) from {} raw file(s); `cargo hallows build --release` now runs the prefetch pass with it",
            merged.path.display(),
            merged.sites,
            merged.runs
        ))
        }
        Err(err) => term::warning(&format!(
            "no prefetch profile was collected: {err:#}. The PGO profile is kept; `--no-prefetch-profile` skips this step"
        )),
    }
    Ok(())
}

/// One instrumented build of the training targets and one run of every workload on it.
struct Phase<'a> {
    /// What the build is instrumented for, in status lines.
    what: &'a str,
    /// Its own directory under `<target>/hallows`, so the user's normal build stays intact.
    target_subdir: &'a str,
    /// The plugin's passes.
    passes: &'a str,
    /// Rustflags after the user's.
    flags: Vec<String>,
    /// With `-Cprofile-generate`: where the training runs write their raw profiles (and only
    /// they: the build's own processes write elsewhere).
    pgo_raw: Option<&'a Path>,
    /// Where the runs write access-pattern samples (`None`: they must not).
    prefetch_out: Option<&'a Path>,
}

/// What `cargo hallows profile` trains on.
struct Training<'a> {
    target_dir: &'a Path,
    manifest_path: Option<&'a Path>,
    workloads: Vec<Workload>,
    /// Declared in the manifest: runs show a progress bar and their output goes to a log file.
    declared: bool,
}

impl<'a> Training<'a> {
    /// The target from `--bin`/`--example` (with the arguments after `--`); else the workloads
    /// the manifest declares; else the one bin of the workspace.
    fn choose(
        metadata: &Metadata,
        args: &'a ProfileArgs,
        target_dir: &'a Path,
    ) -> Result<Training<'a>> {
        let explicit = args.bin.is_some() || args.example.is_some();
        let declared = if explicit {
            Vec::new()
        } else {
            training::declared_in(metadata, args.package.as_deref())?
        };
        let (workloads, declared) = if declared.is_empty() {
            let (kind, name, package) = choose_target(metadata, args)?;
            let kind = if kind == "example" { "example" } else { "bin" };
            (
                vec![Workload::from_cli(&package, kind, &name, &args.args)],
                false,
            )
        } else if !args.args.is_empty() {
            bail!(
                "arguments after `--` go with `--bin NAME` or `--example NAME`; the training workloads declared in `[package.metadata.hallows]` carry their own `args`"
            );
        } else {
            (declared, true)
        };
        Ok(Training {
            target_dir,
            manifest_path: args.manifest_path.as_deref(),
            workloads,
            declared,
        })
    }

    /// The program(s) trained, for `current.json`.
    fn describe(&self) -> String {
        let mut names: Vec<String> = self
            .workloads
            .iter()
            .map(|w| format!("{} {} {}", w.package, w.kind, w.target))
            .collect();
        names.dedup();
        names.join(", ")
    }

    /// Builds every target once per package and runs every workload, in order.
    fn run(&self, phase: &Phase<'_>) -> Result<()> {
        let phase_target = self.target_dir.join("hallows").join(phase.target_subdir);
        let mut builds: BTreeMap<&str, (build::Built, Vec<String>)> = BTreeMap::new();
        for workload in &self.workloads {
            if builds.contains_key(workload.package.as_str()) {
                continue;
            }
            let mut cargo_args = vec![
                "--release".to_string(),
                "--target-dir".into(),
                phase_target.display().to_string(),
            ];
            if let Some(p) = self.manifest_path {
                cargo_args.extend(["--manifest-path".into(), p.display().to_string()]);
            }
            cargo_args.extend(["-p".into(), workload.package.clone()]);
            let mut targets = BTreeSet::new();
            for w in self
                .workloads
                .iter()
                .filter(|w| w.package == workload.package)
            {
                if targets.insert((w.kind, w.target.as_str())) {
                    cargo_args.extend([format!("--{}", w.kind), w.target.clone()]);
                }
            }
            let names: Vec<String> = targets.iter().map(|(k, t)| format!("{k} `{t}`")).collect();
            term::status(&format!(
                "building {} with {}",
                names.join(", "),
                phase.what
            ));
            let options = PluginOptions {
                mode: Mode::Rustc,
                passes: Some(phase.passes.into()),
                no_profile: true,
            };
            let built = build_instrumented(options, cargo_args.clone(), phase)?;
            builds.insert(workload.package.as_str(), (built, cargo_args));
        }

        let log = profiles_dir(self.target_dir).join(TRAINING_LOG);
        if self.declared {
            fs::write(&log, "").with_context(|| format!("failed to create {}", log.display()))?;
        }
        let mut progress = self
            .declared
            .then(|| term::Progress::new("training", self.workloads.len()));
        for (i, workload) in self.workloads.iter().enumerate() {
            let (built, cargo_args) = &builds[workload.package.as_str()];
            let exe = built_exe(built, cargo_args, workload.kind, &workload.target);
            let mut command = Command::new(&exe);
            command
                .args(&workload.args)
                .env("HALLOWS_REPORT_DIR", &built.report_dir);
            if let Some(raw) = phase.pgo_raw {
                command.env(PROFILE_FILE_ENV, raw.join(PROFILE_FILE_PATTERN));
            }
            match phase.prefetch_out {
                Some(dir) => command.env(prefetch::PROFILE_OUT_ENV, dir),
                None => command.env_remove(prefetch::PROFILE_OUT_ENV),
            };
            if let Some(progress) = &mut progress {
                progress.step(&workload.label);
                let mut file = fs::File::options()
                    .append(true)
                    .open(&log)
                    .with_context(|| format!("failed to open {}", log.display()))?;
                writeln!(
                    file,
                    "==> {} ({}): {}",
                    workload.label,
                    phase.what,
                    exe.display()
                )?;
                command
                    .stdin(Stdio::null())
                    .stdout(file.try_clone()?)
                    .stderr(file);
            } else {
                term::status(&format!(
                    "training run: {} {}",
                    exe.display(),
                    workload.args.join(" ")
                ));
            }
            let status = command
                .status()
                .with_context(|| format!("failed to run {}", exe.display()))?;
            if status.success() {
                continue;
            }
            if let Some(progress) = progress.take() {
                progress.finish();
                bail!(
                    "training workload {}/{} `{}` failed ({status}), so no profile was recorded and the previous one is kept; its output is in {}:\n{}",
                    i + 1,
                    self.workloads.len(),
                    workload.label,
                    log.display(),
                    tail(&log, FAILED_RUN_LINES)
                );
            }
            term::warning(&format!(
                "the training run failed ({status}), so no profile was recorded"
            ));
            return Err(ExitStatusError(status.code().unwrap_or(1)).into());
        }
        if let Some(progress) = progress {
            progress.finish();
            term::status(&format!(
                "ran {} training workload(s) with {}; their output is in {}",
                self.workloads.len(),
                phase.what,
                log.display()
            ));
        }
        Ok(())
    }
}

/// Builds the training targets for `phase`. With `-Cprofile-generate`, the build scripts and
/// proc macros that run during the build are instrumented too (cargo gives them the same
/// rustflags): they write their raw profiles into a directory of their own, deleted
/// afterwards, not into the raw dir the training runs fill.
fn build_instrumented(
    options: PluginOptions,
    cargo_args: Vec<String>,
    phase: &Phase<'_>,
) -> Result<build::Built> {
    let mut additions = build::Additions {
        flags: phase.flags.clone(),
        env: Vec::new(),
    };
    let build_time = phase.pgo_raw.map(build_time_dir);
    if let Some(dir) = &build_time {
        let _ = fs::remove_dir_all(dir);
        fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))?;
        additions
            .env
            .push((PROFILE_FILE_ENV, dir.join(PROFILE_FILE_PATTERN).into()));
    }
    let built = build::build(options, cargo_args, &additions)
        .with_context(|| format!("the build with {} failed", phase.what));
    if let Some(dir) = &build_time {
        let _ = fs::remove_dir_all(dir);
    }
    built
}

/// Where the build's own processes write raw profiles: beside the raw dir `raw`, never read.
fn build_time_dir(raw: &Path) -> PathBuf {
    let mut name = raw.file_name().unwrap_or_default().to_os_string();
    name.push("-build-time");
    raw.with_file_name(name)
}

/// The last `lines` lines of `path`, indented, for an error message.
fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The executable `built` produced for the target.
fn built_exe(built: &build::Built, cargo_args: &[String], kind: &str, name: &str) -> PathBuf {
    let settings = BuildSettings::parse(cargo_args);
    let mut exe = built.target_dir.join(settings.profile_dir());
    if kind == "example" {
        exe = exe.join("examples");
    }
    exe.join(name)
}

/// Step 4: builds the targets with `prefetch-instrument` (using the PGO profile `profdata`),
/// runs the training workloads and merges the raw sample files into a `.prefetch` profile.
fn collect_prefetch(training: &Training<'_>, profdata: &Path) -> Result<prefetch::Merged> {
    let dir = profiles_dir(training.target_dir);
    let raw = dir.join(format!("prefetch-raw-{}", std::process::id()));
    let _ = fs::remove_dir_all(&raw);
    fs::create_dir_all(&raw).with_context(|| format!("failed to create {}", raw.display()))?;
    let phase = Phase {
        what: "access-pattern instrumentation",
        target_subdir: "prefetch-target",
        passes: INSTRUMENT_PASSES,
        flags: vec![format!("-Cprofile-use={}", profdata.display())],
        pgo_raw: None,
        prefetch_out: Some(&raw),
    };
    let result = training.run(&phase).and_then(|()| {
        if prefetch::raw_files(&raw).is_empty() {
            bail!(
                "the instrumented training run wrote no sample file into {}: no loop of the program's own code ran (nothing to prefetch), or it ended by an abort",
                raw.display()
            );
        }
        prefetch::merge_dir(&raw, &dir)
    });
    let _ = fs::remove_dir_all(&raw);
    result
}

/// Picks (kind, name, package) of the target to train.
fn choose_target(metadata: &Metadata, args: &ProfileArgs) -> Result<(String, String, String)> {
    let (kind, wanted) = match (&args.bin, &args.example) {
        (Some(b), _) => ("bin", Some(b.as_str())),
        (None, Some(e)) => ("example", Some(e.as_str())),
        (None, None) => ("bin", None),
    };
    let candidates: Vec<(String, String)> = metadata
        .packages
        .iter()
        .filter(|p| args.package.as_ref().is_none_or(|want| *want == p.name))
        .flat_map(|p| {
            p.targets
                .iter()
                .filter(|t| t.kind.iter().any(|k| k == kind) && wanted.is_none_or(|w| w == t.name))
                .map(|t| (t.name.clone(), p.name.clone()))
        })
        .collect();
    match candidates.as_slice() {
        [(name, package)] => Ok((kind.to_string(), name.clone(), package.clone())),
        [] => bail!(
            "no {kind} target{} in this workspace; pass `--bin NAME` or `--example NAME`",
            wanted.map(|w| format!(" named `{w}`")).unwrap_or_default()
        ),
        many => {
            bail!(
            "several {kind} targets match ({}); choose one with `--{kind} NAME` (and `-p PACKAGE`), or declare training workloads in `[[package.metadata.hallows.training]]`",
            many.iter().map(|(n, p)| format!("{p}/{n}")).collect::<Vec<_>>().join(", ")
        )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staleness_follows_content_when_the_sources_were_recorded() {
        let root = std::env::temp_dir().join(format!("hallows-sources-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("src")).unwrap();
        fs::create_dir_all(root.join("target")).unwrap();
        fs::write(root.join("Cargo.toml"), "[package]\n").unwrap();
        fs::write(root.join("src/main.rs"), "fn main() {}\n").unwrap();
        fs::write(root.join("target/gen.rs"), "// ignored\n").unwrap();
        let profile = root.join("target/p.profdata");
        fs::write(&profile, b"x").unwrap();
        let snapshot = SourceSnapshot::take(&root);
        assert_eq!(snapshot.files.len(), 2, "{:?}", snapshot.files);
        snapshot.save_beside(&profile);
        assert_eq!(SourceSnapshot::load_beside(&profile), Some(snapshot));
        std::thread::sleep(std::time::Duration::from_millis(20));
        // Rewritten with the same content: newer, but not changed.
        fs::write(root.join("src/main.rs"), "fn main() {}\n").unwrap();
        assert_eq!(changed_source(&root, &profile), None);
        // Without the record, file times decide.
        fs::remove_file(sources_path(&profile)).unwrap();
        assert_eq!(
            changed_source(&root, &profile),
            Some(root.join("src/main.rs"))
        );
        SourceSnapshot::take(&root).save_beside(&profile);
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(root.join("src/main.rs"), "fn main() { () }\n").unwrap();
        assert_eq!(
            changed_source(&root, &profile),
            Some(root.join("src/main.rs"))
        );
        fs::write(root.join("src/main.rs"), "fn main() {}\n").unwrap();
        fs::write(root.join("src/new.rs"), "\n").unwrap();
        assert_eq!(
            changed_source(&root, &profile),
            Some(root.join("src/new.rs"))
        );
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn names_the_raw_files_the_merge_skipped() {
        let raws = [
            PathBuf::from("/r/a-1.profraw"),
            PathBuf::from("/r/a-2.profraw"),
            PathBuf::from("/r/a-22.profraw"),
        ];
        let stderr = "warning: /r/a-2.profraw: invalid instrumentation profile data (file header is corrupt)\n";
        assert_eq!(skipped_raw_files(stderr, &raws), ["a-2.profraw"]);
        assert!(skipped_raw_files("", &raws).is_empty());
    }

    #[test]
    fn rejects_empty_and_foreign_profiles() {
        let p = Path::new("x.profdata");
        assert!(check_profdata(p, b"")
            .unwrap_err()
            .to_string()
            .contains("empty"));
        assert!(check_profdata(p, b"not a profile")
            .unwrap_err()
            .to_string()
            .contains("corrupt"));
        let mut ok = PROFDATA_MAGIC.to_vec();
        ok.extend_from_slice(&[0; 16]);
        assert!(check_profdata(p, &ok).is_ok());
    }
}
