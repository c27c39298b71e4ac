//! The pass plugin, built on demand into a per-user cache.
//!
//! `build.rs` embeds the plugin crate's sources (and the workspace `Cargo.lock`) into this binary,
//! so an installed `cargo-hallows` can build the plugin anywhere. The cache entry is named by a
//! content hash of those sources, the LLVM version of `llvm-config` and rustc's `-vV` output:
//! `$XDG_CACHE_HOME/hallows/plugin/<llvm-major>-<hash>/libhallows_llvm_pass.so` (or
//! `~/.cache/...`). Entries are immutable once present.
//!
//! Concurrency: builds take an exclusive lock on `<cache>/build.lock` (one plugin build at a time,
//! which also protects the shared cargo target directory), and the finished entry is assembled in
//! a staging directory and renamed into place, so a reader either sees a complete entry or none.
//!
//! Old entries: every use stamps the entry (`last-used`); after a new entry is built, entries of
//! other versions unused for [`STALE_AFTER_DAYS`] days are removed, so upgrades of cargo-hallows or
//! of the toolchain do not pile up plugins forever. A running build that still maps a removed `.so`
//! keeps working (the file stays alive until it is unmapped).
//!
//! `HALLOWS_PLUGIN=/path/to/plugin.so` bypasses the cache (for plugin development).

use crate::term;
use crate::toolchain::{LlvmConfig, Rustc};
use anyhow::{bail, Context as _, Result};
use sha2::{Digest as _, Sha256};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/plugin_sources.rs"));
}

/// File name of the plugin library that cargo produces.
pub const PLUGIN_FILE_NAME: &str = "libhallows_llvm_pass.so";

/// How many lines of a failed build's log the error shows.
const LOG_TAIL_LINES: usize = 40;

/// Hex digits of the content hash used in names and markers (64 bits: collisions are harmless
/// anyway, they only share a cache entry between identical inputs).
const HASH_HEX_LEN: usize = 16;

/// Entries of other plugin versions unused for this many days are removed after a new build.
pub const STALE_AFTER_DAYS: u64 = 30;

/// The file whose modification time says when an entry was last used.
const LAST_USED_FILE: &str = "last-used";

/// Where a plugin came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `HALLOWS_PLUGIN` named it.
    Override,
    /// It was already in the cache.
    Cached,
    /// It was built just now.
    Built,
}

/// A plugin library ready to load.
#[derive(Debug, Clone)]
pub struct Plugin {
    /// Absolute path of the `.so`.
    pub path: PathBuf,
    /// Content hash identifying it (sources + toolchain, or the file itself for overrides).
    pub hash: String,
    /// Where it came from.
    pub origin: Origin,
}

/// The directory that holds every cached plugin.
pub fn cache_root() -> Result<PathBuf> {
    let base = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(home) => PathBuf::from(home).join(".cache"),
            None => bail!("neither XDG_CACHE_HOME nor HOME is set; set XDG_CACHE_HOME to a writable directory for the plugin cache"),
        },
    };
    let base = if base.is_absolute() {
        base
    } else {
        std::env::current_dir()?.join(base)
    };
    Ok(base.join("hallows").join("plugin"))
}

/// Hex SHA-256 of `bytes`, shortened to [`HASH_HEX_LEN`].
pub fn short_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()[..HASH_HEX_LEN]
        .to_string()
}

/// Checks a file that `cargo hallows` named by the [`short_hash`] of its content (merged
/// profiles: `<hash>.profdata`, `<hash>.prefetch`) against that name: a file truncated or
/// modified since it was written no longer matches. Names that are not such a hash (a file the
/// user put there) are not checked. `what` names the file in the error, `hint` says what to do.
/// Returns the content's [`short_hash`].
pub fn check_content_name(path: &Path, bytes: &[u8], what: &str, hint: &str) -> Result<String> {
    let actual = short_hash(bytes);
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let named_by_hash =
        stem.len() == HASH_HEX_LEN && stem.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if named_by_hash && stem != actual {
        bail!(
            "{what} {} is damaged: its content hashes to {actual}, not to the {stem} it was written with (truncated, or changed since `cargo hallows profile` wrote it); {hint}",
            path.display()
        );
    }
    Ok(actual)
}

