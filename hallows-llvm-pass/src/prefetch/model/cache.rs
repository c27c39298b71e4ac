//! A model of this machine's data caches: sizes read from Linux's sysfs
//! (`/sys/devices/system/cpu/cpu0/cache/index*/`, documented in the kernel's
//! `Documentation/ABI/testing/sysfs-devices-system-cpu`) and latencies measured with a
//! dependent-load chase (the method of lmbench's `lat_mem_rd`, McVoy & Staelin, USENIX 1996).

use std::path::Path;
use std::time::Instant;

/// Chases per latency measurement (the minimum is kept).
pub const CALIBRATION_TRIALS: u32 = 5;
/// Dependent loads per chase.
pub const CALIBRATION_STEPS: u64 = 1 << 18;

/// Cache line size assumed when sysfs does not say (x86_64 uses 64-byte lines: Intel SDM vol. 3A
/// §11.1, AMD APM vol. 2 §7.1).
pub const DEFAULT_LINE_BYTES: u64 = 64;
/// L1 data cache size assumed when sysfs is unreadable.
pub const DEFAULT_L1D_BYTES: u64 = 32 << 10;
/// L2 size assumed when sysfs is unreadable.
pub const DEFAULT_L2_BYTES: u64 = 1 << 20;
/// Last-level size assumed when sysfs is unreadable.
pub const DEFAULT_LLC_BYTES: u64 = 8 << 20;
/// Last-level-cache hit latency assumed without a measurement (about 40 cycles at 3 GHz).
pub const DEFAULT_LLC_LATENCY_NS: f64 = 13.0;
/// DRAM latency assumed without a measurement (typical loaded server DRAM).
pub const DEFAULT_DRAM_LATENCY_NS: f64 = 90.0;

/// Sizes and latencies of the data-cache hierarchy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CacheModel {
    /// Line size in bytes.
    pub line_bytes: u64,
    /// Level-1 data cache bytes.
    pub l1d_bytes: u64,
    /// Level-2 bytes.
    pub l2_bytes: u64,
    /// Last-level cache bytes (equal to `l2_bytes` when there is no level 3).
    pub llc_bytes: u64,
    /// Latency of a load that misses L2 and hits the last level, in nanoseconds.
    pub llc_latency_ns: f64,
    /// Latency of a load that misses every cache, in nanoseconds.
    pub dram_latency_ns: f64,
}

impl Default for CacheModel {
    fn default() -> Self {
        Self {
            line_bytes: DEFAULT_LINE_BYTES,
            l1d_bytes: DEFAULT_L1D_BYTES,
            l2_bytes: DEFAULT_L2_BYTES,
            llc_bytes: DEFAULT_LLC_BYTES,
            llc_latency_ns: DEFAULT_LLC_LATENCY_NS,
            dram_latency_ns: DEFAULT_DRAM_LATENCY_NS,
        }
    }
}

/// Parses a sysfs size such as `48K`, `1024K`, `32M` or `65536`.
pub fn parse_sysfs_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let (digits, mult) = match t.as_bytes().last()? {
        b'K' | b'k' => (&t[..t.len() - 1], 1 << 10),
        b'M' | b'm' => (&t[..t.len() - 1], 1 << 20),
        b'G' | b'g' => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    digits.parse::<u64>().ok()?.checked_mul(mult)
}

impl CacheModel {
    /// Reads cache sizes from `root` (normally `/sys/devices/system/cpu/cpu0/cache`); levels that
    /// cannot be read keep their defaults. Latencies keep their defaults (see [`Self::calibrate`]).
    pub fn from_sysfs(root: &Path) -> Self {
        let mut model = Self::default();
        let mut last_level: Option<u64> = None;
        let Ok(dir) = std::fs::read_dir(root) else {
            return model;
        };
        for entry in dir.flatten() {
            if !entry.file_name().to_string_lossy().starts_with("index") {
                continue;
            }
            let read = |f: &str| std::fs::read_to_string(entry.path().join(f)).ok();
            let (Some(level), Some(kind), Some(size)) = (read("level"), read("type"), read("size"))
            else {
                continue;
            };
            let kind = kind.trim();
            if kind != "Data" && kind != "Unified" {
                continue;
            }
            let Some(size) = parse_sysfs_size(&size) else {
                continue;
            };
            if let Some(line) =
                read("coherency_line_size").and_then(|l| l.trim().parse::<u64>().ok())
            {
                if line.is_power_of_two() {
                    model.line_bytes = line;
                }
            }
            match level.trim() {
                "1" => model.l1d_bytes = size,
                "2" => model.l2_bytes = size,
                "3" | "4" => last_level = Some(last_level.map_or(size, |l| l.max(size))),
                _ => {}
            }
        }
        model.llc_bytes = last_level.unwrap_or(model.l2_bytes);
        model
    }

