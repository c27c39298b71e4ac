//! What the sampled addresses of one load site say: its address pattern, its footprint, how
//! long an iteration of its loop takes, and how often it is expected to miss the caches.
//!
//! The address pattern is read from the deltas between consecutive samples (each spans the
//! site's sampling period): a dominant delta is a constant stride, one line is invariant,
//! anything else is irregular. Whether an irregular load is *indirect* (its address computed
//! from another load) is a property of the IR, which the pass combines with this result.
//!
//! The footprint of an irregular site is estimated from sample collisions: `S` uniform draws
//! over `N` lines give `N(1 - (1 - 1/N)^S)` distinct lines in expectation (the occupancy
//! problem, Feller, *An Introduction to Probability Theory*, vol. 1, §II.11), solved for `N`.
//! The miss estimate is a capacity model: uniform accesses over a footprint `F` hit a cache of
//! capacity `C` with probability `min(1, C/F)`; constant strides shorter than the hardware
//! stride prefetcher's reach are treated as covered by it.

use super::cache::{quiet_figure, CacheModel};
use super::raw::Sample;

/// Longest stride in bytes the hardware stride prefetchers follow (Intel 64 and IA-32
/// Architectures Optimization Reference Manual, §3.7.3: the IP-based stride prefetcher detects
/// strides up to 2 KB; AMD's stride prefetcher is documented with a similar reach).
pub const HW_PREFETCH_MAX_STRIDE: u64 = 2048;
/// Share of the deltas that must agree to call a site strided.
pub const STRIDE_AGREEMENT: f64 = 0.6;
/// Fewest deltas needed to classify a site at all.
pub const MIN_DELTAS: usize = 4;

/// The address pattern seen in the samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressPattern {
    /// Too few samples to tell.
    Unknown,
    /// Always the same cache line.
    Invariant,
    /// A constant stride in bytes per execution.
    Strided(i64),
    /// No dominant stride.
    Irregular,
}

impl AddressPattern {
    /// Text form used in profiles and reports (`stride:+8`, `irregular`, ...).
    pub fn label(&self) -> String {
        match self {
            Self::Unknown => "unknown".into(),
            Self::Invariant => "invariant".into(),
            Self::Strided(s) => format!("stride:{s:+}"),
            Self::Irregular => "irregular".into(),
        }
    }

    /// Parses [`Self::label`]'s output.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "unknown" => Some(Self::Unknown),
            "invariant" => Some(Self::Invariant),
            "irregular" => Some(Self::Irregular),
            _ => text
                .strip_prefix("stride:")?
                .parse()
                .ok()
                .map(Self::Strided),
        }
    }
}

/// Expected cache behaviour of one site.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MissEstimate {
    /// Fraction of executions expected to miss L2 (and so wait for the last level or DRAM).
    pub miss_rate: f64,
    /// Average latency of such a miss in nanoseconds.
    pub miss_latency_ns: f64,
}

/// Classifies one run's samples (all taken `period` executions apart).
pub fn classify(samples: &[Sample], period: u32, line_bytes: u64) -> AddressPattern {
    if samples.len() < MIN_DELTAS + 1 || period == 0 {
        return AddressPattern::Unknown;
    }
    let line_mask = !(line_bytes.max(1) - 1);
    let first_line = samples[0].addr & line_mask;
    if samples.iter().all(|s| s.addr & line_mask == first_line) {
        return AddressPattern::Invariant;
    }
    let mut deltas: Vec<i64> = samples
        .windows(2)
        .map(|w| w[1].addr.wrapping_sub(w[0].addr) as i64)
        .collect();
    deltas.sort_unstable();
    let (mut best, mut best_count, mut run) = (deltas[0], 0usize, 0usize);
    for (i, &d) in deltas.iter().enumerate() {
        run = if i > 0 && deltas[i - 1] == d {
            run + 1
        } else {
            1
        };
        if run > best_count {
            best = d;
            best_count = run;
        }
    }
    if best_count as f64 >= STRIDE_AGREEMENT * deltas.len() as f64 && best % i64::from(period) == 0
    {
        let stride = best / i64::from(period);
        if stride == 0 {
            AddressPattern::Invariant
        } else {
            AddressPattern::Strided(stride)
        }
    } else {
        AddressPattern::Irregular
    }
}