/// The content hash of the embedded sources and the toolchain.
pub fn source_hash(rustc: &Rustc, llvm: &LlvmConfig) -> String {
    let mut hasher = Sha256::new();
    for (path, contents) in embedded::PLUGIN_FILES {
        hasher.update((path.len() as u64).to_le_bytes());
        hasher.update(path.as_bytes());
        hasher.update((contents.len() as u64).to_le_bytes());
        hasher.update(contents);
    }
    if let Some(lock) = embedded::WORKSPACE_LOCK {
        hasher.update(b"Cargo.lock");
        hasher.update(lock);
    }
    hasher.update(b"llvm\0");
    hasher.update(llvm.version.as_bytes());
    hasher.update(b"rustc\0");
    hasher.update(rustc.verbose_version.as_bytes());
    let digest = hasher.finalize();
    digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()[..HASH_HEX_LEN]
        .to_string()
}

/// The plugin named by `HALLOWS_PLUGIN`, if set.
pub fn from_override() -> Result<Option<Plugin>> {
    let Some(path) = std::env::var_os("HALLOWS_PLUGIN").filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let path = PathBuf::from(path);
    let bytes = fs::read(&path).with_context(|| {
        format!(
            "HALLOWS_PLUGIN={} cannot be read; point it at a built {PLUGIN_FILE_NAME} or unset it",
            path.display()
        )
    })?;
    let path = path
        .canonicalize()
        .with_context(|| format!("failed to resolve {}", path.display()))?;
    Ok(Some(Plugin {
        path,
        hash: short_hash(&bytes),
        origin: Origin::Override,
    }))
}

/// The cache entry for the current sources and toolchain, whether or not it exists yet.
pub fn cache_entry(rustc: &Rustc, llvm: &LlvmConfig) -> Result<(PathBuf, String)> {
    let hash = source_hash(rustc, llvm);
    let dir = cache_root()?.join(format!("{}-{hash}", rustc.llvm_major));
    Ok((dir, hash))
}

/// Returns the plugin: the `HALLOWS_PLUGIN` override, else the cached build, else builds it.
pub fn ensure(rustc: &Rustc) -> Result<Plugin> {
    if let Some(plugin) = from_override()? {
        return Ok(plugin);
    }
    let llvm = LlvmConfig::find(rustc.llvm_major)?;
    ensure_built(rustc, &llvm)
}

/// Returns the cached plugin for `llvm`, building it first when missing.
pub fn ensure_built(rustc: &Rustc, llvm: &LlvmConfig) -> Result<Plugin> {
    if embedded::PLUGIN_FILES.is_empty() {
        bail!("this cargo-hallows was built without the plugin sources (hallows-llvm-pass was missing next to it); reinstall it from a Hallows checkout with scripts/setup.sh, or set HALLOWS_PLUGIN to a built {PLUGIN_FILE_NAME}");
    }
    let (dir, hash) = cache_entry(rustc, llvm)?;
    let so = dir.join(PLUGIN_FILE_NAME);
    if so.is_file() {
        stamp_used(&dir);
        return Ok(Plugin {
            path: so,
            hash,
            origin: Origin::Cached,
        });
    }
    let root = dir
        .parent()
        .expect("cache entries live in the cache root")
        .to_path_buf();
    fs::create_dir_all(&root)
        .with_context(|| format!("failed to create the plugin cache {}", root.display()))?;
    let waiting_since = std::time::SystemTime::now();
    let lock_path = root.join("build.lock");
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("failed to open {}", lock_path.display()))?;
    if lock.try_lock().is_err() {
        term::status("waiting for another cargo-hallows that is building the plugin");
        lock.lock()
            .with_context(|| format!("failed to lock {}", lock_path.display()))?;
    }
    // Another process may have finished the same entry while we waited.
    if so.is_file() {
        return Ok(Plugin {
            path: so,
            hash,
            origin: Origin::Cached,
        });
    }
    // Or failed to build it: do not repeat the same failing build for every waiting process.
    let log_path = root.join(format!("{}-{hash}.build.log", rustc.llvm_major));
    let failed_meanwhile = fs::metadata(&log_path)
        .and_then(|m| m.modified())
        .is_ok_and(|modified| modified >= waiting_since);
    if failed_meanwhile {
        return Err(build_failure(
            &log_path,
            "another cargo-hallows just failed to build it",
            rustc.llvm_major,
        ));
    }
    // The plugin's C++ shim needs the matching clang++; say which package when it is missing.
    crate::toolchain::find_tool("clang++", rustc.llvm_major, Some(&llvm.bindir))
        .context("the pass plugin cannot be built")?;
    build_into(&root, &dir, &hash, &log_path, rustc, llvm)?;
    stamp_used(&dir);
    let max_age = std::time::Duration::from_secs(STALE_AFTER_DAYS * 24 * 60 * 60);
    for removed in prune_stale(&root, &dir, max_age, std::time::SystemTime::now()) {
        term::status(&format!(
            "removed the plugin cache entry {} (unused for {STALE_AFTER_DAYS} days)",
            removed.display()
        ));
    }
    drop(lock);
    Ok(Plugin {
        path: so,
        hash,
        origin: Origin::Built,
    })
}

