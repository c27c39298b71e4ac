//! A model of this machine's data caches: sizes read from Linux's sysfs
//! (`/sys/devices/system/cpu/cpu0/cache/index*/`, documented in the kernel's
//! `Documentation/ABI/testing/sysfs-devices-system-cpu`) and latencies measured with a
//! dependent-load chase (the method of lmbench's `lat_mem_rd`, McVoy & Staelin, USENIX 1996).
//! The memory-level parallelism (misses one core keeps in flight) is measured as the latency
//! times the peak throughput of `k` independent chases interleaved in one loop (Little's law;
//! the approach of Chou, Fahs & Abraham, ISCA 2004, who define MLP as misses outstanding while
//! any is).

use std::path::Path;
use std::time::Instant;

use super::distance::MEMORY_LEVEL_PARALLELISM;

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

/// Independent chases interleaved in the widest memory-level-parallelism measurement: above
/// the 16 fill buffers of current Intel cores and the 24 miss buffers of AMD Zen 4.
pub const MAX_PARALLEL_CHASES: usize = 32;
/// Lowest memory-level parallelism accepted from a measurement: any out-of-order core overlaps
/// two misses, so less means the measurement was disturbed.
pub const MIN_MEASURED_PARALLELISM: f64 = 2.0;
/// Loads timed per interleaved chase width (about 25 ms of misses at k = 1).
pub const PARALLELISM_STEPS: u64 = 1 << 18;

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
    /// Cache misses one core keeps in flight (see [`parallelism_from_chases`]).
    pub memory_parallelism: f64,
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
            memory_parallelism: MEMORY_LEVEL_PARALLELISM,
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
    /// ns), and the "misses hidden" decision reads these latencies. The memory-level
    /// parallelism it also reads is measured over the DRAM-sized buffer, median of
    /// [`CALIBRATION_ROUNDS`] (see [`parallelism_from_chases`]).
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
        let chase = ChaseBuffer::new(dram_bytes, self.line_bytes);
        self.memory_parallelism = median(
            (0..CALIBRATION_ROUNDS)
                .map(|_| {
                    let widths = std::iter::successors(Some(1), |k| Some(k * 2))
                        .take_while(|k| *k <= MAX_PARALLEL_CHASES);
                    let timed: Vec<(usize, f64)> = widths
                        .map(|k| (k, chase.interleaved_ns_per_load(k, PARALLELISM_STEPS)))
                        .collect();
                    parallelism_from_chases(&timed)
                })
                .collect(),
        );
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

/// Memory-level parallelism from timed interleaved chases: `(k, ns per load)` for `k`
/// independent chases in one loop. One chase's time per load is the miss latency; `k` chases
/// finish loads `k` times as often while the core overlaps `k` misses, and no more often once
/// its miss buffers are full. By Little's law the misses in flight at the peak are the latency
/// times the peak throughput, `ns(1) / min ns(k)`; bounded to
/// [`MIN_MEASURED_PARALLELISM`]..=the widest `k` timed (more cannot have been in flight).
/// Without a `k = 1` timing, or with unusable timings, [`MEMORY_LEVEL_PARALLELISM`].
pub fn parallelism_from_chases(timed: &[(usize, f64)]) -> f64 {
    let usable = |ns: f64| ns.is_finite() && ns > 0.0;
    let Some(&(_, latency)) = timed.iter().find(|(k, ns)| *k == 1 && usable(*ns)) else {
        return MEMORY_LEVEL_PARALLELISM;
    };
    let fastest = timed
        .iter()
        .map(|(_, ns)| *ns)
        .filter(|ns| usable(*ns))
        .fold(latency, f64::min);
    let widest = timed.iter().map(|(k, _)| *k).max().unwrap_or(1) as f64;
    (latency / fastest).clamp(
        MIN_MEASURED_PARALLELISM,
        widest.max(MIN_MEASURED_PARALLELISM),
    )
}

