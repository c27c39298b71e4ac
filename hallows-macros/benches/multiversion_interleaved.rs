//! The CPU-features kernel of `benches/multiversion.rs` measured interleaved: Hallows'
//! `#[multiversion]` against the `multiversion` crate (and the baseline build) in alternating
//! blocks of calls, so that a drift of the machine hits all variants alike.
//!
//! Why: criterion measures one variant after the other; on these shared 2-vCPU VMs the speed
//! of the same code moves by a few percent over the seconds between two of its benchmarks,
//! which is as large as the gap the comparison is meant to show (session 7, Intel: Hallows /
//! crate 1.013 from one criterion run). Here every round times [`CALLS`] calls of each variant,
//! in an order rotated every round; the ratio reported is the median over rounds of the
//! per-round ratio (the same method as `benches/contention_interleaved.rs`).
//!
//! ```text
//! cargo bench -p hallows-macros --bench multiversion_interleaved --no-run
//! <bench binary> [--rounds N]
//! ```

#[path = "support/kernel.rs"]
mod kernel;
#[path = "support/stats.rs"]
mod stats;

use std::hint::black_box;
use std::time::Instant;

use kernel::{crate_mv, hallows, hallows_v4, plain, LEN};
use stats::median;

/// Calls per variant per round: about 0.5 ms of the AVX2 clone, long against the clock reads
/// and short against the machine's drift.
const CALLS: u32 = 2_000;
/// Rounds by default (about 1 s per variant in all).
const ROUNDS: usize = 2_000;
const VARIANTS: [&str; 4] = ["baseline", "hallows", "multiversion_crate", "hallows_v4"];

/// Nanoseconds per call of `f` over [`CALLS`] calls.
fn time(f: fn(&[u32]) -> u32, xs: &[u32]) -> f64 {
    let start = Instant::now();
    for _ in 0..CALLS {
        black_box(f(black_box(xs)));
    }
    start.elapsed().as_nanos() as f64 / f64::from(CALLS)
}

fn main() {
    let mut rounds = ROUNDS;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => rounds = args.next().and_then(|v| v.parse().ok()).unwrap_or(rounds),
            // Passed by `cargo bench`.
            "--bench" => {}
            other => {
                eprintln!("unknown argument `{other}`; expected `--rounds N`");
                std::process::exit(2);
            }
        }
    }
    let xs: Vec<u32> = (0..LEN as u32)
        .map(|i| i.wrapping_mul(2654435761))
        .collect();
    assert_eq!(plain(&xs), hallows(&xs));
    assert_eq!(plain(&xs), crate_mv(&xs));
    assert_eq!(plain(&xs), hallows_v4(&xs));
    let fns: [fn(&[u32]) -> u32; 4] = [plain, hallows, crate_mv, hallows_v4];
    // Warm-up: detection, page faults, frequency.
    for f in fns {
        time(f, &xs);
    }
    let mut ns: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); VARIANTS.len()];
    for r in 0..rounds {
        for k in 0..VARIANTS.len() {
            let v = (r + k) % VARIANTS.len();
            ns[v].push(time(fns[v], &xs));
        }
    }
    let ratio = |a: usize, b: usize| median((0..rounds).map(|r| ns[a][r] / ns[b][r]).collect());
    println!("| variant | median ns/call | min ns/call |");
    println!("|---|---|---|");
    for (v, name) in VARIANTS.iter().enumerate() {
        let min = ns[v].iter().copied().fold(f64::INFINITY, f64::min);
        println!("| {name} | {:.1} | {min:.1} |", median(ns[v].clone()));
    }
    let hallows_crate = ratio(1, 2);
    let below = (0..rounds).filter(|&r| ns[1][r] < ns[2][r]).count();
    println!(
        "\nhallows / crate (median of per-round ratios): {hallows_crate:.4}; hallows faster in {below} of {rounds} rounds; baseline / hallows {:.2}, baseline / crate {:.2}; {rounds} rounds of {CALLS} calls per variant",
        ratio(0, 1),
        ratio(0, 2)
    );
    let v4 = hallows_runtime::cpu_features::mask_of(&[
        "avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl",
    ])
    .is_some_and(hallows_runtime::cpu_features::supports);
    println!(
        "hallows_v4 (targets x86-64-v4, v3, v2) / hallows (v3, v2): {:.4}; CPU has the x86-64-v4 features: {v4}",
        ratio(3, 1)
    );
}
