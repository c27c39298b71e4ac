//! Cache sizes of this machine, for picking working sets larger than the last-level cache.
//!
//! Linux describes each cache of a CPU in `/sys/devices/system/cpu/cpu0/cache/index<N>/`
//! (files `level`, `type`, `size`; see the kernel's
//! `Documentation/ABI/testing/sysfs-devices-system-cpu`). The memory-bound kernels size their
//! default inputs to [`WORKING_SET_LLC_MULTIPLE`] times the largest data cache found there, or
//! to the size in [`LLC_BYTES_ENV`] when that is set (to keep the inputs of one machine on
//! another whose sysfs reports a different cache, e.g. a VM slice of a large shared L3).

use std::fs;
use std::path::Path;

/// Assumed last-level cache size when sysfs says nothing (a common server L3 slice).
pub const FALLBACK_LLC_BYTES: usize = 32 << 20;

/// How many times the LLC a memory-bound kernel's default working set spans, so that most of its
/// indirect accesses miss in every cache level.
pub const WORKING_SET_LLC_MULTIPLE: usize = 4;

/// Environment variable that replaces the sysfs cache size the default inputs are sized from
/// (a byte count or a sysfs-style size such as `32768K` or `32M`).
pub const LLC_BYTES_ENV: &str = "HALLOWS_EXAMPLES_LLC_BYTES";

/// Size in bytes of the last-level cache the default inputs are sized from: [`LLC_BYTES_ENV`]
/// when it holds a positive size, else the largest data or unified cache of CPU 0, else
/// [`FALLBACK_LLC_BYTES`].
///
/// ```
/// assert!(hallows_examples::cache::llc_bytes() >= 64 << 10);
/// ```
pub fn llc_bytes() -> usize {
    let forced = std::env::var(LLC_BYTES_ENV).ok();
    llc_bytes_from(
        forced.as_deref(),
        Path::new("/sys/devices/system/cpu/cpu0/cache"),
    )
}

/// [`llc_bytes`] with the override's text and the sysfs directory given.
fn llc_bytes_from(forced: Option<&str>, sysfs: &Path) -> usize {
    forced
        .and_then(parse_size)
        .filter(|&b| b > 0)
        .or_else(|| largest_cache_in(sysfs))
        .unwrap_or(FALLBACK_LLC_BYTES)
}

/// The default working set of a memory-bound kernel: [`WORKING_SET_LLC_MULTIPLE`] × the LLC.
pub fn default_working_set_bytes() -> usize {
    llc_bytes() * WORKING_SET_LLC_MULTIPLE
}

/// The largest data/unified cache described under `dir` (a sysfs `cache` directory).
fn largest_cache_in(dir: &Path) -> Option<usize> {
    let mut largest = None;
    for entry in fs::read_dir(dir).ok()? {
        let path = entry.ok()?.path();
        let is_index = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("index"));
        if !is_index {
            continue;
        }
        let kind = fs::read_to_string(path.join("type")).unwrap_or_default();
        if kind.trim() == "Instruction" {
            continue;
        }
        let Some(size) = fs::read_to_string(path.join("size"))
            .ok()
            .and_then(|s| parse_size(&s))
        else {
            continue;
        };
        largest = Some(largest.map_or(size, |l: usize| l.max(size)));
    }
    largest
}

/// Parses sysfs cache sizes such as `32K`, `1024K`, `32768K`, `2M` or a plain byte count.
fn parse_size(text: &str) -> Option<usize> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, ""),
    };
    let value: usize = digits.parse().ok()?;
    let scale = match unit.trim() {
        "" => 1,
        "K" | "KiB" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        _ => return None,
    };
    value.checked_mul(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sysfs_sizes() {
        assert_eq!(parse_size("32K\n"), Some(32 << 10));
        assert_eq!(parse_size("32768K"), Some(32 << 20));
        assert_eq!(parse_size("2M"), Some(2 << 20));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("12Q"), None);
    }

    #[test]
    fn finds_largest_non_instruction_cache() {
        let dir = std::env::temp_dir().join(format!("hallows-cache-test-{}", std::process::id()));
        let caches = [
            ("index0", "Data", "32K"),
            ("index1", "Instruction", "64M"),
            ("index2", "Unified", "1024K"),
            ("index3", "Unified", "16384K"),
        ];
        for (name, kind, size) in caches {
            let d = dir.join(name);
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join("type"), kind).unwrap();
            fs::write(d.join("size"), size).unwrap();
        }
        fs::create_dir_all(dir.join("power")).unwrap();
        assert_eq!(largest_cache_in(&dir), Some(16 << 20));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn override_replaces_sysfs_unless_unusable() {
        let none = Path::new("/nonexistent/hallows/cache");
        assert_eq!(llc_bytes_from(Some("32M"), none), 32 << 20);
        assert_eq!(llc_bytes_from(Some("4096"), none), 4096);
        assert_eq!(llc_bytes_from(Some("0"), none), FALLBACK_LLC_BYTES);
        assert_eq!(llc_bytes_from(Some("big"), none), FALLBACK_LLC_BYTES);
        assert_eq!(llc_bytes_from(None, none), FALLBACK_LLC_BYTES);
    }

    #[test]
    fn missing_directory_gives_none() {
        assert_eq!(
            largest_cache_in(Path::new("/nonexistent/hallows/cache")),
            None
        );
    }
}
