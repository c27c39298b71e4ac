//! `nas_is`: the bucket-counting core of the NAS Integer Sort benchmark.
//!
//! Models NPB IS (Bailey et al., "The NAS Parallel Benchmarks", RNR-94-007, 1994; kernel `rank`
//! of NPB 3.x `is.c`) in the form Ainsworth & Jones use it ("Software Prefetching for Indirect
//! Memory Accesses", CGO 2017, benchmark IntSort): keys drawn as the mean of four uniform
//! numbers (NPB's approximately Gaussian key distribution), then for each of several ranking
//! iterations (NPB modifies two keys per iteration) the counts are cleared, every key increments
//! `counts[key]` — the indirect access that misses in the cache — and a prefix sum turns counts
//! into ranks. Unlike NPB the key range equals the key count, so the indirectly accessed count
//! array is as large as the key array and the default working set is 4× the last-level cache.
//!
//! `--variant prefetch` prefetches `counts[keys[i + DISTANCE]]` while incrementing
//! `counts[keys[i]]`, Ainsworth & Jones' scheme for this loop.

use hallows_examples::cache;
use hallows_examples::checksum::Checksum;
use hallows_examples::cli::{self, timed, try_vec, Options, Report, Variant, Workload};
use hallows_examples::prefetch::{self, prefetch_index};
use hallows_examples::rng::Rng;
use std::process::ExitCode;

/// Ranking iterations (NPB runs 10; fewer keep the default run near one second).
const ITERATIONS: usize = 4;

/// How many keys ahead the prefetch variant prefetches: enough iterations of this ~2 ns loop to
/// cover a ~100 ns DRAM access with a few in flight (tuned on the project's machine: 16..128
/// all help, 32 and 64 were best).
const DISTANCE: usize = 64;

/// Bytes of working set per key: the `u32` key plus its `u32` count slot.
const BYTES_PER_KEY: usize = 8;

const WORKLOAD: Workload = Workload {
    name: "nas_is",
    about: "NAS IS integer-sort bucket counting (counts[keys[i]] += 1)",
    size_unit: "keys",
    small_size: 1 << 14,
    default_size: || cache::default_working_set_bytes() / BYTES_PER_KEY,
    min_size: 64,
    max_size: 1 << 31,
    size_power_of_two: false,
    has_prefetch_variant: true,
};

fn main() -> ExitCode {
    cli::main(&WORKLOAD, run)
}

fn run(options: &Options) -> Result<Report, String> {
    let n = options.size;
    let max_key = n;
    let mut keys = generate_keys(n, max_key, options.seed)?;
    let mut counts = try_vec(max_key, 0u32, "count array")?;
    let mut sum = Checksum::new();
    let ((), kernel) = timed(|| {
        for iteration in 0..ITERATIONS {
            // NPB's per-iteration key modification, so every iteration ranks a different input.
            keys[iteration] = iteration as u32;
            keys[n - 1 - iteration] = (max_key - 1 - iteration) as u32;
            counts.fill(0);
            match options.variant {
                Variant::Plain => count_plain(&keys, &mut counts),
                Variant::Prefetch => count_prefetch(&keys, &mut counts),
            }
            prefix_sum(&mut counts);
            // Partial verification in NPB's spirit: the ranks of a few probe keys.
            for probe in [0, max_key / 3, max_key / 2, max_key - 1] {
                sum.add_u64(u64::from(counts[probe]));
            }
        }
    });
    let total = *counts.last().unwrap_or(&0);
    if total as usize != n {
        return Err(format!(
            "rank check failed: the last rank is {total}, expected {n} keys"
        ));
    }
    let ranks = hallows_examples::checksum::of_u32s(&counts);
    sum.add_u64(ranks);
    let median_key = counts.partition_point(|&rank| (rank as usize) <= n / 2);
    Ok(Report::new(sum.finish())
        .field("keys", n)
        .field("iterations", ITERATIONS)
        .field("median_key", median_key)
        .kernel_time(kernel))
}

/// NPB IS's key generator: the mean of four uniform numbers, scaled to `0..max_key`.
fn generate_keys(n: usize, max_key: usize, seed: u64) -> Result<Vec<u32>, String> {
    let mut rng = Rng::new(seed);
    let mut keys = try_vec(n, 0u32, "key array")?;
    let scale = max_key as f64 / 4.0;
    for key in &mut keys {
        let x = rng.next_f64() + rng.next_f64() + rng.next_f64() + rng.next_f64();
        *key = ((x * scale) as usize).min(max_key - 1) as u32;
    }
    Ok(keys)
}

fn count_plain(keys: &[u32], counts: &mut [u32]) {
    for &key in keys {
        counts[key as usize] += 1;
    }
}

fn count_prefetch(keys: &[u32], counts: &mut [u32]) {
    let distance = prefetch::distance(DISTANCE);
    let split = keys.len().saturating_sub(distance);
    for (&key, &ahead) in keys[..split].iter().zip(&keys[distance.min(keys.len())..]) {
        prefetch_index(counts, ahead as usize);
        counts[key as usize] += 1;
    }
    for &key in &keys[split..] {
        counts[key as usize] += 1;
    }
}

/// Turns counts into exclusive-end ranks: `counts[k]` = number of keys `<= k`.
fn prefix_sum(counts: &mut [u32]) {
    let mut running = 0u32;
    for c in counts {
        running += *c;
        *c = running;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_sum_gives_inclusive_ranks() {
        let mut counts = vec![2, 0, 3, 1];
        prefix_sum(&mut counts);
        assert_eq!(counts, [2, 2, 5, 6]);
    }

    #[test]
    fn both_variants_count_every_key() {
        let keys = generate_keys(10_000, 1000, 5).unwrap();
        let mut plain = vec![0u32; 1000];
        let mut tuned = vec![0u32; 1000];
        count_plain(&keys, &mut plain);
        count_prefetch(&keys, &mut tuned);
        assert_eq!(plain, tuned);
        assert_eq!(plain.iter().map(|&c| c as usize).sum::<usize>(), keys.len());
        // NPB's distribution: the middle of the range is far denser than the edges.
        assert!(
            plain[500] > 10 * plain[10].max(1),
            "{} vs {}",
            plain[500],
            plain[10]
        );
    }
}
