//! `hashjoin`: the probe phase of an in-memory hash join.
//!
//! Models the hash-join kernel of Ainsworth & Jones ("Software Prefetching for Indirect Memory
//! Accesses", CGO 2017, benchmarks HJ-2 and HJ-8), which follows the bucket-chained join of
//! Chen, Ailamaki, Gibbons & Mowry ("Improving Hash Join Performance through Prefetching", ICDE
//! 2004): a build relation `R` of unique 64-bit keys goes into a table of cache-line buckets
//! (four slots each, overflow buckets chained behind full ones, two tuples per bucket on
//! average), then every tuple of a probe relation `S` (twice as many tuples, half of them
//! matching) hashes its key, walks its bucket chain and sums the payloads it finds. The bucket
//! array is 4× the last-level cache by default, so nearly every probe misses.
//!
//! `--variant prefetch` prefetches the home bucket of the tuple `DISTANCE` ahead in both the
//! build and the probe loop (Chen et al.'s group prefetching in its simplest, software-pipelined
//! form, as Ainsworth & Jones insert it).

use hallows_examples::cache;
use hallows_examples::checksum::Checksum;
use hallows_examples::cli::{self, timed, try_vec, Options, Report, Variant, Workload};
use hallows_examples::prefetch::{self, prefetch_index};
use hallows_examples::rng::{mix64, Rng};
use std::process::ExitCode;

/// Tuple slots per bucket: four keys and payloads fill one 64-byte cache line with the links.
const SLOTS: usize = 4;

/// Average build tuples per home bucket (HJ-2's load).
const TUPLES_PER_BUCKET: usize = 2;

/// Probe tuples per build tuple.
const PROBES_PER_TUPLE: usize = 2;

/// How many tuples ahead the prefetch variant prefetches (tuned on the project's machine).
const DISTANCE: usize = 16;

/// Marks the end of a bucket chain.
const NO_BUCKET: u32 = u32::MAX;

/// Multiplier of the multiplicative (Fibonacci) hash: 2^64 / φ (Knuth, TAOCP vol. 3, §6.4).
const FIB_HASH: u64 = 0x9e37_79b9_7f4a_7c15;

const WORKLOAD: Workload = Workload {
    name: "hashjoin",
    about: "hash-join build and probe over a bucket-chained table (probe: key -> bucket chain)",
    size_unit: "build tuples",
    small_size: 1 << 12,
    default_size: || {
        cache::default_working_set_bytes() / std::mem::size_of::<Bucket>() * TUPLES_PER_BUCKET
    },
    min_size: 16,
    max_size: 1 << 30,
    size_power_of_two: false,
    has_prefetch_variant: true,
};

/// One cache line of the hash table.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Bucket {
    keys: [u64; SLOTS],
    payloads: [u32; SLOTS],
    len: u32,
    next: u32,
}

const EMPTY_BUCKET: Bucket = Bucket {
    keys: [0; SLOTS],
    payloads: [0; SLOTS],
    len: 0,
    next: NO_BUCKET,
};

/// The hash table: home buckets first, overflow buckets appended after them.
struct Table {
    buckets: Vec<Bucket>,
    shift: u32,
}

impl Table {
    fn with_home_buckets(home: usize) -> Result<Table, String> {
        let home = home.next_power_of_two();
        let mut buckets = Vec::new();
        // Room for the expected overflow (Poisson(2) exceeds 4 slots in ~5% of buckets).
        buckets.try_reserve_exact(home + home / 8).map_err(|_| {
            format!(
                "could not allocate {} MiB for the hash table; pass a smaller --size",
                (home * std::mem::size_of::<Bucket>()) >> 20
            )
        })?;
        buckets.resize(home, EMPTY_BUCKET);
        Ok(Table {
            buckets,
            shift: 64 - home.trailing_zeros(),
        })
    }

    #[inline(always)]
    fn home(&self, key: u64) -> usize {
        if self.shift == 64 {
            0
        } else {
            (key.wrapping_mul(FIB_HASH) >> self.shift) as usize
        }
    }

    fn insert(&mut self, key: u64, payload: u32) {
        let mut b = self.home(key);
        while self.buckets[b].len as usize == SLOTS {
            if self.buckets[b].next == NO_BUCKET {
                self.insert_overflow_cold(b);
            }
            b = self.buckets[b].next as usize;
        }
        let bucket = &mut self.buckets[b];
        let slot = bucket.len as usize;
        bucket.keys[slot] = key;
        bucket.payloads[slot] = payload;
        bucket.len += 1;
    }

    #[cold]
    #[inline(never)]
    fn insert_overflow_cold(&mut self, full: usize) {
        let index = self.buckets.len() as u32;
        self.buckets.push(EMPTY_BUCKET);
        self.buckets[full].next = index;
    }

    #[inline(always)]
    fn lookup(&self, key: u64) -> Option<u32> {
        let mut b = self.home(key);
        loop {
            let bucket = &self.buckets[b];
            for slot in 0..bucket.len as usize {
                if bucket.keys[slot] == key {
                    return Some(bucket.payloads[slot]);
                }
            }
            if bucket.next == NO_BUCKET {
                return None;
            }
            b = bucket.next as usize;
        }
    }
}

fn main() -> ExitCode {
    cli::main(&WORKLOAD, run)
}