/// Records that the entry `dir` was used now. Best effort: a read-only cache still works, its
/// entries just look unused (they are only ever pruned by a process that can write there anyway).
fn stamp_used(dir: &Path) {
    let _ = fs::File::create(dir.join(LAST_USED_FILE))
        .and_then(|file| file.set_modified(std::time::SystemTime::now()));
}

/// When the entry `dir` was last used: its stamp, else the time its plugin was built.
fn last_used(dir: &Path) -> Option<std::time::SystemTime> {
    let stamp = fs::metadata(dir.join(LAST_USED_FILE)).and_then(|m| m.modified());
    stamp
        .or_else(|_| fs::metadata(dir.join(PLUGIN_FILE_NAME)).and_then(|m| m.modified()))
        .ok()
}

/// Removes the cache entries under `root` other than `keep` that were last used more than
/// `max_age` before `now`, and returns the removed directories. Only directories that look like
/// entries (`<llvm-major>-<hash>` holding a plugin) are touched; anything else in the cache is
/// left alone. The caller holds the build lock, so no entry is being assembled meanwhile.
pub fn prune_stale(
    root: &Path,
    keep: &Path,
    max_age: std::time::Duration,
    now: std::time::SystemTime,
) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(root) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path == keep || !is_entry_name(&entry.file_name().to_string_lossy()) {
            continue;
        }
        if !path.join(PLUGIN_FILE_NAME).is_file() {
            continue;
        }
        let stale = last_used(&path)
            .and_then(|used| now.duration_since(used).ok())
            .is_some_and(|age| age > max_age);
        if stale && fs::remove_dir_all(&path).is_ok() {
            removed.push(path);
        }
    }
    removed.sort();
    removed
}

/// Whether `name` has the shape of a cache entry: `<llvm-major>-<hex hash>`.
fn is_entry_name(name: &str) -> bool {
    let Some((major, hash)) = name.split_once('-') else {
        return false;
    };
    !major.is_empty()
        && major.bytes().all(|b| b.is_ascii_digit())
        && hash.len() == HASH_HEX_LEN
        && hash.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Builds the plugin and publishes it as `dir`. The caller holds the build lock.
fn build_into(
    root: &Path,
    dir: &Path,
    hash: &str,
    log_path: &Path,
    rustc: &Rustc,
    llvm: &LlvmConfig,
) -> Result<()> {
    let pid = std::process::id();
    let src = root.join(format!("src-{}-{hash}-{pid}", rustc.llvm_major));
    let _ = fs::remove_dir_all(&src);
    write_sources(&src)?;
    let target_dir = root.join("build-target");
    term::status(&format!(
        "building the pass plugin for LLVM {} (once per toolchain and plugin version, takes a minute)",
        rustc.llvm_major
    ));
    let log = fs::File::create(log_path)
        .with_context(|| format!("failed to create {}", log_path.display()))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    command
        .args(["build", "--release", "--manifest-path"])
        .arg(src.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .env("LLVM_CONFIG", &llvm.path)
        .env("RUSTC", &rustc.program)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // The plugin is a host library: none of the user's build settings apply to it.
    for var in [
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_TARGET_DIR",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "HALLOWS_REPORT_DIR",
        "HALLOWS_PASSES",
        "HALLOWS_RUSTC_WRAPPER",
        "HALLOWS_WRAPPED_PLUGIN",
    ] {
        command.env_remove(var);
    }
    let status = command
        .status()
        .with_context(|| format!("failed to run `{} build`", cargo.to_string_lossy()))?;
    let _ = fs::remove_dir_all(&src);
    if !status.success() {
        return Err(build_failure(
            log_path,
            &status.to_string(),
            rustc.llvm_major,
        ));
    }
    let built = target_dir.join("release").join(PLUGIN_FILE_NAME);
    if !built.is_file() {
        bail!(
            "the plugin build succeeded but produced no {}; see {}",
            built.display(),
            log_path.display()
        );
    }
    let staging = root.join(format!(".{}-{hash}.staging-{pid}", rustc.llvm_major));
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&staging)
        .with_context(|| format!("failed to create {}", staging.display()))?;
    fs::copy(&built, staging.join(PLUGIN_FILE_NAME))
        .with_context(|| format!("failed to copy {} into the cache", built.display()))?;
    let _ = fs::copy(log_path, staging.join("build.log"));
    fs::rename(&staging, dir)
        .with_context(|| format!("failed to move the plugin into {}", dir.display()))?;
    let _ = fs::remove_file(log_path);
    Ok(())
}

/// The error for a failed plugin build: what happened and the tail of its log.
fn build_failure(log_path: &Path, what: &str, llvm_major: u32) -> anyhow::Error {
    let text = fs::read_to_string(log_path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n");
    anyhow::anyhow!(
        "failed to build the pass plugin ({what}); last lines of the build log {}:\n{tail}\n\nrun `cargo hallows doctor` to check the LLVM {llvm_major} installation",
        log_path.display()
    )
}

/// Writes the embedded plugin crate into `dir` as a standalone package.
fn write_sources(dir: &Path) -> Result<()> {
    for (rel, contents) in embedded::PLUGIN_FILES {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("failed to create {}", parent.display()))?;
        }
        let mut contents = contents.to_vec();
        if *rel == "Cargo.toml" {
            // An empty workspace table keeps cargo from adopting a workspace above the cache dir.
            let text = String::from_utf8_lossy(&contents);
            if !text.lines().any(|l| l.trim() == "[workspace]") {
                contents.extend_from_slice(b"\n[workspace]\n");
            }
        }
        fs::File::create(&path)
            .and_then(|mut f| f.write_all(&contents))
            .with_context(|| format!("failed to write {}", path.display()))?;
    }
    if let Some(lock) = embedded::WORKSPACE_LOCK {
        fs::write(dir.join("Cargo.lock"), lock)
            .with_context(|| format!("failed to write {}/Cargo.lock", dir.display()))?;
    }
    Ok(())
}