/// Estimates how many distinct cache lines the site touches from `samples` (in time order),
/// bounded by the sampled address range.
///
/// A program that sweeps the same data several times repeats its samples exactly (periodic
/// sampling aliases with the sweep), which a collision count would take for a small table. So
/// the estimate is made on the first eighth, quarter, half and all of the samples and the
/// largest is kept: within one sweep there is no aliasing, while a truly small table collides
/// in every prefix.
pub fn footprint_bytes(samples: &[Sample], line_bytes: u64) -> u64 {
    let mut best = 0;
    for part in [8, 4, 2, 1] {
        let m = samples.len() / part;
        if m >= MIN_FOOTPRINT_SAMPLES || part == 1 {
            best = best.max(collision_footprint(&samples[..m], line_bytes));
        }
    }
    best
}

/// Fewest samples a prefix needs to enter [`footprint_bytes`]'s estimate.
const MIN_FOOTPRINT_SAMPLES: usize = 32;

fn collision_footprint(samples: &[Sample], line_bytes: u64) -> u64 {
    if samples.is_empty() {
        return 0;
    }
    let line = line_bytes.max(1);
    let mut lines: Vec<u64> = samples.iter().map(|s| s.addr / line).collect();
    lines.sort_unstable();
    let range_lines = lines[lines.len() - 1] - lines[0] + 1;
    lines.dedup();
    let distinct = lines.len() as u64;
    let draws = samples.len() as u64;
    let estimate = if distinct >= draws {
        u64::MAX
    } else {
        occupancy_population(draws, distinct)
    };
    range_lines.min(estimate).max(distinct) * line
}

/// Bytes between the lowest and highest sampled line, inclusive: the footprint of a stride.
pub fn range_bytes(samples: &[Sample], line_bytes: u64) -> u64 {
    let line = line_bytes.max(1);
    match (
        samples.iter().map(|s| s.addr).min(),
        samples.iter().map(|s| s.addr).max(),
    ) {
        (Some(lo), Some(hi)) => (hi / line - lo / line + 1) * line,
        _ => 0,
    }
}

