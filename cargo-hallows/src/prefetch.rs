//! Access-pattern profiles for the `hallows-prefetch` pass: merging the raw sample files that a
//! `prefetch-instrument` build writes at exit, and finding the profile later builds use.
//!
//! The merging itself is the plugin's pure-Rust model (`hallows-llvm-pass/src/prefetch/model/`,
//! included as [`crate::prefetch_model`]), so the plugin and cargo-hallows read and write one
//! format. Profiles live beside the PGO profiles as `<target>/hallows/profiles/<hash>.prefetch`;
//! builds use the newest one (by modification time).

use crate::commands::profile::profiles_dir;
use crate::plugin;
use crate::prefetch_model::cache::CacheModel;
use crate::prefetch_model::profile::{merge, Profile};
use crate::prefetch_model::raw::parse_raw;
use crate::term;
use anyhow::{bail, Context as _, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// File extension of merged access-pattern profiles.
pub const PREFETCH_EXTENSION: &str = "prefetch";

/// File extension of the raw sample files the instrumented program writes.
const RAW_EXTENSION: &str = "raw";

/// Environment variable naming the merged profile for the `hallows-prefetch` pass.
pub const PROFILE_ENV: &str = "HALLOWS_PREFETCH_PROFILE";

/// Environment variable naming the directory instrumented programs write raw files into.
pub const PROFILE_OUT_ENV: &str = "HALLOWS_PREFETCH_PROFILE_OUT";

/// An access-pattern profile to use.
#[derive(Debug, Clone)]
pub struct PrefetchProfile {
    /// Absolute path of the `.prefetch` file.
    pub path: PathBuf,
    /// Its content hash (part of the rebuild marker).
    pub hash: String,
    /// Number of load sites it describes.
    pub sites: usize,
}

/// What [`merge_dir`] wrote.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The profile file.
    pub path: PathBuf,
    /// Raw files merged.
    pub runs: usize,
    /// Load sites in the profile.
    pub sites: usize,
}