/// Number of embedded plugin source files (shown by `doctor`).
pub fn embedded_file_count() -> usize {
    embedded::PLUGIN_FILES.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_hash_is_stable_and_short() {
        assert_eq!(short_hash(b"abc"), "ba7816bf8f01cfea");
    }

    #[test]
    fn content_name_catches_truncation_but_not_user_names() {
        let good = Path::new("/p/ba7816bf8f01cfea.profdata");
        assert!(check_content_name(good, b"abc", "the profile", "redo").is_ok());
        let err = check_content_name(good, b"ab", "the profile", "redo")
            .unwrap_err()
            .to_string();
        assert!(err.contains("damaged") && err.contains("redo"), "{err}");
        assert!(check_content_name(Path::new("/p/mine.profdata"), b"ab", "x", "y").is_ok());
    }

    fn fake_entry(root: &Path, name: &str, used: std::time::SystemTime) -> PathBuf {
        let dir = root.join(name);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(PLUGIN_FILE_NAME), b"so").unwrap();
        fs::File::create(dir.join(LAST_USED_FILE))
            .unwrap()
            .set_modified(used)
            .unwrap();
        dir
    }

    #[test]
    fn prune_removes_only_old_entries_and_never_the_current_one() {
        let root = std::env::temp_dir().join(format!("hallows-prune-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).unwrap();
        let now = std::time::SystemTime::now();
        let day = std::time::Duration::from_secs(24 * 60 * 60);
        let old = fake_entry(&root, "22-0123456789abcdef", now - 40 * day);
        let recent = fake_entry(&root, "22-fedcba9876543210", now - 2 * day);
        let current = fake_entry(&root, "22-00000000000000aa", now - 90 * day);
        let not_an_entry = fake_entry(&root, "build-target", now - 90 * day);
        let removed = prune_stale(&root, &current, 30 * day, now);
        assert_eq!(removed, vec![old.clone()]);
        assert!(!old.exists());
        assert!(recent.exists() && current.exists() && not_an_entry.exists());
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn entry_names_are_recognised() {
        assert!(is_entry_name("22-0123456789abcdef"));
        assert!(!is_entry_name("build-target"));
        assert!(!is_entry_name("22-0123"));
        assert!(!is_entry_name(".22-0123456789abcdef.staging-1"));
    }

    #[test]
    fn sources_are_embedded() {
        assert!(embedded::PLUGIN_FILES
            .iter()
            .any(|(p, _)| *p == "Cargo.toml"));
        assert!(!embedded::PLUGIN_FILES
            .iter()
            .any(|(p, _)| p.starts_with("target/") || p.starts_with("test/")));
    }
}