fn run(options: &Options) -> Result<Report, String> {
    let n = options.size;
    let (build, probe) = generate(n, options.seed)?;
    let (result, kernel) = timed(|| -> Result<_, String> {
        let mut table = Table::with_home_buckets(n / TUPLES_PER_BUCKET)?;
        let (matches, payload_sum, sum) = match options.variant {
            Variant::Plain => {
                build_plain(&mut table, &build);
                probe_plain(&table, &probe)
            }
            Variant::Prefetch => {
                let distance = prefetch::distance(DISTANCE);
                build_prefetch(&mut table, &build, distance);
                probe_prefetch(&table, &probe, distance)
            }
        };
        Ok((
            matches,
            payload_sum,
            sum,
            table.buckets.len() - (1 << (64 - table.shift)),
        ))
    });
    let (matches, payload_sum, sum, overflow) = result?;
    Ok(Report::new(sum)
        .field("build", n)
        .field("probe", probe.len())
        .field("matches", matches)
        .field("payload_sum", payload_sum)
        .field("overflow_buckets", overflow)
        .kernel_time(kernel))
}

/// Unique build keys (a bijective mix of the tuple index) and probe keys, half of them hits.
fn generate(n: usize, seed: u64) -> Result<(Vec<u64>, Vec<u64>), String> {
    let salt = mix64(seed);
    let key_of = |i: usize| mix64(salt.wrapping_add(i as u64));
    let mut build = try_vec(n, 0u64, "build relation")?;
    for (i, k) in build.iter_mut().enumerate() {
        *k = key_of(i);
    }
    let mut rng = Rng::new(seed ^ 0x5eed);
    let mut probe = try_vec(n * PROBES_PER_TUPLE, 0u64, "probe relation")?;
    for k in &mut probe {
        *k = if rng.chance(1, 2) {
            key_of(rng.below_usize(n))
        } else {
            // Outside the build keys: indices n.. of the same bijection.
            key_of(n + rng.below_usize(n))
        };
    }
    Ok((build, probe))
}

fn build_plain(table: &mut Table, keys: &[u64]) {
    for (i, &key) in keys.iter().enumerate() {
        table.insert(key, i as u32);
    }
}

fn build_prefetch(table: &mut Table, keys: &[u64], distance: usize) {
    for (i, &key) in keys.iter().enumerate() {
        if let Some(&ahead) = keys.get(i + distance) {
            prefetch_index(&table.buckets, table.home(ahead));
        }
        table.insert(key, i as u32);
    }
}

/// Probes every key; returns (matches, sum of matched payloads, checksum of the match list).
fn probe_plain(table: &Table, keys: &[u64]) -> (u64, u64, u64) {
    let mut sum = Checksum::new();
    let (mut matches, mut payloads) = (0u64, 0u64);
    for (i, &key) in keys.iter().enumerate() {
        if let Some(p) = table.lookup(key) {
            matches += 1;
            payloads += u64::from(p);
            sum.add_u64(((i as u64) << 32) | u64::from(p));
        }
    }
    (matches, payloads, sum.finish())
}

fn probe_prefetch(table: &Table, keys: &[u64], distance: usize) -> (u64, u64, u64) {
    let mut sum = Checksum::new();
    let (mut matches, mut payloads) = (0u64, 0u64);
    for (i, &key) in keys.iter().enumerate() {
        if let Some(&ahead) = keys.get(i + distance) {
            prefetch_index(&table.buckets, table.home(ahead));
        }
        if let Some(p) = table.lookup(key) {
            matches += 1;
            payloads += u64::from(p);
            sum.add_u64(((i as u64) << 32) | u64::from(p));
        }
    }
    (matches, payloads, sum.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_build_key_and_no_other_even_with_overflow_chains() {
        // 64 home buckets for 1000 keys: long overflow chains.
        let mut table = Table::with_home_buckets(64).unwrap();
        let keys: Vec<u64> = (0..1000).map(|i| mix64(i) | 1).collect();
        build_plain(&mut table, &keys);
        assert!(table.buckets.len() > 64, "no overflow bucket was needed");
        for (i, &k) in keys.iter().enumerate() {
            assert_eq!(table.lookup(k), Some(i as u32));
        }
        assert_eq!(table.lookup(2), None, "even keys were never inserted");
    }

    #[test]
    fn variants_build_the_same_table_and_find_the_same_matches() {
        let (build, probe) = generate(5000, 8).unwrap();
        let mut a = Table::with_home_buckets(2500).unwrap();
        let mut b = Table::with_home_buckets(2500).unwrap();
        build_plain(&mut a, &build);
        build_prefetch(&mut b, &build, 16);
        assert_eq!(a.buckets.len(), b.buckets.len());
        let plain = probe_plain(&a, &probe);
        assert_eq!(plain, probe_prefetch(&b, &probe, 16));
        // About half the probes hit.
        assert!((4000..6000).contains(&plain.0), "{} matches", plain.0);
    }

    #[test]
    fn a_single_bucket_table_works() {
        let mut table = Table::with_home_buckets(1).unwrap();
        build_plain(&mut table, &[7, 8, 9, 10, 11]);
        assert_eq!(table.lookup(11), Some(4));
        assert_eq!(table.lookup(12), None);
    }
}