/// A random single cycle through the lines of a buffer, for timing dependent loads.
pub struct ChaseBuffer {
    /// `words[i * stride]` holds the word index of the line after line `i`.
    words: Vec<usize>,
    /// Words per line.
    stride: usize,
    /// Lines in the cycle.
    lines: usize,
}

impl ChaseBuffer {
    /// Links the `bytes / line_bytes` lines of a fresh buffer into one random cycle.
    pub fn new(bytes: u64, line_bytes: u64) -> Self {
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
        let mut words = vec![0usize; lines * stride];
        for w in 0..lines {
            words[order[w] * stride] = order[(w + 1) % lines] * stride;
        }
        Self {
            words,
            stride,
            lines,
        }
    }

    /// Average time per load, in ns, of `chases` (at most [`MAX_PARALLEL_CHASES`]) independent
    /// chases of this cycle advanced in turn, `steps` loads in all. They start at lines
    /// `lines / chases` apart and all advance one line per turn, so they never meet and no
    /// chase loads a line another just brought in (the cycle's order is random).
    pub fn interleaved_ns_per_load(&self, chases: usize, steps: u64) -> f64 {
        let k = chases.clamp(1, MAX_PARALLEL_CHASES);
        let mut at = [0usize; MAX_PARALLEL_CHASES];
        for (j, p) in at[..k].iter_mut().enumerate() {
            *p = j * (self.lines / k) * self.stride;
        }
        let turns = (steps / k as u64).max(1);
        // One untimed pass to warm the TLB and caches to steady state.
        for _ in 0..(self.lines / k).min(turns as usize) {
            for p in at[..k].iter_mut() {
                *p = self.words[*p];
            }
        }
        let start = Instant::now();
        for _ in 0..turns {
            for p in at[..k].iter_mut() {
                *p = self.words[*p];
            }
        }
        let elapsed = start.elapsed().as_nanos() as f64;
        std::hint::black_box(&at);
        elapsed / (turns * k as u64) as f64
    }
}

/// Average latency of one dependent load over a random cyclic permutation of the lines of a
/// `bytes`-sized buffer, in nanoseconds.
pub fn chase_latency_ns(bytes: u64, line_bytes: u64, steps: u64) -> f64 {
    ChaseBuffer::new(bytes, line_bytes).interleaved_ns_per_load(1, steps)
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
    fn parallelism_is_latency_times_peak_throughput() {
        // Scaling up to 8 chases, then flat: 8 in flight (96 ns / 12 ns).
        let timed = [
            (1, 96.0),
            (2, 48.0),
            (4, 24.0),
            (8, 12.0),
            (16, 12.5),
            (32, 13.0),
        ];
        assert_eq!(parallelism_from_chases(&timed), 8.0);
        // Never more than the widest width timed, never below two.
        assert_eq!(parallelism_from_chases(&[(1, 100.0), (4, 1.0)]), 4.0);
        assert_eq!(parallelism_from_chases(&[(1, 100.0), (2, 90.0)]), 2.0);
        // Unusable timings fall back to the constant.
        assert_eq!(parallelism_from_chases(&[]), MEMORY_LEVEL_PARALLELISM);
        assert_eq!(
            parallelism_from_chases(&[(1, 0.0), (2, 5.0)]),
            MEMORY_LEVEL_PARALLELISM
        );
        assert_eq!(
            parallelism_from_chases(&[(1, 80.0), (2, f64::NAN), (4, 20.0)]),
            4.0
        );
    }

    #[test]
    fn interleaved_chases_measure_something_positive() {
        let chase = ChaseBuffer::new(64 << 10, 64);
        for k in [1, 3, 32, 100] {
            let ns = chase.interleaved_ns_per_load(k, 10_000);
            assert!(ns > 0.0 && ns < 10_000.0, "{k}: {ns}");
        }
    }

    #[test]
    fn chase_measures_something_positive() {
        // Small buffer and few steps: this checks the mechanism, not the machine.
        let ns = chase_latency_ns(64 << 10, 64, 10_000);
        assert!(ns > 0.0 && ns < 10_000.0, "{ns}");
    }
}