/// The raw sample files (`*.raw`, non-empty) in `dir`.
pub fn raw_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.extension().is_some_and(|e| e == RAW_EXTENSION)
                        && p.metadata().is_ok_and(|m| m.len() > 0)
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Merges the raw files of `raw_dir` (with this machine's calibrated cache model) into
/// `<profiles>/<hash>.prefetch`. Unreadable raw files are skipped with a warning; errors when
/// none is usable.
pub fn merge_dir(raw_dir: &Path, profiles: &Path) -> Result<Merged> {
    let files = raw_files(raw_dir);
    let mut raws = Vec::new();
    for file in &files {
        let bytes = fs::read(file).with_context(|| format!("failed to read {}", file.display()))?;
        match parse_raw(&bytes) {
            Ok(raw) => raws.push(raw),
            Err(e) => term::warning(&format!(
                "skipping the damaged raw prefetch sample file {}: {e}",
                file.display()
            )),
        }
    }
    if raws.is_empty() {
        bail!(
            "the training run wrote no usable prefetch sample file into {} ({} file(s) found)",
            raw_dir.display(),
            files.len()
        );
    }
    let machine = CacheModel::this_machine_from_env().map_err(|e| anyhow::anyhow!(e))?;
    let profile = merge(&raws, machine.calibrate());
    let text = profile.to_text();
    let path = profiles.join(format!(
        "{}.{PREFETCH_EXTENSION}",
        plugin::short_hash(text.as_bytes())
    ));
    let tmp = profiles.join(format!(
        ".merge-{}.{PREFETCH_EXTENSION}",
        std::process::id()
    ));
    fs::write(&tmp, &text).with_context(|| format!("failed to write {}", tmp.display()))?;
    fs::rename(&tmp, &path)
        .with_context(|| format!("failed to move the profile to {}", path.display()))?;
    // A profile identical to an older one keeps its name: make it the newest again.
    let file = fs::File::options()
        .append(true)
        .open(&path)
        .with_context(|| format!("failed to open {}", path.display()))?;
    file.set_modified(SystemTime::now())
        .with_context(|| format!("failed to touch {}", path.display()))?;
    Ok(Merged {
        path,
        runs: raws.len(),
        sites: profile.sites.len(),
    })
}

/// The newest `.prefetch` profile under `target_dir`, checked for damage; `None` when there is
/// none.
pub fn newest(target_dir: &Path) -> Result<Option<PrefetchProfile>> {
    let dir = profiles_dir(target_dir);
    let Ok(entries) = fs::read_dir(&dir) else {
        return Ok(None);
    };
    let newest = entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            !name.starts_with('.') && name.ends_with(&format!(".{PREFETCH_EXTENSION}"))
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max();
    let Some((_, path)) = newest else {
        return Ok(None);
    };
    let bytes = fs::read(&path).with_context(|| format!("failed to read {}", path.display()))?;
    let profile = check(&path, &bytes)?;
    let hash = plugin::check_content_name(
        &path,
        &bytes,
        "the prefetch profile",
        "delete it or re-run `cargo hallows profile`, or build with `--no-profile`",
    )?;
    Ok(Some(PrefetchProfile {
        hash,
        sites: profile.sites.len(),
        path,
    }))
}

/// Parses a merged profile, or explains what to do about it.
fn check(path: &Path, bytes: &[u8]) -> Result<Profile> {
    let hint = "delete it or re-run `cargo hallows profile`, or build with `--no-profile`";
    let Ok(text) = std::str::from_utf8(bytes) else {
        bail!(
            "the prefetch profile {} is not text (corrupt?); {hint}",
            path.display()
        );
    };
    Profile::parse(text).map_err(|e| {
        anyhow::anyhow!(
            "the prefetch profile {} is unusable ({e}); {hint}",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prefetch_model::raw::{encode_raw, RawSite, Sample};

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "cargo-hallows-prefetch-{name}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn one_site_raw() -> Vec<u8> {
        let samples = (0..64u64)
            .map(|i| Sample {
                addr: 0x10_0000 + i * 4096 * 7 % (1 << 22),
                tsc: 1000 + i * 50,
            })
            .collect();
        let site = RawSite {
            id: 42,
            function: 7,
            execs: 64 * 16,
            entries: 4,
            period: 16,
            samples,
        };
        encode_raw([0, 3_000_000], [0, 1_000_000], &[site])
    }

    #[test]
    fn merges_raw_files_and_finds_the_newest_profile() {
        let target = scratch("merge");
        let raw_dir = target.join("raw");
        let profiles = profiles_dir(&target);
        fs::create_dir_all(&raw_dir).unwrap();
        fs::create_dir_all(&profiles).unwrap();
        assert!(newest(&target).unwrap().is_none());
        assert!(merge_dir(&raw_dir, &profiles)
            .unwrap_err()
            .to_string()
            .contains("no usable prefetch sample file"));

        fs::write(raw_dir.join("hallows-prefetch-1.raw"), one_site_raw()).unwrap();
        fs::write(raw_dir.join("hallows-prefetch-2.raw"), b"garbage").unwrap();
        fs::write(raw_dir.join("hallows-prefetch-3.raw"), b"").unwrap();
        let merged = merge_dir(&raw_dir, &profiles).unwrap();
        assert_eq!(merged.runs, 1);
        assert_eq!(merged.sites, 1);
        let found = newest(&target).unwrap().unwrap();
        assert_eq!(found.path, merged.path);
        assert_eq!(found.sites, 1);
        assert_eq!(
            found.path.file_stem().unwrap().to_string_lossy(),
            found.hash
        );

        // Still parses, but is not what was written under that name.
        let mut text = fs::read_to_string(&merged.path).unwrap();
        text.push('\n');
        fs::write(&merged.path, &text).unwrap();
        let err = newest(&target).unwrap_err().to_string();
        assert!(err.contains("damaged"), "{err}");

        fs::write(&merged.path, b"not a profile\n").unwrap();
        assert!(newest(&target)
            .unwrap_err()
            .to_string()
            .contains("unusable"));
        let _ = fs::remove_dir_all(&target);
    }
}
