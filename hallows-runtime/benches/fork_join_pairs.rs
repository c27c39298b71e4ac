//! Interleaved probe of the fork-join workloads of `runtime_rayon` (and `bursty` of `skewed`):
//! every round runs one Hallows iteration and one rayon iteration back to back (alternating
//! which goes first), so both see the same machine state. On this VM, which switches between a
//! fast and a slow mode for minutes at a time, that is a steadier A-vs-B figure than criterion
//! groups measured one after the other. Prints, per workload, the medians, the median of the
//! per-round ratios rayon ÷ Hallows (above 1: Hallows faster), the share of rounds Hallows won,
//! and Hallows' parks and steals per iteration; then the means (what criterion reports) and,
//! for Hallows' slowest 5 % of rounds against the rest, the mean time, parks, steals and idle
//! time per iteration (session 9: criterion's mean and the probe's median disagreed on
//! quicksort).
//!
//! `cargo bench -p hallows-runtime --bench fork_join_pairs -- [ROUNDS] [WORKLOAD]`

#[allow(dead_code)] // shared with the other scheduler benches; this one uses a part
mod workloads;
use std::cell::RefCell;
use std::hint::black_box;
use std::time::{Duration, Instant};
use workloads::*;

/// Rounds per workload unless given on the command line: enough for a stable median in well
/// under a minute per workload.
const DEFAULT_ROUNDS: usize = 200;
/// Untimed rounds first, so both pools have spun up their threads and faulted their stacks in.
const WARM_UP_ROUNDS: usize = 10;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("timings are not NaN"));
    v[v.len() / 2]
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// The share of rounds, slowest first, that the tail line of [`pairs`] describes: criterion
/// reports the mean, which a few slow iterations move while the median stays put.
const TAIL_SHARE: f64 = 0.05;

/// What Hallows' counters moved by during one timed iteration.
#[derive(Clone, Copy, Default)]
struct RoundStats {
    parks: u64,
    steals: u64,
    idle_ns: u64,
}

impl RoundStats {
    fn between(
        before: &hallows_runtime::WorkerStats,
        after: &hallows_runtime::WorkerStats,
    ) -> Self {
        RoundStats {
            parks: after.parks - before.parks,
            steals: after.steals - before.steals,
            idle_ns: after.idle_ns - before.idle_ns,
        }
    }
}

