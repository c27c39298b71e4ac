//! Interleaved probe of the `mpsc` and `map` benches: every round runs one Hallows iteration
//! and one iteration of the best competitor back to back (alternating which goes first), so
//! both see the same machine state. Prints, per bench, both medians, the median of the
//! per-round ratios competitor ÷ Hallows (above 1: Hallows faster), the share of rounds
//! Hallows won, and a coarse histogram of Hallows' round times (to show bimodality).
//!
//! `mpsc` runs twice: with the blocking driver (`hallows_mpsc`) and with the yielding one
//! (`hallows_mpsc_yielding`, driven exactly like `ArrayQueue`).
//!
//! `cargo bench -p hallows-runtime --bench lockfree_pairs -- [ROUNDS] [mpsc|map]`

use std::time::Instant;

mod lockfree;

use lockfree::{
    crossbeam_array_queue, dashmap_mix, hallows_map_mix, hallows_mpsc, hallows_mpsc_yielding,
    prefilled_dashmap, prefilled_hallows_map,
};

const DEFAULT_ROUNDS: usize = 300;
const WARM_UP_ROUNDS: usize = 20;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("timings are not NaN"));
    v[v.len() / 2]
}

/// Voluntary and involuntary context switches of the whole process so far.
fn switches() -> (i64, i64) {
    // SAFETY: `rusage` is plain data; `getrusage` only writes it.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a `rusage`.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    (u.ru_nvcsw, u.ru_nivcsw)
}

fn pairs(name: &str, rival: &str, rounds: usize, h: &dyn Fn(), r: &dyn Fn()) {
    let time = |f: &dyn Fn()| {
        let start = Instant::now();
        f();
        start.elapsed().as_secs_f64() * 1e3
    };
    // Hallows' round times with the context switches of that round.
    let mut detail: Vec<(f64, i64, i64)> = Vec::new();
    let mut rival_switches = (0, 0);
    let time_h = |detail: &mut Vec<(f64, i64, i64)>| {
        let (v0, i0) = switches();
        let t = time(h);
        let (v1, i1) = switches();
        detail.push((t, v1 - v0, i1 - i0));
        t
    };
    let mut time_r = |f: &dyn Fn()| {
        let (v0, i0) = switches();
        let t = time(f);
        let (v1, i1) = switches();
        rival_switches.0 += v1 - v0;
        rival_switches.1 += i1 - i0;
        t
    };
    for _ in 0..WARM_UP_ROUNDS {
        time(h);
        time(r);
    }
    let (mut th, mut tr, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..rounds {
        let (a, b) = if i % 2 == 0 {
            let a = time_h(&mut detail);
            (a, time_r(r))
        } else {
            let b = time_r(r);
            (time_h(&mut detail), b)
        };
        th.push(a);
        tr.push(b);
        ratio.push(b / a);
    }
    let won = ratio.iter().filter(|&&x| x > 1.0).count();
    let mut sorted = th.clone();
    sorted.sort_by(|a, b| a.partial_cmp(b).expect("timings are not NaN"));
    let pct = |p: usize| sorted[(sorted.len() - 1) * p / 100];
    println!(
        "{name}: hallows {:.3} ms, {rival} {:.3} ms, ratio {rival}/hallows median {:.3}, \
         hallows won {won}/{rounds}; hallows p10 {:.3} p50 {:.3} p90 {:.3} max {:.3} ms",
        median(&mut th.clone()),
        median(&mut tr.clone()),
        median(&mut ratio),
        pct(10),
        pct(50),
        pct(90),
        pct(100),
    );
    let mut rs = tr.clone();
    rs.sort_by(|a, b| a.partial_cmp(b).expect("timings are not NaN"));
    let rpct = |p: usize| rs[(rs.len() - 1) * p / 100];
    println!(
        "  {name} {rival}: p10 {:.3} p50 {:.3} p90 {:.3} ms, {:.1} voluntary + {:.1} involuntary \
         switches per round",
        rpct(10),
        rpct(50),
        rpct(90),
        rival_switches.0 as f64 / rounds as f64,
        rival_switches.1 as f64 / rounds as f64,
    );
    // Context switches per round, for Hallows' faster and slower halves.
    let split = pct(50);
    for (label, fast) in [("faster half", true), ("slower half", false)] {
        let part: Vec<_> = detail.iter().filter(|d| (d.0 <= split) == fast).collect();
        let n = part.len().max(1) as f64;
        println!(
            "  {name} hallows {label}: {:.3} ms, {:.1} voluntary + {:.1} involuntary switches per round",
            part.iter().map(|d| d.0).sum::<f64>() / n,
            part.iter().map(|d| d.1 as f64).sum::<f64>() / n,
            part.iter().map(|d| d.2 as f64).sum::<f64>() / n,
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let rounds = args
        .iter()
        .find_map(|a| a.parse().ok())
        .unwrap_or(DEFAULT_ROUNDS);
    let only = args.iter().find(|a| a.parse::<usize>().is_err());
    let wants = |n: &str| only.is_none_or(|o| o == n);
    if wants("mpsc") {
        pairs(
            "mpsc",
            "array_queue",
            rounds,
            &hallows_mpsc,
            &crossbeam_array_queue,
        );
        pairs(
            "mpsc_yielding",
            "array_queue",
            rounds,
            &hallows_mpsc_yielding,
            &crossbeam_array_queue,
        );
    }
    if wants("map") {
        let hallows = prefilled_hallows_map();
        let dash = prefilled_dashmap();
        let h_iter = || hallows_map_mix(&hallows);
        let d_iter = || dashmap_mix(&dash);
        pairs("map", "dashmap", rounds, &h_iter, &d_iter);
    }
}
