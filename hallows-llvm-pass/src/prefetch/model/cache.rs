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

/// Environment variable that replaces the last-level cache size sysfs reports, for
/// `cargo hallows profile` (see [`CacheModel::with_llc_override`]).
pub const LLC_BYTES_ENV: &str = "HALLOWS_PREFETCH_LLC_BYTES";

/// Independent chases interleaved in the widest memory-level-parallelism measurement: well
/// above the 16 fill buffers of current Intel cores and the 24 miss buffers of AMD Zen 4 (on
/// the Zen 5 VM, 32 was reached in most measurements, so the figure was the bound, not the
/// core's).
pub const MAX_PARALLEL_CHASES: usize = 128;
/// Lowest memory-level parallelism accepted from a measurement: any out-of-order core overlaps
/// two misses, so less means the measurement was disturbed.
pub const MIN_MEASURED_PARALLELISM: f64 = 2.0;
/// Loads timed per interleaved chase width and round (about 50 ms of misses at k = 1).
pub const PARALLELISM_LOADS: u64 = 1 << 18;

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

    /// [`Self::this_machine`] with the last-level size replaced by [`LLC_BYTES_ENV`] when that
    /// is set; an error names the variable when its value is not a size.
    pub fn this_machine_from_env() -> Result<Self, String> {
        Self::this_machine().with_llc_override(std::env::var(LLC_BYTES_ENV).ok().as_deref())
    }

    /// The model with its last-level size set to `text` (a byte count or a sysfs-style size
    /// such as `32M`), when given. A VM's sysfs can report the host's whole L3 (480 MiB on the
    /// session-6 Intel VM): the model then calls every working set under that size a
    /// last-level hit, and [`Self::calibrate`] times its "last-level" chase over half of it
    /// (240 MiB, far past any share of the cache this VM gets and past the TLB's reach), which
    /// read 270-347 ns there against 418-484 ns for its DRAM chase (1.9 GiB), so the pass
    /// took every example's misses for about 300 ns ones and called NAS IS's already hidden.
    pub fn with_llc_override(mut self, text: Option<&str>) -> Result<Self, String> {
        let Some(text) = text else {
            return Ok(self);
        };
        match parse_sysfs_size(text) {
            Some(bytes) if bytes >= self.l2_bytes => {
                self.llc_bytes = bytes;
                Ok(self)
            }
            Some(bytes) => Err(format!(
                "{LLC_BYTES_ENV}={text}: {bytes} bytes is smaller than this machine's L2 ({} bytes)",
                self.l2_bytes
            )),
            None => Err(format!(
                "{LLC_BYTES_ENV}={text:?} is not a size (a byte count, or a number followed by K, M or G)"
            )),
        }
    }

    /// Measures the last-level and DRAM latencies with dependent-load chases and the
    /// memory-level parallelism with interleaved ones (about 2 s in all). Every figure is the
    /// [`quiet_figure`] of chases timed in chunks of [`CALIBRATION_CHUNK_LOADS`] loads: the
    /// clock is wall time, and `cargo hallows profile` often merges while other processes share
    /// the cores, so a chase timed whole counts the time it spent descheduled (on the 2-vCPU
    /// project VM single 0.4 s chases gave DRAM latencies of 93-183 ns on one machine and
    /// 341-473 ns on another, and the "misses hidden" decision reads these latencies). Being
    /// descheduled, stolen from or interrupted only ever adds time to a chunk, so the chunks that
    /// ran undisturbed are the fast ones.
    pub fn calibrate(mut self) -> Self {
        let dram_bytes = (self.llc_bytes * 4).max(32 << 20);
        let llc_bytes = (self.llc_bytes / 2).max(self.l2_bytes * 2);
        let measure = |bytes| {
            let chase = ChaseBuffer::new(bytes, self.line_bytes);
            quiet_figure(&chase.chunked_ns_per_load(
                1,
                CALIBRATION_LATENCY_LOADS,
                CALIBRATION_CHUNK_LOADS,
            ))
        };
        self.dram_latency_ns = measure(dram_bytes);
        self.llc_latency_ns = measure(llc_bytes).min(self.dram_latency_ns);
        let chase = ChaseBuffer::new(dram_bytes, self.line_bytes);
        let mut rounds: Vec<f64> = (0..PARALLELISM_ROUNDS)
            .map(|_| {
                let widths = std::iter::successors(Some(1), |k| Some(k * 2))
                    .take_while(|k| *k <= MAX_PARALLEL_CHASES);
                let timed: Vec<(usize, f64)> = widths
                    .map(|k| {
                        let chunks = chase.chunked_ns_per_load(
                            k,
                            PARALLELISM_LOADS,
                            CALIBRATION_CHUNK_LOADS,
                        );
                        (k, quiet_figure(&chunks))
                    })
                    .collect();
                parallelism_from_chases(&timed)
            })
            .collect();
        rounds.sort_by(f64::total_cmp);
        self.memory_parallelism = rounds[rounds.len() / 2];
        self
    }
}

/// Rounds of the memory-level-parallelism measurement; the median is kept (single rounds
/// still differed by up to a factor of 2 on the Zen 5 VM, where the other tenants' memory
/// traffic moves the peak throughput).
pub const PARALLELISM_ROUNDS: usize = 3;