/// Runs `rounds` rounds of `h` (Hallows) and `r` (rayon), each given fresh input by `setup`.
/// Prints the medians, the median ratio, and the means (what criterion reports), then one
/// line on Hallows' slowest [`TAIL_SHARE`] of rounds against the others: their mean time,
/// parks, steals and idle time per iteration, so that a gap between mean and median can be
/// traced to what the scheduler did in the slow iterations.
fn pairs<T>(
    name: &str,
    rounds: usize,
    hallows: &hallows_runtime::Runtime,
    setup: &dyn Fn() -> T,
    h: &dyn Fn(&mut T),
    r: &dyn Fn(&mut T),
) {
    let time = |f: &dyn Fn(&mut T)| {
        let mut input = setup();
        let start = Instant::now();
        f(&mut input);
        let t = start.elapsed();
        black_box(input);
        t
    };
    for _ in 0..WARM_UP_ROUNDS {
        time(h);
        time(r);
    }
    let timed_hallows = || {
        let before = hallows.stats().total();
        let t = time(h);
        let after = hallows.stats().total();
        (t, RoundStats::between(&before, &after))
    };
    let (mut th, mut tr, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    let mut per_round = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let ((a, st), b) = if i % 2 == 0 {
            let a = timed_hallows();
            (a, time(r))
        } else {
            let b = time(r);
            (timed_hallows(), b)
        };
        th.push(a.as_secs_f64() * 1e3);
        tr.push(b.as_secs_f64() * 1e3);
        ratio.push(b.as_secs_f64() / a.as_secs_f64());
        per_round.push((a.as_secs_f64() * 1e3, st));
    }
    let won = ratio.iter().filter(|&&x| x > 1.0).count();
    let total = per_round
        .iter()
        .fold(RoundStats::default(), |acc, (_, s)| RoundStats {
            parks: acc.parks + s.parks,
            steals: acc.steals + s.steals,
            idle_ns: acc.idle_ns + s.idle_ns,
        });
    let per = |n: u64| n as f64 / rounds as f64;
    let (mean_h, mean_r) = (mean(&th), mean(&tr));
    println!(
        "{name:10} hallows {:.3} ms  rayon {:.3} ms  ratio {:.3}  won {won}/{rounds}  parks/iter {:.1}  steals/iter {:.1}  mean hallows {mean_h:.3} rayon {mean_r:.3} (ratio {:.3})",
        median(&mut th),
        median(&mut tr),
        median(&mut ratio),
        per(total.parks),
        per(total.steals),
        mean_r / mean_h,
    );
    per_round.sort_by(|a, b| b.0.partial_cmp(&a.0).expect("timings are not NaN"));
    let tail = ((rounds as f64 * TAIL_SHARE).ceil() as usize).clamp(1, rounds);
    let describe = |part: &[(f64, RoundStats)]| {
        let n = part.len().max(1) as f64;
        let sum = |f: fn(&RoundStats) -> u64| part.iter().map(|(_, s)| f(s)).sum::<u64>() as f64;
        format!(
            "{:.3} ms, parks {:.1}, steals {:.1}, idle {:.0} us",
            part.iter().map(|(t, _)| t).sum::<f64>() / n,
            sum(|s| s.parks) / n,
            sum(|s| s.steals) / n,
            sum(|s| s.idle_ns) / n / 1e3,
        )
    };
    println!(
        "{:10} hallows slowest {tail}: {};  other {}: {}",
        "",
        describe(&per_round[..tail]),
        rounds - tail,
        describe(&per_round[tail..]),
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let rounds = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(DEFAULT_ROUNDS);
    let only = args.get(1).cloned();
    let wanted = |w: &str| only.as_deref().is_none_or(|o| o == w);
    let hallows = hallows_runtime();
    let pool = rayon_pool();
    if wanted("fib") {
        pairs(
            "fib",
            rounds,
            &hallows,
            &|| (),
            &|_| {
                black_box(hallows.block_on(async { fib::<H>(black_box(FIB_N)) }));
            },
            &|_| {
                black_box(pool.install(|| fib::<R>(black_box(FIB_N))));
            },
        );
    }
    if wanted("quicksort") {
        let data = input(SORT_LEN);
        pairs(
            "quicksort",
            rounds,
            &hallows,
            &|| data.clone(),
            &|v| hallows.block_on(async { quicksort::<H>(v) }),
            &|v| pool.install(|| quicksort::<R>(v)),
        );
    }
    if wanted("nbody") {
        let start = bodies();
        pairs(
            "nbody",
            rounds,
            &hallows,
            &|| start.clone(),
            &|v| hallows.block_on(async { nbody::<H>(v, 2) }),
            &|v| pool.install(|| nbody::<R>(v, 2)),
        );
    }
    if wanted("bursty") {
        let phases_h = RefCell::new(Vec::new());
        let phases_r = RefCell::new(Vec::new());
        pairs(
            "bursty",
            rounds / 4,
            &hallows,
            &|| (),
            &|_| {
                let p = bursts(&|f| drop(hallows.spawn(async move { f() })));
                phases_h.borrow_mut().push(p);
            },
            &|_| {
                let p = bursts(&|f| pool.spawn(f));
                phases_r.borrow_mut().push(p);
            },
        );
        // Per burst, median over the iterations (warm-up ones included): how long the
        // submitting thread took to submit the burst, and how long the workers then took to
        // finish it.
        let per_burst = |v: &RefCell<Vec<BurstPhases>>, f: fn(&BurstPhases) -> Duration| {
            let mut us: Vec<f64> = v
                .borrow()
                .iter()
                .map(|p| f(p).as_secs_f64() * 1e6 / BURSTS as f64)
                .collect();
            median(&mut us)
        };
        println!(
            "{:10} submit/burst hallows {:.1} us  rayon {:.1} us;  drain/burst hallows {:.1} us  rayon {:.1} us",
            "",
            per_burst(&phases_h, |p| p.submit),
            per_burst(&phases_r, |p| p.submit),
            per_burst(&phases_h, |p| p.drain),
            per_burst(&phases_r, |p| p.drain),
        );
    }
}
