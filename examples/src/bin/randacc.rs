//! `randacc`: the HPC Challenge RandomAccess (GUPS) benchmark.
//!
//! Models HPCC RandomAccess (Luszczek et al., "The HPC Challenge (HPCC) Benchmark Suite", SC
//! 2006; the serial reference `RandomAccess/core_single_cpu.c`), as ported by Ainsworth & Jones
//! ("Software Prefetching for Indirect Memory Accesses", CGO 2017, benchmark RandAcc): a table of
//! `2^k` 64-bit words starts as `table[i] = i`; a 64-bit LFSR over GF(2) with polynomial
//! `x^63 + x^2 + x + 1` produces the update stream, and each value `r` does
//! `table[r & (size - 1)] ^= r`. The updates are independent read-modify-writes to random
//! words of a table 4× the last-level cache. HPCC verifies by applying the stream again
//! (XOR undoes itself) and counting wrong words; this serial port does the same and fails
//! loudly if any word is wrong.
//!
//! `--variant prefetch` runs a second copy of the LFSR `DISTANCE` steps ahead and prefetches the
//! word that update will touch, as Ainsworth & Jones do.

use hallows_examples::cache;
use hallows_examples::cli::{self, timed, try_vec, Options, Report, Variant, Workload};
use hallows_examples::prefetch::{self, prefetch_index};
use hallows_examples::rng::mix64;
use std::process::ExitCode;

/// HPCC's feedback polynomial (`POLY` in `RandomAccess.h`).
const POLY: u64 = 0x7;

/// HPCC does four updates per table word (`NUPDATE = 4 * TableSize`).
const UPDATES_PER_WORD: usize = 4;

/// How many updates ahead the prefetch variant prefetches (tuned on the project's machine).
const DISTANCE: usize = 16;

const WORKLOAD: Workload = Workload {
    name: "randacc",
    about: "HPCC RandomAccess: table[r & mask] ^= r for an LFSR stream r",
    size_unit: "table words",
    small_size: 1 << 12,
    default_size: || cache::default_working_set_bytes() / std::mem::size_of::<u64>(),
    min_size: 16,
    max_size: 1 << 32,
    size_power_of_two: true,
    has_prefetch_variant: true,
};

fn main() -> ExitCode {
    cli::main(&WORKLOAD, run)
}

/// One step of HPCC's LFSR.
#[inline(always)]
fn next_random(r: u64) -> u64 {
    (r << 1) ^ if (r as i64) < 0 { POLY } else { 0 }
}

fn run(options: &Options) -> Result<Report, String> {
    let size = options.size;
    let updates = size * UPDATES_PER_WORD;
    let mut table = try_vec(size, 0u64, "table")?;
    for (i, word) in table.iter_mut().enumerate() {
        *word = i as u64;
    }
    // The stream's start point: any non-zero LFSR state (zero is the LFSR's fixed point).
    let start = mix64(options.seed) | 1;
    let ((), kernel) = timed(|| match options.variant {
        Variant::Plain => update_plain(&mut table, start, updates),
        Variant::Prefetch => update_prefetch(&mut table, start, updates),
    });
    let checksum = hallows_examples::checksum::of_u64s(&table);
    let xor_all = table.iter().fold(0u64, |acc, &w| acc ^ w);

    // HPCC's verification: the same stream again restores table[i] == i.
    update_plain(&mut table, start, updates);
    let errors = table
        .iter()
        .enumerate()
        .filter(|&(i, &w)| w != i as u64)
        .count();
    if errors != 0 {
        return Err(format!(
            "verification failed: {errors} of {size} table words are wrong"
        ));
    }
    Ok(Report::new(checksum)
        .field("table_words", size)
        .field("updates", updates)
        .field("xor", format_args!("{xor_all:016x}"))
        .kernel_time(kernel))
}

fn update_plain(table: &mut [u64], start: u64, updates: usize) {
    let mask = (table.len() - 1) as u64;
    let mut r = start;
    for _ in 0..updates {
        r = next_random(r);
        table[(r & mask) as usize] ^= r;
    }
}

fn update_prefetch(table: &mut [u64], start: u64, updates: usize) {
    let mask = (table.len() - 1) as u64;
    let mut r = start;
    let mut ahead = start;
    for _ in 0..prefetch::distance(DISTANCE).min(updates) {
        ahead = next_random(ahead);
        prefetch_index(table, (ahead & mask) as usize);
    }
    for _ in 0..updates {
        ahead = next_random(ahead);
        prefetch_index(table, (ahead & mask) as usize);
        r = next_random(r);
        table[(r & mask) as usize] ^= r;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lfsr_shifts_and_feeds_back_the_polynomial() {
        assert_eq!(next_random(1), 2);
        assert_eq!(next_random(1 << 63), POLY);
        assert_eq!(next_random((1 << 63) | 1), 2 ^ POLY);
    }

    #[test]
    fn variants_agree_and_a_second_pass_restores_the_table() {
        let initial: Vec<u64> = (0..1024).collect();
        let (mut a, mut b) = (initial.clone(), initial.clone());
        update_plain(&mut a, 12345, 4096);
        update_prefetch(&mut b, 12345, 4096);
        assert_eq!(a, b);
        assert_ne!(a, initial);
        update_plain(&mut a, 12345, 4096);
        assert_eq!(a, initial);
    }
}