/// Loads timed per latency in [`CacheModel::calibrate`] (about 0.3 s at DRAM latency).
pub const CALIBRATION_LATENCY_LOADS: u64 = 3 << 20;
/// Loads per separately timed chunk of a calibration chase: about 0.2 ms of DRAM misses, short
/// against a scheduler time slice (0.75-3 ms), so most chunks run undisturbed even with three
/// runnable processes per core (4096-load chunks still read 280 ns instead of 210 ns there).
pub const CALIBRATION_CHUNK_LOADS: u64 = 1024;
/// Share of a calibration's chunks, the fastest first, that [`quiet_figure`] takes its
/// figure at: the lower quartile, so up to three quarters of the chunks may be slowed by other
/// processes without moving the figure much, while one lucky chunk cannot set it alone.
pub const QUIET_QUANTILE: f64 = 0.25;

/// The figure of an undisturbed measurement: the [`QUIET_QUANTILE`] of `chunks`, each a time of
/// one separately timed part (ns per load of a calibration chunk, ticks per execution of a
/// sample delta); non-finite or non-positive entries are ignored. 0 when none is usable.
pub fn quiet_figure(chunks: &[f64]) -> f64 {
    let mut usable: Vec<f64> = chunks
        .iter()
        .copied()
        .filter(|ns| ns.is_finite() && *ns > 0.0)
        .collect();
    usable.sort_by(f64::total_cmp);
    if usable.is_empty() {
        return 0.0;
    }
    let at = ((usable.len() - 1) as f64 * QUIET_QUANTILE).round() as usize;
    usable[at]
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

impl ChaseBuffer {
    /// Like [`Self::interleaved_ns_per_load`], but `loads` loads in chunks of `chunk_loads`,
    /// each timed on its own: the ns per load of every chunk, in order (after one untimed
    /// warm-up pass). Feed them to [`quiet_figure`].
    pub fn chunked_ns_per_load(&self, chases: usize, loads: u64, chunk_loads: u64) -> Vec<f64> {
        let k = chases.clamp(1, MAX_PARALLEL_CHASES);
        let mut at = [0usize; MAX_PARALLEL_CHASES];
        for (j, p) in at[..k].iter_mut().enumerate() {
            *p = j * (self.lines / k) * self.stride;
        }
        let turns_per_chunk = (chunk_loads / k as u64).max(1);
        let chunks = (loads / (turns_per_chunk * k as u64)).max(1);
        for _ in 0..(self.lines / k).min((turns_per_chunk * chunks) as usize) {
            for p in at[..k].iter_mut() {
                *p = self.words[*p];
            }
        }
        let mut out = Vec::with_capacity(chunks as usize);
        for _ in 0..chunks {
            let start = Instant::now();
            for _ in 0..turns_per_chunk {
                for p in at[..k].iter_mut() {
                    *p = self.words[*p];
                }
            }
            let elapsed = start.elapsed().as_nanos() as f64;
            std::hint::black_box(&at);
            out.push(elapsed / (turns_per_chunk * k as u64) as f64);
        }
        out
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
    fn calibration_keeps_the_undisturbed_chunks() {
        // 100 chunks at 95-104 ns, 60 of them stretched by being descheduled (3 ms in a 0.5 ms
        // chunk): the figure stays that of the undisturbed ones, where the mean or the median
        // of the chunks (or the time of one long chase) would not.
        let mut chunks: Vec<f64> = (0..100).map(|i| 95.0 + f64::from(i % 10)).collect();
        for (i, c) in chunks.iter_mut().enumerate() {
            *c *= [7.0, 3.0, 2.0, 1.0, 1.0][i % 5];
        }
        let quiet = quiet_figure(&chunks);
        assert!((95.0..=104.0).contains(&quiet), "{quiet}");
        let mut sorted = chunks.clone();
        sorted.sort_by(f64::total_cmp);
        assert!(
            sorted[50] > 150.0,
            "the median would be disturbed: {}",
            sorted[50]
        );
        // The lower quartile, not the minimum: one lucky chunk does not set it.
        let lucky = [10.0, 100.0, 100.0, 100.0, 100.0];
        assert_eq!(quiet_figure(&lucky), 100.0);
        // Unusable entries are ignored; nothing usable gives 0.
        assert_eq!(quiet_figure(&[f64::NAN, 0.0, 80.0, -1.0]), 80.0);
        assert_eq!(quiet_figure(&[]), 0.0);
    }

    #[test]
    fn chunked_chases_time_every_chunk() {
        let chase = ChaseBuffer::new(64 << 10, 64);
        let chunks = chase.chunked_ns_per_load(1, 10_000, 1000);
        assert_eq!(chunks.len(), 10);
        assert!(
            chunks.iter().all(|ns| *ns > 0.0 && *ns < 10_000.0),
            "{chunks:?}"
        );
        // Interleaved: a chunk of 1000 loads over 8 chases is 125 turns; 10 chunks still.
        assert_eq!(chase.chunked_ns_per_load(8, 10_000, 1000).len(), 10);
        // Never zero chunks, even when asked for fewer loads than one chunk.
        assert_eq!(chase.chunked_ns_per_load(4, 10, 1000).len(), 1);
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
    #[test]
    fn the_last_level_size_can_be_overridden() {
        let m = CacheModel::default();
        assert_eq!(m.with_llc_override(None), Ok(m));
        assert_eq!(
            m.with_llc_override(Some("32M")).unwrap().llc_bytes,
            32 << 20
        );
        assert_eq!(
            m.with_llc_override(Some("33554432")).unwrap().llc_bytes,
            32 << 20
        );
        let small = m.with_llc_override(Some("64K")).unwrap_err();
        assert!(small.contains("smaller than this machine's L2"), "{small}");
        let junk = m.with_llc_override(Some("lots")).unwrap_err();
        assert!(
            junk.contains("HALLOWS_PREFETCH_LLC_BYTES=\"lots\" is not a size"),
            "{junk}"
        );
    }
}