    /// The model of the machine this runs on, sizes from sysfs, default latencies.
    pub fn this_machine() -> Self {
        Self::from_sysfs(Path::new("/sys/devices/system/cpu/cpu0/cache"))
    }

    /// Measures the last-level and DRAM latencies with dependent-load chases (about 0.6 s): the
    /// median of [`CALIBRATION_ROUNDS`] chases each, because a last-level cache shared with
    /// other tenants gives single chases from 57 to 155 ns on the project's VM (DRAM: 160-200
    /// ns), and the "misses hidden" decision reads these latencies.
    pub fn calibrate(mut self) -> Self {
        let dram_bytes = (self.llc_bytes * 4).max(32 << 20);
        let llc_bytes = (self.llc_bytes / 2).max(self.l2_bytes * 2);
        let measure = |bytes| {
            median(
                (0..CALIBRATION_ROUNDS)
                    .map(|_| chase_latency_ns(bytes, self.line_bytes, 1 << 21))
                    .collect(),
            )
        };
        self.dram_latency_ns = measure(dram_bytes);
        self.llc_latency_ns = measure(llc_bytes).min(self.dram_latency_ns);
        self
    }
}

/// Chases per latency in [`CacheModel::calibrate`]; the median is kept.
pub const CALIBRATION_ROUNDS: usize = 3;

/// The median of `values` (the upper one of an even count; 0 when empty).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// Average latency of one dependent load over a random cyclic permutation of the lines of a
/// `bytes`-sized buffer, in nanoseconds.
pub fn chase_latency_ns(bytes: u64, line_bytes: u64, steps: u64) -> f64 {
    let stride = (line_bytes as usize / std::mem::size_of::<usize>()).max(1);
    let lines = (bytes / line_bytes).max(2) as usize;
    // Sattolo's algorithm makes a single cycle through all lines, so the chase visits each once
    // per round and the hardware prefetchers cannot predict the next line.
    let mut order: Vec<usize> = (0..lines).collect();
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    for i in (1..lines).rev() {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let j = (rng % i as u64) as usize;
        order.swap(i, j);
    }
    let mut buf = vec![0usize; lines * stride];
    for w in 0..lines {
        buf[order[w] * stride] = order[(w + 1) % lines] * stride;
    }
    let mut p = 0usize;
    // One round untimed to warm the TLB and caches to steady state.
    for _ in 0..lines.min(steps as usize) {
        p = buf[p];
    }
    let start = Instant::now();
    for _ in 0..steps {
        p = buf[p];
    }
    let elapsed = start.elapsed().as_nanos() as f64;
    std::hint::black_box(p);
    elapsed / steps as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_keeps_the_median_chase() {
        assert_eq!(median(vec![155.0, 57.0, 131.0]), 131.0);
        assert_eq!(median(vec![2.0, 1.0]), 2.0);
        assert_eq!(median(Vec::new()), 0.0);
    }

    #[test]
    fn parses_sysfs_sizes() {
        assert_eq!(parse_sysfs_size("48K\n"), Some(48 << 10));
        assert_eq!(parse_sysfs_size("32M"), Some(32 << 20));
        assert_eq!(parse_sysfs_size("4096"), Some(4096));
        assert_eq!(parse_sysfs_size("lots"), None);
        assert_eq!(parse_sysfs_size(""), None);
    }

    #[test]
    fn reads_a_fake_sysfs_tree() {
        let root = std::env::temp_dir().join(format!("hallows-cache-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (i, level, kind, size) in [
            (0, "1", "Data", "48K"),
            (1, "1", "Instruction", "32K"),
            (2, "2", "Unified", "2048K"),
            (3, "3", "Unified", "30M"),
        ] {
            let d = root.join(format!("index{i}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("level"), level).unwrap();
            std::fs::write(d.join("type"), kind).unwrap();
            std::fs::write(d.join("size"), size).unwrap();
            std::fs::write(d.join("coherency_line_size"), "64").unwrap();
        }
        let m = CacheModel::from_sysfs(&root);
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(
            (m.l1d_bytes, m.l2_bytes, m.llc_bytes, m.line_bytes),
            (48 << 10, 2 << 20, 30 << 20, 64)
        );
    }

    #[test]
    fn missing_sysfs_gives_defaults() {
        let m = CacheModel::from_sysfs(Path::new("/nonexistent/hallows"));
        assert_eq!(m, CacheModel::default());
    }

    #[test]
    fn chase_measures_something_positive() {
        // Small buffer and few steps: this checks the mechanism, not the machine.
        let ns = chase_latency_ns(64 << 10, 64, 10_000);
        assert!(ns > 0.0 && ns < 10_000.0, "{ns}");
    }
}