/// Solves `N (1 - (1 - 1/N)^draws) = distinct` for `N` (requires `distinct < draws`).
pub fn occupancy_population(draws: u64, distinct: u64) -> u64 {
    let expected = |n: f64| n * (1.0 - (1.0 - 1.0 / n).powf(draws as f64));
    let target = distinct as f64;
    let (mut lo, mut hi) = (target.max(1.0), (draws as f64).powi(2).max(2.0));
    if expected(hi) <= target {
        return hi as u64;
    }
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if expected(mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi.round() as u64
}

/// A gap between sorted sampled addresses this many times the average spacing splits the
/// samples into separate regions (separate allocations, e.g. a small and a large table used by
/// the same load site in different calls).
pub const REGION_GAP_FACTOR: u64 = 64;
/// Regions with fewer samples are not split further.
pub const MIN_REGION_SAMPLES: usize = 8;

/// Splits samples into address regions at gaps much larger than their average spacing, so that
/// one load site used on a small and on a large array is modelled as the mix it is. Each region
/// keeps its samples in time order.
pub fn regions(samples: &[Sample]) -> Vec<Vec<Sample>> {
    let mut sorted: Vec<u64> = samples.iter().map(|s| s.addr).collect();
    sorted.sort_unstable();
    let mut starts = Vec::new();
    split_regions(&sorted, &mut starts);
    starts.sort_unstable();
    let mut out: Vec<Vec<Sample>> = vec![Vec::new(); starts.len().max(1)];
    for s in samples {
        let r = starts
            .partition_point(|&start| start <= s.addr)
            .saturating_sub(1);
        out[r].push(*s);
    }
    out.retain(|r| !r.is_empty());
    out
}

/// Pushes the lowest address of each region of `sorted`.
fn split_regions(sorted: &[u64], starts: &mut Vec<u64>) {
    let Some(&first) = sorted.first() else { return };
    if sorted.len() < MIN_REGION_SAMPLES {
        starts.push(first);
        return;
    }
    let range = sorted[sorted.len() - 1] - first;
    let threshold = (range / sorted.len() as u64)
        .saturating_mul(REGION_GAP_FACTOR)
        .max(1 << 16);
    let cut = sorted
        .windows(2)
        .enumerate()
        .max_by_key(|(_, w)| w[1] - w[0]);
    match cut {
        Some((i, w)) if w[1] - w[0] > threshold => {
            split_regions(&sorted[..=i], starts);
            split_regions(&sorted[i + 1..], starts);
        }
        _ => starts.push(first),
    }
}

/// Footprint and miss estimate of a site, region by region (see [`regions`]): the footprint is
/// the regions' sum, the miss rate and latency their sample-weighted mix.
pub fn estimate_site(
    pattern: AddressPattern,
    samples: &[Sample],
    cache: &CacheModel,
) -> (u64, MissEstimate) {
    let parts = regions(samples);
    let total = samples.len().max(1) as f64;
    let (mut footprint, mut rate, mut stall) = (0u64, 0.0, 0.0);
    for part in &parts {
        let f = match pattern {
            AddressPattern::Strided(_) | AddressPattern::Invariant => {
                range_bytes(part, cache.line_bytes)
            }
            AddressPattern::Irregular | AddressPattern::Unknown => {
                footprint_bytes(part, cache.line_bytes)
            }
        };
        let m = estimate_misses(pattern, f, cache);
        let share = part.len() as f64 / total;
        footprint = footprint.saturating_add(f);
        rate += share * m.miss_rate;
        stall += share * m.miss_rate * m.miss_latency_ns;
    }
    let latency = if rate > 0.0 {
        stall / rate
    } else {
        estimate_misses(pattern, footprint, cache).miss_latency_ns
    };
    (
        footprint,
        MissEstimate {
            miss_rate: rate,
            miss_latency_ns: latency,
        },
    )
}

/// Time per execution between consecutive samples, in cycle-counter ticks: the lower
/// quartile of the per-delta figures ([`quiet_figure`]). The cycle counter runs while the
/// process is descheduled, and `cargo hallows profile` often trains while builds share the
/// cores, so some deltas (about 1 ms each in the examples' training runs, against time slices
/// of 3 ms and more) count time the loop did not run; those are the slow ones, and the lower
/// quartile keeps the figure of the undisturbed deltas while up to three quarters are slowed
/// (the median moved once a third were). For a loop whose iterations differ by phase it leans
/// to the faster phases, which gives a longer prefetch distance, the safer error (see
/// `distance.rs`).
pub fn ticks_per_execution(samples: &[Sample], period: u32) -> Option<f64> {
    let per: Vec<f64> = samples
        .windows(2)
        .filter(|w| w[1].tsc > w[0].tsc)
        .map(|w| (w[1].tsc - w[0].tsc) as f64 / f64::from(period.max(1)))
        .collect();
    if per.len() < MIN_DELTAS {
        return None;
    }
    Some(quiet_figure(&per))
}

/// Probability that a uniformly spread access over `footprint` bytes misses a cache of
/// `capacity` bytes.
pub fn capacity_miss_probability(footprint: u64, capacity: u64) -> f64 {
    if footprint <= capacity || footprint == 0 {
        0.0
    } else {
        1.0 - capacity as f64 / footprint as f64
    }
}

/// Expected misses of a site with `pattern` over `footprint` bytes on `cache`.
pub fn estimate_misses(
    pattern: AddressPattern,
    footprint: u64,
    cache: &CacheModel,
) -> MissEstimate {
    let new_line_share = match pattern {
        AddressPattern::Unknown | AddressPattern::Invariant => 0.0,
        AddressPattern::Strided(s) if s.unsigned_abs() < HW_PREFETCH_MAX_STRIDE => 0.0,
        AddressPattern::Strided(s) => (s.unsigned_abs() as f64 / cache.line_bytes as f64).min(1.0),
        AddressPattern::Irregular => 1.0,
    };
    let p_l2 = capacity_miss_probability(footprint, cache.l2_bytes);
    let p_llc = capacity_miss_probability(footprint, cache.llc_bytes);
    let miss_rate = new_line_share * p_l2;
    let miss_latency_ns = if p_l2 > 0.0 {
        (p_llc * cache.dram_latency_ns + (p_l2 - p_llc) * cache.llc_latency_ns) / p_l2
    } else {
        cache.llc_latency_ns
    };
    MissEstimate {
        miss_rate,
        miss_latency_ns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(addrs: impl IntoIterator<Item = u64>) -> Vec<Sample> {
        addrs
            .into_iter()
            .enumerate()
            .map(|(i, addr)| Sample {
                addr,
                tsc: 1000 + 640 * i as u64,
            })
            .collect()
    }

    /// A small xorshift generator so the tests are deterministic.
    fn pseudo_random(n: usize, modulus: u64) -> Vec<u64> {
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x % modulus
            })
            .collect()
    }

    #[test]
    fn detects_constant_strides_in_sample_units() {
        let s = samples((0..100).map(|i| 0x10_0000 + i * 64 * 8));
        assert_eq!(classify(&s, 64, 64), AddressPattern::Strided(8));
        let down = samples((0..100).map(|i| 0x900_0000 - i * 32 * 4096));
        assert_eq!(classify(&down, 32, 64), AddressPattern::Strided(-4096));
    }

    #[test]
    fn stride_survives_a_few_loop_restarts() {
        // Four runs of 25 samples over the same array: 96 equal deltas, 3 jumps back.
        let s = samples((0..4).flat_map(|_| (0..25).map(|i| 0x10_0000 + i * 64 * 4)));
        assert_eq!(classify(&s, 64, 64), AddressPattern::Strided(4));
    }

    #[test]
    fn random_addresses_are_irregular_and_one_line_is_invariant() {
        let r = samples(
            pseudo_random(500, 1 << 26)
                .into_iter()
                .map(|a| 0x4000_0000 + a),
        );
        assert_eq!(classify(&r, 64, 64), AddressPattern::Irregular);
        let same = samples((0..50).map(|i| 0x1000 + (i % 8) * 4));
        assert_eq!(classify(&same, 64, 64), AddressPattern::Invariant);
        assert_eq!(classify(&same[..3], 64, 64), AddressPattern::Unknown);
    }

    #[test]
    fn labels_round_trip() {
        for p in [
            AddressPattern::Unknown,
            AddressPattern::Invariant,
            AddressPattern::Strided(-24),
            AddressPattern::Irregular,
        ] {
            assert_eq!(AddressPattern::parse(&p.label()), Some(p));
        }
        assert_eq!(AddressPattern::parse("stride:x"), None);
    }

    #[test]
    fn footprint_of_a_small_table_is_found_from_collisions() {
        // 2000 draws over 256 lines (16 KiB): the estimate must be near 16 KiB even though the
        // table sits inside a wide address range.
        let addrs = pseudo_random(2000, 256)
            .into_iter()
            .map(|l| 0x1000_0000 + l * 64);
        let f = footprint_bytes(&samples(addrs), 64);
        assert!((15 << 10..=17 << 10).contains(&f), "{f}");
    }

    #[test]
    fn footprint_of_a_large_table_is_its_range() {
        let addrs = pseudo_random(1000, 1 << 20)
            .into_iter()
            .map(|l| 0x1000_0000 + l * 64);
        let f = footprint_bytes(&samples(addrs), 64);
        assert!(f > 60 << 20 && f <= 64 << 20, "{f}");
    }

    #[test]
    fn repeated_sweeps_do_not_look_like_a_small_table() {
        // Four identical sweeps over a 64 MiB table: every address sampled four times.
        let sweep = pseudo_random(256, 1 << 20);
        let addrs = (0..4).flat_map(|_| sweep.iter().map(|l| 0x1000_0000 + l * 64));
        let f = footprint_bytes(&samples(addrs), 64);
        assert!(f > 32 << 20, "{f}");
    }

    #[test]
    fn occupancy_inverts_its_expectation() {
        let n = 10_000.0_f64;
        let draws = 5000u64;
        let distinct = (n * (1.0 - (1.0 - 1.0 / n).powf(draws as f64))).round() as u64;
        let est = occupancy_population(draws, distinct);
        assert!((9_800..10_200).contains(&est), "{est}");
    }

    #[test]
    fn a_small_and_a_large_table_are_a_mix() {
        let cache = CacheModel {
            dram_latency_ns: 100.0,
            llc_latency_ns: 10.0,
            ..CacheModel::default()
        };
        // Half the samples in a 4 KiB table, half spread over 256 MiB far away.
        let small = pseudo_random(500, 64)
            .into_iter()
            .map(|l| 0x5555_0000_0000 + l * 64);
        let large = pseudo_random(500, 1 << 22)
            .into_iter()
            .map(|l| 0x7f00_0000_0000 + l * 64);
        let s = samples(small.chain(large));
        assert_eq!(regions(&s).len(), 2);
        let (footprint, m) = estimate_site(AddressPattern::Irregular, &s, &cache);
        assert!(footprint > 200 << 20, "{footprint}");
        assert!((m.miss_rate - 0.5).abs() < 0.05, "{m:?}");
        // One uniform large region is not split.
        let one = samples(
            pseudo_random(1000, 1 << 18)
                .into_iter()
                .map(|l| 0x1000_0000 + l * 64),
        );
        assert_eq!(regions(&one).len(), 1);
    }

    #[test]
    fn time_per_execution_is_that_of_undisturbed_deltas() {
        let s = samples((0..20).map(|i| i * 64));
        assert_eq!(ticks_per_execution(&s, 64), Some(10.0));
        assert_eq!(ticks_per_execution(&s[..3], 64), None);
        // 640 ticks per sample (10 per execution), but 12 of the 20 deltas were stretched by
        // the process being descheduled: the figure stays 10 (the median would be 30).
        let mut tsc = 1000u64;
        let stretched: Vec<Sample> = (0..21u64)
            .map(|i| {
                let s = Sample { addr: i * 64, tsc };
                tsc += if i % 5 < 3 { 640 * 3 } else { 640 };
                s
            })
            .collect();
        assert_eq!(ticks_per_execution(&stretched, 64), Some(10.0));
    }

    #[test]
    fn miss_model_separates_hits_from_misses() {
        let cache = CacheModel {
            dram_latency_ns: 100.0,
            llc_latency_ns: 10.0,
            ..CacheModel::default()
        };
        let big = estimate_misses(AddressPattern::Irregular, 1 << 30, &cache);
        assert!(
            big.miss_rate > 0.99 && big.miss_latency_ns > 95.0,
            "{big:?}"
        );
        let small = estimate_misses(AddressPattern::Irregular, 16 << 10, &cache);
        assert_eq!(small.miss_rate, 0.0);
        let unit = estimate_misses(AddressPattern::Strided(8), 1 << 30, &cache);
        assert_eq!(unit.miss_rate, 0.0, "covered by the hardware prefetcher");
        let wide = estimate_misses(AddressPattern::Strided(8192), 1 << 30, &cache);
        assert!(wide.miss_rate > 0.99);
        // Between L2 and the LLC: misses L2, hits the LLC.
        let mid = estimate_misses(AddressPattern::Irregular, 4 << 20, &cache);
        assert!(
            mid.miss_rate > 0.7 && (mid.miss_latency_ns - 10.0).abs() < 1e-9,
            "{mid:?}"
        );
    }
}
